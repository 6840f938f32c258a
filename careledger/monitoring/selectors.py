"""Reads of alerts, limited to the caller's scope; worst first."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from careledger.records.scoping import Scope

from .models import Alert

SEVERITY_ORDER = Case(
    When(severity="high", then=Value(0)), When(severity="medium", then=Value(1)), default=Value(2), output_field=IntegerField()
)


def alert_list(*, scope: Scope, status: str | None = "open", person_ref: str | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(council=scope.council, person__in=scope.people()).select_related("person")
    if status:
        alerts = alerts.filter(status=status)
    if person_ref:
        alerts = alerts.filter(person__ref=person_ref)
    return alerts.annotate(severity_order=SEVERITY_ORDER).order_by("severity_order", "-raised_at", "-id")
