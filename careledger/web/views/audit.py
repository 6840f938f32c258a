"""The auditor's view: the council's audit trail, filtered and paginated, and whether the chain holds.

Read-only: the only form is the filter (GET). Entries name who acted by id (``user:12``,
``token:3``), never by name, as the trail stores them.

The chain's verification (:func:`careledger.audit.verify.verify_chain`) reads every entry of the
installation, which takes longer than a page should (about 0.1 ms an entry). So the page shows
the last result this server worked out, with when, if it is under :data:`VERIFY_FRESH_SECONDS`
old, and works it out afresh otherwise or when asked ("Check the whole trail now").
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, time as clock, timedelta

from django.core.cache import cache
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from careledger.audit.models import AuditEntry
from careledger.audit.selectors import audit_entries
from careledger.audit.verify import VerifyResult, chain_head, verify_chain
from careledger.domain.localtime import LONDON
from careledger.records.errors import InvalidInput
from careledger.records.scoping import Scope

from ..csv import csv_response, wants_csv
from ..pages import page

AUDIT_READERS = frozenset({"council_admin", "auditor"})  # scope.can_read_audit
ENTRIES_PER_PAGE = 50
VERIFY_FRESH_SECONDS = 300
VERIFY_CACHE_KEY = "careledger.web.audit.verify"
ACTIONS = tuple(AuditEntry.Action.values) + ("import",)
SNAPSHOT_CHARS = 2000


def _day(request, name: str, label: str) -> date | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label} must be a date like 2026-04-30, not {text[:40]!r}") from None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, clock(0), tzinfo=LONDON)


def verification(*, fresh: bool = False) -> dict:
    """The chain's verification: the last one this server did if recent, else a new one (``fresh`` forces it)."""
    found = None if fresh else cache.get(VERIFY_CACHE_KEY)
    if found is None:
        started = time.perf_counter()
        result: VerifyResult = verify_chain()
        found = {"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq, "reason": result.reason,
                 "at": timezone.now(), "seconds": time.perf_counter() - started, "head": chain_head()}  # fmt: skip
        cache.set(VERIFY_CACHE_KEY, found, VERIFY_FRESH_SECONDS)
    return found


def _snapshot(value) -> str:
    if value in (None, {}, ""):
        return ""
    text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= SNAPSHOT_CHARS else text[:SNAPSHOT_CHARS] + "\n… (cut short here; the CSV has all of it)"


HEADER = ["Number", "When (UTC)", "Actor", "Action", "Record type", "Record id", "Before", "After", "Hash"]


@page(roles=AUDIT_READERS)
def audit_trail(request, scope: Scope):
    scope.require(scope.can_read_audit)
    action = request.GET.get("action", "").strip()
    if action and action not in ACTIONS:
        raise InvalidInput(f"no action {action[:40]!r}: use one of {', '.join(ACTIONS)}")
    model = request.GET.get("model", "").strip()[:100]
    actor = request.GET.get("actor", "").strip()[:64]
    object_id = request.GET.get("object_id", "").strip()[:64]
    first = _day(request, "from", "From")
    last = _day(request, "to", "To")
    if first and last and last < first:
        raise InvalidInput("the 'to' date is before the 'from' date")
    entries = audit_entries(
        council_id=scope.council.pk, action=action or None, model=model or None, actor=actor or None, object_id=object_id or None,
        since=_start_of(first) if first else None, until=_start_of(last + timedelta(days=1)) if last else None,
    )  # fmt: skip
    if wants_csv(request):
        rows = ([e.seq, e.at, e.actor, e.action, e.model, e.object_id, json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                 json.dumps(e.after, sort_keys=True) if e.after is not None else "", e.hash] for e in entries.iterator(chunk_size=2000))  # fmt: skip
        return csv_response(scope, "audit-trail", HEADER, rows)
    page_obj = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    shown = [{"entry": e, "before": _snapshot(e.before), "after": _snapshot(e.after)} for e in page_obj]
    models = AuditEntry.objects.filter(council_id=scope.council.pk).exclude(model="").order_by("model").values_list("model", flat=True).distinct()
    return render(
        request,
        "web/audit/trail.html",
        {
            "scope": scope,
            "page_obj": page_obj,
            "shown": shown,
            "actions": ACTIONS,
            "models": list(models),
            "filters": {"action": action, "model": model, "actor": actor, "object_id": object_id, "from": first, "to": last},
            "filtered": any((action, model, actor, object_id, first, last)),
            "verify": verification(fresh=request.GET.get("verify") == "now"),
        },
    )


urlpatterns = [path("councils/<str:code>/audit/", audit_trail, name="audit")]
