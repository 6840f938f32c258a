"""Reconciling one person's planned slots with the visits a provider reports.

Two steps, both pure:

1. :func:`match` pairs each delivered visit with at most one planned slot
   (``formats.md`` section 5, "Matching"); visits left over are *unplanned*.
2. :func:`classify` sorts the pairs into the counts of the package status
   "followed" block (``formats.md`` section 6), keeping the lines behind each count.

All times are compared as instants (in UTC), so a visit across a clock change is
judged by the time that really passed, and the results never depend on the order
the slots and visits were given in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .money import ZERO, Decimal, divide
from .rules import DEFAULT_RULES, STATUSES, MonitoringRules
from .schedules import ScheduledVisit

__all__ = ["DeliveredVisit", "Line", "MatchResult", "Reconciliation", "match", "classify"]

_MICROSECOND = timedelta(microseconds=1)


def _aware(moment: datetime, what: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime; naive times are ambiguous")


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare and subtract by wall clock in Python;
    # converting to UTC first makes every comparison one of instants.
    return moment.astimezone(UTC)


def _minutes_between(start: datetime, end: datetime) -> Decimal:
    return divide((_utc(end) - _utc(start)) // _MICROSECOND, 60_000_000)


@dataclass(frozen=True)
class DeliveredVisit:
    """One visit as reported by electronic call monitoring (``formats.md`` section 3).

    ``actual_start`` and ``actual_end`` are the check-in and check-out, either of
    which may be missing (a visit not yet finished, or not checked at all).
    """

    visit_ref: str
    person_ref: str
    service_ref: str
    carer_ref: str | None
    planned_start: datetime
    planned_minutes: int
    actual_start: datetime | None
    actual_end: datetime | None
    status: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown visit status {self.status!r}; use one of {', '.join(STATUSES)}")
        _aware(self.planned_start, "planned_start")
        if self.actual_start is not None:
            _aware(self.actual_start, "actual_start")
        if self.actual_end is not None:
            _aware(self.actual_end, "actual_end")
        if isinstance(self.planned_minutes, bool) or not isinstance(self.planned_minutes, int) or self.planned_minutes < 0:
            raise ValueError(f"planned_minutes must be a whole number of at least 0, not {self.planned_minutes!r}")
        if self.actual_start is not None and self.actual_end is not None and _utc(self.actual_end) < _utc(self.actual_start):
            raise ValueError(f"visit {self.visit_ref}: actual_end is before actual_start")

    @classmethod
    def stored(
        cls, visit_ref: str, person_ref: str, service_ref: str, carer_ref: str | None, planned_start: datetime, planned_minutes: int,
        actual_start: datetime | None, actual_end: datetime | None, status: str,
    ) -> DeliveredVisit:  # fmt: skip
        """A visit as the database holds it, made without checking it again.

        The import checked every stored visit against the rules above when it came in; a
        recompute reads a council-year of them, where checking each again is most of the cost.
        """
        visit = object.__new__(cls)
        object.__setattr__(visit, "__dict__", {
            "visit_ref": visit_ref, "person_ref": person_ref, "service_ref": service_ref, "carer_ref": carer_ref, "planned_start": planned_start,
            "planned_minutes": planned_minutes, "actual_start": actual_start, "actual_end": actual_end, "status": status,
        })  # fmt: skip
        return visit

    @property
    def actual_minutes(self) -> Decimal | None:
        """Elapsed minutes from check-in to check-out (exact; None if either is missing).

        Measured between instants, so 01:30 BST to 01:30 GMT on the last Sunday of
        October is 60 minutes, not 0.
        """
        if self.actual_start is None or self.actual_end is None:
            return None
        return _minutes_between(self.actual_start, self.actual_end)

    @property
    def sort_key(self) -> tuple[object, ...]:
        """A total order on visits by their content, used to make results order-independent."""
        return (
            _utc(self.planned_start),
            self.visit_ref,
            self.service_ref,
            self.planned_minutes,
            self.status,
            self.carer_ref or "",
            _utc(self.actual_start) if self.actual_start else datetime.min.replace(tzinfo=UTC),
            _utc(self.actual_end) if self.actual_end else datetime.min.replace(tzinfo=UTC),
            self.person_ref,
        )


def _slot_key(slot: ScheduledVisit) -> tuple[object, ...]:
    return (_utc(slot.start), slot.service_ref, slot.minutes, slot.pattern_index)


@dataclass(frozen=True)
class MatchResult:
    """The outcome of :func:`match`, in a canonical order.

    ``matched`` pairs are ordered by slot; ``unmatched_slots`` by start;
    ``unplanned`` visits by planned start then ref.
    """

    matched: tuple[tuple[ScheduledVisit, DeliveredVisit], ...]
    unmatched_slots: tuple[ScheduledVisit, ...]
    unplanned: tuple[DeliveredVisit, ...]


def match(
    slots: Sequence[ScheduledVisit], visits: Sequence[DeliveredVisit], rules: MonitoringRules = DEFAULT_RULES
) -> MatchResult:
    """Pair one person's planned slots with their delivered visits.

    A visit may match a slot of the same ``service_ref`` whose planned start is
    within ``match_window_minutes`` (inclusive) of the visit's planned start. Each
    slot takes at most one visit and each visit at most one slot. Candidate pairs
    are taken greedily, closest first, ties broken by the slot's start and then the
    visit's ref (and then the rest of their content), so the result does not depend
    on the input order. The visit's status plays no part: a cancelled visit still
    occupies its slot (see :func:`classify` for what that means).
    """
    window = timedelta(minutes=rules.match_window_minutes)
    ordered_slots = sorted(slots, key=_slot_key)
    ordered_visits = sorted(visits, key=lambda v: v.sort_key)

    by_service: dict[str, list[int]] = {}
    for index, visit in enumerate(ordered_visits):
        by_service.setdefault(visit.service_ref, []).append(index)  # already in planned-start order
    starts = {ref: [_utc(ordered_visits[i].planned_start) for i in indexes] for ref, indexes in by_service.items()}

    candidates: list[tuple[timedelta, tuple[object, ...], tuple[object, ...], int, int]] = []
    for slot_index, slot in enumerate(ordered_slots):
        indexes = by_service.get(slot.service_ref)
        if not indexes:
            continue
        at = _utc(slot.start)
        times = starts[slot.service_ref]
        for position in range(bisect_left(times, at - window), bisect_right(times, at + window)):
            visit_index = indexes[position]
            visit = ordered_visits[visit_index]
            candidates.append((abs(times[position] - at), _slot_key(slot), visit.sort_key, slot_index, visit_index))
    candidates.sort()

    slot_taken: dict[int, int] = {}
    visit_taken: set[int] = set()
    for _, _, _, slot_index, visit_index in candidates:
        if slot_index in slot_taken or visit_index in visit_taken:
            continue
        slot_taken[slot_index] = visit_index
        visit_taken.add(visit_index)

    return MatchResult(
        matched=tuple((ordered_slots[s], ordered_visits[v]) for s, v in sorted(slot_taken.items())),
        unmatched_slots=tuple(slot for index, slot in enumerate(ordered_slots) if index not in slot_taken),
        unplanned=tuple(visit for index, visit in enumerate(ordered_visits) if index not in visit_taken),
    )


@dataclass(frozen=True)
class Line:
    """One row of a reconciliation: a slot with its visit, a slot alone, or an unplanned visit."""

    slot: ScheduledVisit | None
    visit: DeliveredVisit | None

    @property
    def ref(self) -> str:
        """The visit's ref, or ``service@start`` (ISO 8601, local time) for a slot without one."""
        if self.visit is not None:
            return self.visit.visit_ref
        assert self.slot is not None
        return f"{self.slot.service_ref}@{self.slot.start.isoformat()}"

    @property
    def planned_start(self) -> datetime:
        """What the plan committed to: the slot's start, or the unplanned visit's own."""
        if self.slot is not None:
            return self.slot.start
        assert self.visit is not None
        return self.visit.planned_start

    @property
    def planned_minutes(self) -> int:
        """The slot's minutes, or the unplanned visit's own planned minutes."""
        if self.slot is not None:
            return self.slot.minutes
        assert self.visit is not None
        return self.visit.planned_minutes


@dataclass(frozen=True)
class Reconciliation:
    """The "followed" block of a package status, with the lines behind every count.

    Every list is ordered by the line's planned start (as an instant), then its ref.
    """

    scheduled: tuple[Line, ...]
    delivered: tuple[Line, ...]
    missed: tuple[Line, ...]
    late: tuple[Line, ...]
    short: tuple[Line, ...]
    unplanned: tuple[Line, ...]
    under_minimum: tuple[Line, ...]
    preference_breaches: tuple[Line, ...]
    cancelled_by_person: tuple[Line, ...]
    pending: tuple[Line, ...]
    planned_minutes: int
    delivered_microseconds: int

    @property
    def delivered_minutes(self) -> Decimal:
        """The clocked minutes of completed visits: their elapsed time summed exactly, divided once."""
        return divide(self.delivered_microseconds, 60_000_000)

    @property
    def counts(self) -> dict[str, int]:
        return {
            name: len(getattr(self, name))
            for name in (
                "scheduled",
                "delivered",
                "missed",
                "late",
                "short",
                "unplanned",
                "under_minimum",
                "preference_breaches",
                "cancelled_by_person",
                "pending",
            )
        }


def classify(
    result: MatchResult,
    *,
    now: datetime,
    rules: MonitoringRules = DEFAULT_RULES,
    carer_genders: Mapping[str, str] | None = None,
    preferred_gender: str | None = None,
) -> Reconciliation:
    """Judge matched, unmatched and unplanned lines at ``now`` (``formats.md`` sections 5 and 6).

    Each line (slot with visit, slot alone, unplanned visit) falls in exactly one of
    delivered, missed, cancelled_by_person or pending:

    * *delivered*: its visit is ``completed`` (unplanned visits included);
    * *missed*: its visit was reported ``missed`` or ``cancelled_by_provider``, or
      it is a slot with no visit whose planned end + ``missed_after_minutes`` is at
      or before ``now``. A slot and its missed visit count once;
    * *cancelled_by_person*: its visit was cancelled by the person (not missed);
    * *pending*: its visit is ``in_progress``, or it is a slot with no visit not
      yet past end + ``missed_after_minutes``.

    Completed visits are then checked, against what the plan committed to (the
    slot's start and minutes; for an unplanned visit its own planned start and
    minutes), so a visit re-rostered later than the plan is still late:

    * *late*: actual start more than ``late_after_minutes`` after the planned start;
    * *short*: actual duration under ``short_below_percent``% of planned minutes;
    * *under_minimum* (NICE QS123): actual duration under ``minimum_visit_minutes``,
      unless the planned minutes are themselves under it (the plan agreed a short
      visit, like Mary's 15-minute evening call);
    * *preference_breach*: the carer's gender is known and differs from
      ``preferred_gender`` (compared ignoring case and surrounding spaces).

    A completed visit missing its check-in is not judged late; one missing either
    clock time is not judged short or under minimum, and adds no delivered minutes.
    ``unplanned`` lists every visit without a slot, whatever its status.
    ``planned_minutes`` sums the slots; ``delivered_minutes`` the actual minutes of
    completed visits (their elapsed microseconds summed, divided once).
    """
    _aware(now, "now")
    now_utc = _utc(now)
    missed_after = timedelta(minutes=rules.missed_after_minutes)
    late_after = timedelta(minutes=rules.late_after_minutes)
    genders = carer_genders or {}
    preferred = preferred_gender.strip().lower() if preferred_gender and preferred_gender.strip() else None

    # Each line with what it committed to, as an instant (the slot's start, else the visit's own), in that order.
    keyed = [(slot.utc_start, visit.visit_ref, Line(slot, visit)) for slot, visit in result.matched]
    keyed += [(slot.utc_start, (line := Line(slot, None)).ref, line) for slot in result.unmatched_slots]
    keyed += [(_utc(visit.planned_start), visit.visit_ref, Line(None, visit)) for visit in result.unplanned]
    keyed.sort(key=lambda item: (item[0], item[1]))
    lines = [line for _, _, line in keyed]

    buckets: dict[str, list[Line]] = {
        name: []
        for name in (
            "delivered",
            "missed",
            "late",
            "short",
            "under_minimum",
            "preference_breaches",
            "cancelled_by_person",
            "pending",
        )
    }
    delivered = 0  # microseconds: summed exactly, divided once (Reconciliation.delivered_minutes)
    # Durations are compared in whole microseconds: "actual minutes x 100 < planned x percent" is
    # "microseconds x 100 < planned x percent x 60,000,000", exactly.
    short_below = rules.short_below_percent * 60_000_000
    minimum = rules.minimum_visit_minutes * 60_000_000
    for committed, _, line in keyed:
        visit = line.visit
        if visit is None:
            slot = line.slot
            assert slot is not None
            due = slot.utc_start + timedelta(minutes=slot.minutes) + missed_after  # the slot's end, as an instant
            buckets["missed" if due <= now_utc else "pending"].append(line)
            continue
        if visit.status in ("missed", "cancelled_by_provider"):
            buckets["missed"].append(line)
            continue
        if visit.status == "cancelled_by_person":
            buckets["cancelled_by_person"].append(line)
            continue
        if visit.status == "in_progress":
            buckets["pending"].append(line)
            continue
        buckets["delivered"].append(line)
        if visit.actual_start is not None and _utc(visit.actual_start) > committed + late_after:
            buckets["late"].append(line)
        if visit.actual_start is not None and visit.actual_end is not None:
            lasted = (_utc(visit.actual_end) - _utc(visit.actual_start)) // _MICROSECOND  # = actual_minutes x 60,000,000
            delivered += lasted
            planned = line.planned_minutes
            if lasted * 100 < planned * short_below:
                buckets["short"].append(line)
            if lasted < minimum and planned >= rules.minimum_visit_minutes:
                buckets["under_minimum"].append(line)
        gender = genders.get(visit.carer_ref) if visit.carer_ref is not None else None
        if preferred and gender and gender.strip() and gender.strip().lower() != preferred:
            buckets["preference_breaches"].append(line)

    return Reconciliation(
        scheduled=tuple(line for line in lines if line.slot is not None),
        unplanned=tuple(line for line in lines if line.slot is None),
        planned_minutes=sum((line.slot.minutes for line in lines if line.slot is not None), 0),
        delivered_microseconds=delivered,
        **{name: tuple(found) for name, found in buckets.items()},  # type: ignore[arg-type]
    )
