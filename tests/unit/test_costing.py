"""Plan costing: weekly, 52-week and period costs, checked by hand and by property."""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.costing import cost_plan, period_cost, priced_visits, scheduled_visits
from careledger.domain.money import format_money, round_money
from careledger.domain.plans import Budget, DeliveryMechanism, Person, Plan, Service
from careledger.domain.rates import RateCard, RateKind
from careledger.domain.schedules import WEEKDAY_CODES, VisitPattern
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
EVERY_DAY = tuple(WEEKDAY_CODES)


def make_plan(first: date, last: date, *services: Service, budget: str = "0.00") -> Plan:
    return Plan(
        Person("TEST-1", "Test", "Person"),
        Budget(D(budget), first, last, DeliveryMechanism.ISF),
        tuple(services),
    )


def make_service(rates: RateCard, *patterns: VisitPattern, ref: str = "homecare") -> Service:
    return Service(ref, "ACME-CARE", rates, tuple(patterns))


def exact_penny(value: Fraction) -> Decimal:
    """Half-up to the penny, in exact fractions (values here are never negative)."""
    pence = (value * 100 + Fraction(1, 2)).__floor__()
    return D(pence) / 100


def terminates(value: Fraction) -> bool:
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


# --- Mary (docs/formats.md section 2) -----------------------------------------------------------


def test_mary_costs_exactly_her_budget():
    plan = parse_plan(MARY.read_text(encoding="utf-8"))
    cost = cost_plan(plan)
    # 3 x 60 + 4 x 30 + 7 x 15 = 405 minutes a week = 6.75 hours; x £12.50 = £84.375.
    assert cost.weekly_minutes == 405
    assert cost.weekly_hours == D("6.75")
    assert cost.weekly_cost == D("84.375")
    assert format_money(cost.weekly_cost) == "84.38"
    # 52 x 84.375 = 4387.50 (not 52 x 84.38 = 4387.76: the weekly cost is not rounded first).
    assert cost.annual_cost_52_weeks == D("4387.50")
    # 2026-04-06 (Mon) to 2027-04-04 (Sun) is exactly 52 weeks, all at the one standard rate.
    assert cost.period_cost == D("4387.50")
    assert cost.budget == D("4387.50")
    assert cost.headroom == 0
    assert format_money(cost.headroom) == "0.00"
    assert cost.fits_budget is True
    assert cost.visits_in_period == 52 * 14 == 728
    assert cost.visits_by_rate == {"standard": 728, "weekend": 0, "bank_holiday": 0}


# --- hand-checked: October clock change to after New Year ------------------------------------

AUTUMN_FIRST = date(2026, 10, 19)  # a Monday
AUTUMN_LAST = date(2027, 1, 10)  # a Sunday
# Days: 13 (19-31 Oct) + 30 (Nov) + 31 (Dec) + 10 (1-10 Jan) = 84 = exactly 12 weeks,
# so 12 of each weekday: 60 weekdays, 12 Saturdays, 12 Sundays.
# Bank holidays in the span: Fri 25 Dec, Sat 26 Dec, Mon 28 Dec (substitute), Fri 1 Jan.
THREE_RATES = RateCard(D("20.00"), weekend=D("25.00"), bank_holiday=D("40.00"))


def test_daily_hour_visits_over_the_clock_change_and_christmas_with_three_rates():
    plan = make_plan(
        AUTUMN_FIRST, AUTUMN_LAST, make_service(THREE_RATES, VisitPattern(time(9, 0), 60, EVERY_DAY)), budget="2000.00"
    )
    cost = cost_plan(plan)
    # bank holiday: 25, 26, 28 Dec and 1 Jan                     = 4 visits
    # weekend:      24 weekend days - Sat 26 Dec (bank holiday)  = 23 visits
    # standard:     60 weekdays - Fri 25, Mon 28 Dec, Fri 1 Jan  = 57 visits
    assert cost.visits_by_rate == {"standard": 57, "weekend": 23, "bank_holiday": 4}
    assert cost.visits_in_period == 84
    # 57 x 1h x £20 = 1140.00; 23 x 1h x £25 = 575.00; 4 x 1h x £40 = 160.00; total 1875.00
    assert cost.period_cost == D("1875.00")
    assert cost.headroom == D("125.00")
    assert cost.fits_budget
    # Weekly figures stay at the standard rate: 7 hours x £20.
    assert cost.weekly_cost == D("140")
    assert cost.annual_cost_52_weeks == D("7280")


def test_daily_visits_stay_at_nine_local_time_across_the_october_clock_change():
    plan = make_plan(AUTUMN_FIRST, AUTUMN_LAST, make_service(THREE_RATES, VisitPattern(time(9, 0), 60, EVERY_DAY)))
    visits = {v.local_date: v for v in scheduled_visits(plan)}
    assert visits[date(2026, 10, 24)].start.utcoffset() == timedelta(hours=1)
    assert visits[date(2026, 10, 25)].start.utcoffset() == timedelta(0)
    assert all((v.start.hour, v.start.minute) == (9, 0) for v in visits.values())


def test_daily_visits_with_a_weekend_rate_but_no_bank_holiday_rate():
    rates = RateCard(D("20.00"), weekend=D("25.00"))
    plan = make_plan(AUTUMN_FIRST, AUTUMN_LAST, make_service(rates, VisitPattern(time(9, 0), 60, EVERY_DAY)))
    cost = cost_plan(plan)
    # Fri 25 Dec, Mon 28 Dec and Fri 1 Jan are standard; Sat 26 Dec is an ordinary weekend day.
    assert cost.visits_by_rate == {"standard": 60, "weekend": 24, "bank_holiday": 0}
    # 60 x £20 = 1200.00; 24 x £25 = 600.00; total 1800.00
    assert cost.period_cost == D("1800.00")


def test_mixed_patterns_over_the_clock_change_and_christmas():
    rates = RateCard(D("18.00"), weekend=D("22.50"), bank_holiday=D("36.00"))
    plan = make_plan(
        AUTUMN_FIRST,
        AUTUMN_LAST,
        make_service(
            rates,
            VisitPattern(time(8, 0), 30, ("MO", "WE", "FR")),
            VisitPattern(time(14, 0), 60, ("SA",)),
            VisitPattern(time(19, 0), 20, ("TU",)),
        ),
    )
    cost = cost_plan(plan)
    # MO/WE/FR, 30 min: 36 visits; Fri 25 Dec, Mon 28 Dec, Fri 1 Jan are bank holidays.
    #   33 x 0.5h x £18.00 = 297.00;  3 x 0.5h x £36.00 = 54.00
    # SA, 60 min: 12 visits; Sat 26 Dec is a bank holiday.
    #   11 x 1h x £22.50 = 247.50;    1 x 1h x £36.00 = 36.00
    # TU, 20 min: 12 visits, none a bank holiday (Tue 29 Dec is not).
    #   12 x 20 x £18.00 = 4320 rate-minutes / 60 = 72.00 (each visit is £6.00 exactly)
    # total 297.00 + 54.00 + 247.50 + 36.00 + 72.00 = 706.50
    assert cost.visits_by_rate == {"standard": 33 + 12, "weekend": 11, "bank_holiday": 3 + 1}
    assert cost.period_cost == D("706.50")
    # Weekly at standard: (90 + 60 + 20) min x £18 / 60 = £51.00
    assert cost.weekly_cost == D("51")


def test_twenty_minute_visits_sum_their_rate_minutes_before_dividing():
    # 12 Tuesdays x 20 min at £12.50: each visit is £4.1666..., the 12 together exactly £50.00.
    plan = make_plan(
        AUTUMN_FIRST, AUTUMN_LAST, make_service(RateCard(D("12.50")), VisitPattern(time(19, 0), 20, ("TU",)))
    )
    priced = list(priced_visits(plan))
    assert len(priced) == 12
    assert format_money(priced[0].cost) == "4.17"
    assert period_cost(priced) == D("50.00")
    assert sum(round_money(p.cost) for p in priced) == D("50.04")  # what rounding each visit would give


def test_a_late_visit_on_christmas_eve_is_priced_at_the_christmas_eve_rate():
    plan = make_plan(
        date(2026, 12, 24), date(2026, 12, 25), make_service(THREE_RATES, VisitPattern(time(23, 30), 60, ("TH",)))
    )
    (priced,) = priced_visits(plan)
    assert priced.visit.local_date == date(2026, 12, 24)
    assert priced.visit.end.date() == date(2026, 12, 25)  # it ends on Christmas Day...
    assert priced.rate_kind is RateKind.STANDARD  # ...but starts on Christmas Eve
    assert priced.cost == D("20.00")


def test_a_late_sunday_visit_before_the_substitute_bank_holiday_is_priced_as_weekend():
    plan = make_plan(
        date(2026, 12, 27), date(2026, 12, 28), make_service(THREE_RATES, VisitPattern(time(23, 30), 60, ("SU",)))
    )
    (priced,) = priced_visits(plan)
    assert priced.rate_kind is RateKind.WEEKEND
    assert priced.cost == D("25.00")


def test_a_visit_on_the_night_the_clocks_go_back_is_charged_its_scheduled_minutes():
    rates = RateCard(D("12.00"), weekend=D("15.00"))
    plan = make_plan(
        date(2026, 10, 25), date(2026, 10, 25), make_service(rates, VisitPattern(time(1, 0), 120, ("SU",)))
    )
    (priced,) = priced_visits(plan)
    # 01:00 BST to 02:00 GMT: one hour on the clock, two hours of care.
    assert (priced.visit.start.hour, priced.visit.end.hour) == (1, 2)
    assert priced.visit.end.astimezone(UTC) - priced.visit.start.astimezone(UTC) == timedelta(hours=2)
    assert priced.rate_kind is RateKind.WEEKEND
    assert priced.cost == D("30.00")  # 2h x £15, not 1h


def test_a_visit_on_the_night_the_clocks_go_forward_is_charged_its_scheduled_minutes():
    rates = RateCard(D("12.00"), weekend=D("15.00"))
    plan = make_plan(
        date(2026, 3, 29),
        date(2026, 3, 29),
        make_service(rates, VisitPattern(time(0, 30), 120, ("SU",)), VisitPattern(time(1, 30), 60, ("SU",))),
    )
    first, second = priced_visits(plan)
    # 00:30 GMT to 03:30 BST: three hours on the clock, two hours of care.
    assert (first.visit.start.hour, first.visit.end.hour, first.visit.end.minute) == (0, 3, 30)
    assert first.cost == D("30.00")  # 2h x £15
    # 01:30 does not exist that night; the visit happens at 02:30 BST and is still an hour.
    assert second.visit.start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert second.cost == D("15.00")
    assert period_cost([first, second]) == D("45.00")


def test_over_budget_plan_has_negative_headroom_and_does_not_fit():
    plan = make_plan(
        date(2026, 4, 6),
        date(2026, 4, 12),
        make_service(RateCard(D("12.50")), VisitPattern(time(9, 0), 60, EVERY_DAY)),
        budget="87.49",
    )
    cost = cost_plan(plan)
    assert cost.period_cost == D("87.50")
    assert cost.headroom == D("-0.01")
    assert not cost.fits_budget


def test_a_window_is_clamped_to_the_budget_period():
    plan = make_plan(
        date(2026, 4, 6), date(2026, 4, 12), make_service(RateCard(D("10")), VisitPattern(time(9, 0), 60, EVERY_DAY))
    )
    assert len(list(scheduled_visits(plan, date(2026, 1, 1), date(2026, 12, 31)))) == 7
    assert len(list(scheduled_visits(plan, date(2026, 4, 10), None))) == 3


def test_visits_of_several_services_come_in_time_order():
    plan = make_plan(
        date(2026, 4, 6),
        date(2026, 4, 7),
        make_service(RateCard(D("10")), VisitPattern(time(18, 0), 30, EVERY_DAY), ref="evening"),
        make_service(RateCard(D("20")), VisitPattern(time(8, 0), 30, EVERY_DAY), ref="morning"),
    )
    visits = list(scheduled_visits(plan))
    assert [(v.local_date.day, v.service_ref) for v in visits] == [
        (6, "morning"),
        (6, "evening"),
        (7, "morning"),
        (7, "evening"),
    ]
    # Each visit is priced with its own service's rates: 2 x (0.5h x £20 + 0.5h x £10) = 30.
    assert cost_plan(plan).period_cost == D("30")


# --- properties ------------------------------------------------------------------------------------

rates_2dp = st.integers(min_value=0, max_value=100_00).map(lambda pence: D(pence) / 100)
optional_rate = st.one_of(st.none(), rates_2dp)
wall_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekly_days = st.lists(st.sampled_from(WEEKDAY_CODES), min_size=1, max_size=7, unique=True).map(
    lambda days: tuple(sorted(days, key=WEEKDAY_CODES.index))
)
weekly_patterns = st.builds(VisitPattern, start=wall_times, minutes=st.integers(1, 600), days=weekly_days)
rule_patterns = st.builds(
    VisitPattern,
    start=wall_times,
    minutes=st.integers(1, 600),
    rrule=st.sampled_from(
        [
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA",
            "FREQ=DAILY;INTERVAL=5",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYDAY=-1FR",
        ]
    ),
)
any_patterns = st.one_of(weekly_patterns, rule_patterns)
any_start_date = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
# Periods that often cross Christmas, Easter and the clock changes.
near_a_holiday = st.builds(
    lambda year, anchor, back: anchor.replace(year=year) - timedelta(days=back),
    st.integers(2020, 2030),
    st.sampled_from([date(2001, 12, 25), date(2001, 4, 10), date(2001, 3, 29), date(2001, 10, 25), date(2001, 5, 31)]),
    st.integers(0, 40),
)
period_starts = st.one_of(any_start_date, near_a_holiday)


@st.composite
def single_rate_plans(draw):
    """A plan of whole weeks whose services have only a standard rate and weekly patterns."""
    first = draw(any_start_date)
    weeks = draw(st.integers(1, 8))
    services = [
        make_service(RateCard(draw(rates_2dp)), *draw(st.lists(weekly_patterns, min_size=1, max_size=3)), ref=f"s{i}")
        for i in range(draw(st.integers(1, 2)))
    ]
    return make_plan(first, first + timedelta(weeks=weeks, days=-1), *services), weeks


@st.composite
def plans_with_all_rates(draw, max_days=100):
    first = draw(period_starts)
    days = draw(st.integers(0, max_days))
    services = [
        make_service(
            RateCard(draw(rates_2dp), draw(optional_rate), draw(optional_rate)),
            *draw(st.lists(any_patterns, min_size=1, max_size=3)),
            ref=f"s{i}",
        )
        for i in range(draw(st.integers(1, 2)))
    ]
    return make_plan(first, first + timedelta(days=days), *services)


@settings(max_examples=100, deadline=None)
@given(single_rate_plans())
def test_whole_weeks_at_one_rate_cost_that_many_times_the_weekly_cost(plan_and_weeks):
    plan, weeks = plan_and_weeks
    cost = cost_plan(plan)
    week_rate_minutes = sum(
        (len(p.days) * p.minutes * s.rates.standard for s in plan.services for p in s.visits), D(0)
    )
    priced = list(priced_visits(plan))
    # The visits and the rate-minutes are exactly `weeks` weeks' worth.
    assert len(priced) == weeks * sum(len(p.days) for s in plan.services for p in s.visits)
    assert sum((p.rate_minutes for p in priced), D(0)) == weeks * week_rate_minutes
    true_weekly = Fraction(week_rate_minutes) / 60
    with decimal.localcontext(prec=80):
        weeks_times_weekly = weeks * cost.weekly_cost
    if terminates(true_weekly):
        # Exact decimals: period cost is exactly N x weekly cost.
        assert Fraction(cost.weekly_cost) == true_weekly
        assert cost.period_cost == weeks_times_weekly
    else:
        # A recurring weekly cost (a 20-minute visit is a third of an hour) is held to 60 digits;
        # the period cost is within a hair of N x it, and is the same to the penny.
        assert abs(Fraction(cost.period_cost) - weeks * true_weekly) < Fraction(1, 10**50)
    # The period cost, worked from rate-minutes, is always the correctly rounded penny figure
    # (N x the 60-digit weekly cost can miss a half-penny tie: see the test below).
    assert round_money(cost.period_cost) == exact_penny(weeks * true_weekly)


@settings(max_examples=100, deadline=None)
@given(plans_with_all_rates(), st.data())
def test_splitting_a_period_at_any_day_never_changes_the_total(plan, data):
    first, last = plan.budget.start_date, plan.budget.end_date
    split = first + timedelta(days=data.draw(st.integers(0, (last - first).days), label="split"))
    whole = list(priced_visits(plan, first, last))
    before = list(priced_visits(plan, first, split))
    after = list(priced_visits(plan, split + timedelta(days=1), last))
    # The same visits, at the same rates, in the same order...
    assert before + after == whole
    assert all(p.visit.local_date <= split for p in before)
    assert all(p.visit.local_date > split for p in after)
    # ...so the same rate-minutes and the same total.
    assert sum((p.rate_minutes for p in before + after), D(0)) == sum((p.rate_minutes for p in whole), D(0))
    assert period_cost(before + after) == period_cost(whole) == cost_plan(plan).period_cost
    # The two halves' own totals (each held to 60 digits) add up to the whole.
    with decimal.localcontext(prec=80):
        assert abs(period_cost(before) + period_cost(after) - period_cost(whole)) < D("1e-50")


@settings(max_examples=100, deadline=None)
@given(plans_with_all_rates(), st.data())
def test_period_cost_is_never_negative_and_never_falls_as_the_end_date_moves_later(plan, data):
    first, last = plan.budget.start_date, plan.budget.end_date
    span = (last - first).days
    ends = sorted(data.draw(st.lists(st.integers(0, span), min_size=2, max_size=4), label="end offsets"))
    costs = [period_cost(priced_visits(plan, first, first + timedelta(days=n))) for n in ends]
    assert all(c >= 0 for c in costs)
    assert costs == sorted(costs)
    assert cost_plan(plan).period_cost >= costs[-1]
    # Every priced visit is priced at one of its service's rates, for the kind of day it starts on.
    services = {s.ref: s for s in plan.services}
    for p in priced_visits(plan):
        card = services[p.visit.service_ref].rates
        assert p.rate_kind is card.kind_for(p.visit.local_date)
        assert p.rate == getattr(card, p.rate_kind.value) is not None


@settings(max_examples=100, deadline=None)
@given(
    first=any_start_date,
    services=st.lists(
        st.tuples(rates_2dp, optional_rate, optional_rate, st.lists(any_patterns, min_size=1, max_size=3)),
        min_size=1,
        max_size=2,
    ),
)
def test_weekly_cost_times_52_is_the_52_week_cost(first, services):
    plan = make_plan(
        first,
        first + timedelta(days=6),
        *(make_service(RateCard(std, wk, bh), *patterns, ref=f"s{i}") for i, (std, wk, bh, patterns) in enumerate(services)),
    )
    cost = cost_plan(plan)
    # Standard rates only, over the 52 weeks from the budget start.
    rate_minutes_52 = sum(
        (p.count_in_52_weeks(first) * p.minutes * s.rates.standard for s in plan.services for p in s.visits), D(0)
    )
    true_weekly = Fraction(rate_minutes_52) / (52 * 60)
    true_annual = Fraction(rate_minutes_52) / 60
    if terminates(true_annual):
        assert Fraction(cost.annual_cost_52_weeks) == true_annual
    with decimal.localcontext(prec=80):
        weekly_times_52 = cost.weekly_cost * 52
    if terminates(true_weekly):
        assert weekly_times_52 == cost.annual_cost_52_weeks
    else:
        assert abs(Fraction(weekly_times_52) - Fraction(cost.annual_cost_52_weeks)) < Fraction(1, 10**50)
    assert round_money(cost.annual_cost_52_weeks) == exact_penny(true_annual)


def test_period_cost_comes_from_rate_minutes_not_from_n_times_a_recurring_weekly_cost():
    # 1 minute a week at £1.70: the weekly cost is 1.70 / 60 = £0.028333... (recurring).
    plan = make_plan(
        date(2026, 4, 6), date(2026, 4, 26), make_service(RateCard(D("1.70")), VisitPattern(time(9, 0), 1, ("MO",)))
    )
    cost = cost_plan(plan)
    # Three weeks: 3 x 1.70 = 5.10 rate-minutes / 60 = 0.085 exactly, a half-penny tie: 0.09.
    assert cost.period_cost == D("0.085")
    assert format_money(cost.period_cost) == "0.09"
    # Three times the 60-digit weekly figure is 0.08499...9, which would round down to 0.08.
    with decimal.localcontext(prec=80):
        assert format_money(cost.weekly_cost * 3) == "0.08"


def test_annual_cost_comes_from_rate_minutes_not_from_52_times_a_recurring_weekly_cost():
    # Every third week on Tuesday and Saturday from Wed 2020-01-01: 35 visits in 52 weeks,
    # 1 minute at £2.22 each = 77.70 rate-minutes; / 60 = 1.295 exactly, a half-penny tie: 1.30.
    pattern = VisitPattern(time(9, 0), 1, rrule="FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA")
    assert pattern.count_in_52_weeks(date(2020, 1, 1)) == 35
    plan = make_plan(date(2020, 1, 1), date(2020, 1, 7), make_service(RateCard(D("2.22")), pattern))
    cost = cost_plan(plan)
    assert cost.annual_cost_52_weeks == D("1.295")
    assert format_money(cost.annual_cost_52_weeks) == "1.30"
    # The weekly cost is 1.295 / 52 (recurring); 52 x its 60 digits would round to 1.29.
    with decimal.localcontext(prec=80):
        assert format_money(cost.weekly_cost * 52) == "1.29"
