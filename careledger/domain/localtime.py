"""Local time in England: Europe/London with its clock changes, and bank holidays.

Care is planned in wall-clock time ("09:00 every day"); an hour's visit is an
hour of care whatever the clocks do. Two awkward cases, decided here once:

* a planned local time that does not exist (01:30 on the last Sunday of March,
  when clocks jump from 01:00 to 02:00) happens at the same instant the clock
  would show had it not changed: 02:30 BST;
* a planned local time that happens twice (01:30 on the last Sunday of October)
  is the first of the two (01:30 BST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")

__all__ = ["LONDON", "UTC", "local_datetime", "localize", "is_bank_holiday", "bank_holidays", "to_local"]


def localize(naive: datetime) -> datetime:
    """Attach Europe/London to a wall-clock time, resolving gaps and folds (see module doc)."""
    if naive.tzinfo is not None:
        raise ValueError("localize() takes a naive wall-clock datetime")
    first = naive.replace(tzinfo=LONDON, fold=0)
    # Round-tripping through UTC moves a non-existent time forward over the gap
    # and leaves an existing one (fold=0: the first of two) unchanged.
    return first.astimezone(UTC).astimezone(LONDON)


def local_datetime(day: date, at: time) -> datetime:
    return localize(datetime.combine(day, at))


def to_local(moment: datetime) -> datetime:
    """Any aware datetime, seen on a London clock."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required; naive times are ambiguous")
    return moment.astimezone(LONDON)


@lru_cache(maxsize=64)
def _bank_holidays_for_year(year: int) -> frozenset[date]:
    # England's bank holidays as published, substitute ("observed") days included,
    # and Christmas Day, Boxing Day and New Year's Day themselves at a weekend.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    return day in _bank_holidays_for_year(day.year)


def bank_holidays(first: date, last: date) -> list[date]:
    found: list[date] = []
    for year in range(first.year, last.year + 1):
        found.extend(d for d in _bank_holidays_for_year(year) if first <= d <= last)
    return sorted(found)
