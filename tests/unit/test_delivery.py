"""Reconciling planned slots with delivered visits: a hand-checked week of Mary's, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.costing import scheduled_visits
from careledger.domain.delivery import DeliveredVisit, MatchResult, classify, match
from careledger.domain.localtime import LONDON, local_datetime
from careledger.domain.rules import STATUSES, MonitoringRules
from careledger.domain.schedules import ScheduledVisit
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
MONDAY = date(2026, 6, 1)
GENDERS = {"C-ANN": "female", "C-BOB": "male", "C-SAM": "female"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in the week of Monday 1 June 2026 (day 0 = Monday)."""
    return local_datetime(MONDAY + timedelta(days=day), time(hour, minute))


def visit(
    ref: str,
    planned: datetime,
    minutes: int,
    *,
    start: datetime | None = None,
    lasted: float | None = None,
    status: str = "completed",
    carer: str | None = "C-ANN",
    service: str = "homecare",
) -> DeliveredVisit:
    actual_start = (start or planned) if status in ("completed", "in_progress") else None
    actual_end = None
    if status == "completed":
        assert actual_start is not None
        actual_end = actual_start + timedelta(minutes=minutes if lasted is None else lasted)
    return DeliveredVisit(ref, "MARY-86", service, carer, planned, minutes, actual_start, actual_end, status)


def mary_week() -> list[ScheduledVisit]:
    plan = parse_plan(MARY.read_bytes())
    return list(scheduled_visits(plan, MONDAY, MONDAY + timedelta(days=6)))


def mary_visits() -> list[DeliveredVisit]:
    return [
        # Rostered 90 minutes after the 09:00 slot and started then: matched, and late.
        visit("V-MON-AM", at(0, 10, 30), 60),
        visit("V-MON-PM", at(0, 19), 15),
        visit("V-TUE-AM", at(1, 9), 30, lasted=20),  # short (20 < 24) and under 30 minutes
        visit("V-TUE-PM", at(1, 19), 15),
        # Wednesday 09:00: no visit at all (missed).
        visit("V-WED-PM", at(2, 19), 15),
        visit("V-THU-AM", at(3, 9), 30),
        visit("V-THU-PM", at(3, 19), 15, lasted=14),  # under 30 but the plan agreed 15: not QS123
        visit("V-THU-EXTRA", at(3, 13), 30, carer="C-SAM"),  # 4 hours from any slot: unplanned
        visit("V-FRI-AM", at(4, 9), 60, carer="C-BOB"),  # a man: Mary prefers women
        visit("V-FRI-PM", at(4, 19), 15),
        visit("V-SAT-AM", at(5, 9), 30, status="cancelled_by_person"),
        visit("V-SAT-PM", at(5, 19), 15),
        visit("V-SUN-AM", at(6, 9), 30),
        # Sunday 19:00: no visit yet, and `now` is 20:00 (end + 2 h is 21:15): pending.
    ]


def refs(lines: tuple) -> list[str]:
    return [line.ref for line in lines]


def test_mary_week_is_fourteen_slots() -> None:
    slots = mary_week()
    assert len(slots) == 14
    assert sum(s.minutes for s in slots) == 405


def test_mary_week_matching() -> None:
    result = match(mary_week(), mary_visits(), MonitoringRules())
    assert len(result.matched) == 12
    assert [v.visit_ref for v in result.unplanned] == ["V-THU-EXTRA"]
    assert [s.start for s in result.unmatched_slots] == [at(2, 9), at(6, 19)]
    pairs = {v.visit_ref: s.start for s, v in result.matched}
    assert pairs["V-MON-AM"] == at(0, 9)  # 90 minutes is within the 2-hour window
    assert pairs["V-SAT-AM"] == at(5, 9)  # a cancelled visit still occupies its slot


def test_mary_week_reconciliation() -> None:
    result = match(mary_week(), mary_visits())
    rec = classify(result, now=at(6, 20), carer_genders=GENDERS, preferred_gender="female")
    assert rec.counts == {
        "scheduled": 14,
        "delivered": 12,
        "missed": 1,
        "late": 1,
        "short": 1,
        "unplanned": 1,
        "under_minimum": 1,
        "preference_breaches": 1,
        "cancelled_by_person": 1,
        "pending": 1,
    }
    assert refs(rec.missed) == ["homecare@2026-06-03T09:00:00+01:00"]
    assert refs(rec.pending) == ["homecare@2026-06-07T19:00:00+01:00"]
    assert refs(rec.late) == ["V-MON-AM"]
    assert refs(rec.short) == ["V-TUE-AM"]
    assert refs(rec.under_minimum) == ["V-TUE-AM"]
    assert refs(rec.unplanned) == ["V-THU-EXTRA"]
    assert refs(rec.preference_breaches) == ["V-FRI-AM"]
    assert refs(rec.cancelled_by_person) == ["V-SAT-AM"]
    assert refs(rec.delivered) == [
        "V-MON-AM", "V-MON-PM", "V-TUE-AM", "V-TUE-PM", "V-WED-PM", "V-THU-AM", "V-THU-EXTRA",
        "V-THU-PM", "V-FRI-AM", "V-FRI-PM", "V-SAT-PM", "V-SUN-AM",
    ]  # fmt: skip
    assert len(rec.scheduled) == 14 and all(line.slot is not None for line in rec.scheduled)
    assert rec.planned_minutes == 405
    # 60+15+20+15+15+30+14+30+60+15+15+30 minutes clocked.
    assert rec.delivered_minutes == D(319)


def test_a_slot_becomes_missed_only_after_end_plus_two_hours() -> None:
    slot = ScheduledVisit("homecare", at(6, 19), 15)
    result = match([slot], [])
    assert refs(classify(result, now=at(6, 21, 14)).pending) == [f"homecare@{at(6, 19).isoformat()}"]
    assert classify(result, now=at(6, 21, 14)).missed == ()
    assert len(classify(result, now=at(6, 21, 15)).missed) == 1
    assert len(classify(result, now=at(6, 21, 15), rules=MonitoringRules(missed_after_minutes=180)).pending) == 1


def test_missed_and_provider_cancelled_visits_count_once() -> None:
    slots = [ScheduledVisit("homecare", at(0, 9), 60), ScheduledVisit("homecare", at(1, 9), 30)]
    visits = [
        visit("V-1", at(0, 9), 60, status="missed"),
        visit("V-2", at(1, 9), 30, status="cancelled_by_provider"),
        visit("V-3", at(3, 9), 30, status="missed"),  # no slot: unplanned, and missed
    ]
    rec = classify(match(slots, visits), now=at(6, 23))
    assert refs(rec.missed) == ["V-1", "V-2", "V-3"]
    assert refs(rec.unplanned) == ["V-3"]
    assert rec.delivered == () and rec.delivered_minutes == 0


def test_in_progress_visit_is_pending() -> None:
    slots = [ScheduledVisit("homecare", at(0, 9), 60)]
    rec = classify(match(slots, [visit("V-1", at(0, 9), 60, status="in_progress")]), now=at(0, 9, 30))
    assert refs(rec.pending) == ["V-1"]
    assert rec.counts["delivered"] == 0 and rec.counts["missed"] == 0


def test_matching_needs_the_same_service_and_the_window() -> None:
    slots = [ScheduledVisit("homecare", at(0, 9), 60)]
    other_service = visit("V-1", at(0, 9), 60, service="daycare")
    outside = visit("V-2", at(0, 11, 1), 60)
    edge = visit("V-3", at(0, 11), 60)
    result = match(slots, [other_service, outside, edge])
    assert [(s.start, v.visit_ref) for s, v in result.matched] == [(at(0, 9), "V-3")]
    assert [v.visit_ref for v in result.unplanned] == ["V-1", "V-2"]
    narrow = match(slots, [edge], MonitoringRules(match_window_minutes=60))
    assert narrow.matched == () and len(narrow.unmatched_slots) == 1


def test_the_closest_visit_takes_the_slot() -> None:
    slots = [ScheduledVisit("homecare", at(0, 9), 30), ScheduledVisit("homecare", at(0, 10), 30)]
    visits = [visit("V-A", at(0, 9, 50), 30), visit("V-B", at(0, 9, 40), 30)]
    result = match(slots, visits)
    assert [(s.start, v.visit_ref) for s, v in result.matched] == [(at(0, 9), "V-B"), (at(0, 10), "V-A")]


def test_no_preference_or_unknown_carer_is_no_breach() -> None:
    slots = [ScheduledVisit("homecare", at(0, 9), 30)]
    for carer in ("C-BOB", "C-NEW", None):
        result = match(slots, [visit("V-1", at(0, 9), 30, carer=carer)])
        assert classify(result, now=at(1, 0), carer_genders=GENDERS).preference_breaches == ()
        breaches = classify(result, now=at(1, 0), carer_genders=GENDERS, preferred_gender="Female ").preference_breaches
        assert refs(breaches) == (["V-1"] if carer == "C-BOB" else [])


def test_visit_across_the_autumn_clock_change_lasts_sixty_minutes() -> None:
    start = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=0)  # 01:30 BST
    end = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=1)  # 01:30 GMT
    assert start.utcoffset() == timedelta(hours=1) and end.utcoffset() == timedelta(0)
    crossing = DeliveredVisit("V-1", "MARY-86", "homecare", None, start, 60, start, end, "completed")
    assert crossing.actual_minutes == D(60)
    slot = ScheduledVisit("homecare", start, 60)
    rec = classify(match([slot], [crossing]), now=datetime(2026, 10, 26, tzinfo=UTC))
    assert rec.short == () and rec.delivered_minutes == D(60)


def test_actual_minutes_are_exact_and_may_be_unknown() -> None:
    start = at(0, 9)
    seconds = DeliveredVisit("V-1", "P", "s", None, start, 30, start, start + timedelta(minutes=29, seconds=30), "completed")
    assert seconds.actual_minutes == D("29.5")
    assert visit("V-2", start, 30, status="missed").actual_minutes is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "done"}, "unknown visit status"),
        ({"planned_start": datetime(2026, 6, 1, 9)}, "planned_start must be an aware datetime"),
        ({"actual_end": datetime(2026, 6, 1, 7, 59, tzinfo=UTC)}, "actual_end is before actual_start"),
        ({"planned_minutes": -5}, "planned_minutes must be a whole number"),
    ],
)
def test_invalid_visits_are_refused(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = dict(
        visit_ref="V-1", person_ref="P", service_ref="s", carer_ref=None, planned_start=at(0, 9), planned_minutes=30,
        actual_start=at(0, 9), actual_end=at(0, 9, 30), status="completed",
    )  # fmt: skip
    values.update(changes)
    with pytest.raises(ValueError, match=message):
        DeliveredVisit(**values)  # type: ignore[arg-type]


def test_classify_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        classify(match([], []), now=datetime(2026, 6, 1))


# --- Properties -----------------------------------------------------------------------------

BASE = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # ten hours spanning the autumn clock change
SERVICES = ("homecare", "daycare")

slot_strategy = st.builds(
    lambda service, offset, minutes: ScheduledVisit(service, (BASE + timedelta(minutes=15 * offset)).astimezone(LONDON), minutes),
    st.sampled_from(SERVICES),
    st.integers(0, 40),
    st.sampled_from([15, 30, 60]),
)


@st.composite
def visits_strategy(draw: st.DrawFn) -> list[DeliveredVisit]:
    count = draw(st.integers(0, 12))
    found = []
    for index in range(count):
        planned = (BASE + timedelta(minutes=5 * draw(st.integers(0, 120)))).astimezone(LONDON)
        status = draw(st.sampled_from(STATUSES))
        minutes = draw(st.sampled_from([15, 30, 60]))
        late = timedelta(minutes=draw(st.integers(-20, 90)))
        lasted = timedelta(minutes=draw(st.integers(0, 75)))
        start = planned + late if status in ("completed", "in_progress") else None
        end = start + lasted if start is not None and status == "completed" else None
        carer = draw(st.sampled_from([None, "C-ANN", "C-BOB"]))
        found.append(DeliveredVisit(f"V-{index}", "P", draw(st.sampled_from(SERVICES)), carer, planned, minutes, start, end, status))
    return found


@settings(max_examples=200, deadline=None)
@given(
    slots=st.lists(slot_strategy, max_size=12, unique_by=lambda s: (s.service_ref, s.start)),
    visits=visits_strategy(),
    permutation=st.randoms(use_true_random=False),
    now_offset=st.integers(0, 900),
)
def test_input_order_never_changes_the_result(
    slots: list[ScheduledVisit], visits: list[DeliveredVisit], permutation, now_offset: int
) -> None:
    now = BASE + timedelta(minutes=now_offset)
    result = match(slots, visits)
    shuffled_slots, shuffled_visits = list(slots), list(visits)
    permutation.shuffle(shuffled_slots)
    permutation.shuffle(shuffled_visits)
    again = match(shuffled_slots, shuffled_visits)
    assert again == result
    kwargs = dict(now=now, carer_genders=GENDERS, preferred_gender="female")
    assert classify(again, **kwargs) == classify(result, **kwargs)

    # Every visit is matched or unplanned, exactly once; matched slots are unique; windows hold.
    matched_visits = [v.visit_ref for _, v in result.matched]
    assert sorted(matched_visits + [v.visit_ref for v in result.unplanned]) == sorted(v.visit_ref for v in visits)
    matched_slots = [s for s, _ in result.matched]
    assert len(set(matched_slots)) == len(matched_slots)
    assert sorted(matched_slots + list(result.unmatched_slots), key=lambda s: (s.start, s.service_ref)) == sorted(
        slots, key=lambda s: (s.start, s.service_ref)
    )
    for slot, delivered in result.matched:
        assert slot.service_ref == delivered.service_ref
        assert abs(slot.start - delivered.planned_start) <= timedelta(minutes=120)


@settings(max_examples=200, deadline=None)
@given(
    slots=st.lists(slot_strategy, max_size=12, unique_by=lambda s: (s.service_ref, s.start)),
    visits=visits_strategy(),
    now_offset=st.integers(0, 900),
)
def test_every_line_falls_in_exactly_one_outcome(
    slots: list[ScheduledVisit], visits: list[DeliveredVisit], now_offset: int
) -> None:
    rec = classify(match(slots, visits), now=BASE + timedelta(minutes=now_offset))
    outcomes = rec.counts["delivered"] + rec.counts["missed"] + rec.counts["cancelled_by_person"] + rec.counts["pending"]
    assert outcomes == len(slots) + rec.counts["unplanned"]
    assert rec.counts["scheduled"] == len(slots)
    assert rec.planned_minutes == sum(s.minutes for s in slots)
    delivered = [line.ref for line in rec.delivered]
    for subset in (rec.late, rec.short, rec.under_minimum, rec.preference_breaches):
        assert set(line.ref for line in subset) <= set(delivered)
