"""Cumulative spending over a budget period, for the package chart and its table.

Planned: the cost of the plan's scheduled visits up to each day (every version in force in
the period, at each day's rate: ``domain.costing``). Actual: money spent up to each day from
the stored ledger (``domain.ledger``: visits, payments out, less refunds). Forecast: from the
last day with figures, what is spent plus the plan still to come (the status's forecast).
Sums are exact (minutes x rate, or sixtieths of a pound, divided by 60 once); rounding is
left to the page.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from careledger.domain import ledger as d
from careledger.domain.costing import versioned_priced_visits
from careledger.domain.money import rate_minutes_to_money
from careledger.domain.plans import Plan

from .charts import Point


@dataclass(frozen=True)
class Row:
    day: date
    planned: Decimal
    actual: Decimal | None  # None after the last day with figures
    forecast: Decimal | None  # None before it


@dataclass(frozen=True)
class Spending:
    start: date
    end: date
    as_of: date
    budget: Decimal
    planned: list[Point]
    actual: list[Point]
    forecast: list[Point]
    rows: list[Row]  # month ends (and the period's end)

    @property
    def forecast_end(self) -> Decimal:
        return self.forecast[-1].amount if self.forecast else (self.actual[-1].amount if self.actual else Decimal(0))


def _cumulative(by_day: dict[date, Decimal]) -> tuple[list[date], list[Decimal]]:
    days = sorted(by_day)
    running, totals = Decimal(0), []
    for day in days:
        running += by_day[day]  # exact: integer minutes x 2-place rates, or sixtieths
        totals.append(running)
    return days, totals


def _at(days: list[date], totals: list[Decimal], day: date) -> Decimal:
    index = bisect.bisect_right(days, day)
    return totals[index - 1] if index else Decimal(0)


SPEND_KINDS = tuple(k.value for k in d.EntryKind if k.is_spend)


def ledger_spend_rows(person, first: date, last: date) -> list[tuple[date, str, Decimal, Decimal]]:
    """The person's spend entries (every account) from ``first`` to ``last`` as (day, kind, amount, rate_minutes).

    Read as plain values: a year of a large package is thousands of entries, and building a model
    object and a domain entry for each took most of the page's time.
    """
    from careledger.ledger.models import LedgerEntry

    return list(
        LedgerEntry.objects.filter(person=person, day__gte=first, day__lte=last, kind__in=SPEND_KINDS)
        .values_list("day", "kind", "amount", "rate_minutes")
    )


def rows_of(entries: list[d.Entry]) -> list[tuple[date, str, Decimal, Decimal]]:
    return [(e.posted_on, e.kind.value, e.amount, e.rate_minutes) for e in entries if e.kind.is_spend]


def spending(*, plans: list[tuple[date, Plan]], start: date, end: date, budget: Decimal, rows: list[tuple[date, str, Decimal, Decimal]], as_of: date) -> Spending:
    upto = min(max(as_of, start - timedelta(days=1)), end)
    planned_by_day: dict[date, Decimal] = {}
    for priced in versioned_priced_visits(plans, start, end):
        day = priced.visit.local_date
        planned_by_day[day] = planned_by_day.get(day, Decimal(0)) + priced.rate * priced.visit.minutes
    spent_by_day: dict[date, Decimal] = {}  # in sixtieths of a pound, as domain.ledger.Entry.sixtieths: amount x 60 + rate_minutes
    for day, kind, amount, rate_minutes in rows:
        if kind in SPEND_KINDS and start <= day <= upto:
            spent_by_day[day] = spent_by_day.get(day, Decimal(0)) - (amount * 60 + rate_minutes)
    p_days, p_totals = _cumulative(planned_by_day)
    s_days, s_totals = _cumulative(spent_by_day)

    def planned_at(day: date) -> Decimal:
        return rate_minutes_to_money(_at(p_days, p_totals, day))

    def actual_at(day: date) -> Decimal:
        return rate_minutes_to_money(_at(s_days, s_totals, day))

    samples = sorted({start + timedelta(days=7 * n) for n in range((end - start).days // 7 + 1)} | {end} | ({upto} if upto >= start else set()))
    planned = [Point(day, planned_at(day)) for day in samples]
    actual = [Point(day, actual_at(day)) for day in samples if day <= upto]
    forecast = []
    if upto >= start:
        base, already = actual_at(upto), planned_at(upto)
        forecast = [Point(day, base + planned_at(day) - already) for day in samples if day >= upto]

    month_ends = []
    day = date(start.year, start.month, 1)
    while day <= end:
        following = (day + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
        if last >= start:
            month_ends.append(min(last, end))
        day = following
    if month_ends and month_ends[-1] != end:
        month_ends.append(end)
    rows = []
    for day in month_ends:
        past = day <= upto
        rows.append(Row(day, planned_at(day), actual_at(day) if past else None,
                        None if past else actual_at(upto) + planned_at(day) - planned_at(upto)))  # fmt: skip
    return Spending(start, end, as_of, budget, planned, actual, forecast, rows)
