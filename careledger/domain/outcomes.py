"""Outcomes, their ratings at reviews, the quality-of-life score and when reviews are due. Pure.

**Domains and levels.** Each outcome, in the person's own words, sits in one of the
eight ASCOT social care-related quality-of-life domains (:class:`AscotDomain`) and is
rated at each review on ASCOT's four levels (:class:`Level`): *ideal state*, *no
needs*, *some needs*, *high-level needs*. ASCOT's own weights are copyrighted, so no
weighted score is made here.

**Quality of life out of 24** in the style of ASCOF 1A: each of the eight domains
scores 3 (ideal state), 2 (no needs), 1 (some needs) or 0 (high-level needs), summed
(:func:`quality_of_life`). A review may rate the domains directly; a domain it does
not rate takes the *lowest* rating of that review's outcomes in the domain
(:func:`domain_ratings`); a domain with neither leaves the score unknown (``None``):
a score of some domains only would not be comparable with a full one.

**Change.** An outcome is *improving* when rated at a higher level than at its rating
before (at the previous review that rated it, or the baseline when it was agreed),
*worse* when lower, *same* when equal (:func:`change`). A score's *trend* compares the
latest score with the one before (:func:`trend`).

**When a review is due** (:func:`next_review_due`), from the plan's start or the last
review, the earliest of:

* the plan's cadence: ``review_every_weeks`` weeks later (six-weekly for Mary);
* for a direct payment, the first review within **six calendar months** of the start
  and then at least **yearly** (12 calendar months after the last review);
* for every package, at least yearly (Care Act statutory guidance 13.32).

Calendar months end on the same day of the month or, when it has none, on the last
day (31 August + 6 months is 28 February, or 29 February in a leap year; 29 February
+ 12 months is 28 February). Due dates are *dates*: a review due on a day is overdue
from the moment that day ends in London (:func:`overdue_from`), so a clock change
moves neither the due date nor which day it is overdue on.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from .localtime import LONDON, localize
from .plans import AscotDomain

__all__ = [
    "AscotDomain",
    "DOMAINS",
    "Level",
    "Change",
    "MAX_SCORE",
    "parse_level",
    "parse_domain",
    "change",
    "count_changes",
    "domain_ratings",
    "quality_of_life",
    "trend",
    "add_weeks",
    "add_months",
    "ReviewCadence",
    "next_review_due",
    "local_date",
    "is_overdue",
    "days_overdue",
    "overdue_from",
]

DOMAINS: tuple[AscotDomain, ...] = tuple(AscotDomain)


class Level(StrEnum):
    """ASCOT's four levels, best first; :attr:`score` is the ASCOF 1A-style 3/2/1/0."""

    IDEAL_STATE = "ideal_state"
    NO_NEEDS = "no_needs"
    SOME_NEEDS = "some_needs"
    HIGH_NEEDS = "high_needs"

    @property
    def score(self) -> int:
        return _SCORES[self]

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]


_SCORES = {Level.IDEAL_STATE: 3, Level.NO_NEEDS: 2, Level.SOME_NEEDS: 1, Level.HIGH_NEEDS: 0}
_LEVEL_LABELS = {
    Level.IDEAL_STATE: "Ideal state",
    Level.NO_NEEDS: "No needs",
    Level.SOME_NEEDS: "Some needs",
    Level.HIGH_NEEDS: "High-level needs",
}
MAX_SCORE = 3 * len(DOMAINS)  # 24


class Change(StrEnum):
    IMPROVING = "improving"
    SAME = "same"
    WORSE = "worse"


def parse_level(value: object, *, what: str = "rating") -> Level:
    """A level from its name (``"some_needs"``), with a clear error naming ``what``."""
    if isinstance(value, Level):
        return value
    try:
        return Level(str(value).strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        pass
    if str(value).strip().lower() in ("high_level_needs", "high level needs", "high-level needs"):
        return Level.HIGH_NEEDS
    raise ValueError(f"{what}: {value!r} is not a rating; use one of {', '.join(level.value for level in Level)}")


def parse_domain(value: object, *, what: str = "domain") -> AscotDomain:
    if isinstance(value, AscotDomain):
        return value
    try:
        return AscotDomain(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not an ASCOT domain; use one of {', '.join(d.value for d in DOMAINS)}") from None


def change(before: Level | None, after: Level | None) -> Change | None:
    """How an outcome moved from one rating to the next; ``None`` when either is missing."""
    if before is None or after is None:
        return None
    if after.score > before.score:
        return Change.IMPROVING
    if after.score < before.score:
        return Change.WORSE
    return Change.SAME


def count_changes(changes: Iterable[Change | None]) -> dict[str, int]:
    """``{"improving": n, "same": n, "worse": n}``; an outcome with no change to compare counts as same."""
    counts = {c.value: 0 for c in Change}
    for found in changes:
        counts[(found or Change.SAME).value] += 1
    return counts


def domain_ratings(
    explicit: Mapping[AscotDomain, Level] | None = None,
    outcome_ratings: Iterable[tuple[AscotDomain, Level]] = (),
) -> dict[AscotDomain, Level]:
    """Each domain's rating: as given, else the lowest rating of the outcomes in it (domains with neither are left out)."""
    found: dict[AscotDomain, Level] = {}
    for domain, level in outcome_ratings:
        domain, level = parse_domain(domain), parse_level(level)
        if domain not in found or level.score < found[domain].score:
            found[domain] = level
    for domain, level in (explicit or {}).items():
        found[parse_domain(domain)] = parse_level(level)
    return {d: found[d] for d in DOMAINS if d in found}


def quality_of_life(ratings: Mapping[AscotDomain, Level]) -> int | None:
    """The score out of 24 (3/2/1/0 per domain), or ``None`` unless all eight domains are rated."""
    levels = {parse_domain(d): parse_level(level) for d, level in ratings.items()}
    if any(d not in levels for d in DOMAINS):
        return None
    return sum(levels[d].score for d in DOMAINS)


def trend(scores: Sequence[int | None]) -> Change | None:
    """The latest known score against the one before it (unknown scores skipped); ``None`` with fewer than two."""
    known = [s for s in scores if s is not None]
    if len(known) < 2:
        return None
    before, after = known[-2], known[-1]
    return Change.IMPROVING if after > before else Change.WORSE if after < before else Change.SAME


# -- when reviews are due ----------------------------------------------------------------------


def _whole(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return value


def add_weeks(day: date, weeks: int) -> date:
    """``weeks`` weeks later: always the same weekday, exactly 7 x weeks days (dates know no clock changes)."""
    return day + timedelta(weeks=_whole(weeks, "weeks", 0))


def add_months(day: date, months: int) -> date:
    """``months`` calendar months later, on the same day of the month or the last day when it has none."""
    _whole(months, "months", 0)
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ReviewCadence:
    """How often a package is reviewed: the plan's ``review_every_weeks`` and whether it is a direct payment."""

    every_weeks: int | None = None
    direct_payment: bool = False
    first_dp_review_months: int = 6
    dp_review_months: int = 12
    at_least_every_months: int = 12

    def __post_init__(self) -> None:
        if self.every_weeks is not None:
            _whole(self.every_weeks, "every_weeks", 1)
        for name in ("first_dp_review_months", "dp_review_months", "at_least_every_months"):
            _whole(getattr(self, name), name, 1)

    def describe(self) -> str:
        parts = []
        if self.every_weeks:
            parts.append("every week" if self.every_weeks == 1 else f"every {self.every_weeks} weeks")
        if self.direct_payment:
            parts.append(f"a direct payment: first within {self.first_dp_review_months} months, then at least every {self.dp_review_months} months")
        parts.append(f"at least every {self.at_least_every_months} months")
        return "; ".join(parts)


def next_review_due(*, start: date, cadence: ReviewCadence, last_review: date | None = None) -> date:
    """When the next review is due (rules in the module docstring)."""
    if last_review is not None and last_review < start:
        last_review = None  # a review before this plan's budget began does not count towards it
    base = last_review or start
    candidates = [add_months(base, cadence.at_least_every_months)]
    if cadence.every_weeks:
        candidates.append(add_weeks(base, cadence.every_weeks))
    if cadence.direct_payment:
        candidates.append(add_months(start, cadence.first_dp_review_months) if last_review is None else add_months(last_review, cadence.dp_review_months))
    return min(candidates)


def local_date(when: date | datetime) -> date:
    """A date as given, or the London date of an aware instant."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("an aware datetime is required; naive times are ambiguous")
        return when.astimezone(LONDON).date()
    return when


def overdue_from(due: date) -> datetime:
    """The instant a review due on ``due`` becomes overdue: midnight after it, London time."""
    return localize(datetime.combine(due + timedelta(days=1), time.min))


def is_overdue(due: date | None, when: date | datetime) -> bool:
    """Whether a review due on ``due`` is overdue on the London date of ``when`` (due today is not)."""
    return due is not None and local_date(when) > due


def days_overdue(due: date | None, when: date | datetime) -> int:
    """Whole days past the due date (0 when not overdue)."""
    if due is None:
        return 0
    return max(0, (local_date(when) - due).days)
