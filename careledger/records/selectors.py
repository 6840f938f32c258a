"""Reads: every function takes the caller's :class:`~careledger.records.scoping.Scope` and returns only what it reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from careledger.domain.costing import PlanCost, cost_plan, period_cost, versioned_priced_visits
from careledger.domain.localtime import LONDON
from careledger.domain.plans import Plan

from .errors import InvalidInput, NotFound
from .mapping import VERSION_PREFETCH, version_to_domain
from .models import Budget, Council, Person, PlanVersion
from .scoping import Scope


def council_resolve(code: str | None) -> Council:
    """The council named by ``code``; with no code, the only council there is (for the CLI)."""
    if code:
        council = Council.objects.filter(code=code).first()
        if council is None:
            raise NotFound(f"no council with code {code!r}; `careledger council add CODE NAME` creates one")
        return council
    councils = list(Council.objects.all()[:2])
    if len(councils) == 1:
        return councils[0]
    if not councils:
        raise NotFound("there is no council yet; `careledger council add CODE NAME` creates one")
    raise InvalidInput("there is more than one council: say which with --council CODE")


def person_get(*, scope: Scope, ref: str) -> Person:
    return scope.person(ref)


def person_list(*, scope: Scope) -> QuerySet[Person]:
    return scope.people().order_by("ref")


def plan_versions(*, person: Person) -> list[PlanVersion]:
    return list(
        PlanVersion.objects.filter(plan__person=person)
        .select_related("plan__person", "budget")
        .prefetch_related(*VERSION_PREFETCH)
        .order_by("effective_from", "number")
    )


def _in_force(versions: list[PlanVersion]) -> list[PlanVersion]:
    """Drop versions superseded on their own effective date by a later-numbered one (any objects with
    ``effective_from`` and ``number``: model rows, or ``records.bulk.StoredVersion``)."""
    by_date: dict[date, PlanVersion] = {}
    for version in versions:
        current = by_date.get(version.effective_from)
        if current is None or version.number > current.number:
            by_date[version.effective_from] = version
    return [by_date[d] for d in sorted(by_date)]


def plan_version_at(*, person: Person, as_of: date | None = None) -> PlanVersion:
    """The version in force on ``as_of`` (default: the latest version)."""
    versions = _in_force(plan_versions(person=person))
    if not versions:
        raise NotFound(f"person {person.ref!r} has no care plan")
    if as_of is None:
        return max(versions, key=lambda v: v.number)
    in_force = [v for v in versions if v.effective_from <= as_of]
    if not in_force:
        raise NotFound(f"person {person.ref!r} has no care plan in force on {as_of.isoformat()}")
    return in_force[-1]


def plan_get(*, scope: Scope, person_ref: str, as_of: date | None = None) -> Plan:
    version = plan_version_at(person=person_get(scope=scope, ref=person_ref), as_of=as_of)
    return version_to_domain(version)


@dataclass(frozen=True)
class PackageCost:
    """What the current plan costs, and what the plan over time costs for its budget period."""

    person: Person
    version: PlanVersion
    plan: Plan
    cost: PlanCost  # of the current version alone, over its whole budget period
    period_cost_all_versions: Decimal  # each version priced over the span it was in force

    @property
    def headroom(self) -> Decimal:
        return self.plan.budget.annual_amount - self.period_cost_all_versions


def package_cost(*, scope: Scope, person_ref: str) -> PackageCost:
    person = person_get(scope=scope, ref=person_ref)
    versions = _in_force(plan_versions(person=person))
    if not versions:
        raise NotFound(f"person {person.ref!r} has no care plan")
    latest = max(versions, key=lambda v: v.number)
    plan = version_to_domain(latest)
    same_budget = [(v.effective_from, version_to_domain(v)) for v in versions if v.budget_id == latest.budget_id]
    total = period_cost(versioned_priced_visits(same_budget, plan.budget.start_date, plan.budget.end_date))
    return PackageCost(person, latest, plan, cost_plan(plan), total)


def today_in_london() -> date:
    return datetime.now(LONDON).date()


def person_summaries(*, scope: Scope) -> QuerySet[Person]:
    """People with their budgets, for listings."""
    return person_list(scope=scope).prefetch_related(Prefetch("budgets", queryset=Budget.objects.order_by("-start_date")))
