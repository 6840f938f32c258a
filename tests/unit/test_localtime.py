"""Europe/London wall-clock times across the clock changes, and England's bank holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from careledger.domain.localtime import (
    LONDON,
    bank_holidays,
    is_bank_holiday,
    local_datetime,
    localize,
    to_local,
)
from careledger.domain.schedules import ScheduledVisit

HOUR = timedelta(hours=1)


# --- localize -----------------------------------------------------------------------------


def test_winter_and_summer_offsets():
    assert localize(datetime(2026, 1, 15, 9, 0)).utcoffset() == timedelta(0)
    assert localize(datetime(2026, 7, 15, 9, 0)).utcoffset() == HOUR


def test_a_time_in_the_spring_forward_gap_moves_forward_over_the_gap():
    # 2026-03-29: clocks go from 01:00 GMT to 02:00 BST, so 01:30 never shows on a clock.
    moment = localize(datetime(2026, 3, 29, 1, 30))
    assert (moment.hour, moment.minute) == (2, 30)
    assert moment.utcoffset() == HOUR
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert moment.date() == date(2026, 3, 29)


def test_times_either_side_of_the_spring_gap_are_unchanged():
    before = localize(datetime(2026, 3, 29, 0, 59))
    after = localize(datetime(2026, 3, 29, 2, 0))
    assert (before.hour, before.minute, before.utcoffset()) == (0, 59, timedelta(0))
    assert (after.hour, after.minute, after.utcoffset()) == (2, 0, HOUR)
    assert after.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_time_in_the_autumn_fold_is_the_first_occurrence_in_bst():
    # 2026-10-25: clocks go back from 02:00 BST to 01:00 GMT, so 01:30 happens twice.
    moment = localize(datetime(2026, 10, 25, 1, 30))
    assert (moment.hour, moment.minute) == (1, 30)
    assert moment.utcoffset() == HOUR
    assert moment.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_times_after_the_autumn_fold_are_gmt():
    moment = localize(datetime(2026, 10, 25, 2, 0))
    assert moment.utcoffset() == timedelta(0)
    assert moment.astimezone(UTC) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_localize_refuses_an_aware_datetime():
    with pytest.raises(ValueError):
        localize(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))


def test_local_datetime_combines_a_date_and_a_wall_clock_time():
    moment = local_datetime(date(2026, 6, 1), time(9, 0))
    assert moment == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert moment.tzinfo is LONDON


def test_to_local_shows_an_aware_moment_on_a_london_clock_and_refuses_naive():
    assert to_local(datetime(2026, 7, 1, 8, 0, tzinfo=UTC)).hour == 9
    assert to_local(datetime(2026, 12, 1, 8, 0, tzinfo=UTC)).hour == 8
    with pytest.raises(ValueError):
        to_local(datetime(2026, 7, 1, 8, 0))


# --- a visit's end is elapsed time ------------------------------------------------------------


def test_an_hour_visit_starting_in_the_autumn_fold_ends_at_the_same_clock_time_in_gmt():
    visit = ScheduledVisit("homecare", localize(datetime(2026, 10, 25, 1, 30)), 60)
    assert (visit.end.hour, visit.end.minute) == (1, 30)
    assert visit.end.utcoffset() == timedelta(0)
    assert visit.end.astimezone(UTC) - visit.start.astimezone(UTC) == HOUR
    assert visit.end.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_an_hour_visit_starting_before_the_spring_gap_ends_at_2_30_bst():
    visit = ScheduledVisit("homecare", localize(datetime(2026, 3, 29, 0, 30)), 60)
    assert visit.start.utcoffset() == timedelta(0)
    assert (visit.end.hour, visit.end.minute) == (2, 30)
    assert visit.end.utcoffset() == HOUR
    assert visit.end.astimezone(UTC) - visit.start.astimezone(UTC) == HOUR


def test_a_visit_over_midnight_ends_the_next_day_but_keeps_its_start_date():
    visit = ScheduledVisit("homecare", localize(datetime(2026, 12, 24, 23, 30)), 60)
    assert visit.local_date == date(2026, 12, 24)
    assert visit.end.date() == date(2026, 12, 25)
    assert (visit.end.hour, visit.end.minute) == (0, 30)


# --- bank holidays -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (date(2026, 12, 25), "Fri"),  # Christmas Day
        (date(2026, 12, 26), "Sat"),  # Boxing Day itself, at a weekend
        (date(2026, 12, 28), "Mon"),  # Boxing Day's substitute
        (date(2026, 4, 6), "Mon"),  # Easter Monday
        (date(2027, 3, 26), "Fri"),  # Good Friday 2027
        (date(2027, 1, 1), "Fri"),  # New Year's Day
        (date(2026, 5, 25), "Mon"),  # Spring bank holiday
        (date(2026, 8, 31), "Mon"),  # Summer bank holiday (England, not Scotland's August)
    ],
)
def test_englands_bank_holidays(day, weekday):
    assert day.strftime("%a") == weekday
    assert is_bank_holiday(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 24),  # Christmas Eve
        date(2026, 12, 27),  # a Sunday between Boxing Day and its substitute
        date(2026, 12, 31),  # New Year's Eve
        date(2027, 1, 4),  # 2 January is a holiday only in Scotland
        date(2026, 1, 2),
        date(2026, 3, 17),  # St Patrick's Day: Northern Ireland only
        date(2026, 8, 3),  # Scotland's summer bank holiday
    ],
)
def test_days_that_are_not_bank_holidays_in_england(day):
    assert not is_bank_holiday(day)


def test_bank_holidays_between_two_dates_inclusive_and_in_order():
    assert bank_holidays(date(2026, 10, 19), date(2027, 1, 10)) == [
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 12, 28),
        date(2027, 1, 1),
    ]
    assert bank_holidays(date(2026, 12, 25), date(2026, 12, 25)) == [date(2026, 12, 25)]
    assert bank_holidays(date(2026, 12, 29), date(2026, 12, 31)) == []
