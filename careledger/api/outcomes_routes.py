"""API v1: outcomes routes (registered on the one ``api`` of :mod:`careledger.api.routes`)."""

from __future__ import annotations
