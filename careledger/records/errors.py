"""Errors the services and selectors raise; entry points turn them into HTTP codes or exit codes."""

from __future__ import annotations


class RecordError(Exception):
    """Base of the errors below; its message is safe to show the caller (no personal data)."""


class NotFound(RecordError):
    """No such record, or none the caller may see: the two are deliberately indistinguishable."""


class Conflict(RecordError):
    """The request clashes with what is stored (a duplicate code, an out-of-order plan change)."""


class InvalidInput(RecordError):
    """A value the caller gave is not acceptable."""
