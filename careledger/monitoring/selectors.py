"""Reads of alerts, the portfolio and provider metrics, limited to the caller's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from careledger.domain.money import divide
from careledger.domain.rules import DEFAULT_RULES
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


# -- provider metrics ---------------------------------------------------------------------------

CONTINUITY_WEEKS = 4


@dataclass(frozen=True)
class ProviderMetrics:
    """How one provider is delivering, from the visits it reported for the caller's people.

    Over the period (``since`` to ``as_of``, whole London days, by planned start):

    * ``scheduled``: visits reported as planned, except those the person cancelled;
    * ``delivered``: of them, completed; ``late``: completed and checked in more than the
      contract's ``late_after_minutes`` after the planned start (a visit with no check-in is
      not judged late, as in the package status); ``on_time`` = delivered - late;
    * ``missed``: reported missed or cancelled by the provider.

    A slot the provider never reported at all is not here (it is missed in the package's status).
    ``continuity`` is the median, over the people the provider visited in the 4 weeks up to the
    end of ``as_of``, of the number of different carers who visited each of them (completed or
    in-progress visits by check-in, else planned start). ``packages``: people whose plan in force
    on ``as_of`` has a service of this provider; ``open_alerts``: their alerts not resolved.
    Rates are exact fractions (60 significant digits), ``None`` when there is nothing to divide by.
    """

    provider_ref: str
    provider_name: str
    since: date
    as_of: date
    scheduled: int
    delivered: int
    on_time: int
    late: int
    missed: int
    continuity: Decimal | None
    people_visited: int
    packages: int
    open_alerts: int

    @property
    def on_time_rate(self) -> Decimal | None:
        return divide(self.on_time, self.delivered) if self.delivered else None

    @property
    def missed_rate(self) -> Decimal | None:
        return divide(self.missed, self.scheduled) if self.scheduled else None

    def as_dict(self) -> dict:
        """For the API and ``--json``: rates as exact fractions and as percentages to 1 place (rounded once)."""

        def percent(rate: Decimal | None) -> str | None:
            return None if rate is None else str((rate * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

        return {
            "provider_ref": self.provider_ref,
            "provider_name": self.provider_name,
            "since": self.since.isoformat(),
            "as_of": self.as_of.isoformat(),
            "scheduled": self.scheduled,
            "delivered": self.delivered,
            "on_time": self.on_time,
            "late": self.late,
            "missed": self.missed,
            "on_time_rate": None if self.on_time_rate is None else str(self.on_time_rate),
            "on_time_percent": percent(self.on_time_rate),
            "missed_rate": None if self.missed_rate is None else str(self.missed_rate),
            "missed_percent": percent(self.missed_rate),
            "continuity_median_carers": None if self.continuity is None else str(self.continuity),
            "people_visited": self.people_visited,
            "packages": self.packages,
            "open_alerts": self.open_alerts,
        }


def _median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    values = sorted(values)
    middle = len(values) // 2
    if len(values) % 2:
        return Decimal(values[middle])
    return divide(values[middle - 1] + values[middle], 2)


def provider_metrics(*, scope: Scope, as_of: date, since: date | None = None, provider_ref: str | None = None) -> list[ProviderMetrics]:
    """Each provider the caller may see (a provider only itself; a person none), by ref; see :class:`ProviderMetrics`.

    ``since`` defaults to 27 days before ``as_of`` (4 weeks including both ends).
    """
    from careledger.domain.status import end_of_day
    from careledger.ingest.models import Visit
    from careledger.records.errors import InvalidInput, NotFound
    from careledger.records.models import Contract, PlannedService, PlanVersion

    since = since if since is not None else as_of - timedelta(days=27)
    if since > as_of:
        raise InvalidInput(f"since ({since.isoformat()}) is after as_of ({as_of.isoformat()})")
    providers = scope.providers().order_by("ref")
    if provider_ref is not None:
        providers = providers.filter(ref=provider_ref)
        if not providers.exists():
            raise NotFound(f"no provider {provider_ref!r}")
    providers = list(providers.values_list("id", "ref", "name"))
    if not providers:
        return []
    provider_ids = [p[0] for p in providers]
    people = scope.people()

    # The plan version in force on as_of of each person: its services give packages and tolerances.
    in_force: dict[int, tuple[date, int, int]] = {}  # person -> (effective_from, number, version id)
    for person_id, effective, number, version_id in PlanVersion.objects.filter(
        plan__person__in=people, plan__council=scope.council, effective_from__lte=as_of
    ).values_list("plan__person_id", "effective_from", "number", "id"):
        key = (effective, number, version_id)
        if person_id not in in_force or key[:2] > in_force[person_id][:2]:
            in_force[person_id] = key
    version_person = {v[2]: person_id for person_id, v in in_force.items()}
    served: dict[int, set[int]] = {pid: set() for pid in provider_ids}
    tolerance: dict[tuple[int, int], int] = {}  # (person, provider) -> late after minutes
    late_by_contract = dict(Contract.objects.filter(council=scope.council).values_list("id", "late_after_minutes"))
    for version_id, provider_id, contract_id in PlannedService.objects.filter(version_id__in=list(version_person), provider_id__in=provider_ids).values_list(
        "version_id", "provider_id", "contract_id"
    ):
        person_id = version_person[version_id]
        served[provider_id].add(person_id)
        if contract_id is not None and (person_id, provider_id) not in tolerance:
            tolerance[(person_id, provider_id)] = late_by_contract[contract_id]

    first = end_of_day(since - timedelta(days=1))
    end = end_of_day(as_of)
    continuity_from = end - timedelta(weeks=CONTINUITY_WEEKS)
    counts = {pid: dict(scheduled=0, delivered=0, late=0, missed=0) for pid in provider_ids}
    carers: dict[tuple[int, int], set[str]] = {}
    rows = Visit.objects.filter(
        council=scope.council, provider_id__in=provider_ids, person__in=people,
        planned_start__gte=min(first, continuity_from - timedelta(days=1)), planned_start__lt=end + timedelta(days=1),
    ).values_list("provider_id", "person_id", "carer_ref", "planned_start", "actual_start", "status")  # fmt: skip
    for provider_id, person_id, carer_ref, planned, actual, status in rows.iterator(chunk_size=5000):
        if first <= planned < end and status != "cancelled_by_person":
            c = counts[provider_id]
            c["scheduled"] += 1
            if status == "completed":
                c["delivered"] += 1
                allowed = timedelta(minutes=tolerance.get((person_id, provider_id), DEFAULT_RULES.late_after_minutes))
                if actual is not None and actual > planned + allowed:
                    c["late"] += 1
            elif status in ("missed", "cancelled_by_provider"):
                c["missed"] += 1
        if carer_ref and status in ("completed", "in_progress") and continuity_from < (actual or planned) <= end:
            carers.setdefault((provider_id, person_id), set()).add(carer_ref)

    alerts = dict(
        Alert.objects.filter(council=scope.council, person__in=people).exclude(status=Alert.Status.RESOLVED)
        .values_list("person_id").annotate(n=Count("id")).values_list("person_id", "n")
    )  # fmt: skip
    out = []
    for provider_id, ref, name in providers:
        c = counts[provider_id]
        per_person = [len(found) for (pid, _), found in carers.items() if pid == provider_id]
        out.append(
            ProviderMetrics(
                provider_ref=ref, provider_name=name, since=since, as_of=as_of,
                scheduled=c["scheduled"], delivered=c["delivered"], on_time=c["delivered"] - c["late"], late=c["late"], missed=c["missed"],
                continuity=_median(per_person), people_visited=len(per_person),
                packages=len(served[provider_id]), open_alerts=sum(alerts.get(p, 0) for p in served[provider_id]),
            )  # fmt: skip
        )
    return out
