"""A package's reconciliation from a summary of its ordinary visits and the full rows of the rest.

:func:`delivery.match` and :func:`delivery.classify` judge every visit one by one: the
definition, and what every evidence page shows. A council-year is two million visits,
and most of them say nothing: the carer came when planned, stayed long enough and is
paid the planned minutes. :func:`tally` gives the same figures without a Python object
for each of those *simple* visits, so that a database can count them (an aggregate
query) and send only their keys:

* a visit is **simple** (:func:`simple_parts`, the definition the database's query
  mirrors) when it is ``completed``; its planned start, check-in and check-out are
  whole seconds; it did not start late against its planned start; it was not short
  against its planned minutes; and its carer is not one whose recorded gender could
  breach the person's preference. It is *full* when it is paid its planned minutes, else
  *odd* (its payable minutes travel with its key); those under the minimum are counted;
* its key is ``"<start>/<planned minutes>"``, the start as the database spells it (the
  caller chooses the spelling and builds the slots' keys the same way);
* every simple visit must sit at exactly one slot: same service, same start, same
  minutes, no other visit or slot at that service and start (:func:`not_at_a_slot`
  finds those that do not; the caller moves them to the full rows).

Why that is exact: such a visit and its slot are at distance 0 and neither has another
candidate at distance 0, so the closest-first pairing of :func:`delivery.match` takes
that pair whatever else is there, and removing both leaves the pairing of the rest
unchanged. The pair's judgement reads only what the key and the database's flags
carry (the slot's start and minutes equal the visit's). Everything else (the other
visits, and the slots no simple visit took) goes through ``match`` and ``classify``
as before, and the two parts are added up. The property tests in
``tests/unit/test_tally.py`` hold :func:`tally` to ``classify`` on random packages.

Money: every payable visit is priced at the rate of its local day
(:func:`priced_by_day`, the same arithmetic as posting each visit to the ledger),
summed as whole rate-minutes per day, exact.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from .delivery import DeliveredVisit, Line, MatchResult, classify, match
from .localtime import LONDON
from .money import Decimal, divide
from .plans import Plan
from .rules import MonitoringRules, payable_minutes
from .schedules import ScheduledVisit
from .status import carers_seen

__all__ = [
    "PricedDays",
    "Reported",
    "SimpleVisits",
    "SlotBook",
    "Tally",
    "simple_parts",
    "start_offset_seconds",
    "utc_text",
    "epoch_text",
    "not_at_a_slot",
    "tally",
    "priced_by_day",
    "spend_between",
    "match_exact_first",
]

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_ZERO = Decimal(0)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)


# -- keys ------------------------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """An instant as SQLite stores it (Django, ``USE_TZ``): naive UTC ``YYYY-MM-DD HH:MM:SS``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def epoch_text(moment: datetime) -> str:
    """An instant as whole seconds since 1970 (how the PostgreSQL query spells a start)."""
    return str((moment.astimezone(UTC) - _EPOCH) // _SECOND)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _whole(moment: datetime | None) -> bool:
    return moment is not None and moment.microsecond == 0


def start_offset_seconds(planned_start: datetime, actual_start: datetime | None, actual_end: datetime | None) -> int | None:
    """Check-in minus planned start in whole seconds (negative when early), as the import stores it
    beside each visit; ``None`` unless all three times are there and whole seconds.

    With it, the database's half of :func:`simple_parts` judges lateness and whole-second times by
    comparing integers, not by parsing each visit's times.
    """
    if actual_end is None or not (_whole(planned_start) and _whole(actual_start) and _whole(actual_end)):
        return None
    assert actual_start is not None
    return (actual_start.astimezone(UTC) - planned_start.astimezone(UTC)) // _SECOND  # between instants (one zone subtracts by wall clock)


def simple_parts(visit: DeliveredVisit, rules: MonitoringRules, suspects: frozenset[str] = frozenset()) -> tuple[int, bool] | None:
    """``(payable minutes, under the minimum)`` of a simple visit, ``None`` for any other (see the module docstring).

    ``suspects``: carer refs whose recorded gender differs from the person's preference (empty
    when there is none); their visits are never simple. The database's query
    (``monitoring.batch``) says the same, and a test holds them together.
    """
    offset = start_offset_seconds(visit.planned_start, visit.actual_start, visit.actual_end)  # (None unless all three are whole seconds)
    if visit.status != "completed" or offset is None:
        return None
    assert visit.actual_start is not None and visit.actual_end is not None
    seconds = (visit.actual_end.astimezone(UTC) - visit.actual_start.astimezone(UTC)) // _SECOND  # between instants
    planned = visit.planned_minutes
    if offset > rules.late_after_minutes * 60:
        return None  # late
    if seconds * 100 < planned * 60 * rules.short_below_percent:
        return None  # short
    if visit.carer_ref and visit.carer_ref in suspects:
        return None
    paid = _payable_seconds(seconds, planned, rules)
    if paid is None:
        return None
    under = seconds < rules.minimum_visit_minutes * 60 and planned >= rules.minimum_visit_minutes
    return paid, under


def _payable_seconds(seconds: int, planned: int, rules: MonitoringRules) -> int | None:
    """``rules.payable_minutes`` of a completed visit lasting ``seconds``, in whole-number arithmetic
    (``None`` when that is not a whole number of minutes: rounding "none" of an odd clock)."""
    if rules.payment_basis == "planned":
        return planned
    if rules.payment_basis == "planned_within_tolerance" and seconds >= (planned - rules.payment_tolerance_minutes) * 60:
        return planned
    step = rules.rounding_step_minutes
    if rules.rounding == "nearest":
        rounded = (seconds + 30 * step) // (60 * step) * step  # half up
    elif rules.rounding == "up":
        rounded = -(-seconds // (60 * step)) * step
    elif rules.rounding == "down":
        rounded = seconds // (60 * step) * step
    else:  # none
        if seconds % 60:
            return None
        rounded = seconds // 60
    return min(rounded, planned)


# -- what the database says about the simple visits -----------------------------------------------


@dataclass(frozen=True)
class SimpleVisits:
    """The simple visits of one service, summarised.

    * ``full``: keys of those paid their planned minutes;
    * ``odd``: ``"<key>;<payable minutes>"`` for the others;
    * ``under``: how many of them were under the minimum (NICE QS123);
    * ``seconds``: their clocked seconds, summed;
    * ``carers``: their carers checked in within the continuity window (see :func:`tally`).
    """

    service_ref: str
    full: Sequence[str] = ()
    odd: Sequence[str] = ()
    seconds: int = 0
    carers: Iterable[str] = ()
    under: int = 0

    def keys(self) -> list[str]:
        return [*self.full, *(code.split(";", 1)[0] for code in self.odd)]


class Reported:
    """A visit that is not simple, with what judging it at its slot reads, made into a
    :class:`DeliveredVisit` only when something asks for it (:meth:`visit`).

    A recompute reads a few hundred such visits a package (late, short, missed, cancelled) and,
    for most of them, only counts them and keeps their ref: the lines behind a count are read in
    full when an alert's evidence is written, or a page shows them. ``planned_start`` is an aware
    datetime; ``offset`` and ``seconds`` are :func:`start_offset_seconds` and the clocked whole
    seconds (``None`` unless all three times are whole seconds, as the import stores them); ``make(*args)``
    gives the visit, whose fields must be these (``Reported.of`` makes one from a visit, for tests
    and callers that have one).
    """

    __slots__ = ("service_ref", "ref", "carer_ref", "planned_start", "planned_minutes", "status", "offset", "seconds", "_make", "_args", "_visit")

    def __init__(self, service_ref: str, ref: str, carer_ref: str | None, planned_start: datetime, planned_minutes: int, status: str,
                 offset: int | None, seconds: int | None, make, args: tuple = ()) -> None:  # fmt: skip
        self.service_ref, self.ref, self.carer_ref, self.planned_start = service_ref, ref, carer_ref, planned_start
        self.planned_minutes, self.status, self.offset, self.seconds = planned_minutes, status, offset, seconds
        self._make, self._args, self._visit = make, args, None

    @classmethod
    def of(cls, visit: DeliveredVisit) -> "Reported":
        offset = start_offset_seconds(visit.planned_start, visit.actual_start, visit.actual_end)
        seconds = None
        if offset is not None:
            assert visit.actual_start is not None and visit.actual_end is not None
            seconds = (visit.actual_end.astimezone(UTC) - visit.actual_start.astimezone(UTC)) // _SECOND
        return cls(visit.service_ref, visit.visit_ref, visit.carer_ref, visit.planned_start, visit.planned_minutes, visit.status, offset, seconds,
                   _itself, (visit,))  # fmt: skip

    def visit(self) -> DeliveredVisit:
        found = self._visit
        if found is None:
            found = self._visit = self._make(*self._args)
        return found

    def __repr__(self) -> str:
        return f"Reported({self.ref!r}, {self.service_ref!r}, {self.planned_start.isoformat()}, {self.status})"


def _itself(visit: DeliveredVisit) -> DeliveredVisit:
    return visit


class _ReportedLine(Line):
    """A :class:`delivery.Line` of a slot and a :class:`Reported` visit: its ref without the visit, the
    visit made when first read; equal to (and hashed as) the plain line of the same slot and visit."""

    @property  # type: ignore[override]
    def visit(self) -> DeliveredVisit:  # type: ignore[override]
        return self.__dict__["reported"].visit()

    @property
    def ref(self) -> str:
        return self.__dict__["reported"].ref

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Line):
            return (self.slot, self.visit) == (other.slot, other.visit)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.slot, self.visit))


def _reported_line(slot: ScheduledVisit, reported: Reported) -> Line:
    line = object.__new__(_ReportedLine)
    object.__setattr__(line, "__dict__", {"slot": slot, "reported": reported})
    return line


_EPOCH_DAY = date(1970, 1, 1)


def _day_number(day: date) -> int:
    return (day - _EPOCH_DAY).days


_CELLS: dict[tuple[date, Decimal], int] = {}
_CELL_VALUES: list[tuple[date, Decimal]] = []


def _cell(day: date, rate: Decimal) -> int:
    """A small number for a (local day, rate) pair, the same for the whole process: sums by day and
    rate are kept in dictionaries keyed by it (a Decimal is slow to hash)."""
    key = (day, rate)
    found = _CELLS.get(key)
    if found is None:
        found = _CELLS[key] = len(_CELL_VALUES)
        _CELL_VALUES.append(key)
    return found


class SlotSpan:
    """The slots of one service's pattern over a span, keyed: built once and shared by every package
    whose plan has that pattern over those dates (callers cache it).

    ``keys`` spell each slot as the database's query spells a visit (``"<start>/<minutes>"``);
    ``rates`` are each slot's hourly rate (its plan version's card on its day).
    """

    __slots__ = ("service_ref", "slots", "rates", "by_key", "key_at", "count_by", "minutes", "repeats", "days", "running")

    def between(self, first: date, last: date) -> tuple[int, Decimal, Decimal]:
        """(slots, rate-minutes, day number x rate-minutes) of the days from ``first`` to ``last`` inclusive."""
        low, high = bisect_left(self.days, first), bisect_right(self.days, last)
        if high <= low:
            return 0, _ZERO, _ZERO
        a, b = self.running[low], self.running[high]
        return b[0] - a[0], _EXACT.subtract(b[1], a[1]), _EXACT.subtract(b[2], a[2])

    def __init__(self, service_ref: str, slots: Sequence[ScheduledVisit], keys: Sequence[str], rates: Sequence[Decimal]) -> None:
        if not len(slots) == len(keys) == len(rates):
            raise ValueError("a slot span needs one key and one rate per slot")
        if any(slot.service_ref != service_ref for slot in slots):
            raise ValueError(f"a slot span holds slots of one service ({service_ref})")
        self.service_ref = service_ref
        self.slots = tuple(slots)
        self.rates = tuple(rates)
        self.by_key: dict[str, tuple[ScheduledVisit, int, date, int]] = {}  # key -> (slot, cell, day, minutes)
        self.key_at: dict[datetime, str] = {}  # UTC start -> key
        self.count_by: dict[date, int] = {}
        value_by: dict[date, Decimal] = {}
        for slot, key, rate in zip(self.slots, keys, rates, strict=True):
            day = slot.start.date()
            self.by_key[key] = (slot, _cell(day, rate), day, slot.minutes)
            self.key_at[slot.start.astimezone(UTC)] = key
            self.count_by[day] = self.count_by.get(day, 0) + 1
            value_by[day] = _EXACT.add(value_by.get(day, _ZERO), _EXACT.multiply(slot.minutes, rate))
        self.minutes = sum(slot.minutes for slot in self.slots)
        # Running totals by day (count, rate-minutes, day number x rate-minutes) for sums over any days.
        self.days = sorted(value_by)
        self.running: list[tuple[int, Decimal, Decimal]] = [(0, _ZERO, _ZERO)]
        for day in self.days:
            n, value, weighted = self.running[-1]
            self.running.append((n + self.count_by[day], _EXACT.add(value, value_by[day]), _EXACT.add(weighted, _EXACT.multiply(_day_number(day), value_by[day]))))
        # Two slots at one start (or one key): the pairing is then not obvious; see SlotBook.
        self.repeats = len(self.key_at) != len(self.slots) or len(self.by_key) != len(self.slots)


class SlotBook:
    """One package's slots (the spans of its plan versions' patterns up to a date), by service."""

    def __init__(self, spans: Sequence[SlotSpan]) -> None:
        self.spans = tuple(spans)
        self.by_key: dict[str, dict[str, tuple[ScheduledVisit, int, date, int]]] = {}
        self.key_at: dict[str, dict[datetime, str]] = {}
        self.ambiguous: dict[str, set[datetime]] = {}
        sizes: dict[str, int] = {}
        for span in self.spans:
            self.by_key.setdefault(span.service_ref, {}).update(span.by_key)
            self.key_at.setdefault(span.service_ref, {}).update(span.key_at)
            sizes[span.service_ref] = sizes.get(span.service_ref, 0) + len(span.slots)
        for service, size in sizes.items():
            if len(self.key_at[service]) != size or len(self.by_key[service]) != size or any(s.repeats for s in self.spans if s.service_ref == service):
                # Starts two slots share: no simple visit is summarised there (taken out of the index).
                seen: dict[datetime, int] = {}
                for span in self.spans:
                    if span.service_ref == service:
                        for slot in span.slots:
                            at = slot.start.astimezone(UTC)
                            seen[at] = seen.get(at, 0) + 1
                twice = {at for at, n in seen.items() if n > 1}
                self.ambiguous[service] = twice
                index = {k: v for k, v in self.by_key[service].items() if v[0].start.astimezone(UTC) not in twice}
                self.by_key[service] = index
                self.key_at[service] = {at: k for at, k in self.key_at[service].items() if at not in twice}
        self.count = sum(len(span.slots) for span in self.spans)
        self.minutes = sum(span.minutes for span in self.spans)

    @classmethod
    def of(cls, slots: Sequence[ScheduledVisit], keys: Sequence[str], rates: Sequence[Decimal]) -> "SlotBook":
        """A book from aligned lists of slots, keys and rates (one span per service)."""
        grouped: dict[str, tuple[list, list, list]] = {}
        for slot, key, rate in zip(slots, keys, rates, strict=True):
            found = grouped.setdefault(slot.service_ref, ([], [], []))
            found[0].append(slot)
            found[1].append(key)
            found[2].append(rate)
        return cls([SlotSpan(service, *lists) for service, lists in grouped.items()])

    def slots(self) -> list[ScheduledVisit]:
        return [slot for span in self.spans for slot in span.slots]


def _start(key: str) -> str:
    return key.split("/", 1)[0]


def not_at_a_slot(
    book: SlotBook, simple: Iterable[SimpleVisits], visits: Iterable[DeliveredVisit] = (), planned: Mapping[str, Iterable[datetime]] | None = None
) -> dict[str, set[str]]:
    """The starts (key before ``/``) of simple visits that are not each alone at a slot of their own, by service.

    Alone means: their key is a slot's (same start and minutes), no other slot of the service
    starts then, no other simple visit either, and none of ``visits`` (the ones read in full)
    is planned then; ``planned`` gives more such planned starts by service (of visits to be
    read in full, before they are). Those visits must be read in full and judged one by one
    (:func:`tally` refuses a summary that has any). Moving every visit of a service at one of
    these starts to the full rows leaves none: what makes a visit not alone is at its own start.
    Empty for a package delivered at its slots' times.
    """
    found: dict[str, set[str]] = {}
    others: dict[str, list[datetime]] = {}
    for visit in visits:
        others.setdefault(visit.service_ref, []).append(visit.planned_start.astimezone(UTC))
    for service, starts in (planned or {}).items():
        others.setdefault(service, []).extend(start.astimezone(UTC) for start in starts)
    for group in simple:
        slots = book.by_key.get(group.service_ref, {})
        odd = [code.split(";", 1)[0] for code in group.odd]
        keys = set(group.full)
        keys.update(odd)
        bad = {_start(key) for key in keys.difference(slots)}
        if len(keys) != len(group.full) + len(odd):  # two simple visits with one key
            seen: set[str] = set()
            for key in (*group.full, *odd):
                if key in seen:
                    bad.add(_start(key))
                seen.add(key)
        key_at = book.key_at.get(group.service_ref, {})
        for at in others.get(group.service_ref, ()):
            key = key_at.get(at)
            if key is not None and key in keys:
                bad.add(_start(key))
        if bad:
            found.setdefault(group.service_ref, set()).update(bad)
    return found


# -- the tally -------------------------------------------------------------------------------------


class PricedDays:
    """Each local day's payable visits and their rate-minutes, as ``priced_by_day`` gives them, held as
    whole slot spans (their running totals) plus what differs from them day by day: summed over any
    days without a dictionary of every day (:meth:`between`, :meth:`totals`), or one by day when asked."""

    def __init__(self, spans: Sequence[SlotSpan] = (), changes: Mapping[date, tuple[int, Decimal]] | None = None) -> None:
        self.spans = tuple(spans)
        self.changes = dict(changes or {})
        self._by_day: dict[date, tuple[int, Decimal]] | None = None
        self._change_days: list[date] | None = None  # the changes' days in order, and their running totals (made when first summed)
        self._change_running: list[tuple[int, Decimal, Decimal]] = []

    def _changes_between(self, first: date, last: date) -> tuple[int, Decimal, Decimal]:
        """The changes' (count, rate-minutes, day number x rate-minutes) from ``first`` to ``last``: running
        totals made once (a status sums three spans of days), then two bisections per sum."""
        if self._change_days is None:
            days = sorted(self.changes)
            running = [(0, _ZERO, _ZERO)]
            for day in days:
                count, change = self.changes[day]
                n, value, weighted = running[-1]
                running.append((n + count, _EXACT.add(value, change), _EXACT.add(weighted, _EXACT.multiply(_day_number(day), change))))
            self._change_days, self._change_running = days, running
        low, high = bisect_left(self._change_days, first), bisect_right(self._change_days, last)
        if high <= low:
            return 0, _ZERO, _ZERO
        a, b = self._change_running[low], self._change_running[high]
        return b[0] - a[0], _EXACT.subtract(b[1], a[1]), _EXACT.subtract(b[2], a[2])

    def totals(self, first: date, last: date) -> tuple[int, Decimal, Decimal]:
        """(payable visits, rate-minutes, day number x rate-minutes) of the days from ``first`` to ``last``."""
        n, value, weighted = self._changes_between(first, last)
        for span in self.spans:
            a, b, c = span.between(first, last)
            n, value, weighted = n + a, _EXACT.add(value, b), _EXACT.add(weighted, c)
        return n, value, weighted

    def between(self, first: date, last: date) -> Decimal:
        return self.totals(first, last)[1]

    def by_day(self) -> dict[date, tuple[int, Decimal]]:
        if self._by_day is None:
            found: dict[date, list] = {}
            for span in self.spans:
                for position, day in enumerate(span.days):
                    n, value, _ = span.running[position + 1]
                    before = span.running[position]
                    here = found.setdefault(day, [0, _ZERO])
                    here[0] += n - before[0]
                    here[1] = _EXACT.add(here[1], _EXACT.subtract(value, before[1]))
            for day, (count, change) in self.changes.items():
                here = found.setdefault(day, [0, _ZERO])
                here[0] += count
                here[1] = _EXACT.add(here[1], change)
            self._by_day = {day: (n, value) for day, (n, value) in sorted(found.items()) if n or value}
        return self._by_day

    def items(self):
        return self.by_day().items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PricedDays):
            return self.by_day() == other.by_day()
        if isinstance(other, Mapping):
            return self.by_day() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Tally:
    """The "followed" figures of a package, as :class:`delivery.Reconciliation` gives them.

    ``counts``, ``planned_minutes`` and ``delivered_minutes`` are those of the whole package.
    The lines behind ``missed``, ``late``, ``short``, ``preference_breaches``, ``unplanned``,
    ``cancelled_by_person`` and ``pending`` are all there (no simple visit is any of those);
    ``scheduled``, ``delivered`` and ``under_minimum`` are counts only. ``recent_carers`` is
    ``status.carers_seen`` of every visit; ``priced`` the payable visits of each local day and
    their rate-minutes (:func:`priced_by_day`).
    """

    counts: Mapping[str, int]
    missed: tuple[Line, ...]
    late: tuple[Line, ...]
    short: tuple[Line, ...]
    preference_breaches: tuple[Line, ...]
    unplanned: tuple[Line, ...]
    cancelled_by_person: tuple[Line, ...]
    pending: tuple[Line, ...]
    planned_minutes: int
    delivered_minutes: Decimal
    recent_carers: tuple[str, ...]
    priced: PricedDays


def match_exact_first(slots: Sequence[ScheduledVisit], visits: Sequence[DeliveredVisit], rules: MonitoringRules) -> MatchResult:
    """:func:`delivery.match`, with the common case first: a visit planned at exactly the start of a slot of its service.

    Where exactly one slot and one visit share a service and start, the closest-first pairing
    takes that pair (distance 0 comes first and nothing else competes for either); every other
    slot and visit goes through ``match``. The result is in ``match``'s canonical order.
    """
    slot_at: dict[tuple[str, datetime], list[ScheduledVisit]] = {}
    for slot in slots:
        slot_at.setdefault((slot.service_ref, slot.utc_start), []).append(slot)
    visit_at: dict[tuple[str, datetime], list[DeliveredVisit]] = {}
    for visit in visits:
        visit_at.setdefault((visit.service_ref, visit.planned_start.astimezone(UTC)), []).append(visit)
    pairs, rest_slots = [], []
    for key, found in slot_at.items():
        candidates = visit_at.get(key)
        if len(found) == 1 and candidates is not None and len(candidates) == 1:
            pairs.append((found[0], candidates[0]))
        else:
            rest_slots.extend(found)
    paired = {id(v) for _, v in pairs}
    rest_visits = [v for v in visits if id(v) not in paired]
    rest = match(rest_slots, rest_visits, rules) if rest_slots or rest_visits else MatchResult((), (), ())
    slot_key = lambda s: (s.utc_start, s.service_ref, s.minutes, s.pattern_index)  # noqa: E731 - delivery._slot_key
    matched = sorted([*pairs, *rest.matched], key=lambda pair: slot_key(pair[0]))
    return MatchResult(tuple(matched), rest.unmatched_slots, rest.unplanned)


def tally(
    *,
    book: SlotBook,
    simple: Sequence[SimpleVisits],
    visits: Sequence[DeliveredVisit],
    plans: Sequence[tuple[date, Plan]],
    now: datetime,
    rules: MonitoringRules,
    carer_genders: Mapping[str, str] | None = None,
    preferred_gender: str | None = None,
    continuity_weeks: int = 4,
    placed: bool = False,
    reported: Sequence[Reported] = (),
) -> Tally:
    """The package's figures from its slot book, its simple visits summarised and every other visit in full.

    ``visits`` are the visits that are not simple (or not at a slot of their own); ``plans``
    the plan versions (``(effective_from, plan)``) that price them; ``now``, ``rules``,
    ``carer_genders`` and ``preferred_gender`` as :func:`delivery.classify` takes them.
    ``simple`` must come from the same ``rules`` and a ``suspects`` set covering every carer
    whose gender differs from ``preferred_gender``; its carers are those checked in within the
    ``continuity_weeks`` up to ``now``. Raises ValueError if a simple visit is not alone at a
    slot (:func:`not_at_a_slot`); ``placed`` says the caller has already moved every such visit to
    ``visits`` (as ``monitoring.batch`` does, from the same function's answer), so it is not asked again.
    ``reported``: more visits that are not simple, as :class:`Reported` (judged from their numbers
    when alone at a slot's start, else made into visits and judged with ``visits``).
    """
    if not placed:
        planned: dict[str, list[datetime]] = {}
        for r in reported:
            planned.setdefault(r.service_ref, []).append(r.planned_start)
        stray = not_at_a_slot(book, simple, visits, planned)
    else:
        stray = {}
    if stray:
        raise ValueError(f"simple visits not at a slot of their own: {sorted((s, sorted(v)[:3]) for s, v in stray.items())}")
    # Money for every slot at its planned minutes, less the slots a simple visit did not take in
    # full (the odd ones are added back at what they pay); the other visits are priced one by one.
    minutes_by: dict[int, int] = {}  # changes from the spans' totals, by cell (a day and a rate)
    count_by: dict[date, int] = {}
    rest_slots: list[ScheduledVisit] = []
    loose: dict[str, dict[str, tuple]] = {}  # by service: the slots no simple visit took, by key
    full = odd = under = seconds = 0
    carers: set[str] = set()
    groups = {group.service_ref: group for group in simple}
    if len(groups) != len(simple):
        raise ValueError("one summary per service")
    for service, slots in book.by_key.items():
        group = groups.get(service)
        taken = set(group.full) if group is not None else set()
        paid_odd: dict[str, int] = {}
        if group is not None:
            for code in group.odd:
                key, paid = code.split(";")
                paid_odd[key] = int(paid)
        free = loose.setdefault(service, {})
        for key in slots.keys() - taken:
            entry = slots[key]
            _, cell, day, minutes = entry
            paid = paid_odd.get(key)
            if paid is None:
                minutes_by[cell] = minutes_by.get(cell, 0) - minutes
                count_by[day] = count_by.get(day, 0) - 1
                free[key] = entry
                continue
            minutes_by[cell] = minutes_by.get(cell, 0) - (minutes - paid)
            if not paid:
                count_by[day] = count_by.get(day, 0) - 1
        if group is not None:
            full += len(group.full)
            odd += len(group.odd)
            under += group.under
            seconds += group.seconds
            carers.update(c for c in group.carers if c)
    for service, twice in book.ambiguous.items():  # slots left out of the index: always judged one by one
        for span in book.spans:
            if span.service_ref != service:
                continue
            for slot, rate in zip(span.slots, span.rates, strict=True):
                if slot.start.astimezone(UTC) in twice:
                    rest_slots.append(slot)
                    day = slot.start.date()
                    cell = _cell(day, rate)
                    minutes_by[cell] = minutes_by.get(cell, 0) - slot.minutes
                    count_by[day] = count_by.get(day, 0) - 1
    for group in simple:
        if group.service_ref not in book.by_key and (group.full or group.odd):
            raise ValueError(f"simple visits of {group.service_ref!r}, a service with no slots")

    # A visit alone at the start of a slot nothing else took is paired with it whatever else is
    # there (distance 0, no rival at 0, as for the simple ones) and judged here as classify would;
    # the other visits and slots go through match and classify.
    # A Reported visit there is judged from its numbers when it is completed with whole-second times, or
    # not completed (nothing else of it counts), else made into a visit; one that is not there, too.
    at_start: dict[tuple[str, datetime], list] = {}
    for visit in visits:
        at_start.setdefault((visit.service_ref, visit.planned_start.astimezone(UTC)), []).append(visit)
    for r in reported:
        at_start.setdefault((r.service_ref, r.planned_start), []).append(r)
    pinned: list[tuple[tuple, DeliveredVisit]] = []
    by_numbers: list[tuple[tuple, Reported]] = []
    generic: list[DeliveredVisit] = []
    for (service, at), found in at_start.items():
        key = book.key_at.get(service, {}).get(at)
        free = loose.get(service)
        entry = free.pop(key, None) if key is not None and free is not None and len(found) == 1 else None
        if entry is None:
            generic += [v.visit() if type(v) is Reported else v for v in found]
            continue
        visit = found[0]
        if type(visit) is not Reported:
            pinned.append((entry, visit))
        elif visit.status != "completed" or visit.offset is not None:
            by_numbers.append((entry, visit))
        else:
            pinned.append((entry, visit.visit()))
    rest_slots += [entry[0] for free in loose.values() for entry in free.values()]
    rec = classify(match_exact_first(rest_slots, generic, rules), now=now, rules=rules, carer_genders=carer_genders, preferred_gender=preferred_gender)
    judged = _judge_pinned(pinned, rules=rules, carer_genders=carer_genders or {}, preferred_gender=preferred_gender, plans=plans, reported=by_numbers)
    counts = dict(rec.counts)
    for name, lines in judged.buckets.items():
        counts[name] += len(lines)
    counts["scheduled"] = book.count
    counts["delivered"] += full + odd + judged.delivered
    counts["under_minimum"] += under

    changes: dict[date, tuple[int, Decimal]] = {day: (n, _ZERO) for day, n in count_by.items()}
    for cell, minutes in minutes_by.items():
        if minutes:
            day, rate = _CELL_VALUES[cell]
            n, value = changes.get(day, (0, _ZERO))
            changes[day] = (n, _EXACT.add(value, _EXACT.multiply(minutes, rate)))
    delivered_visits = [line.visit for line in rec.delivered if line.visit is not None]
    for day, (n, value) in (*priced_by_day(plans, delivered_visits, rules).items(), *judged.priced.items()):
        had_n, had = changes.get(day, (0, _ZERO))
        changes[day] = (had_n + n, _EXACT.add(had, value))

    def merged(name: str) -> tuple[Line, ...]:
        extra = judged.buckets.get(name)
        ours = getattr(rec, name)
        if not extra:
            return ours
        if not ours:
            return tuple(extra)  # (sorted already)
        return tuple(sorted((*ours, *extra), key=_line_order))

    recent = set(carers_seen(visits, now, continuity_weeks)) | carers
    if reported:
        recent.update(_carers_reported(reported, now, continuity_weeks))
    return Tally(
        counts=counts,
        missed=merged("missed"),
        late=merged("late"),
        short=merged("short"),
        preference_breaches=merged("preference_breaches"),
        unplanned=rec.unplanned,
        cancelled_by_person=merged("cancelled_by_person"),
        pending=merged("pending"),
        planned_minutes=book.minutes,
        delivered_minutes=divide(rec.delivered_microseconds + judged.microseconds + seconds * 1_000_000, 60_000_000),
        recent_carers=tuple(sorted(recent)),
        priced=PricedDays(book.spans, changes),
    )


def _line_order(line: Line) -> tuple[datetime, str]:
    """``classify``'s order: what the line committed to, as an instant, then its ref (the visit's, else the slot's)."""
    slot = line.slot
    if slot is not None:
        return (slot.utc_start, line.ref)
    assert line.visit is not None
    return (line.visit.planned_start.astimezone(UTC), line.visit.visit_ref)


def _carers_reported(reported: Iterable[Reported], now: datetime, weeks: int) -> set[str]:
    """``status.carers_seen`` of Reported visits: the check-in is the planned start plus the offset when
    there is one (whole seconds, between instants), else read from the visit."""
    end = now.astimezone(UTC)
    begin = end - timedelta(weeks=weeks)
    before = begin - timedelta(days=1)  # planned by then, and checked in at most a day after: checked in by the window's start
    found = set()
    for r in reported:
        if r.offset is not None and r.planned_start <= before and r.offset <= 86_400:
            continue
        if r.status not in ("completed", "in_progress") or not r.carer_ref:
            continue
        if r.offset is not None:
            started = r.planned_start.astimezone(UTC) + timedelta(seconds=r.offset)
        else:
            visit = r.visit()
            started = (visit.actual_start or visit.planned_start).astimezone(UTC)
        if begin < started <= end:
            found.add(r.carer_ref)
    return found


@dataclass
class _Pinned:
    buckets: dict[str, list[Line]]
    delivered: int
    microseconds: int
    priced: dict[date, tuple[int, Decimal]]


_PINNED_ORDER = attrgetter("slot.utc_start", "ref")


def _line(slot: ScheduledVisit, visit: DeliveredVisit) -> Line:
    """``Line(slot, visit)`` without the frozen dataclass's checks per field (a recompute makes a hundred thousand)."""
    line = object.__new__(Line)
    object.__setattr__(line, "__dict__", {"slot": slot, "visit": visit})
    return line


def _judge_pinned(pinned, *, rules: MonitoringRules, carer_genders: Mapping[str, str], preferred_gender: str | None, plans, reported=()) -> _Pinned:
    """``delivery.classify`` of slot-and-visit pairs (each visit at its slot's start), and their money
    (``priced_by_day``'s arithmetic, at the slot's day and rate: the same day, version and card).

    ``reported``: slot-and-:class:`Reported` pairs, each not completed or with whole-second times,
    judged by the same rules from its offset and seconds (integers: late is an offset over the
    minutes, short is seconds x 100 under minutes x 60 x the percent, ...), its lines made without the visit."""
    late_after = timedelta(minutes=rules.late_after_minutes)
    short_below = rules.short_below_percent * 60_000_000
    minimum_minutes = rules.minimum_visit_minutes
    minimum = minimum_minutes * 60_000_000
    preferred = preferred_gender.strip().lower() if preferred_gender and preferred_gender.strip() else None
    buckets: dict[str, list[Line]] = {name: [] for name in ("missed", "late", "short", "under_minimum", "preference_breaches", "cancelled_by_person", "pending")}
    missed, late, short, under, breaches = (buckets[name] for name in ("missed", "late", "short", "under_minimum", "preference_breaches"))
    delivered = microseconds = 0
    minutes_by: dict[int, int] = {}  # paid minutes by cell (a day and a rate): priced once per cell, after
    count_by: dict[date, int] = {}
    exact_paid: list[tuple[int, date, Decimal]] = []  # (cell, day, minutes) of a clock that pays a fraction of a minute
    payable = _payable_seconds
    for (slot, cell, day, _), visit in pinned:
        status = visit.status
        if status != "completed":
            if status in ("missed", "cancelled_by_provider"):
                missed.append(_line(slot, visit))
            elif status == "cancelled_by_person" or status == "in_progress":
                buckets["cancelled_by_person" if status == "cancelled_by_person" else "pending"].append(_line(slot, visit))
            continue
        delivered += 1
        start, end = visit.actual_start, visit.actual_end
        line = None
        if start is not None and start.astimezone(UTC) > slot.utc_start + late_after:
            line = _line(slot, visit)
            late.append(line)
        if start is not None and end is not None:
            lasted = (end.astimezone(UTC) - start.astimezone(UTC)) // _MICROSECOND
            microseconds += lasted
            if lasted * 100 < slot.minutes * short_below:
                line = line or _line(slot, visit)
                short.append(line)
            if lasted < minimum and slot.minutes >= minimum_minutes:
                line = line or _line(slot, visit)
                under.append(line)
        if preferred:
            gender = carer_genders.get(visit.carer_ref) if visit.carer_ref is not None else None
            if gender and gender.strip() and gender.strip().lower() != preferred:
                breaches.append(line or _line(slot, visit))
        paid = None
        if start is not None and end is not None and not start.microsecond and not end.microsecond:
            paid = payable((end - start) // _SECOND, visit.planned_minutes, rules)
        if paid is None:
            exact = payable_minutes(planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=status, rules=rules)
            if exact:
                exact_paid.append((cell, day, exact))
                count_by[day] = count_by.get(day, 0) + 1
        elif paid:
            minutes_by[cell] = minutes_by.get(cell, 0) + paid
            count_by[day] = count_by.get(day, 0) + 1
    late_seconds, short_seconds, minimum_seconds = rules.late_after_minutes * 60, rules.short_below_percent * 60, minimum_minutes * 60
    for (slot, cell, day, _), r in reported:
        status = r.status
        if status != "completed":
            if status in ("missed", "cancelled_by_provider"):
                missed.append(_reported_line(slot, r))
            elif status == "cancelled_by_person" or status == "in_progress":
                buckets["cancelled_by_person" if status == "cancelled_by_person" else "pending"].append(_reported_line(slot, r))
            continue
        delivered += 1
        offset, seconds = r.offset, r.seconds  # (the caller sends only completed ones with both)
        line = None
        if offset > late_seconds:
            line = _reported_line(slot, r)
            late.append(line)
        microseconds += seconds * 1_000_000
        if seconds * 100 < slot.minutes * short_seconds:
            line = line or _reported_line(slot, r)
            short.append(line)
        if seconds < minimum_seconds and slot.minutes >= minimum_minutes:
            line = line or _reported_line(slot, r)
            under.append(line)
        if preferred:
            gender = carer_genders.get(r.carer_ref) if r.carer_ref is not None else None
            if gender and gender.strip() and gender.strip().lower() != preferred:
                breaches.append(line or _reported_line(slot, r))
        paid = payable(seconds, r.planned_minutes, rules)
        if paid is None:
            exact = payable_minutes(planned_minutes=r.planned_minutes, actual_minutes=r.visit().actual_minutes, status=status, rules=rules)
            if exact:
                exact_paid.append((cell, day, exact))
                count_by[day] = count_by.get(day, 0) + 1
        elif paid:
            minutes_by[cell] = minutes_by.get(cell, 0) + paid
            count_by[day] = count_by.get(day, 0) + 1
    value_by: dict[date, Decimal] = {}
    for cell, minutes in minutes_by.items():  # sum(minutes x rate) = sum(minutes) x rate, exactly
        day, rate = _CELL_VALUES[cell]
        value_by[day] = _EXACT.add(value_by.get(day, _ZERO), _EXACT.multiply(minutes, rate))
    for cell, day, minutes in exact_paid:
        value_by[day] = _EXACT.add(value_by.get(day, _ZERO), _EXACT.multiply(minutes, _CELL_VALUES[cell][1]))
    for lines in buckets.values():
        if len(lines) > 1:
            lines.sort(key=_PINNED_ORDER)  # _line_order, for lines that all have a slot and a visit
    return _Pinned(buckets, delivered, microseconds, {day: (count_by[day], value) for day, value in value_by.items()})


# -- money -----------------------------------------------------------------------------------------


def priced_by_day(plans: Sequence[tuple[date, Plan]], visits: Iterable[DeliveredVisit], rules: MonitoringRules) -> dict[date, tuple[int, Decimal]]:
    """Each local day's payable visits and their rate-minutes (payable minutes x the day's rate), exact.

    A visit is priced at the rate card of its service in the plan version in force on the
    local date of its planned start (the first version before any), at that date's rate; a
    visit of a service the plan does not have is not priced (it shows as unplanned), nor is
    one that pays nothing. The same arithmetic as posting each visit to the ledger
    (``ledger.visit_entry``), without an entry per visit.
    """
    ordered = sorted(plans, key=lambda pair: pair[0])
    rates: dict[tuple[int, str], object] = {}
    versions: dict[date, int] = {}
    minutes_by: dict[tuple[date, tuple[int, str]], Decimal] = {}
    count_by: dict[date, int] = {}
    for visit in visits:
        if visit.status != "completed":
            continue  # pays nothing (payable_minutes)
        start, end = visit.actual_start, visit.actual_end
        paid = None
        if start is not None and end is not None and not start.microsecond and not end.microsecond:
            paid = _payable_seconds((end - start) // _SECOND, visit.planned_minutes, rules)  # payable_minutes, in whole numbers
        minutes = paid if paid is not None else payable_minutes(
            planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status, rules=rules
        )  # fmt: skip
        if not minutes:
            continue
        day = _london_day(visit.planned_start)
        index = versions.get(day)
        if index is None:
            index = versions[day] = max((i for i, (start, _) in enumerate(ordered) if start <= day), default=0)
        key = (index, visit.service_ref)
        if key not in rates:
            rates[key] = next((s.rates for s in ordered[index][1].services if s.ref == visit.service_ref), None)
        if rates[key] is None:
            continue
        minutes_by[(day, key)] = _EXACT.add(minutes_by.get((day, key), _ZERO), minutes)
        count_by[day] = count_by.get(day, 0) + 1
    out: dict[date, tuple[int, Decimal]] = {}
    for (day, key), minutes in minutes_by.items():  # sum(minutes x rate) = sum(minutes) x rate, exactly
        value = _EXACT.multiply(minutes, rates[key].rate_for(day))  # type: ignore[union-attr]
        out[day] = (count_by[day], _EXACT.add(out[day][1], value) if day in out else value)
    return out


_LONDON_DAYS: dict[datetime, date] = {}


def _london_day(moment: datetime) -> date:
    """The London date of an instant (visit times repeat across people: each converted once)."""
    found = _LONDON_DAYS.get(moment)
    if found is None:
        if len(_LONDON_DAYS) > 200_000:
            _LONDON_DAYS.clear()
        found = _LONDON_DAYS[moment] = moment.astimezone(LONDON).date()
    return found


def spend_between(priced: Mapping[date, tuple[int, Decimal]] | PricedDays, first: date, last: date) -> Decimal:
    """The rate-minutes of the days from ``first`` to ``last`` inclusive, summed exactly (divide by 60 once, after)."""
    if isinstance(priced, PricedDays):
        return priced.between(first, last)
    total = _ZERO
    for day, (_, value) in priced.items():
        if first <= day <= last:
            total = _EXACT.add(total, value)
    return total
