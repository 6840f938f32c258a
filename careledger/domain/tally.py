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
  breach the person's preference. It is *full* when it is paid its planned minutes and
  is not under the minimum, else *odd* (its payable minutes and the under-minimum flag
  travel with its key);
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from .delivery import DeliveredVisit, Line, MatchResult, classify, match
from .localtime import LONDON
from .money import Decimal, divide
from .plans import Plan
from .rules import MonitoringRules, payable_minutes
from .schedules import ScheduledVisit
from .status import carers_seen

__all__ = [
    "SimpleVisits",
    "SlotBook",
    "Tally",
    "simple_parts",
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


def simple_parts(visit: DeliveredVisit, rules: MonitoringRules, suspects: frozenset[str] = frozenset()) -> tuple[int, bool] | None:
    """``(payable minutes, under the minimum)`` of a simple visit, ``None`` for any other (see the module docstring).

    ``suspects``: carer refs whose recorded gender differs from the person's preference (empty
    when there is none); their visits are never simple. The database's query
    (``monitoring.batch``) says the same, and a test holds them together.
    """
    if visit.status != "completed" or not (_whole(visit.planned_start) and _whole(visit.actual_start) and _whole(visit.actual_end)):
        return None
    assert visit.actual_start is not None and visit.actual_end is not None
    seconds = (visit.actual_end - visit.actual_start) // _SECOND
    planned = visit.planned_minutes
    if (visit.actual_start - visit.planned_start) // _SECOND > rules.late_after_minutes * 60:
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

    * ``full``: keys of those paid their planned minutes and not under the minimum;
    * ``odd``: ``"<key>;<payable minutes>;<1 if under the minimum else 0>"`` for the rest;
    * ``seconds``: their clocked seconds, summed;
    * ``carers``: their carers checked in within the continuity window (see :func:`tally`).
    """

    service_ref: str
    full: Sequence[str] = ()
    odd: Sequence[str] = ()
    seconds: int = 0
    carers: Iterable[str] = ()

    def keys(self) -> list[str]:
        return [*self.full, *(code.split(";", 1)[0] for code in self.odd)]


@dataclass
class SlotBook:
    """One package's slots with their keys (in the database's spelling) and their rates (the
    rate of the slot's own plan version and day), built once per package."""

    slots: Sequence[ScheduledVisit]
    keys: Sequence[str]
    rates: Sequence[Decimal]
    _index: dict[str, dict[str, int]] | None = field(default=None, repr=False)
    _ambiguous: frozenset[tuple[str, str]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not len(self.slots) == len(self.keys) == len(self.rates):
            raise ValueError("a slot book needs one key and one rate per slot")

    def index(self) -> dict[str, dict[str, int]]:
        """key -> slot position, by service; keys whose start two slots share are left out."""
        if self._index is None:
            index: dict[str, dict[str, int]] = {}
            starts: dict[tuple[str, str], int] = {}
            for position, (slot, key) in enumerate(zip(self.slots, self.keys, strict=True)):
                index.setdefault(slot.service_ref, {})[key] = position
                start = (slot.service_ref, key.split("/", 1)[0])
                starts[start] = starts.get(start, 0) + 1
            ambiguous = frozenset(start for start, n in starts.items() if n > 1)
            if ambiguous:
                for service, keys in index.items():
                    for key in [k for k in keys if (service, k.split("/", 1)[0]) in ambiguous]:
                        del keys[key]
            self._index, self._ambiguous = index, ambiguous
        return self._index


def not_at_a_slot(book: SlotBook, simple: Iterable[SimpleVisits], visits: Iterable[DeliveredVisit] = ()) -> dict[str, set[str]]:
    """The starts (key before ``/``) of simple visits that are not each alone at a slot of their own, by service.

    Alone means: their key is a slot's (same start and minutes), no other slot of the service
    starts then, no other simple visit either, and none of ``visits`` (the ones read in full)
    is planned then. Those visits must be read in full and judged one by one (:func:`tally`
    refuses a summary that has any). Empty for a package delivered at its slots' times.
    """
    index = book.index()
    found: dict[str, set[str]] = {}
    others = {(v.service_ref, v.planned_start.astimezone(UTC)) for v in visits}
    for group in simple:
        keys = group.keys()
        slots = index.get(group.service_ref, {})
        starts = [key.split("/", 1)[0] for key in keys]
        bad = set()
        for key, start in zip(keys, starts, strict=True):
            position = slots.get(key)
            if position is None or (others and (group.service_ref, book.slots[position].start.astimezone(UTC)) in others):
                bad.add(start)
        if len(set(starts)) != len(starts):  # two simple visits at one start
            seen: set[str] = set()
            for start in starts:
                if start in seen:
                    bad.add(start)
                seen.add(start)
        if bad:
            found.setdefault(group.service_ref, set()).update(bad)
    return found


# -- the tally -------------------------------------------------------------------------------------


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
    priced: Mapping[date, tuple[int, Decimal]]


def match_exact_first(slots: Sequence[ScheduledVisit], visits: Sequence[DeliveredVisit], rules: MonitoringRules) -> MatchResult:
    """:func:`delivery.match`, with the common case first: a visit planned at exactly the start of a slot of its service.

    Where exactly one slot and one visit share a service and start, the closest-first pairing
    takes that pair (distance 0 comes first and nothing else competes for either); every other
    slot and visit goes through ``match``. The result is in ``match``'s canonical order.
    """
    slot_at: dict[tuple[str, datetime], list[ScheduledVisit]] = {}
    for slot in slots:
        slot_at.setdefault((slot.service_ref, slot.start.astimezone(UTC)), []).append(slot)
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
    slot_key = lambda s: (s.start.astimezone(UTC), s.service_ref, s.minutes, s.pattern_index)  # noqa: E731 - delivery._slot_key
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
) -> Tally:
    """The package's figures from its slot book, its simple visits summarised and every other visit in full.

    ``visits`` are the visits that are not simple (or not at a slot of their own); ``plans``
    the plan versions (``(effective_from, plan)``) that price them; ``now``, ``rules``,
    ``carer_genders`` and ``preferred_gender`` as :func:`delivery.classify` takes them.
    ``simple`` must come from the same ``rules`` and a ``suspects`` set covering every carer
    whose gender differs from ``preferred_gender``; its carers are those checked in within the
    ``continuity_weeks`` up to ``now``. Raises ValueError if a simple visit is not alone at a
    slot (:func:`not_at_a_slot`).
    """
    stray = not_at_a_slot(book, simple, visits)
    if stray:
        raise ValueError(f"simple visits not at a slot of their own: {sorted((s, sorted(v)[:3]) for s, v in stray.items())}")
    index = book.index()
    taken: set[int] = set()
    odd_paid: dict[int, int] = {}  # slot position -> payable minutes of its odd visit
    full = odd = under = seconds = 0
    carers: set[str] = set()
    for group in simple:
        positions = index.get(group.service_ref, {})
        for key in group.full:
            taken.add(positions[key])
        for code in group.odd:
            key, paid, flag = code.split(";")
            position = positions[key]
            taken.add(position)
            odd_paid[position] = int(paid)
            under += flag == "1"
        full += len(group.full)
        odd += len(group.odd)
        seconds += group.seconds
        carers.update(c for c in group.carers if c)
    rest_slots = [slot for position, slot in enumerate(book.slots) if position not in taken]
    rec = classify(match_exact_first(rest_slots, visits, rules), now=now, rules=rules, carer_genders=carer_genders, preferred_gender=preferred_gender)
    counts = dict(rec.counts)
    counts["scheduled"] = len(book.slots)
    counts["delivered"] += full + odd
    counts["under_minimum"] += under

    # Money: the simple visits at their slots' days and rates, the rest one by one.
    minutes_by: dict[tuple[date, Decimal], int] = {}
    paid_by_day: dict[date, int] = {}
    for position in taken:
        slot = book.slots[position]
        paid = odd_paid.get(position, slot.minutes)
        if not paid:
            continue
        day, rate = slot.start.date(), book.rates[position]
        minutes_by[(day, rate)] = minutes_by.get((day, rate), 0) + paid
        paid_by_day[day] = paid_by_day.get(day, 0) + 1
    priced: dict[date, tuple[int, Decimal]] = {}
    for (day, rate), minutes in minutes_by.items():
        n, value = priced.get(day, (0, _ZERO))
        priced[day] = (n, _EXACT.add(value, _EXACT.multiply(minutes, rate)))
    for day, n in paid_by_day.items():
        priced[day] = (n, priced[day][1])
    delivered_visits = [line.visit for line in rec.delivered if line.visit is not None]
    for day, (n, value) in priced_by_day(plans, delivered_visits, rules).items():
        had_n, had = priced.get(day, (0, _ZERO))
        priced[day] = (had_n + n, _EXACT.add(had, value))

    recent = set(carers_seen(visits, now, continuity_weeks)) | carers
    return Tally(
        counts=counts,
        missed=rec.missed,
        late=rec.late,
        short=rec.short,
        preference_breaches=rec.preference_breaches,
        unplanned=rec.unplanned,
        cancelled_by_person=rec.cancelled_by_person,
        pending=rec.pending,
        planned_minutes=sum(slot.minutes for slot in book.slots),
        delivered_minutes=divide(rec.delivered_microseconds + seconds * 1_000_000, 60_000_000),
        recent_carers=tuple(sorted(recent)),
        priced=dict(sorted(priced.items())),
    )


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
        minutes = payable_minutes(planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status, rules=rules)
        if not minutes:
            continue
        day = visit.planned_start.astimezone(LONDON).date()
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


def spend_between(priced: Mapping[date, tuple[int, Decimal]], first: date, last: date) -> Decimal:
    """The rate-minutes of the days from ``first`` to ``last`` inclusive, summed exactly (divide by 60 once, after)."""
    total = _ZERO
    for day, (_, value) in priced.items():
        if first <= day <= last:
            total = _EXACT.add(total, value)
    return total
