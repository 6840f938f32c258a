"""Reads of delivery data, each limited to the caller's scope."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from careledger.domain.money import divide, format_money
from careledger.records.errors import NotFound
from careledger.records.scoping import Scope

from .models import DeliveryFigures, ImportRun


def import_runs(*, scope: Scope) -> QuerySet[ImportRun]:
    """Council staff see every run of the council; a provider its own; a person none."""
    runs = ImportRun.objects.filter(council=scope.council).select_related("provider")
    if scope.whole_council:
        return runs
    if scope.provider_ids:
        return runs.filter(provider_id__in=scope.provider_ids)
    return runs.none()


def import_run(*, scope: Scope, run_id: int) -> ImportRun:
    run = import_runs(scope=scope).filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no import run {run_id}")
    return run


def delivery_figures(*, scope: Scope, person_ref: str) -> dict[str, object]:
    """One person's running figures (all zero before anything is reported)."""
    person = scope.person(person_ref)
    row = DeliveryFigures.objects.filter(person=person).first() or DeliveryFigures(person=person)
    return {
        "person_ref": person.ref,
        "visits": row.visits,
        "completed": row.completed,
        "missed": row.missed,
        "cancelled_by_person": row.cancelled_by_person,
        "in_progress": row.in_progress,
        "delivered_hours": format_money(divide(row.delivered_seconds, 3600)),
        "amendments": row.amendments,
        "transactions": row.transactions,
        "money_in": format_money(Decimal(row.money_in_pence) / 100),
        "money_out": format_money(Decimal(row.money_out_pence) / 100),
    }
