"""API v1: ledger routes (registered on the one ``api`` of :mod:`careledger.api.routes`)."""

from __future__ import annotations
