"""Visit schedules: weekly patterns (or any RFC 5545 rule) expanded to dated visits.

Expansion uses python-dateutil's ``rrule`` on wall-clock times, then attaches
Europe/London (see :mod:`careledger.domain.localtime`), so a 09:00 visit is at
09:00 local time in winter and in summer. A rule is anchored at a fixed date
(the plan's start) so that asking for any window of it gives the same visits:
a fortnightly visit does not move because a report starts on another Monday.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule as _rrule

from .localtime import LONDON, localize

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAYS = {code: getattr(_rrule, code) for code in WEEKDAY_CODES}

__all__ = ["WEEKDAY_CODES", "VisitPattern", "ScheduledVisit", "ScheduleError", "parse_rule"]


class ScheduleError(ValueError):
    """A visit pattern that cannot be expanded."""


def parse_rule(text: str, anchor: datetime) -> _rrule.rrule:
    """Parse an RFC 5545 RRULE (with or without the ``RRULE:`` prefix) anchored at ``anchor``."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if "DTSTART" in body.upper():
        raise ScheduleError("an rrule may not carry its own DTSTART; the plan's start date anchors it")
    try:
        rule = _rrule.rrulestr(body, dtstart=anchor)
    except (ValueError, TypeError) as error:
        raise ScheduleError(f"not a valid RFC 5545 rule: {error}") from None
    if not isinstance(rule, _rrule.rrule):  # pragma: no cover - rrulestr returns rruleset only with forceset
        raise ScheduleError("only a single RRULE is supported")
    if rule._interval < 1:  # dateutil accepts 0 (expansion never ends) and negatives (it crashes)
        raise ScheduleError("not a valid RFC 5545 rule: INTERVAL must be a whole number of at least 1")
    if rule._freq > _rrule.DAILY:  # HOURLY, MINUTELY, SECONDLY: not a visit pattern, and millions of visits a year
        raise ScheduleError("a visit rule may repeat at most daily (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)")
    return rule


@dataclass(frozen=True)
class ScheduledVisit:
    """One planned visit on one day."""

    service_ref: str
    start: datetime  # aware, Europe/London
    minutes: int
    pattern_index: int = 0

    @property
    def end(self) -> datetime:
        # Elapsed time: a 60-minute visit lasts 60 minutes across a clock change.
        return (self.utc_start + timedelta(minutes=self.minutes)).astimezone(LONDON)

    @functools.cached_property
    def utc_start(self) -> datetime:
        """The start as a UTC instant (worked out once: slots are compared as instants many times)."""
        return self.start.astimezone(UTC)

    @property
    def local_date(self) -> date:
        return self.start.date()


@dataclass(frozen=True)
class VisitPattern:
    """A repeating visit: on ``days`` (RFC 5545 codes) every week, or by ``rrule``."""

    start: time
    minutes: int
    days: tuple[str, ...] = ()
    rrule: str | None = None

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ScheduleError("a visit must last at least one minute")
        if bool(self.days) == bool(self.rrule):
            raise ScheduleError("a visit pattern takes either days or an rrule, not both or neither")
        unknown = [d for d in self.days if d not in _WEEKDAYS]
        if unknown:
            raise ScheduleError(f"unknown weekday {unknown[0]!r}; use one of {', '.join(WEEKDAY_CODES)}")

    def _rule(self, anchor: date) -> _rrule.rrule:
        start = datetime.combine(anchor, self.start)
        if self.rrule:
            return parse_rule(self.rrule, start)
        return _rrule.rrule(_rrule.WEEKLY, byweekday=[_WEEKDAYS[d] for d in self.days], dtstart=start)

    def wall_times(self, anchor: date, first: date, last: date) -> Iterator[datetime]:
        """Naive wall-clock starts from ``first`` to ``last`` inclusive, for a rule anchored at ``anchor``."""
        if last < first:
            return
        begin = datetime.combine(max(first, anchor), time.min)
        finish = datetime.combine(last, time.max)
        yield from self._rule(anchor).between(begin, finish, inc=True)

    def occurrences(
        self, anchor: date, first: date, last: date, *, service_ref: str = "", pattern_index: int = 0
    ) -> Iterator[ScheduledVisit]:
        for wall in self.wall_times(anchor, first, last):
            yield ScheduledVisit(service_ref, localize(wall), self.minutes, pattern_index)

    def count_in_52_weeks(self, anchor: date) -> int:
        """How many visits the pattern makes in the 52 weeks from ``anchor``.

        For a weekly pattern that is exactly ``52 x len(days)``; for a fortnightly or
        monthly rule it is what the rule gives, so weekly averages are comparable.
        """
        if self.days:
            return 52 * len(self.days)
        last = anchor + timedelta(weeks=52) - timedelta(days=1)
        return sum(1 for _ in self.wall_times(anchor, anchor, last))
