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


RAGS = ("red", "amber", "green")
SORTS = {
    "worst": ("worst", "-reds", "-open_alerts", "person__ref"),
    "variance": ("-forecast_variance", "person__ref"),
    "budget": ("-budget", "person__ref"),
    "person": ("person__ref",),
}


def portfolio(*, scope: Scope, rag: str | None = None, question: str | None = None, provider_ref: str | None = None,
              mechanism: str | None = None, sort: str = "worst"):  # fmt: skip
    """Stored package statuses the caller may see, filtered, worst first; with the counts that describe them."""
    from django.db.models import Count

    from .models import PackageStatus
    from .services import stale_people

    rows = PackageStatus.objects.filter(council=scope.council, person__in=scope.people()).select_related("person")
    everything = rows
    if provider_ref:
        rows = rows.filter(provider_ref=provider_ref)
    if mechanism:
        rows = rows.filter(mechanism=mechanism)
    if rag:
        field = question if question in ("followed", "affordable", "working") else None
        rows = rows.filter(**{field: rag}) if field else rows.filter(worst=PackageStatus.RAG_ORDER[rag])
    counts = {
        q: {r: 0 for r in RAGS} | dict(everything.values_list(q).annotate(n=Count("id")).values_list(q, "n"))
        for q in ("followed", "affordable", "working")
    }
    by_provider = {
        ref: {r: 0 for r in RAGS} for ref in everything.values_list("provider_ref", flat=True).distinct()
    }
    for ref, worst, n in everything.values_list("provider_ref", "worst").annotate(n=Count("id")).values_list("provider_ref", "worst", "n"):
        by_provider[ref][RAGS[worst]] += n
    by_mechanism: dict[str, dict[str, int]] = {}
    for mech, worst, n in everything.values_list("mechanism", "worst").annotate(n=Count("id")).values_list("mechanism", "worst", "n"):
        by_mechanism.setdefault(mech, {r: 0 for r in RAGS})[RAGS[worst]] += n
    return {
        "packages": rows.order_by(*SORTS.get(sort, SORTS["worst"])),
        "counts": counts,
        "by_provider": dict(sorted(by_provider.items())),
        "by_mechanism": dict(sorted(by_mechanism.items())),
        "stale": stale_people(scope=scope).count(),
    }
