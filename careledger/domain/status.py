"""The status of one package: is the plan followed, is it affordable, is it working?

:func:`package_status` returns exactly the JSON object of ``formats.md`` section 6
(money as pound strings to 2 places, hours to 2 places, dates ISO 8601), each of
the three questions with a red/amber/green rating. The rating rules, with
:class:`StatusThresholds` defaults (each tunable per contract):

**followed** (the reconciliation of the budget period up to the end of ``as_of``)

* *missed share* = missed / scheduled: ``red`` at 5% or more, ``amber`` at 1% or more;
* *late or short share* = completed visits that were late or short (each counted
  once) / delivered: ``red`` at 25% or more, ``amber`` at 10% or more;
* *preference breaches*: ``red`` at 3 or more, ``amber`` at 1 or more;
* the worst of the three; ``green`` when none applies (or nothing was scheduled).

**affordable** (the :class:`~careledger.domain.affordability.Affordability`)

* the larger of the two forecast overspends (on the schedule, and at the recent
  rate) as a share of the budget: ``red`` above 5%, ``amber`` above 1%
  (the same defaults as the overspend alert);
* ``amber`` too when a direct payment account holds a surplus;
* else ``green`` (an underspend is not unaffordable; it shows in "followed" and
  raises its own alert).

**working** (outcomes and reviews, :class:`ReviewState`)

* ``red`` when the review is more than 28 days overdue, when more than half the
  outcomes got worse, or with 2 or more open incidents (safeguarding concerns,
  complaints, falls: whatever the council records as an open incident);
* ``amber`` when the review is overdue at all, any outcome got worse, or there is
  an open incident;
* else ``green``;

and :func:`working_reasons` says which of these applied, in plain English, with
the quality-of-life score (out of 24) of the last review that scored it.

Also here: :func:`next_review_due`, :func:`end_of_day` (the instant that ends
``as_of``, the ``now`` to classify a period with), and carer continuity
(:func:`carers_seen`, :func:`distinct_carers`).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .affordability import Affordability
from .delivery import DeliveredVisit, Reconciliation
from .localtime import UTC, localize
from .money import ZERO, Decimal, divide, format_money, minutes_to_hours

__all__ = [
    "RAG",
    "StatusThresholds",
    "DEFAULT_STATUS_THRESHOLDS",
    "ReviewState",
    "followed_rag",
    "affordable_rag",
    "working_rag",
    "working_reasons",
    "package_status",
    "next_review_due",
    "review_overdue",
    "end_of_day",
    "carers_seen",
    "distinct_carers",
]

RAG = ("red", "amber", "green")
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class StatusThresholds:
    """The red/amber limits of :func:`package_status` (defaults in the module docstring).

    Percentages are of scheduled visits (missed), of delivered visits (late or
    short) and of the budget (overspend); "at or above" for visits and counts,
    "above" for money.
    """

    missed_amber_percent: Decimal = Decimal("1")
    missed_red_percent: Decimal = Decimal("5")
    late_or_short_amber_percent: Decimal = Decimal("10")
    late_or_short_red_percent: Decimal = Decimal("25")
    preference_breaches_amber: int = 1
    preference_breaches_red: int = 3
    overspend_amber_percent: Decimal = Decimal("1")
    overspend_red_percent: Decimal = Decimal("5")
    review_red_after_days: int = 28
    open_incidents_amber: int = 1
    open_incidents_red: int = 2

    def __post_init__(self) -> None:
        pairs = (
            ("missed_amber_percent", "missed_red_percent", True),
            ("late_or_short_amber_percent", "late_or_short_red_percent", True),
            ("overspend_amber_percent", "overspend_red_percent", True),
            ("preference_breaches_amber", "preference_breaches_red", False),
            ("open_incidents_amber", "open_incidents_red", False),
        )
        for amber_name, red_name, is_percent in pairs:
            for name in (amber_name, red_name):
                value = getattr(self, name)
                if is_percent:
                    exact = not isinstance(value, bool) and isinstance(value, (Decimal, int))
                    if not exact or not Decimal(value).is_finite():
                        raise ValueError(f"{name} must be a Decimal percentage, not {value!r}")
                    if value < 0:
                        raise ValueError(f"{name} cannot be negative ({value})")
                    object.__setattr__(self, name, Decimal(value))
                elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
            if getattr(self, red_name) < getattr(self, amber_name):
                raise ValueError(f"{red_name} cannot be below {amber_name}")
        for name in ("missed_amber_percent", "late_or_short_amber_percent"):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be above 0 (0% would make every package amber)")
        value = self.review_red_after_days
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"review_red_after_days must be a whole number of at least 0, not {value!r}")


DEFAULT_STATUS_THRESHOLDS = StatusThresholds()


@dataclass(frozen=True)
class ReviewState:
    """What the "working" question reads: the outcomes' latest ratings and the reviews.

    ``improving``, ``same`` and ``worse`` count outcomes by how their latest rating
    compares with the one before (``careledger.outcomes`` counts an outcome with
    nothing yet to compare as ``same``: no change has been recorded).
    """

    outcomes: int = 0
    improving: int = 0
    same: int = 0
    worse: int = 0
    last_review: date | None = None
    next_review_due: date | None = None
    open_incidents: int = 0
    quality_of_life: int | None = None  # out of 24 at the latest review that scored it
    quality_of_life_before: int | None = None  # at the scored review before that

    def __post_init__(self) -> None:
        for name in ("outcomes", "improving", "same", "worse", "open_incidents"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, not {value!r}")
        if self.improving + self.same + self.worse > self.outcomes:
            raise ValueError("improving, same and worse cannot add up to more than the outcomes")
        for name in ("quality_of_life", "quality_of_life_before"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24):
                raise ValueError(f"{name} must be a whole number from 0 to 24, not {value!r}")


def next_review_due(*, start: date, review_every_weeks: int | None, last_review: date | None = None) -> date | None:
    """``review_every_weeks`` after the last review (or the plan's start); ``None`` with no review cycle.

    Mary's plan starts on 6 April 2026 with six-weekly reviews: first due 18 May 2026.
    """
    if review_every_weeks is None:
        return None
    if isinstance(review_every_weeks, bool) or not isinstance(review_every_weeks, int) or review_every_weeks < 1:
        raise ValueError(f"review_every_weeks must be a whole number of at least 1, not {review_every_weeks!r}")
    return (last_review or start) + timedelta(weeks=review_every_weeks)


def review_overdue(as_of: date, due: date | None) -> bool:
    """Whether the review due on ``due`` had not happened by the end of ``as_of`` (due today is not overdue)."""
    return due is not None and as_of > due


def end_of_day(as_of: date) -> datetime:
    """The instant the local date ``as_of`` ends (midnight after it, Europe/London).

    Pass it as ``now`` to ``delivery.classify`` so the counts cover up to the end of ``as_of``.
    """
    return localize(datetime.combine(as_of + timedelta(days=1), time.min))


def carers_seen(visits: Iterable[DeliveredVisit], now: datetime, weeks: int = 4) -> tuple[str, ...]:
    """The different carers of visits started in the ``weeks`` weeks up to ``now``, sorted.

    Counts completed and in-progress visits, by their check-in (or planned start
    when there is none), from ``now - weeks`` (exclusive) to ``now`` (inclusive).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1:
        raise ValueError(f"weeks must be a whole number of at least 1, not {weeks!r}")
    end = now.astimezone(UTC)
    begin = end - timedelta(weeks=weeks)
    found = set()
    for visit in visits:
        if visit.status not in ("completed", "in_progress") or not visit.carer_ref:
            continue
        started = (visit.actual_start or visit.planned_start).astimezone(UTC)
        if begin < started <= end:
            found.add(visit.carer_ref)
    return tuple(sorted(found))


def distinct_carers(visits: Iterable[DeliveredVisit], now: datetime, weeks: int = 4) -> int:
    """How many different carers visited in the ``weeks`` weeks up to ``now`` (see :func:`carers_seen`)."""
    return len(carers_seen(visits, now, weeks))


def _share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    if not whole:
        return ZERO
    return divide(_EXACT.multiply(Decimal(part), _HUNDRED), Decimal(whole))


def _worst(*ratings: str) -> str:
    return min(ratings, key=RAG.index) if ratings else "green"


def followed_rag(rec: Reconciliation, thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS) -> str:
    """Red, amber or green for "is the plan followed?" (rules in the module docstring)."""
    t = thresholds
    counts = rec.counts
    missed = _share(counts["missed"], counts["scheduled"])
    late_or_short = len({line.ref for line in rec.late} | {line.ref for line in rec.short})
    late_short = _share(late_or_short, counts["delivered"])
    breaches = counts["preference_breaches"]
    ratings = []
    for value, amber, red in (
        (missed, t.missed_amber_percent, t.missed_red_percent),
        (late_short, t.late_or_short_amber_percent, t.late_or_short_red_percent),
        (Decimal(breaches), Decimal(t.preference_breaches_amber), Decimal(t.preference_breaches_red)),
    ):
        ratings.append("red" if value >= red else "amber" if value >= amber else "green")
    return _worst(*ratings)


def affordable_rag(aff: Affordability, thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS) -> str:
    """Red, amber or green for "is it affordable?" (rules in the module docstring)."""
    t = thresholds
    variances = [aff.forecast_variance]
    if aff.forecast_variance_from_recent_rate is not None:
        variances.append(aff.forecast_variance_from_recent_rate)
    variance = max(variances)
    rating = "green"
    if variance > 0:
        share = _share(variance, aff.budget) if aff.budget else _HUNDRED
        if share > t.overspend_red_percent:
            rating = "red"
        elif share > t.overspend_amber_percent:
            rating = "amber"
    if aff.dp_surplus is not None and aff.dp_surplus > 0:
        rating = _worst(rating, "amber")
    return rating


def working_rag(review: ReviewState, as_of: date, thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS) -> str:
    """Red, amber or green for "is it working?" (rules in the module docstring)."""
    t = thresholds
    overdue_by = (as_of - review.next_review_due).days if review.next_review_due else 0
    if (
        overdue_by > t.review_red_after_days
        or (review.outcomes and review.worse * 2 > review.outcomes)
        or review.open_incidents >= t.open_incidents_red
    ):
        return "red"
    if overdue_by > 0 or review.worse or review.open_incidents >= t.open_incidents_amber:
        return "amber"
    return "green"


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def working_reasons(review: ReviewState, as_of: date, thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS) -> list[str]:
    """Why "working" is red, amber or green, in plain English (each rule that applies, worst first)."""
    t = thresholds
    reasons: list[str] = []
    due = review.next_review_due
    overdue_by = (as_of - due).days if due else 0
    if overdue_by > t.review_red_after_days:
        reasons.append(f"The review due on {_day(due)} is {_plural(overdue_by, 'day')} overdue (red after {t.review_red_after_days}).")
    if review.outcomes and review.worse * 2 > review.outcomes:
        reasons.append(f"{review.worse} of {_plural(review.outcomes, 'outcome')} got worse at the last review: more than half.")
    if review.open_incidents >= t.open_incidents_red:
        reasons.append(f"{_plural(review.open_incidents, 'open incident')} (red from {t.open_incidents_red}).")
    if 0 < overdue_by <= t.review_red_after_days:
        reasons.append(f"The review due on {_day(due)} is {_plural(overdue_by, 'day')} overdue.")
    if review.worse and not review.worse * 2 > review.outcomes:
        reasons.append(f"{review.worse} of {_plural(review.outcomes, 'outcome')} got worse at the last review.")
    if t.open_incidents_amber <= review.open_incidents < t.open_incidents_red:
        reasons.append(f"{_plural(review.open_incidents, 'open incident')}.")
    if not reasons:
        parts = []
        if review.outcomes:
            parts.append(f"{review.improving} of {_plural(review.outcomes, 'outcome')} improving, none worse")
        else:
            parts.append("no outcomes recorded yet")
        parts.append(f"next review due {_day(due)}" if due else "no review cycle")
        parts.append("no open incidents")
        text = "; ".join(parts)
        reasons.append(text[0].upper() + text[1:] + ".")
    if review.quality_of_life is not None:
        before = review.quality_of_life_before
        moved = "" if before is None else f", from {before}" if before != review.quality_of_life else ", unchanged"
        reasons.append(f"Quality of life {review.quality_of_life} out of 24 at the last review{moved}.")
    return reasons


def package_status(
    *,
    person_ref: str,
    as_of: date,
    reconciliation: Reconciliation,
    affordability: Affordability,
    review: ReviewState,
    thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS,
) -> dict:
    """The package status of ``formats.md`` section 6, exactly its keys, ready for ``json.dumps``.

    ``reconciliation`` must cover the budget period up to the end of ``as_of``
    (slots from the start to ``as_of``, classified with ``now=end_of_day(as_of)``);
    ``affordability`` is as at ``as_of``. Money and hours are rounded half-up to
    two places here, once.
    """
    rec = reconciliation
    aff = affordability
    counts = rec.counts
    return {
        "person_ref": person_ref,
        "as_of": as_of.isoformat(),
        "followed": {
            "scheduled": counts["scheduled"],
            "delivered": counts["delivered"],
            "missed": counts["missed"],
            "late": counts["late"],
            "short": counts["short"],
            "unplanned": counts["unplanned"],
            "preference_breaches": counts["preference_breaches"],
            "planned_hours": format_money(minutes_to_hours(rec.planned_minutes)),
            "delivered_hours": format_money(minutes_to_hours(rec.delivered_minutes)),
            "rag": followed_rag(rec, thresholds),
        },
        "affordable": {
            "budget": format_money(aff.budget),
            "spent": format_money(aff.spent),
            "pro_rata_budget": format_money(aff.pro_rata_budget),
            "forecast_year_end": format_money(aff.forecast_year_end),
            "forecast_variance": format_money(aff.forecast_variance),
            "rag": affordable_rag(aff, thresholds),
        },
        "working": {
            "outcomes": review.outcomes,
            "improving": review.improving,
            "same": review.same,
            "worse": review.worse,
            "last_review": review.last_review.isoformat() if review.last_review else None,
            "next_review_due": review.next_review_due.isoformat() if review.next_review_due else None,
            "review_overdue": review_overdue(as_of, review.next_review_due),
            "open_incidents": review.open_incidents,
            "quality_of_life": review.quality_of_life,
            "rag": working_rag(review, as_of, thresholds),
            "reasons": working_reasons(review, as_of, thresholds),
        },
    }
