"""The tally (simple visits summarised, the rest in full) gives exactly what match and classify give.

The reference is the one-by-one path: ``delivery.match`` + ``delivery.classify`` over every
visit, ``tally.priced_by_day`` over every completed visit, ``status.carers_seen`` over all.
The tally gets the same visits split as the database splits them (``tally.simple_parts``),
with the simple ones reduced to their keys, and must agree on every count, every line behind
a count, the planned and delivered minutes, the recent carers and each day's money.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.costing import versioned_priced_visits
from careledger.domain.delivery import DeliveredVisit, classify, match
from careledger.domain.localtime import local_datetime
from careledger.domain.rules import PAYMENT_BASES, ROUNDING_STEPS, ROUNDINGS, MonitoringRules
from careledger.domain.status import carers_seen, end_of_day
from careledger.domain.tally import Reported, SimpleVisits, SlotBook, not_at_a_slot, priced_by_day, simple_parts, tally, utc_text
from careledger.formats.plan_file import parse_plan

MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
CARERS = {"C-ANN": "female", "C-BOB": "male", "C-SAM": " Female ", "C-KIM": "", "C-NEW": None}
STARTS = (date(2026, 10, 19), date(2026, 12, 21), date(2027, 3, 22))  # a clock change back, Christmas, a clock change forward


def plan_versions(start: date, change_after: int | None, clash: bool = False) -> list[tuple[date, object]]:
    """Mary's plan with a second service (its own weekend and bank-holiday rates) from ``start``;
    optionally a second version ``change_after`` days later with other rates and a moved visit,
    and (``clash``) a Sunday pattern starting when the daily lunch call does."""
    raw = json.loads(MARY.read_text())
    raw["budget"].update(start_date=start.isoformat(), end_date=(start + timedelta(days=363)).isoformat())
    raw["services"].append(
        {"ref": "lunch", "provider": "ACME-CARE", "rates": {"standard": "16.25", "weekend": "18.50", "bank_holiday": "32.5000"},
         "visits": [{"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "start": "12:30", "minutes": 30},
                    {"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "start": "14:00", "minutes": 45}]}  # fmt: skip
    )
    if clash:
        raw["services"][1]["visits"].append({"days": ["SU"], "start": "12:30", "minutes": 20})
    versions = [(start, parse_plan(json.dumps(raw)))]
    if change_after is not None:
        raw["services"][0]["rates"] = {"standard": "13.10", "weekend": "14.00"}
        raw["services"][1]["visits"][0]["start"] = "12:00"
        versions.append((start + timedelta(days=change_after), parse_plan(json.dumps(raw))))
    return versions


def book_for(versions, first: date, last: date) -> SlotBook:
    priced = list(versioned_priced_visits(versions, first, last))
    return SlotBook.of([p.visit for p in priced], [f"{utc_text(p.visit.start)}/{p.visit.minutes}" for p in priced], [p.rate for p in priced])


FATES = ("unreported", "simple", "simple", "simple", "late", "short", "little_short", "a_bit_long", "missed", "cancelled_by_provider",
         "cancelled_by_person", "in_progress", "moved", "other_minutes", "seconds", "no_clock", "twice")  # fmt: skip


@st.composite
def packages(draw):
    start = draw(st.sampled_from(STARTS))
    versions = plan_versions(start, draw(st.one_of(st.none(), st.integers(1, 12))), clash=draw(st.booleans()))
    upto = start + timedelta(days=draw(st.integers(0, 16)))
    rules = MonitoringRules(
        late_after_minutes=draw(st.sampled_from([15, 30])),
        short_below_percent=draw(st.sampled_from([0, 75, 80, 100])),
        minimum_visit_minutes=draw(st.sampled_from([20, 30])),
        payment_basis=draw(st.sampled_from(PAYMENT_BASES)),
        payment_tolerance_minutes=draw(st.sampled_from([0, 5])),
        rounding=draw(st.sampled_from(ROUNDINGS)),
        rounding_step_minutes=draw(st.sampled_from(ROUNDING_STEPS)),
    )
    book = book_for(versions, start, upto)
    visits: list[DeliveredVisit] = []
    carer = lambda: draw(st.sampled_from(sorted(CARERS)))  # noqa: E731
    for n, slot in enumerate(book.slots()):
        fate = draw(st.sampled_from(FATES))
        planned, minutes, status = slot.start, slot.minutes, "completed"
        begin, lasted = planned + timedelta(minutes=draw(st.integers(-5, 10))), minutes + draw(st.integers(0, 6))
        if fate == "unreported":
            continue
        if fate == "late":
            begin = planned + timedelta(minutes=draw(st.integers(16, 90)))
        elif fate == "short":
            lasted = max(0, int(minutes * 0.6))
        elif fate == "little_short":
            lasted = minutes - draw(st.integers(1, 12))
        elif fate == "a_bit_long":
            lasted = minutes + draw(st.integers(1, 30))
        elif fate in ("missed", "cancelled_by_provider", "cancelled_by_person"):
            status = fate
        elif fate == "in_progress":
            status = "in_progress"
        elif fate == "moved":
            planned = planned + timedelta(minutes=draw(st.sampled_from([-130, -45, 15, 60, 119, 121, 200])))
            begin = planned
        elif fate == "other_minutes":
            minutes = minutes + draw(st.sampled_from([-10, 15]))
        seconds = draw(st.integers(1, 59)) if fate == "seconds" else 0
        actual_start = begin if status in ("completed", "in_progress") and fate != "no_clock" else None
        actual_end = begin + timedelta(minutes=max(lasted, 0), seconds=seconds) if status == "completed" and fate != "no_clock" else None
        if fate == "seconds" and draw(st.booleans()):
            actual_start = actual_start + timedelta(microseconds=500) if actual_start else None
        visits.append(DeliveredVisit(f"V{n:03d}", "P1", slot.service_ref, carer(), planned, minutes, actual_start, actual_end, status))
        if fate == "twice":  # a second provider reports a visit at the same slot
            visits.append(replace(visits[-1], visit_ref=f"V{n:03d}-B", carer_ref=carer()))
    for k in range(draw(st.integers(0, 3))):  # visits the plan does not have
        day = start + timedelta(days=draw(st.integers(0, (upto - start).days)))
        at = local_datetime(day, time(draw(st.integers(6, 22)), draw(st.sampled_from([0, 15, 40]))))
        service = draw(st.sampled_from(["homecare", "lunch", "night-sitting"]))
        visits.append(DeliveredVisit(f"X{k}", "P1", service, carer(), at, 30, at, at + timedelta(minutes=30), "completed"))
    preferred = draw(st.sampled_from([None, "female", "male", "Female "]))
    return versions, book, visits, rules, upto, preferred


def reference(versions, book: SlotBook, visits, rules, now, preferred):
    genders = {ref: g for ref, g in CARERS.items() if g is not None}
    rec = classify(match(book.slots(), visits, rules), now=now, rules=rules, carer_genders=genders, preferred_gender=preferred)
    return rec, priced_by_day(versions, visits, rules), carers_seen(visits, now)


def suspects_for(preferred: str | None) -> frozenset[str]:
    """Carers whose recorded gender differs from the preference (what the database is told to leave out)."""
    wanted = preferred.strip().lower() if preferred and preferred.strip() else None
    if wanted is None:
        return frozenset()
    return frozenset(ref for ref, g in CARERS.items() if g and g.strip() and g.strip().lower() != wanted)


def split(book: SlotBook, visits, rules, now, preferred):
    """What the database sends: simple visits as keys by service (the rest in full), strays moved to the rest."""
    suspects = suspects_for(preferred)
    begin = now - timedelta(weeks=4)
    simple, rest = {}, []
    for v in visits:
        parts = simple_parts(v, rules, suspects)
        if parts is None:
            rest.append(v)
        else:
            simple.setdefault(v.service_ref, []).append((v, parts))

    def groups(moved: dict[str, set[str]]):
        out, extra = [], []
        for service, found in sorted(simple.items()):
            full, odd, seconds, carers, unders = [], [], 0, set(), 0
            for v, (paid, under) in found:
                start = utc_text(v.planned_start)
                if start in moved.get(service, ()):
                    extra.append(v)
                    continue
                key = f"{start}/{v.planned_minutes}"
                unders += under
                if paid == v.planned_minutes:
                    full.append(key)
                else:
                    odd.append(f"{key};{paid}")
                seconds += (v.actual_end - v.actual_start).seconds + (v.actual_end - v.actual_start).days * 86400
                if v.carer_ref and begin < v.actual_start <= now:
                    carers.add(v.carer_ref)
            out.append(SimpleVisits(service, full, odd, seconds, sorted(carers), unders))
        return out, extra

    first, _ = groups({})
    moved = not_at_a_slot(book, first, rest)
    summary, extra = groups(moved)
    return summary, rest + extra


def assert_same(versions, book, visits, rules, upto, preferred, as_reported=False):
    """``as_reported``: the visits that are not simple go to the tally as ``Reported`` (as the batch
    reads them), not as visits; the simple ones moved out of the summary stay visits."""
    now = end_of_day(upto)
    rec, priced, recent = reference(versions, book, visits, rules, now, preferred)
    summary, rest = split(book, visits, rules, now, preferred)
    assert not not_at_a_slot(book, summary, rest)
    genders = {ref: g for ref, g in CARERS.items() if g is not None}
    reported = []
    if as_reported:
        moved = {id(v) for v in rest} - {id(v) for v in visits if simple_parts(v, rules, suspects_for(preferred)) is None}
        reported = [Reported.of(v) for v in rest if id(v) not in moved]
        rest = [v for v in rest if id(v) in moved]
    got = tally(book=book, simple=summary, visits=rest, plans=versions, now=now, rules=rules, carer_genders=genders, preferred_gender=preferred,
                reported=reported)  # fmt: skip
    assert dict(got.counts) == rec.counts
    for name in ("missed", "late", "short", "preference_breaches", "unplanned", "cancelled_by_person", "pending"):
        assert getattr(got, name) == getattr(rec, name), name
    assert got.planned_minutes == rec.planned_minutes
    assert got.delivered_minutes == rec.delivered_minutes and str(got.delivered_minutes) == str(rec.delivered_minutes)
    assert got.recent_carers == recent
    assert got.priced == priced
    days = sorted(priced) or [upto]
    for first, last in ((days[0], days[-1]), (days[len(days) // 2], days[-1]), (upto - timedelta(days=27), upto), (upto + timedelta(days=1), upto + timedelta(days=9))):
        inside = [(day, n, value) for day, (n, value) in priced.items() if first <= day <= last]
        weighted = sum((value * (day - date(1970, 1, 1)).days for day, _, value in inside), Decimal(0))
        assert got.priced.totals(first, last) == (sum(n for _, n, _ in inside), sum((v for _, _, v in inside), Decimal(0)), weighted)
    return got, summary, rest


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(packages(), st.booleans())
def test_the_tally_equals_matching_and_classifying_every_visit(package, as_reported):
    assert_same(*package, as_reported=as_reported)


def test_a_package_delivered_as_planned_is_all_summary():
    versions = plan_versions(STARTS[0], None)
    upto = STARTS[0] + timedelta(days=13)  # across the clocks going back on 25 October
    book = book_for(versions, STARTS[0], upto)
    visits = [DeliveredVisit(f"V{n}", "P1", s.service_ref, "C-ANN", s.start, s.minutes, s.start, s.start + timedelta(minutes=s.minutes), "completed")
              for n, s in enumerate(book.slots())]  # fmt: skip
    got, summary, rest = assert_same(versions, book, visits, MonitoringRules(), upto, "female")
    assert rest == [] and sum(len(g.full) for g in summary) == len(visits) == got.counts["delivered"] == got.counts["scheduled"]
    # 13 of Mary's weeks' visits and the lunch calls, at 12.50 and 16.25 (weekend 18.50) an hour: the days add up to the plan's cost.
    assert sum(v for _, v in got.priced.by_day().values()) == sum(p.rate * p.visit.minutes for p in versioned_priced_visits(versions, STARTS[0], upto))


def test_simple_visits_at_a_slot_shared_by_another_visit_are_read_in_full():
    versions = plan_versions(STARTS[1], None)
    upto = STARTS[1] + timedelta(days=6)  # Christmas week: 25 and 28 December are bank holidays
    book = book_for(versions, STARTS[1], upto)
    slot = book.slots()[3]
    a = DeliveredVisit("A", "P1", slot.service_ref, "C-ANN", slot.start, slot.minutes, slot.start, slot.start + timedelta(minutes=slot.minutes), "completed")
    b = replace(a, visit_ref="B", status="missed", actual_start=None, actual_end=None)
    summary, rest = split(book, [a, b], MonitoringRules(), end_of_day(upto), None)
    assert {v.visit_ref for v in rest} == {"A", "B"} and all(not g.full for g in summary)
    assert_same(versions, book, [a, b], MonitoringRules(), upto, None)


def test_a_summary_with_a_visit_away_from_its_slot_is_refused():
    versions = plan_versions(STARTS[0], None)
    book = book_for(versions, STARTS[0], STARTS[0])
    stray = SimpleVisits("homecare", [f"{utc_text(book.slots()[0].start + timedelta(minutes=5))}/{book.slots()[0].minutes}"])
    assert not_at_a_slot(book, [stray]) == {"homecare": {utc_text(book.slots()[0].start + timedelta(minutes=5))}}
    with pytest.raises(ValueError, match="not at a slot"):
        tally(book=book, simple=[stray], visits=[], plans=versions, now=end_of_day(STARTS[0]), rules=MonitoringRules())


@pytest.mark.parametrize("rules,seconds,expected", [
    (MonitoringRules(), 55 * 60, (60, False)),  # within the 5-minute tolerance: planned
    (MonitoringRules(), 54 * 60 + 59, (55, False)),  # 54.98 minutes to the nearest 5
    (MonitoringRules(), 52 * 60 + 29, (50, False)),
    (MonitoringRules(), 52 * 60 + 30, (55, False)),  # half up
    (MonitoringRules(rounding="up"), 50 * 60 + 1, (55, False)),
    (MonitoringRules(rounding="down"), 54 * 60 + 59, (50, False)),
    (MonitoringRules(rounding="none"), 53 * 60, (53, False)),
    (MonitoringRules(rounding="none"), 53 * 60 + 1, None),  # not a whole minute: judged one by one
    (MonitoringRules(payment_basis="planned"), 50 * 60, (60, False)),
    (MonitoringRules(payment_basis="actual"), 59 * 60, (60, False)),
    (MonitoringRules(payment_basis="actual"), 80 * 60, (60, False)),  # never more than planned
    (MonitoringRules(), 47 * 60, None),  # short: under 80% of 60 minutes
])  # fmt: skip
def test_simple_parts_pay_as_the_payment_rule_does(rules, seconds, expected):
    at = local_datetime(date(2026, 6, 1), time(8))
    visit = DeliveredVisit("V", "P", "homecare", "C-ANN", at, 60, at, at + timedelta(seconds=seconds), "completed")
    assert simple_parts(visit, rules) == expected


def test_under_the_minimum_travels_with_the_key():
    at = local_datetime(date(2026, 6, 1), time(12, 30))
    visit = DeliveredVisit("V", "P", "lunch", "C-ANN", at, 30, at, at + timedelta(minutes=27), "completed")
    assert simple_parts(visit, MonitoringRules()) == (30, True)  # paid 30 (within 5), but under NICE's 30 minutes
    assert simple_parts(replace(visit, planned_minutes=15, actual_end=at + timedelta(minutes=15)), MonitoringRules()) == (15, False)
    assert simple_parts(visit, MonitoringRules(), frozenset({"C-ANN"})) is None  # a carer who may breach a preference
    assert simple_parts(replace(visit, actual_start=at + timedelta(minutes=31), actual_end=at + timedelta(minutes=61)), MonitoringRules()) is None


@settings(max_examples=500, deadline=None)
@given(
    seconds=st.integers(0, 4 * 3600), planned=st.integers(0, 180), basis=st.sampled_from(PAYMENT_BASES), rounding=st.sampled_from(ROUNDINGS),
    step=st.sampled_from(ROUNDING_STEPS), tolerance=st.integers(0, 15),
)  # fmt: skip
def test_whole_number_payable_minutes_are_the_payment_rules(seconds, planned, basis, rounding, step, tolerance):
    from careledger.domain.rules import payable_minutes
    from careledger.domain.tally import _payable_seconds

    rules = MonitoringRules(payment_basis=basis, rounding=rounding, rounding_step_minutes=step, payment_tolerance_minutes=tolerance)
    got = _payable_seconds(seconds, planned, rules)
    expected = payable_minutes(planned_minutes=planned, actual_minutes=Decimal(seconds) / 60, status="completed", rules=rules)
    if got is None:
        assert rounding == "none" and seconds % 60  # only a fraction of a minute is left to the Decimal path
    else:
        assert got == expected
