"""Package status (formats.md section 6): Mary's first six weeks worked by hand, end to end.

Plan -> slots -> delivered visits -> reconciliation -> payable visits in the ledger ->
affordability -> status and alerts. Every figure is worked in the comments.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from careledger.domain.affordability import affordability, cost_after, recent_window
from careledger.domain.alerts import PackageSnapshot, evaluate, new_alerts
from careledger.domain.costing import priced_visits, scheduled_visits
from careledger.domain.delivery import DeliveredVisit, classify, match
from careledger.domain.ledger import Entry, EntryKind, balance, post, spent, visit_entry
from careledger.domain.localtime import LONDON, local_datetime
from careledger.domain.rules import payable_minutes
from careledger.domain.status import (
    ReviewState,
    StatusThresholds,
    affordable_rag,
    carers_seen,
    distinct_carers,
    end_of_day,
    followed_rag,
    next_review_due,
    package_status,
    review_overdue,
    working_rag,
)
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
PLAN = parse_plan(MARY.read_bytes())
START = date(2026, 4, 6)  # Monday, ISO week 2026-W15
AS_OF = date(2026, 5, 17)  # Sunday: six whole weeks, 42 days
GENDERS = {"C-ANN": "female", "C-BOB": "male", "C-SAM": "female"}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_datetime(day, time(hour, minute))


# What went differently from the plan, by the slot's local date and start hour.
#   "none": no visit at all (the slot is missed once its end + 2 hours has passed)
#   status: a reported status; start: (hour, minute) of check-in; lasted: minutes; carer.
DEVIATIONS: dict[tuple[date, int], dict] = {
    # W16: one late visit (a single late visit raises no alert).
    (date(2026, 4, 14), 9): {"start": (9, 45)},  # Tue 30 min, 45 minutes late
    # W17: two missed visits -> alert "missed:2026-W17".
    (date(2026, 4, 22), 9): {"none": True},  # Wed 60 min: nobody came
    (date(2026, 4, 23), 19): {"status": "missed"},  # Thu 15 min: reported missed
    # W18: three late visits -> alert "late:2026-W18"; one short visit.
    (date(2026, 4, 27), 9): {"lasted": 42},  # Mon 60 min: 42 < 48 (80%) short; 42 < 55 -> paid 40
    (date(2026, 4, 28), 9): {"start": (9, 40)},  # Tue 30 min, 40 minutes late
    (date(2026, 4, 29), 9): {"start": (9, 31)},  # Wed 60 min, 31 minutes late (> 30)
    (date(2026, 4, 30), 19): {"start": (19, 45)},  # Thu 15 min, 45 minutes late
    # W19: two visits by a man (Mary prefers women) -> alert "preference:2026-W19"; one cancelled by Mary.
    (date(2026, 5, 8), 9): {"carer": "C-BOB"},  # Fri 60 min
    (date(2026, 5, 9), 19): {"carer": "C-BOB"},  # Sat 15 min
    (date(2026, 5, 9), 9): {"status": "cancelled_by_person"},  # Sat 30 min: pays nothing, not missed
    # W20: one missed (below the alert threshold), two short.
    (date(2026, 5, 13), 19): {"none": True},  # Wed 15 min
    (date(2026, 5, 12), 9): {"lasted": 21},  # Tue 30 min: 21 < 24 short; 21 -> 20 paid
    (date(2026, 5, 15), 9): {"lasted": D("47.5")},  # Fri 60 min: 47.5 < 48 short; 47.5 -> 50 paid (half-up)
}


def six_weeks_of_visits() -> list[DeliveredVisit]:
    visits = []
    for slot in scheduled_visits(PLAN, START, AS_OF):
        change = DEVIATIONS.get((slot.local_date, slot.start.hour), {})
        if change.get("none"):
            continue
        ref = f"V-{slot.start:%m%d-%H%M}"
        status = change.get("status", "completed")
        if status != "completed":
            visits.append(
                DeliveredVisit(ref, "MARY-86", "homecare", "C-ANN", slot.start, slot.minutes, None, None, status)
            )
            continue
        hour, minute = change.get("start", (slot.start.hour, slot.start.minute))
        begin = at(slot.local_date, hour, minute)
        lasted = change.get("lasted", slot.minutes)
        end = begin + timedelta(minutes=float(lasted))
        carer = change.get("carer", "C-ANN")
        visits.append(
            DeliveredVisit(ref, "MARY-86", "homecare", carer, slot.start, slot.minutes, begin, end, "completed")
        )
    # W20, Thursday: an extra half hour the plan did not have, by C-SAM (unplanned).
    extra = at(date(2026, 5, 14), 13)
    visits.append(
        DeliveredVisit(
            "V-EXTRA", "MARY-86", "homecare", "C-SAM", extra, 30, extra, extra + timedelta(minutes=30), "completed"
        )
    )
    return visits


def ledger_of(visits: list[DeliveredVisit]) -> tuple[Entry, ...]:
    """The budget's allocation and every completed visit's payable minutes at its rate."""
    rates = PLAN.services[0].rates
    ledger: tuple[Entry, ...] = (Entry("ALLOC-2026", START, EntryKind.ALLOCATION, amount=PLAN.budget.annual_amount),)
    for visit in visits:
        minutes = payable_minutes(
            planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status
        )
        if minutes:
            day = visit.planned_start.astimezone(LONDON).date()
            ledger = post(ledger, visit_entry(visit.visit_ref, day, minutes=minutes, rate=rates.rate_for(day)))
    return ledger


def close(value: Decimal, exact: Fraction) -> bool:
    return abs(Fraction(value) - exact) < Fraction(1, 10**45)


@pytest.fixture(scope="module")
def mary():
    visits = six_weeks_of_visits()
    slots = list(scheduled_visits(PLAN, START, AS_OF))
    rec = classify(match(slots, visits), now=end_of_day(AS_OF), carer_genders=GENDERS, preferred_gender="female")
    ledger = ledger_of(visits)
    first, last = recent_window(START, AS_OF)
    aff = affordability(
        budget=PLAN.budget.annual_amount,
        period_start=PLAN.budget.start_date,
        period_end=PLAN.budget.end_date,
        as_of=AS_OF,
        spent=spent(ledger, START, AS_OF),
        future_cost=cost_after(priced_visits(PLAN), AS_OF),
        recent_spent=spent(ledger, first, last),
    )
    due = next_review_due(start=START, review_every_weeks=PLAN.review_every_weeks)
    review = ReviewState(outcomes=1, same=1, next_review_due=due)
    return {"visits": visits, "slots": slots, "rec": rec, "ledger": ledger, "aff": aff, "review": review}


def test_mary_six_weeks_counts(mary) -> None:
    rec = mary["rec"]
    # 6 weeks x 14 slots = 84; 6 x 405 = 2,430 planned minutes = 40.5 hours.
    assert len(mary["slots"]) == 84
    assert rec.planned_minutes == 2430
    # Missed: W17 Wed 09:00 (no visit), W17 Thu 19:00 (reported), W20 Wed 19:00 (no visit) = 3.
    # Delivered: 84 slots - 3 missed - 1 cancelled by Mary + 1 unplanned = 81.
    # Late: W16 Tue, W18 Tue, Wed and Thu = 4. Short: W18 Mon, W20 Tue and Fri = 3.
    assert rec.counts == {
        "scheduled": 84,
        "delivered": 81,
        "missed": 3,
        "late": 4,
        "short": 3,
        "unplanned": 1,
        "under_minimum": 1,  # W20 Tue: 21 minutes of a 30-minute visit (NICE QS123)
        "preference_breaches": 2,
        "cancelled_by_person": 1,
        "pending": 0,  # Sun 17 May 19:00 ends 19:15; + 2 h = 21:15, before the end of the day
    }
    # Delivered minutes: 2,430 - 90 missed - 30 cancelled - 18 (42 of 60) - 9 (21 of 30)
    # - 12.5 (47.5 of 60) + 30 unplanned = 2,300.5 minutes = 38.341666... hours.
    assert rec.delivered_minutes == D("2300.5")


def test_mary_six_weeks_ledger(mary) -> None:
    ledger = mary["ledger"]
    # Payable minutes: 2,430 - 60 - 15 (W17 missed) - 20 (W18 Mon paid 40 of 60) - 30 (cancelled)
    # - 15 (W20 missed) - 10 (W20 Tue paid 20 of 30) - 10 (W20 Fri paid 50 of 60) + 30 (extra) = 2,300.
    # 2,300 x £12.50 = 28,750 rate-minutes / 60 = £479.1666... (£479.17).
    assert len(ledger) == 1 + 81
    assert close(spent(ledger), Fraction(28750, 60))
    assert f"{spent(ledger):.2f}" == "479.17"
    # Balance of the budget: 4,387.50 - 479.1666... = 3,908.3333...
    assert close(balance(ledger, AS_OF), Fraction(438750, 100) - Fraction(28750, 60))
    # Week by week, the first week is exactly the plan: 405 minutes = £84.375.
    assert spent(ledger, START, date(2026, 4, 12)) == D("84.375")


def test_mary_six_weeks_affordability(mary) -> None:
    aff = mary["aff"]
    # Pro-rata: 4,387.50 x 42 / 364 = 506.25 (exactly 6 of 52 weeks).
    assert aff.pro_rata_budget == D("506.25")
    # Still to come: 46 weeks (322 days) x 405 minutes x £12.50 / 60 = 46 x 84.375 = 3,881.25.
    assert aff.future_cost == D("3881.25")
    # Forecast: 479.1666... + 3,881.25 = 4,360.41666...; variance -27.08333...
    assert close(aff.forecast_year_end, Fraction(28750, 60) + Fraction(388125, 100))
    assert close(aff.forecast_variance, Fraction(28750, 60) + Fraction(388125, 100) - Fraction(438750, 100))
    # Recent 28 days (20 Apr to 17 May, W17-W20): 4 x 405 - 75 - 20 - 30 - 5 = 1,490 minutes = £310.41666...
    assert aff.recent_days == 28
    assert close(aff.recent_spent, Fraction(1490 * 125, 600))
    # At that rate for the 322 days left: 1,490 x 322 / 28 = 17,135 minutes; 2,300 + 17,135 = 19,435
    # minutes x £12.50 / 60 = £4,048.958333...
    assert close(aff.forecast_from_recent_rate, Fraction(19435 * 125, 600))
    # Weeks left: (263,250 - 28,750) rate-minutes / (18,625 / 4 a week) = 50.36...
    assert close(aff.weeks_left, Fraction(234500 * 4, 18625))
    assert aff.dp_surplus is None


def test_mary_six_weeks_status(mary) -> None:
    status = package_status(
        person_ref="MARY-86", as_of=AS_OF, reconciliation=mary["rec"], affordability=mary["aff"], review=mary["review"]
    )
    assert status == {
        "person_ref": "MARY-86",
        "as_of": "2026-05-17",
        "followed": {
            "scheduled": 84,
            "delivered": 81,
            "missed": 3,
            "late": 4,
            "short": 3,
            "unplanned": 1,
            "preference_breaches": 2,
            "planned_hours": "40.50",
            "delivered_hours": "38.34",
            # Missed 3 / 84 = 3.6% (amber from 1%, red from 5%); late or short 7 / 81 = 8.6% (amber
            # from 10%); 2 preference breaches (amber from 1, red from 3): amber.
            "rag": "amber",
        },
        "affordable": {
            "budget": "4387.50",
            "spent": "479.17",
            "pro_rata_budget": "506.25",
            "forecast_year_end": "4360.42",
            "forecast_variance": "-27.08",
            "rag": "green",  # both forecasts under budget
        },
        "working": {
            "outcomes": 1,
            "improving": 0,
            "same": 1,
            "worse": 0,
            "last_review": None,
            "next_review_due": "2026-05-18",  # six weeks from 6 April
            "review_overdue": False,
            "open_incidents": 0,
            "quality_of_life": None,
            "rag": "green",
            "reasons": ["0 of 1 outcome improving, none worse; next review due 18 May 2026; no open incidents."],
        },
    }
    # The shape of formats.md section 6, and it is JSON.
    assert json.loads(json.dumps(status)) == status


def test_mary_six_weeks_alerts(mary) -> None:
    snapshot = PackageSnapshot(
        person_ref="MARY-86",
        as_of=AS_OF,
        mechanism=PLAN.budget.delivery_mechanism,
        reconciliation=mary["rec"],
        affordability=mary["aff"],
        next_review_due=mary["review"].next_review_due,
        preferred_gender="female",
        recent_carers=carers_seen(mary["visits"], end_of_day(AS_OF)),
    )
    alerts = evaluate(snapshot)
    # Underspend: 506.25 - 479.17 = 27.08 short, 5.3% of the pro-rata budget: under 10%, no alert.
    # Short visits: at most 2 in a week (W20), under 3: no alert. Review due tomorrow: no alert.
    assert [(a.code, a.severity, a.cause) for a in alerts] == [
        ("missed_visits", "high", "missed:2026-W17"),
        ("late_visits", "medium", "late:2026-W18"),
        ("preference_breach", "medium", "preference:2026-W19"),
    ]
    missed, late, preference = alerts
    assert missed.message == "2 visits were missed in the week beginning 20 April 2026."
    assert missed.evidence == (
        "homecare@2026-04-22T09:00:00+01:00: planned Wed 22 Apr 2026 09:00, 60 minutes, no visit recorded",
        "V-0423-1900: planned Thu 23 Apr 2026 19:00, 15 minutes, reported missed",
    )
    assert late.message == "3 visits started late in the week beginning 27 April 2026."
    assert late.evidence == (
        "V-0428-0900: planned Tue 28 Apr 2026 09:00, 30 minutes, started 09:40",
        "V-0429-0900: planned Wed 29 Apr 2026 09:00, 60 minutes, started 09:31",
        "V-0430-1900: planned Thu 30 Apr 2026 19:00, 15 minutes, started 19:45",
    )
    assert preference.message == (
        "2 visits were made by a carer whose gender is not the one the person asked for (female) "
        "in the week beginning 4 May 2026."
    )
    assert preference.evidence == (
        "V-0508-0900: planned Fri 08 May 2026 09:00, 60 minutes, carer C-BOB",
        "V-0509-1900: planned Sat 09 May 2026 19:00, 15 minutes, carer C-BOB",
    )
    # Run again: the same causes, so persistence raises nothing new.
    again = evaluate(snapshot)
    assert again == alerts
    assert new_alerts(again, {a.cause for a in alerts}) == []
    # Two days later the review of 18 May is overdue: one new alert, the others are not raised again.
    later = evaluate(replace(snapshot, as_of=date(2026, 5, 19)))
    fresh = new_alerts(later, {a.cause for a in alerts})
    assert [(a.code, a.severity, a.cause, a.message) for a in fresh] == [
        ("review_overdue", "medium", "review:2026-05-18:medium", "The review due on 18 May 2026 is 1 day overdue.")
    ]


def test_mary_carer_continuity(mary) -> None:
    # Last 4 weeks: C-ANN throughout, C-BOB in W19, C-SAM's extra visit in W20.
    assert carers_seen(mary["visits"], end_of_day(AS_OF)) == ("C-ANN", "C-BOB", "C-SAM")
    assert distinct_carers(mary["visits"], end_of_day(AS_OF)) == 3
    # The 4 weeks to 3 May (W15-W18) had only C-ANN.
    assert distinct_carers(mary["visits"], end_of_day(date(2026, 5, 3))) == 1
    assert distinct_carers(mary["visits"], end_of_day(AS_OF), weeks=1) == 2  # C-ANN and C-SAM in W20
    with pytest.raises(ValueError):
        distinct_carers(mary["visits"], datetime(2026, 5, 17), weeks=4)


# --- the rating rules ----------------------------------------------------------------------------


def test_next_review_and_overdue() -> None:
    assert next_review_due(start=START, review_every_weeks=6) == date(2026, 5, 18)
    assert next_review_due(start=START, review_every_weeks=6, last_review=date(2026, 5, 20)) == date(2026, 7, 1)
    assert next_review_due(start=START, review_every_weeks=None) is None
    assert review_overdue(date(2026, 5, 18), date(2026, 5, 18)) is False
    assert review_overdue(date(2026, 5, 19), date(2026, 5, 18)) is True
    assert review_overdue(date(2026, 5, 19), None) is False
    with pytest.raises(ValueError):
        next_review_due(start=START, review_every_weeks=0)


def test_end_of_day_is_local_midnight() -> None:
    assert end_of_day(date(2026, 5, 17)) == datetime(2026, 5, 18, 0, 0, tzinfo=LONDON)
    assert end_of_day(date(2026, 5, 17)).utcoffset() == timedelta(hours=1)  # BST
    assert end_of_day(date(2026, 12, 1)).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("review", "as_of", "rag"),
    [
        (ReviewState(outcomes=2, improving=1, same=1, next_review_due=date(2026, 5, 18)), date(2026, 5, 18), "green"),
        (ReviewState(outcomes=2, next_review_due=date(2026, 5, 18)), date(2026, 5, 19), "amber"),  # overdue
        (ReviewState(outcomes=2, next_review_due=date(2026, 5, 18)), date(2026, 6, 15), "amber"),  # 28 days
        (ReviewState(outcomes=2, next_review_due=date(2026, 5, 18)), date(2026, 6, 16), "red"),  # 29 days
        (ReviewState(outcomes=3, worse=1, same=2), date(2026, 5, 1), "amber"),
        (ReviewState(outcomes=3, worse=2, same=1), date(2026, 5, 1), "red"),  # more than half worse
        (ReviewState(outcomes=2, worse=1, improving=1), date(2026, 5, 1), "amber"),  # half is not more than half
        (ReviewState(outcomes=1, open_incidents=1), date(2026, 5, 1), "amber"),
        (ReviewState(outcomes=1, open_incidents=2), date(2026, 5, 1), "red"),
        (ReviewState(), date(2026, 5, 1), "green"),
    ],
)
def test_working_rag(review: ReviewState, as_of: date, rag: str) -> None:
    assert working_rag(review, as_of) == rag


def test_review_state_is_checked() -> None:
    with pytest.raises(ValueError, match="more than the outcomes"):
        ReviewState(outcomes=1, improving=1, worse=1)
    with pytest.raises(ValueError):
        ReviewState(outcomes=-1)


def test_followed_rag_thresholds(mary) -> None:
    rec = mary["rec"]
    assert followed_rag(rec) == "amber"
    # A council that tolerates up to 2 breaches and 5% missed before amber: green.
    relaxed = StatusThresholds(missed_amber_percent=D("5"), missed_red_percent=D("10"), preference_breaches_amber=3)
    assert followed_rag(rec, relaxed) == "green"
    # A strict council: red from 3% missed (3.6% here).
    strict = StatusThresholds(missed_amber_percent=D("1"), missed_red_percent=D("3"))
    assert followed_rag(rec, strict) == "red"
    # Late or short: 7 of 81 delivered = 8.64%; amber from 8%, red from 8.5%.
    late_short = StatusThresholds(
        late_or_short_amber_percent=D("8"), late_or_short_red_percent=D("8.5"), preference_breaches_amber=3,
        missed_amber_percent=D("50"), missed_red_percent=D("60"),
    )
    assert followed_rag(rec, late_short) == "red"
    # Nothing scheduled, nothing delivered: green.
    empty = classify(match([], []), now=end_of_day(AS_OF))
    assert followed_rag(empty) == "green"


def test_affordable_rag(mary) -> None:
    assert affordable_rag(mary["aff"]) == "green"


def test_status_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="cannot be below"):
        StatusThresholds(missed_amber_percent=D("5"), missed_red_percent=D("1"))
    with pytest.raises(ValueError, match="above 0"):
        StatusThresholds(missed_amber_percent=D("0"))
    with pytest.raises(ValueError):
        StatusThresholds(overspend_amber_percent=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        StatusThresholds(preference_breaches_amber=0)
    with pytest.raises(ValueError):
        StatusThresholds(review_red_after_days=-1)
