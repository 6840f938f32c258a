"""Plan costing: what a care plan costs per week, per 52 weeks and over its budget period.

* ``weekly_*`` figures are at standard rates, from the visits in a typical week
  (for a rule that is not weekly, the average week over 52 weeks);
* ``annual_cost_52_weeks`` is the unrounded weekly cost x 52;
* ``period_cost`` prices every scheduled visit from the budget's start to its end
  date inclusive at the rate for the local date it starts on;
* ``headroom`` is budget - period cost.

All figures are exact; they are rounded half-up to the penny only when shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .money import ZERO, Decimal, divide, minutes_to_hours, rate_minutes_to_money
from .plans import Plan
from .rates import RateKind
from .schedules import ScheduledVisit

__all__ = ["PlanCost", "PricedVisit", "cost_plan", "scheduled_visits", "priced_visits", "period_cost", "versioned_priced_visits"]


@dataclass(frozen=True)
class PricedVisit:
    visit: ScheduledVisit
    rate: Decimal
    rate_kind: RateKind

    @property
    def rate_minutes(self) -> Decimal:
        return self.rate * self.visit.minutes

    @property
    def cost(self) -> Decimal:
        return rate_minutes_to_money(self.rate_minutes)


@dataclass(frozen=True)
class PlanCost:
    weekly_minutes: Decimal
    weekly_cost: Decimal
    annual_cost_52_weeks: Decimal
    period_cost: Decimal
    budget: Decimal
    visits_in_period: int
    visits_by_rate: dict[str, int]

    @property
    def weekly_hours(self) -> Decimal:
        return minutes_to_hours(self.weekly_minutes)

    @property
    def headroom(self) -> Decimal:
        return self.budget - self.period_cost

    @property
    def fits_budget(self) -> bool:
        return self.headroom >= 0


def scheduled_visits(plan: Plan, first: date | None = None, last: date | None = None) -> Iterator[ScheduledVisit]:
    """Every planned visit between ``first`` and ``last`` (default: the budget period), in time order."""
    budget = plan.budget
    first = max(first or budget.start_date, budget.start_date)
    last = min(last or budget.end_date, budget.end_date)
    visits = [
        visit
        for service in plan.services
        for index, pattern in enumerate(service.visits)
        for visit in pattern.occurrences(budget.start_date, first, last, service_ref=service.ref, pattern_index=index)
    ]
    visits.sort(key=lambda v: (v.start, v.service_ref, v.pattern_index))
    return iter(visits)


def priced_visits(plan: Plan, first: date | None = None, last: date | None = None) -> Iterator[PricedVisit]:
    services = {s.ref: s for s in plan.services}
    for visit in scheduled_visits(plan, first, last):
        rates = services[visit.service_ref].rates
        kind = rates.kind_for(visit.local_date)
        yield PricedVisit(visit, rates.rate_for(visit.local_date), kind)


def period_cost(priced: Iterable[PricedVisit]) -> Decimal:
    return rate_minutes_to_money(sum((p.rate_minutes for p in priced), ZERO))


def cost_plan(plan: Plan) -> PlanCost:
    # Weekly figures come from 52 weeks of visits at standard rates, divided once.
    minutes_52 = 0
    rate_minutes_52 = ZERO
    for service in plan.services:
        for pattern in service.visits:
            minutes = pattern.count_in_52_weeks(plan.budget.start_date) * pattern.minutes
            minutes_52 += minutes
            rate_minutes_52 += minutes * service.rates.standard
    priced = list(priced_visits(plan))
    kinds = Counter(p.rate_kind.value for p in priced)
    return PlanCost(
        weekly_minutes=divide(minutes_52, 52),
        weekly_cost=divide(rate_minutes_52, 52 * 60),
        annual_cost_52_weeks=rate_minutes_to_money(rate_minutes_52),
        period_cost=period_cost(priced),
        budget=plan.budget.annual_amount,
        visits_in_period=len(priced),
        visits_by_rate={kind.value: kinds.get(kind.value, 0) for kind in RateKind},
    )


def versioned_priced_visits(
    versions: "list[tuple[date, Plan]]", first: date | None = None, last: date | None = None
) -> Iterator[PricedVisit]:
    """Priced visits of a plan that changed over time.

    ``versions`` are ``(effective_from, plan)`` pairs; each plan is in force from
    its date until the day before the next one's. Visits are taken from each in
    its own span (and within its own budget period), so a change on any date
    costs exactly what the old plan did before it and the new one after.
    """
    ordered = sorted(versions, key=lambda pair: pair[0])
    for index, (effective_from, plan) in enumerate(ordered):
        span_first = max(effective_from, first) if first else effective_from
        span_last = ordered[index + 1][0] - timedelta(days=1) if index + 1 < len(ordered) else plan.budget.end_date
        if last:
            span_last = min(span_last, last)
        if span_last >= span_first:
            yield from priced_visits(plan, span_first, span_last)
