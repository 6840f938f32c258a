"""Outcomes, ratings, the quality-of-life score and review due dates (careledger.domain.outcomes)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careledger.domain.outcomes import (
    DOMAINS,
    MAX_SCORE,
    AscotDomain,
    Change,
    Level,
    ReviewCadence,
    add_months,
    add_weeks,
    change,
    count_changes,
    days_overdue,
    domain_ratings,
    is_overdue,
    next_review_due,
    overdue_from,
    parse_domain,
    parse_level,
    quality_of_life,
    trend,
)
from careledger.domain.status import ReviewState, working_rag, working_reasons

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
levels = st.sampled_from(list(Level))


def test_eight_domains_and_four_levels() -> None:
    assert [d.value for d in DOMAINS] == [
        "control", "personal_care", "food_drink", "safety", "social_participation", "occupation", "accommodation", "dignity",
    ]  # fmt: skip
    assert [(level.value, level.score) for level in Level] == [("ideal_state", 3), ("no_needs", 2), ("some_needs", 1), ("high_needs", 0)]
    assert MAX_SCORE == 24
    assert parse_level("Some needs") is Level.SOME_NEEDS
    assert parse_level("high-level needs") is Level.HIGH_NEEDS
    with pytest.raises(ValueError, match=r"ratings\[0\]: 'great' is not a rating"):
        parse_level("great", what="ratings[0]")
    with pytest.raises(ValueError, match="'church' is not an ASCOT domain"):
        parse_domain("church")


def test_quality_of_life_needs_all_eight_domains() -> None:
    all_no_needs = {d: Level.NO_NEEDS for d in DOMAINS}
    assert quality_of_life(all_no_needs) == 16
    assert quality_of_life({d: Level.IDEAL_STATE for d in DOMAINS}) == 24
    assert quality_of_life({d: Level.HIGH_NEEDS for d in DOMAINS}) == 0
    assert quality_of_life({d: Level.NO_NEEDS for d in DOMAINS[:7]}) is None
    # A domain not rated directly takes the lowest rating of its outcomes.
    filled = domain_ratings(
        {d: Level.NO_NEEDS for d in DOMAINS if d is not AscotDomain.SAFETY},
        [(AscotDomain.SAFETY, Level.NO_NEEDS), (AscotDomain.SAFETY, Level.HIGH_NEEDS), (AscotDomain.CONTROL, Level.HIGH_NEEDS)],
    )
    assert filled[AscotDomain.SAFETY] is Level.HIGH_NEEDS
    assert filled[AscotDomain.CONTROL] is Level.NO_NEEDS  # given directly: that wins
    assert quality_of_life(filled) == 14


@given(st.dictionaries(st.sampled_from(DOMAINS), levels))
def test_score_is_the_sum_of_3_2_1_0_when_complete(ratings) -> None:
    score = quality_of_life(ratings)
    if len(ratings) < 8:
        assert score is None
    else:
        assert score == sum(level.score for level in ratings.values())
        assert 0 <= score <= 24


@given(levels, levels)
def test_change_is_antisymmetric(a, b) -> None:
    forward, back = change(a, b), change(b, a)
    assert (forward is Change.SAME) == (back is Change.SAME) == (a == b)
    if forward is Change.IMPROVING:
        assert back is Change.WORSE and b.score > a.score
    assert change(None, a) is None and change(a, None) is None


def test_changes_and_trend() -> None:
    assert change(Level.SOME_NEEDS, Level.NO_NEEDS) is Change.IMPROVING
    assert change(Level.NO_NEEDS, Level.HIGH_NEEDS) is Change.WORSE
    assert count_changes([Change.IMPROVING, Change.WORSE, None, Change.SAME]) == {"improving": 1, "same": 2, "worse": 1}
    assert trend([15, None, 17]) is Change.IMPROVING
    assert trend([17, 15]) is Change.WORSE
    assert trend([None, 16]) is None


# -- due dates ------------------------------------------------------------------------------------

MARY_START = date(2026, 4, 6)


def test_mary_six_weekly() -> None:
    six = ReviewCadence(every_weeks=6)
    assert next_review_due(start=MARY_START, cadence=six) == date(2026, 5, 18)
    assert next_review_due(start=MARY_START, cadence=six, last_review=date(2026, 5, 18)) == date(2026, 6, 29)
    assert next_review_due(start=MARY_START, cadence=six, last_review=date(2026, 5, 20)) == date(2026, 7, 1)


@pytest.mark.parametrize(
    "start,last,due",
    [
        (date(2026, 8, 31), None, date(2027, 2, 28)),  # six months from 31 August: end of February
        (date(2027, 8, 31), None, date(2028, 2, 29)),  # ... in a leap year, 29 February
        (date(2026, 3, 31), None, date(2026, 9, 30)),  # 31 March + 6 months: 30 September
        (date(2026, 1, 1), None, date(2026, 7, 1)),
        (date(2027, 8, 31), date(2028, 2, 29), date(2029, 2, 28)),  # then yearly: 29 Feb + 12 months
        (date(2026, 4, 6), date(2026, 10, 5), date(2027, 10, 5)),
    ],
)
def test_direct_payment_first_within_six_months_then_yearly(start, last, due) -> None:
    assert next_review_due(start=start, cadence=ReviewCadence(direct_payment=True), last_review=last) == due


def test_direct_payment_with_a_cadence_takes_the_earlier() -> None:
    twelve_weekly = ReviewCadence(every_weeks=12, direct_payment=True)
    assert next_review_due(start=date(2026, 4, 6), cadence=twelve_weekly) == date(2026, 6, 29)
    yearly_weeks = ReviewCadence(every_weeks=52, direct_payment=True)
    assert next_review_due(start=date(2026, 4, 6), cadence=yearly_weeks) == date(2026, 10, 6)  # six months first
    assert next_review_due(start=date(2026, 4, 6), cadence=yearly_weeks, last_review=date(2026, 10, 1)) == date(2027, 9, 30)  # 52 weeks


def test_at_least_yearly_without_a_cadence_and_a_review_before_the_start_does_not_count() -> None:
    assert next_review_due(start=date(2028, 2, 29), cadence=ReviewCadence()) == date(2029, 2, 28)
    assert next_review_due(start=date(2026, 4, 6), cadence=ReviewCadence(every_weeks=6), last_review=date(2026, 1, 1)) == date(2026, 5, 18)


def test_weeks_across_month_ends_leap_days_and_clock_changes() -> None:
    assert add_weeks(date(2028, 1, 18), 6) == date(2028, 2, 29)  # lands on a leap day
    assert add_weeks(date(2028, 2, 29), 6) == date(2028, 4, 11)
    assert add_weeks(date(2026, 3, 1), 6) == date(2026, 4, 12)  # across the spring clock change: 42 days exactly
    assert add_weeks(date(2026, 10, 1), 6) == date(2026, 11, 12)  # across the autumn one
    assert add_weeks(date(2026, 12, 21), 6) == date(2027, 2, 1)  # across the year end


def test_overdue_is_by_the_london_date_across_clock_changes() -> None:
    # Due Sunday 29 March 2026, the day the clocks go forward (a 23-hour day).
    due = date(2026, 3, 29)
    assert overdue_from(due) == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)  # midnight BST
    assert not is_overdue(due, datetime(2026, 3, 29, 22, 59, 59, tzinfo=UTC))
    assert is_overdue(due, datetime(2026, 3, 29, 23, 0, tzinfo=UTC))
    # Due Sunday 25 October 2026, when they go back (a 25-hour day): overdue from midnight GMT.
    due = date(2026, 10, 25)
    assert overdue_from(due) == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert not is_overdue(due, datetime(2026, 10, 25, 23, 59, tzinfo=UTC))
    assert is_overdue(due, datetime(2026, 10, 26, 0, 0, tzinfo=UTC))
    # Leap day and month end.
    assert days_overdue(date(2028, 2, 28), date(2028, 3, 1)) == 2
    assert days_overdue(date(2027, 2, 28), date(2027, 3, 1)) == 1
    assert days_overdue(date(2026, 5, 18), date(2026, 5, 18)) == 0
    with pytest.raises(ValueError, match="aware"):
        is_overdue(due, datetime(2026, 10, 26))


@given(dates, st.integers(min_value=0, max_value=520))
def test_add_weeks_is_exact(day, weeks) -> None:
    later = add_weeks(day, weeks)
    assert (later - day).days == 7 * weeks
    assert later.weekday() == day.weekday()


@given(dates, st.integers(min_value=0, max_value=120))
def test_add_months_clamps_only_at_month_end(day, months) -> None:
    later = add_months(day, months)
    assert (later.year - day.year) * 12 + later.month - day.month == months
    last = calendar.monthrange(later.year, later.month)[1]
    assert later.day == min(day.day, last)
    assert add_months(day, 0) == day


@given(dates, st.integers(min_value=1, max_value=52), st.booleans(), st.one_of(st.none(), st.integers(min_value=0, max_value=800)))
def test_next_review_is_soon_enough(start, weeks, dp, gap) -> None:
    last = None if gap is None else start + timedelta(days=gap)
    cadence = ReviewCadence(every_weeks=weeks, direct_payment=dp)
    due = next_review_due(start=start, cadence=cadence, last_review=last)
    base = last or start
    assert base < due <= add_weeks(base, weeks)
    assert due <= add_months(base, 12)
    if dp and last is None:
        assert due <= add_months(start, 6)


@given(dates, st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 1), timezones=st.just(UTC)))
def test_overdue_exactly_from_the_end_of_the_due_day(due, now) -> None:
    assert is_overdue(due, now) == (now >= overdue_from(due))
    assert (days_overdue(due, now) > 0) == is_overdue(due, now)


# -- "working" with its reasons -------------------------------------------------------------------


def test_working_reasons_say_why() -> None:
    as_of = date(2026, 7, 10)
    red = ReviewState(outcomes=3, worse=2, same=1, last_review=date(2026, 5, 18), next_review_due=date(2026, 6, 1), open_incidents=2)
    assert working_rag(red, as_of) == "red"
    assert working_reasons(red, as_of) == [
        "The review due on 1 June 2026 is 39 days overdue (red after 28).",
        "2 of 3 outcomes got worse at the last review: more than half.",
        "2 open incidents (red from 2).",
    ]
    amber = ReviewState(outcomes=2, improving=1, worse=1, next_review_due=date(2026, 7, 9), open_incidents=1, quality_of_life=17, quality_of_life_before=18)
    assert working_rag(amber, as_of) == "amber"
    assert working_reasons(amber, as_of) == [
        "The review due on 9 July 2026 is 1 day overdue.",
        "1 of 2 outcomes got worse at the last review.",
        "1 open incident.",
        "Quality of life 17 out of 24 at the last review, from 18.",
    ]
    green = ReviewState(outcomes=2, improving=1, same=1, next_review_due=date(2026, 8, 1), quality_of_life=18, quality_of_life_before=18)
    assert working_reasons(green, as_of) == [
        "1 of 2 outcomes improving, none worse; next review due 1 August 2026; no open incidents.",
        "Quality of life 18 out of 24 at the last review, unchanged.",
    ]
    with pytest.raises(ValueError, match="quality_of_life"):
        ReviewState(quality_of_life=25)
