"""Visit patterns expanded to dated visits: weekly days or an RFC 5545 rule, in London wall-clock time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.schedules import WEEKDAY_CODES, ScheduleError, VisitPattern, parse_rule

HOUR = timedelta(hours=1)
MONDAY = date(2026, 4, 6)


def dates_of(visits):
    return [v.start.date() for v in visits]


# --- weekly patterns ----------------------------------------------------------------------------


def test_weekly_pattern_gives_a_visit_on_each_listed_day_at_the_planned_time():
    pattern = VisitPattern(time(9, 0), 60, ("MO", "WE", "FR"))
    visits = list(pattern.occurrences(MONDAY, MONDAY, date(2026, 4, 19), service_ref="homecare", pattern_index=2))
    assert dates_of(visits) == [
        date(2026, 4, 6),
        date(2026, 4, 8),
        date(2026, 4, 10),
        date(2026, 4, 13),
        date(2026, 4, 15),
        date(2026, 4, 17),
    ]
    assert all((v.start.hour, v.start.minute) == (9, 0) for v in visits)
    assert all(v.minutes == 60 and v.service_ref == "homecare" and v.pattern_index == 2 for v in visits)


def test_window_is_inclusive_at_both_ends_and_starts_no_earlier_than_the_anchor():
    pattern = VisitPattern(time(23, 59), 15, ("SU",))
    sundays = dates_of(pattern.occurrences(date(2026, 4, 12), date(2026, 4, 1), date(2026, 4, 26)))
    assert sundays == [date(2026, 4, 12), date(2026, 4, 19), date(2026, 4, 26)]


def test_an_empty_or_backwards_window_gives_no_visits():
    pattern = VisitPattern(time(9, 0), 30, tuple(WEEKDAY_CODES))
    assert list(pattern.occurrences(MONDAY, date(2026, 5, 2), date(2026, 5, 1))) == []
    assert list(pattern.occurrences(MONDAY, date(2026, 1, 1), date(2026, 4, 5))) == []  # before the anchor


def test_nine_oclock_stays_nine_oclock_local_across_the_spring_clock_change():
    pattern = VisitPattern(time(9, 0), 30, tuple(WEEKDAY_CODES))
    visits = list(pattern.occurrences(date(2026, 3, 1), date(2026, 3, 27), date(2026, 3, 30)))
    assert [(v.start.hour, v.start.minute) for v in visits] == [(9, 0)] * 4
    assert [v.start.utcoffset() for v in visits] == [timedelta(0), timedelta(0), HOUR, HOUR]
    assert [v.start.astimezone(UTC).hour for v in visits] == [9, 9, 8, 8]


def test_nine_oclock_stays_nine_oclock_local_across_the_autumn_clock_change():
    pattern = VisitPattern(time(9, 0), 30, tuple(WEEKDAY_CODES))
    visits = list(pattern.occurrences(date(2026, 3, 1), date(2026, 10, 23), date(2026, 10, 26)))
    assert [(v.start.hour, v.start.minute) for v in visits] == [(9, 0)] * 4
    assert [v.start.utcoffset() for v in visits] == [HOUR, HOUR, timedelta(0), timedelta(0)]


def test_a_weekly_visit_at_1_30_on_the_spring_forward_sunday_happens_at_2_30_bst():
    pattern = VisitPattern(time(1, 30), 60, ("SU",))
    visits = list(pattern.occurrences(date(2026, 3, 1), date(2026, 3, 22), date(2026, 4, 5)))
    assert [(v.start.date(), v.start.hour, v.start.minute) for v in visits] == [
        (date(2026, 3, 22), 1, 30),
        (date(2026, 3, 29), 2, 30),
        (date(2026, 4, 5), 1, 30),
    ]
    assert all(v.minutes == 60 for v in visits)


def test_a_weekly_visit_at_1_30_on_the_autumn_sunday_happens_once_in_bst():
    pattern = VisitPattern(time(1, 30), 60, ("SU",))
    visits = list(pattern.occurrences(date(2026, 10, 1), date(2026, 10, 25), date(2026, 10, 25)))
    assert len(visits) == 1
    assert visits[0].start.utcoffset() == HOUR


# --- rrules ------------------------------------------------------------------------------------

FORTNIGHTLY_MONDAYS = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"


def test_fortnightly_rule_visits_every_other_monday_from_the_anchor():
    pattern = VisitPattern(time(10, 0), 45, rrule=FORTNIGHTLY_MONDAYS)
    visits = list(pattern.occurrences(MONDAY, MONDAY, date(2026, 5, 31)))
    assert dates_of(visits) == [date(2026, 4, 6), date(2026, 4, 20), date(2026, 5, 4), date(2026, 5, 18)]
    assert all((v.start.hour, v.minutes) == (10, 45) for v in visits)


def test_fortnightly_rule_does_not_move_when_the_window_starts_in_an_off_week():
    pattern = VisitPattern(time(10, 0), 45, rrule=FORTNIGHTLY_MONDAYS)
    # 2026-04-13 is an "off" Monday for a rule anchored at 2026-04-06.
    assert dates_of(pattern.occurrences(MONDAY, date(2026, 4, 13), date(2026, 5, 10))) == [
        date(2026, 4, 20),
        date(2026, 5, 4),
    ]
    # 2026-12-14 is 36 weeks after 2026-04-06 (24 + 214 + 14 = 252 days), an "on" week.
    assert dates_of(pattern.occurrences(MONDAY, date(2026, 12, 1), date(2026, 12, 31))) == [
        date(2026, 12, 14),
        date(2026, 12, 28),
    ]


RULES = [
    FORTNIGHTLY_MONDAYS,
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA",
    "FREQ=DAILY;INTERVAL=4",
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=WEEKLY;BYDAY=SU;COUNT=10",
    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
]


@settings(max_examples=120, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    anchor=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    offsets=st.lists(st.integers(min_value=0, max_value=140), min_size=2, max_size=4),
)
def test_rule_gives_the_same_visits_whatever_window_is_asked(rule, start, anchor, offsets):
    pattern = VisitPattern(start, 30, rrule=rule)
    span_last = anchor + timedelta(days=140)
    everything = list(pattern.occurrences(anchor, anchor, span_last))
    # Any window is exactly the visits of the whole span that fall in it...
    first, last = anchor + timedelta(days=min(offsets)), anchor + timedelta(days=max(offsets))
    window = list(pattern.occurrences(anchor, first, last))
    assert window == [v for v in everything if first <= v.local_date <= last]
    # ...and windows laid end to end give back the whole span.
    cuts = sorted(set(offsets))
    edges = [anchor] + [anchor + timedelta(days=c + 1) for c in cuts] + [span_last + timedelta(days=1)]
    pieces = [
        v
        for lo, hi in zip(edges, edges[1:])
        for v in pattern.occurrences(anchor, lo, hi - timedelta(days=1))
    ]
    assert pieces == everything


def test_rrule_prefix_is_accepted_and_means_the_same_rule():
    anchor = datetime(2026, 4, 6, 9, 0)
    plain = parse_rule(FORTNIGHTLY_MONDAYS, anchor)
    prefixed = parse_rule("RRULE:" + FORTNIGHTLY_MONDAYS, anchor)
    lower = parse_rule("  rrule:" + FORTNIGHTLY_MONDAYS + "  ", anchor)
    first_ten = [d for _, d in zip(range(10), plain)]
    assert [d for _, d in zip(range(10), prefixed)] == first_ten
    assert [d for _, d in zip(range(10), lower)] == first_ten
    assert first_ten[1] == datetime(2026, 4, 20, 9, 0)


@pytest.mark.parametrize(
    "text",
    [
        "DTSTART:20260406T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO",
        "FREQ=WEEKLY;BYDAY=MO;DTSTART=20260406T090000",
        "dtstart:20260406T090000\nrrule:FREQ=DAILY",
    ],
)
def test_a_rule_with_its_own_dtstart_is_refused(text):
    with pytest.raises(ScheduleError, match="DTSTART"):
        parse_rule(text, datetime(2026, 4, 6, 9, 0))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "RRULE:",
        "FREQ=SOMETIMES",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;INTERVAL=two",
        "every other monday",
        "FREQ=DAILY;BYHOUR=25",
        "FREQ=DAILY\nRRULE:FREQ=WEEKLY",
        "FREQ=WEEKLY;UNTIL=not-a-date",
    ],
)
def test_an_invalid_rule_is_a_schedule_error(text):
    with pytest.raises(ScheduleError):
        parse_rule(text, datetime(2026, 4, 6, 9, 0))


@pytest.mark.parametrize("text", ["FREQ=WEEKLY;INTERVAL=0;BYDAY=MO", "FREQ=DAILY;INTERVAL=-1"])
def test_a_rule_that_never_moves_forward_is_refused(text):
    # INTERVAL=0 made expansion loop for ever, INTERVAL=-1 crashed it; both must be refused up front.
    with pytest.raises(ScheduleError, match="INTERVAL"):
        parse_rule(text, datetime(2026, 4, 6, 9, 0))


RULE_WORDS = st.sampled_from(
    ["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL", "WKST", "BYSETPOS", "BYHOUR", "X-NAME", ""]
)
RULE_VALUES = st.one_of(
    st.sampled_from(["WEEKLY", "DAILY", "MONTHLY", "YEARLY", "MO", "MO,FR", "-1SU", "0", "2", "-3", "20270101", "20270101T000000Z"]),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.tuples(RULE_WORDS, RULE_VALUES), max_size=5).map(
            lambda parts: ";".join(f"{k}={v}" for k, v in parts)
        ),
    )
)
def test_parse_rule_only_ever_raises_schedule_error(text):
    try:
        parse_rule(text, datetime(2026, 4, 6, 9, 0))
    except ScheduleError:
        pass


# --- counting and validation --------------------------------------------------------------------


def test_count_in_52_weeks_for_weekly_days():
    assert VisitPattern(time(9, 0), 60, ("MO", "WE", "FR")).count_in_52_weeks(MONDAY) == 156
    assert VisitPattern(time(9, 0), 60, tuple(WEEKDAY_CODES)).count_in_52_weeks(date(2026, 12, 30)) == 364


@pytest.mark.parametrize("anchor", [MONDAY, date(2026, 4, 8), date(2027, 3, 28)])
def test_count_in_52_weeks_for_a_fortnightly_rule_is_26(anchor):
    assert VisitPattern(time(9, 0), 60, rrule=FORTNIGHTLY_MONDAYS).count_in_52_weeks(anchor) == 26


def test_count_in_52_weeks_for_a_monthly_rule_counts_what_the_rule_gives():
    # 52 weeks from 2026-04-06 end on 2027-04-04: the 1st of May 2026 .. April 2027 is 12 firsts.
    assert VisitPattern(time(9, 0), 60, rrule="FREQ=MONTHLY;BYMONTHDAY=1").count_in_52_weeks(MONDAY) == 12
    # The anchor day itself counts when it matches.
    assert VisitPattern(time(9, 0), 60, rrule="FREQ=MONTHLY;BYMONTHDAY=6").count_in_52_weeks(MONDAY) == 12
    assert VisitPattern(time(9, 0), 60, rrule="FREQ=DAILY").count_in_52_weeks(MONDAY) == 364


@pytest.mark.parametrize("minutes", [0, -15])
def test_a_visit_must_last_at_least_a_minute(minutes):
    with pytest.raises(ScheduleError):
        VisitPattern(time(9, 0), minutes, ("MO",))


def test_a_pattern_takes_days_or_a_rule_not_both_or_neither():
    with pytest.raises(ScheduleError):
        VisitPattern(time(9, 0), 30, ("MO",), FORTNIGHTLY_MONDAYS)
    with pytest.raises(ScheduleError):
        VisitPattern(time(9, 0), 30)


def test_an_unknown_weekday_code_is_refused():
    with pytest.raises(ScheduleError, match="XX"):
        VisitPattern(time(9, 0), 30, ("MO", "XX"))


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=30", "FREQ=SECONDLY"])
def test_rules_more_frequent_than_daily_are_refused(rule):
    from datetime import datetime

    from careledger.domain.schedules import ScheduleError, parse_rule

    with pytest.raises(ScheduleError, match="at most daily"):
        parse_rule(rule, datetime(2026, 4, 6, 9, 0))
