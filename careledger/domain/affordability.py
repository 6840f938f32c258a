"""Is the budget affordable? Spend to date, pro-rata budget, forecasts and a direct payment's surplus.

All figures are for one budget period (``period_start`` to ``period_end``
inclusive) as at the end of the local date ``as_of``:

* ``spent``: money spent to the end of ``as_of`` (``ledger.spent``: payable
  visits, or money out of a direct payment account);
* ``pro_rata_budget`` = budget x days from the start to ``as_of`` inclusive /
  days in the period (``formats.md`` section 6); 0 before the start and the whole
  budget from the end on;
* ``forecast_year_end`` = spent + ``future_cost``, the cost of the scheduled slots
  still to come (those on the days after ``as_of``; see :func:`cost_after`);
  ``forecast_variance`` = forecast - budget (positive is an overspend);
* ``forecast_from_recent_rate`` = spent + the daily rate of the last
  ``recent_days`` days (28 by default, fewer if the period began more recently)
  x the days left in the period: where the money is going if care carries on as
  it has lately, whatever the plan says;
* ``dp_surplus`` (direct payments only, else ``None``): the account balance above
  ``dp_surplus_weeks`` (``rules.dp_surplus_weeks``, 8 by default) x the weekly
  amount, else 0 (``formats.md`` section 5);
* ``weeks_left``: the budget not yet spent / the weekly spend of the recent
  window (0 once the budget is spent; ``None`` when nothing was spent recently).

Exactness: sums and products are exact (a context that raises rather than
rounds); each ratio is one division to 60 significant digits (``money.divide``).
Nothing is rounded here; ``status`` rounds to the penny when it prints.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .costing import PricedVisit
from .money import ZERO, Decimal, divide, rate_minutes_to_money

__all__ = [
    "DEFAULT_RECENT_DAYS",
    "Affordability",
    "affordability",
    "days_elapsed",
    "days_remaining",
    "recent_window",
    "cost_after",
]

DEFAULT_RECENT_DAYS = 28
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def _add(*values: Decimal) -> Decimal:
    result = ZERO
    for value in values:
        result = _EXACT.add(result, value)
    return result


def _sub(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.subtract(a, b)


def _mul(a: Decimal | int, b: Decimal | int) -> Decimal:
    return _EXACT.multiply(Decimal(a), Decimal(b))


def _check_date(value: object, what: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{what} must be a date")


def _check_amount(value: object, what: str, *, negative_ok: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValueError(f"{what} must be an exact Decimal, not {type(value).__name__}")
    if not Decimal(value).is_finite():
        raise ValueError(f"{what} must be finite")
    if not negative_ok and value < 0:
        raise ValueError(f"{what} cannot be negative ({value})")


def days_elapsed(period_start: date, period_end: date, as_of: date) -> int:
    """Days of the period from its start to ``as_of`` inclusive (0 before it, all after it)."""
    if as_of < period_start:
        return 0
    return (min(as_of, period_end) - period_start).days + 1


def days_remaining(period_start: date, period_end: date, as_of: date) -> int:
    """Days of the period after ``as_of`` (the whole period before it starts, 0 from its end)."""
    total = (period_end - period_start).days + 1
    return total - days_elapsed(period_start, period_end, as_of)


def recent_window(period_start: date, as_of: date, days: int = DEFAULT_RECENT_DAYS) -> tuple[date, date] | None:
    """The first and last date of the recent-rate window: the ``days`` days ending on ``as_of``,
    cut at the period's start; ``None`` before the period starts.

    Compute ``recent_spent`` as ``ledger.spent(entries, first, last)`` over this window,
    so that :func:`affordability` divides by the same number of days.
    """
    if days < 1:
        raise ValueError("the recent window must be at least one day")
    if as_of < period_start:
        return None
    return max(period_start, as_of - timedelta(days=days - 1)), as_of


def cost_after(priced: Iterable[PricedVisit], as_of: date) -> Decimal:
    """The cost of the priced slots on the days after ``as_of`` (rate-minutes summed, divided once).

    Pass ``costing.priced_visits(plan)`` or ``costing.versioned_priced_visits(...)``.
    """
    rate_minutes = _add(*(p.rate_minutes for p in priced if p.visit.local_date > as_of))
    return rate_minutes_to_money(rate_minutes)


@dataclass(frozen=True)
class Affordability:
    """The "affordable" figures of one budget period as at ``as_of`` (see the module docstring).

    Everything is an exact, unrounded Decimal; ``dp_*`` fields are ``None`` unless
    the budget is a direct payment (an account balance was given).
    """

    budget: Decimal
    period_start: date
    period_end: date
    as_of: date
    spent: Decimal
    pro_rata_budget: Decimal
    future_cost: Decimal
    forecast_year_end: Decimal
    recent_days: int  # the length of the recent window actually used (0 before the period starts)
    recent_spent: Decimal
    forecast_from_recent_rate: Decimal | None
    weekly_amount: Decimal
    dp_surplus_weeks: int
    dp_balance: Decimal | None
    dp_surplus: Decimal | None
    weeks_left: Decimal | None

    @property
    def forecast_variance(self) -> Decimal:
        """forecast_year_end - budget: positive is a forecast overspend."""
        return _sub(self.forecast_year_end, self.budget)

    @property
    def forecast_variance_from_recent_rate(self) -> Decimal | None:
        if self.forecast_from_recent_rate is None:
            return None
        return _sub(self.forecast_from_recent_rate, self.budget)

    @property
    def remaining(self) -> Decimal:
        """The budget not yet spent (negative once overspent)."""
        return _sub(self.budget, self.spent)

    @property
    def recent_weekly_spend(self) -> Decimal | None:
        """The spend of the recent window scaled to 7 days (``None`` with no window)."""
        if not self.recent_days:
            return None
        return divide(_mul(self.recent_spent, 7), self.recent_days)

    @property
    def dp_surplus_threshold(self) -> Decimal:
        """``dp_surplus_weeks`` x the weekly amount: what a direct payment account may hold."""
        return _mul(self.weekly_amount, self.dp_surplus_weeks)

    @property
    def days_elapsed(self) -> int:
        return days_elapsed(self.period_start, self.period_end, self.as_of)

    @property
    def days_remaining(self) -> int:
        return days_remaining(self.period_start, self.period_end, self.as_of)

    @property
    def is_direct_payment(self) -> bool:
        return self.dp_balance is not None


def affordability(
    *,
    budget: Decimal,
    period_start: date,
    period_end: date,
    as_of: date,
    spent: Decimal,
    future_cost: Decimal,
    recent_spent: Decimal,
    recent_days: int = DEFAULT_RECENT_DAYS,
    dp_balance: Decimal | None = None,
    weekly_amount: Decimal | None = None,
    dp_surplus_weeks: int = 8,
) -> Affordability:
    """Work out the :class:`Affordability` of a budget as at the end of ``as_of``.

    * ``spent``: spend from the period start to ``as_of`` (``ledger.spent``);
    * ``future_cost``: cost of the slots scheduled after ``as_of`` (:func:`cost_after`);
    * ``recent_spent``: spend over :func:`recent_window` (``recent_days`` long);
    * ``dp_balance``: a direct payment account's balance at the end of ``as_of``
      (``ledger.balance(..., account=ref)``), or ``None`` for any other mechanism;
    * ``weekly_amount``: the budget's weekly amount, by default budget x 7 / days
      in the period (``4387.50 x 7 / 364 = 84.375`` for Mary); pass the agreed
      weekly payment instead when it differs (net of the person's contribution);
    * ``dp_surplus_weeks``: from the contract's ``MonitoringRules``.
    """
    _check_date(period_start, "period_start")
    _check_date(period_end, "period_end")
    _check_date(as_of, "as_of")
    if period_end < period_start:
        raise ValueError("a budget period cannot end before it starts")
    _check_amount(budget, "budget")
    _check_amount(spent, "spent", negative_ok=True)  # refunds can exceed spend
    _check_amount(future_cost, "future_cost")
    _check_amount(recent_spent, "recent_spent", negative_ok=True)
    if dp_balance is not None:
        _check_amount(dp_balance, "dp_balance", negative_ok=True)
    if weekly_amount is not None:
        _check_amount(weekly_amount, "weekly_amount")
    for name, value, least in (("recent_days", recent_days, 1), ("dp_surplus_weeks", dp_surplus_weeks, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")

    period_days = (period_end - period_start).days + 1
    elapsed = days_elapsed(period_start, period_end, as_of)
    left = period_days - elapsed
    pro_rata = divide(_mul(budget, elapsed), period_days)
    if weekly_amount is None:
        weekly_amount = divide(_mul(budget, 7), period_days)

    window = recent_window(period_start, as_of, recent_days)
    window_days = 0 if window is None else (window[1] - window[0]).days + 1
    if window_days:
        forecast_recent: Decimal | None = _add(spent, divide(_mul(recent_spent, left), window_days))
    else:
        forecast_recent = None

    weeks_left: Decimal | None = None
    if window_days and recent_spent > 0:
        remaining = _sub(budget, spent)
        weeks_left = divide(_mul(remaining, window_days), _mul(recent_spent, 7)) if remaining > 0 else ZERO

    dp_surplus: Decimal | None = None
    if dp_balance is not None:
        above = _sub(dp_balance, _mul(weekly_amount, dp_surplus_weeks))
        dp_surplus = above if above > 0 else ZERO

    return Affordability(
        budget=budget,
        period_start=period_start,
        period_end=period_end,
        as_of=as_of,
        spent=spent,
        pro_rata_budget=pro_rata,
        future_cost=future_cost,
        forecast_year_end=_add(spent, future_cost),
        recent_days=window_days,
        recent_spent=recent_spent,
        forecast_from_recent_rate=forecast_recent,
        weekly_amount=weekly_amount,
        dp_surplus_weeks=dp_surplus_weeks,
        dp_balance=dp_balance,
        dp_surplus=dp_surplus,
        weeks_left=weeks_left,
    )
