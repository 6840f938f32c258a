"""Reading the audit trail, newest first.

:func:`audit_entries` is for a council's auditors: the caller has already
checked that the actor may read this council's trail. Entries with no council
(sign-ins, sign-outs) are only in :func:`all_audit_entries`, the operator's view.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def _filtered(
    entries: QuerySet[AuditEntry],
    *,
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    if actor:
        entries = entries.filter(actor=actor)
    if action:
        entries = entries.filter(action=action)
    if model:
        entries = entries.filter(model=model.lower())
    if object_id not in (None, ""):
        entries = entries.filter(object_id=str(object_id))
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    return entries.order_by("-seq")


def audit_entries(
    *,
    council_id: int,
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """One council's entries, newest first; ``since`` is inclusive, ``until`` exclusive."""
    return _filtered(
        AuditEntry.objects.filter(council_id=council_id),
        actor=actor,
        action=action,
        model=model,
        object_id=object_id,
        since=since,
        until=until,
    )


def all_audit_entries(
    *,
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Every entry, councils and sign-ins alike, newest first: for the operator's CLI, never a request."""
    return _filtered(AuditEntry.objects.all(), actor=actor, action=action, model=model, object_id=object_id, since=since, until=until)
