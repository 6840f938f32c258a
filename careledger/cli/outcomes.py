"""`careledger outcomes …` commands."""

from __future__ import annotations

import click


@click.group("outcomes")
def outcomes_group() -> None:
    """(outcomes commands)"""
