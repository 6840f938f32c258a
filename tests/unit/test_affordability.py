"""Affordability: spent, pro-rata budget, the two forecasts, direct payment surplus, weeks left."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.affordability import (
    affordability,
    cost_after,
    days_elapsed,
    days_remaining,
    recent_window,
)
from careledger.domain.costing import priced_visits
from careledger.domain.ledger import (
    BUDGET_ACCOUNT,
    Entry,
    EntryKind,
    balance,
    spent,
    transaction_entry,
    visit_entry,
)
from careledger.domain.money import format_money
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
START = date(2026, 4, 6)
END = date(2027, 4, 4)  # 364 days, 52 weeks


def close(value: Decimal | None, exact: Fraction) -> bool:
    assert value is not None
    return abs(Fraction(value) - exact) < Fraction(1, 10**45)


def test_period_days() -> None:
    assert days_elapsed(START, END, START - timedelta(days=1)) == 0
    assert days_elapsed(START, END, START) == 1
    assert days_elapsed(START, END, date(2026, 5, 17)) == 42
    assert days_elapsed(START, END, END) == 364
    assert days_elapsed(START, END, END + timedelta(days=9)) == 364
    assert days_remaining(START, END, date(2026, 5, 17)) == 322
    assert days_remaining(START, END, START - timedelta(days=1)) == 364
    assert days_remaining(START, END, END) == 0


def test_recent_window() -> None:
    assert recent_window(START, date(2026, 5, 17)) == (date(2026, 4, 20), date(2026, 5, 17))  # 28 days
    assert recent_window(START, date(2026, 4, 15)) == (START, date(2026, 4, 15))  # cut at the start: 10 days
    assert recent_window(START, date(2026, 5, 17), days=7) == (date(2026, 5, 11), date(2026, 5, 17))
    assert recent_window(START, START - timedelta(days=1)) is None
    with pytest.raises(ValueError):
        recent_window(START, START, days=0)


def test_mary_cost_after() -> None:
    plan = parse_plan(MARY.read_bytes())
    # After 17 May: 46 weeks x £84.375 = £3,881.25. After the start day: the year less Monday's
    # 60 + 15 minutes = 75 x 12.50 / 60 = £15.625.
    assert cost_after(priced_visits(plan), date(2026, 5, 17)) == D("3881.25")
    assert cost_after(priced_visits(plan), START) == D("4387.50") - D("15.625")
    assert cost_after(priced_visits(plan), END) == 0
    assert cost_after(priced_visits(plan), START - timedelta(days=1)) == D("4387.50")


def test_mary_on_plan_is_exactly_on_budget() -> None:
    plan = parse_plan(MARY.read_bytes())
    # Six weeks delivered exactly as planned: 6 x 84.375 = 506.25, the pro-rata budget.
    aff = affordability(
        budget=D("4387.50"),
        period_start=START,
        period_end=END,
        as_of=date(2026, 5, 17),
        spent=D("506.25"),
        future_cost=cost_after(priced_visits(plan), date(2026, 5, 17)),
        recent_spent=D("337.50"),  # 4 x 84.375
    )
    assert aff.pro_rata_budget == D("506.25")
    assert aff.forecast_year_end == D("4387.50")
    assert aff.forecast_variance == 0
    # 337.50 / 28 x 322 = 3,881.25: the recent rate agrees with the plan.
    assert aff.forecast_from_recent_rate == D("4387.50")
    assert aff.forecast_variance_from_recent_rate == 0
    assert aff.weekly_amount == D("84.375")  # 4,387.50 x 7 / 364
    assert aff.recent_weekly_spend == D("84.375")
    assert aff.weeks_left == 46  # 3,881.25 / 84.375
    assert aff.remaining == D("3881.25")
    assert aff.dp_surplus is None and not aff.is_direct_payment


def dp_ledger() -> list[Entry]:
    """A direct payment of £15,600 a year (£300 a week), paid 4-weekly in advance into DP-0001.

    The person employs a PA for £150 a week, paid on Fridays; one bet; one tea room.
    """
    entries = [Entry("ALLOC", START, EntryKind.ALLOCATION, amount=D("15600.00"))]
    for day in (date(2026, 4, 6), date(2026, 5, 4), date(2026, 6, 1), date(2026, 6, 29)):
        entries.append(
            transaction_entry(ref=f"IN-{day:%m%d}", account="DP-0001", posted_on=day, amount=D("1200.00"))
        )
    friday = date(2026, 4, 10)
    while friday <= date(2026, 7, 5):
        entries.append(
            transaction_entry(ref=f"PA-{friday:%m%d}", account="DP-0001", posted_on=friday, amount=D("-150.00"))
        )
        friday += timedelta(weeks=1)
    entries.append(
        transaction_entry(ref="T-0612-PP", account="DP-0001", posted_on=date(2026, 6, 12), amount=D("-25.00"))
    )
    entries.append(
        transaction_entry(ref="T-0620-BT", account="DP-0001", posted_on=date(2026, 6, 20), amount=D("-8.40"))
    )
    return entries


DP_AS_OF = date(2026, 7, 5)  # 91 days: 13 weeks


def dp_affordability():
    entries = dp_ledger()
    first, last = recent_window(START, DP_AS_OF)
    return affordability(
        budget=D("15600.00"),
        period_start=START,
        period_end=END,
        as_of=DP_AS_OF,
        spent=spent(entries, START, DP_AS_OF),
        future_cost=D("5850.00"),  # the PA's 39 weeks still to come at £150
        recent_spent=spent(entries, first, last),
        dp_balance=balance(entries, DP_AS_OF, account="DP-0001"),
    )


def test_direct_payment_with_a_surplus() -> None:
    aff = dp_affordability()
    # Paid in: 4 x 1,200 = 4,800. Out: 13 Fridays x 150 = 1,950, + 25.00 + 8.40 = 1,983.40.
    assert aff.spent == D("1983.40")
    assert aff.dp_balance == D("2816.60")
    # Weekly amount 15,600 x 7 / 364 = 300; 8 weeks = 2,400; surplus 2,816.60 - 2,400 = 416.60.
    assert aff.weekly_amount == D("300")
    assert aff.dp_surplus_threshold == D("2400")
    assert aff.dp_surplus == D("416.60")
    assert aff.is_direct_payment
    # Pro-rata 15,600 x 91 / 364 = 3,900; forecast 1,983.40 + 5,850 = 7,833.40, 7,766.60 under.
    assert aff.pro_rata_budget == D("3900")
    assert aff.forecast_year_end == D("7833.40")
    assert aff.forecast_variance == D("-7766.60")
    # Recent 28 days (8 Jun to 5 Jul): 4 Fridays = 600 + 25 + 8.40 = 633.40, 158.35 a week;
    # 633.40 x 273 / 28 = 6,175.65; + 1,983.40 = 8,159.05.
    assert aff.recent_spent == D("633.40")
    assert aff.recent_weekly_spend == D("158.35")
    assert aff.forecast_from_recent_rate == D("8159.05")
    # Weeks left: (15,600 - 1,983.40) / 158.35 = 13,616.60 / 158.35 = 85.99...
    assert close(aff.weeks_left, Fraction("13616.60") / Fraction("158.35"))
    assert format_money(aff.weeks_left) == "85.99"
    # The budget account is untouched by the DP account's movements.
    assert balance(dp_ledger(), DP_AS_OF, account=BUDGET_ACCOUNT) == D("15600.00")


def test_surplus_is_zero_at_or_under_the_limit_and_follows_the_contract_weeks() -> None:
    common = dict(
        budget=D("15600.00"), period_start=START, period_end=END, as_of=DP_AS_OF,
        spent=D("0"), future_cost=D("0"), recent_spent=D("0"),
    )
    assert affordability(**common, dp_balance=D("2400.00")).dp_surplus == 0
    assert affordability(**common, dp_balance=D("-10.00")).dp_surplus == 0
    assert affordability(**common, dp_balance=D("2400.01")).dp_surplus == D("0.01")
    # A contract allowing 4 weeks, and an agreed weekly payment net of a £20 contribution.
    tight = affordability(**common, dp_balance=D("2400.00"), dp_surplus_weeks=4, weekly_amount=D("280.00"))
    assert tight.dp_surplus == D("1280.00")  # 2,400 - 4 x 280
    # Nothing spent recently: no weeks-left figure.
    assert affordability(**common).weeks_left is None


def heavy_package() -> list[Entry]:
    """A £300,000 package: 21 weeks at £6,000 (200 hours at £30), then 4 weeks at £7,000 (extra care)."""
    entries = [Entry("ALLOC", START, EntryKind.ALLOCATION, amount=D("300000.00"))]
    for week in range(25):
        sunday = START + timedelta(weeks=week, days=6)
        minutes = 12000 if week < 21 else 14000
        entries.append(visit_entry(f"WEEK-{week + 1:02d}", sunday, minutes=minutes, rate=D("30.00")))
    return entries


HEAVY_AS_OF = date(2026, 9, 27)  # Sunday; 175 days = 25 weeks


def heavy_affordability():
    entries = heavy_package()
    first, last = recent_window(START, HEAVY_AS_OF)
    return affordability(
        budget=D("300000.00"),
        period_start=START,
        period_end=END,
        as_of=HEAVY_AS_OF,
        spent=spent(entries, START, HEAVY_AS_OF),
        future_cost=D("162000.00"),  # the schedule: 27 more weeks at £6,000
        recent_spent=spent(entries, first, last),
    )


def test_a_300k_package_heading_for_overspend() -> None:
    aff = heavy_affordability()
    # Spent: 21 x 6,000 + 4 x 7,000 = 154,000.
    assert aff.spent == D("154000")
    # Pro-rata: 300,000 x 175 / 364 = 144,230.769230...
    assert close(aff.pro_rata_budget, Fraction(300000 * 175, 364))
    assert format_money(aff.pro_rata_budget) == "144230.77"
    # On the schedule: 154,000 + 162,000 = 316,000, 16,000 over (5.3%).
    assert aff.forecast_year_end == D("316000.00")
    assert aff.forecast_variance == D("16000.00")
    # At the recent rate: 28,000 in 28 days x 189 days left = 189,000; 343,000, 43,000 over (14.3%).
    assert aff.recent_spent == D("28000")
    assert aff.forecast_from_recent_rate == D("343000")
    assert aff.forecast_variance_from_recent_rate == D("43000.00")
    # Weeks left: 146,000 / 7,000 = 20.857...
    assert close(aff.weeks_left, Fraction(146000, 7000))


def test_before_the_start_and_after_the_end() -> None:
    before = affordability(
        budget=D("4387.50"), period_start=START, period_end=END, as_of=START - timedelta(days=3),
        spent=D("0"), future_cost=D("4387.50"), recent_spent=D("0"),
    )
    assert before.pro_rata_budget == 0
    assert before.forecast_year_end == D("4387.50")
    assert before.forecast_from_recent_rate is None
    assert before.recent_days == 0 and before.recent_weekly_spend is None
    assert before.weeks_left is None
    after = affordability(
        budget=D("4387.50"), period_start=START, period_end=END, as_of=END + timedelta(days=30),
        spent=D("4400.00"), future_cost=D("0"), recent_spent=D("300.00"),
    )
    assert after.pro_rata_budget == D("4387.50")
    assert after.forecast_from_recent_rate == D("4400.00")  # no days left
    assert after.forecast_variance == D("12.50")
    assert after.weeks_left == 0  # the budget is spent


def test_inputs_are_checked() -> None:
    good = dict(
        budget=D("100.00"), period_start=START, period_end=END, as_of=START,
        spent=D("0"), future_cost=D("0"), recent_spent=D("0"),
    )
    affordability(**good)
    for change, message in (
        ({"budget": 100.0}, "exact Decimal"),
        ({"budget": D("-1")}, "cannot be negative"),
        ({"period_end": START - timedelta(days=1)}, "cannot end before"),
        ({"recent_days": 0}, "recent_days"),
        ({"dp_surplus_weeks": -1}, "dp_surplus_weeks"),
        ({"future_cost": D("-1")}, "cannot be negative"),
        ({"spent": D("NaN")}, "finite"),
    ):
        with pytest.raises(ValueError, match=message):
            affordability(**{**good, **change})


# --- properties ----------------------------------------------------------------------------------

MONEY = st.integers(min_value=0, max_value=10**9).map(lambda c: D(c) / 100)
OFFSETS = st.integers(min_value=-30, max_value=400)


@settings(max_examples=200, deadline=None)
@given(MONEY, OFFSETS, OFFSETS, MONEY, MONEY, MONEY)
def test_figures_are_consistent(budget, a, b, spent_, future, recent) -> None:
    first, second = sorted((a, b))

    def at(offset: int):
        return affordability(
            budget=budget, period_start=START, period_end=END, as_of=START + timedelta(days=offset),
            spent=spent_, future_cost=future, recent_spent=recent,
        )

    x, y = at(first), at(second)
    # Pro-rata grows with time, from 0 to the budget, exactly budget x days / 364.
    assert 0 <= x.pro_rata_budget <= y.pro_rata_budget <= budget
    assert close(x.pro_rata_budget, Fraction(budget) * x.days_elapsed / 364)
    # The forecast is exactly spent + the cost to come, and its variance exactly forecast - budget.
    assert x.forecast_year_end == spent_ + future
    assert x.forecast_variance == spent_ + future - budget
    if x.forecast_from_recent_rate is not None:
        exact = Fraction(spent_) + Fraction(recent) * x.days_remaining / x.recent_days
        assert close(x.forecast_from_recent_rate, exact)
    if x.weeks_left is not None:
        assert x.weeks_left >= 0


@settings(max_examples=200, deadline=None)
@given(MONEY, st.integers(min_value=-10**9, max_value=10**9).map(lambda c: D(c) / 100), st.integers(0, 52))
def test_dp_surplus_is_the_balance_above_the_limit(budget, dp_balance, weeks) -> None:
    aff = affordability(
        budget=budget, period_start=START, period_end=END, as_of=START, spent=D(0), future_cost=D(0),
        recent_spent=D(0), dp_balance=dp_balance, dp_surplus_weeks=weeks,
    )
    limit = Fraction(budget) * 7 / 364 * weeks
    assert close(aff.dp_surplus, max(Fraction(0), Fraction(dp_balance) - limit))
