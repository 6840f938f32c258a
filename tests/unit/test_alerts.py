"""Alert rules over a package snapshot: hand-worked cases, thresholds, spend policy, no repeats."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.affordability import affordability, recent_window
from careledger.domain.alerts import (
    DEFAULT_SPEND_POLICY,
    RULES,
    Alert,
    AlertThresholds,
    PackageSnapshot,
    SpendCategory,
    SpendPolicy,
    Transaction,
    evaluate,
    iso_week,
    long_date,
    new_alerts,
)
from careledger.domain.costing import scheduled_visits
from careledger.domain.delivery import DeliveredVisit, classify, match
from careledger.domain.ledger import Entry, EntryKind, balance, spent, transaction_entry, visit_entry
from careledger.domain.plans import DeliveryMechanism
from careledger.domain.status import ReviewState, affordable_rag, end_of_day, package_status
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
START = date(2026, 4, 6)
END = date(2027, 4, 4)


def test_helpers() -> None:
    assert iso_week(date(2026, 5, 4)) == "2026-W19"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"  # a Friday in the last ISO week of 2026
    assert long_date(date(2027, 4, 4)) == "4 April 2027"


# --- a direct payment with a surplus and a bet ---------------------------------------------------

DP_AS_OF = date(2026, 7, 5)
DP_LINES = (
    # (ref, date, amount, counterparty, description)
    ("T-0612-PP", date(2026, 6, 12), "-25.00", "Paddy Power", "Online bet"),
    ("T-0620-BT", date(2026, 6, 20), "-8.40", "Betty's Tea Room", "Lunch out with PA"),
)


def dp_snapshot() -> PackageSnapshot:
    """£15,600 a year (£300 a week) paid 4-weekly into DP-0001; a PA paid £150 every Friday."""
    txns = [Transaction(f"IN-{d:%m%d}", d, D("1200.00"), "Northshire Council", "Direct payment")
            for d in (date(2026, 4, 6), date(2026, 5, 4), date(2026, 6, 1), date(2026, 6, 29))]
    friday = date(2026, 4, 10)
    while friday <= DP_AS_OF:
        txns.append(Transaction(f"PA-{friday:%m%d}", friday, D("-150.00"), "J Smith", "PA wages"))
        friday += timedelta(weeks=1)
    txns += [Transaction(ref, day, D(amount), who, what) for ref, day, amount, who, what in DP_LINES]
    entries = [Entry("ALLOC", START, EntryKind.ALLOCATION, amount=D("15600.00"))] + [
        transaction_entry(ref=t.txn_ref, account="DP-0001", posted_on=t.date, amount=t.amount)
        for t in txns
    ]
    first, last = recent_window(START, DP_AS_OF)
    aff = affordability(
        budget=D("15600.00"),
        period_start=START,
        period_end=END,
        as_of=DP_AS_OF,
        spent=spent(entries, START, DP_AS_OF),
        future_cost=D("5850.00"),
        recent_spent=spent(entries, first, last),
        dp_balance=balance(entries, DP_AS_OF, account="DP-0001"),
    )
    return PackageSnapshot(
        person_ref="DP-7",
        as_of=DP_AS_OF,
        mechanism=DeliveryMechanism.DIRECT_PAYMENT,
        affordability=aff,
        transactions=tuple(txns),
        next_review_due=date(2026, 10, 6),
    )


def test_direct_payment_surplus_and_gambling() -> None:
    snapshot = dp_snapshot()
    alerts = evaluate(snapshot)
    assert [(a.code, a.severity, a.cause) for a in alerts] == [
        # Spent 1,983.40 against 3,900.00 pro-rata: 1,916.60 short, 49% (over 25%): high.
        ("underspend", "high", "underspend:2026-04-06:high"),
        # Balance 4,800 - 1,983.40 = 2,816.60; 8 x 300 = 2,400; surplus 416.60.
        ("dp_surplus", "medium", "dp_surplus:2026-07"),
        ("ineligible_spend", "high", "ineligible:T-0612-PP"),
        # Betty's Tea Room is not a bet: no alert for it.
    ]
    under, surplus, bet = alerts
    assert under.message == (
        "£1,983.40 has been spent against £3,900.00 expected by 5 July 2026 (49% less): "
        "care may not be being delivered as planned."
    )
    assert surplus.message == (
        "The direct payment account holds £2,816.60, £416.60 more than 8 weeks of payments (£2,400.00); "
        "the council may reclaim the surplus."
    )
    assert surplus.evidence == (
        "Balance at the end of 5 July 2026: £2,816.60",
        "Weekly amount £300.00 x 8 = £2,400.00",
    )
    assert bet.message == (
        "£25.00 paid to Paddy Power on 12 June 2026 looks like gambling. A direct payment cannot be spent on gambling."
    )
    assert bet.evidence == (
        "Transaction T-0612-PP on 2026-06-12: -£25.00 (Paddy Power; Online bet)",
        "Matched 'paddy power' (gambling)",
    )
    # The status: affordable is amber for the surplus (the forecast is well under budget).
    assert affordable_rag(snapshot.affordability) == "amber"
    status = package_status(
        person_ref="DP-7",
        as_of=DP_AS_OF,
        reconciliation=classify(match([], []), now=end_of_day(DP_AS_OF)),
        affordability=snapshot.affordability,
        review=ReviewState(outcomes=2, improving=2, next_review_due=date(2026, 10, 6)),
    )
    assert status["affordable"] == {
        "budget": "15600.00",
        "spent": "1983.40",
        "pro_rata_budget": "3900.00",
        "forecast_year_end": "7833.40",
        "forecast_variance": "-7766.60",
        "rag": "amber",
    }


# --- a £300,000 package heading for overspend ----------------------------------------------------

HEAVY_AS_OF = date(2026, 9, 27)


def heavy_snapshot(future: str = "162000.00", **thresholds) -> PackageSnapshot:
    """21 weeks at £6,000 (200 hours at £30), then 4 weeks at £7,000; the schedule is £6,000 a week."""
    entries = [Entry("ALLOC", START, EntryKind.ALLOCATION, amount=D("300000.00"))]
    for week in range(25):
        entries.append(
            visit_entry(f"WEEK-{week + 1:02d}", START + timedelta(weeks=week, days=6),
                        minutes=12000 if week < 21 else 14000, rate=D("30.00"))
        )
    first, last = recent_window(START, HEAVY_AS_OF)
    aff = affordability(
        budget=D("300000.00"),
        period_start=START,
        period_end=END,
        as_of=HEAVY_AS_OF,
        spent=spent(entries, START, HEAVY_AS_OF),
        future_cost=D(future),
        recent_spent=spent(entries, first, last),
    )
    return PackageSnapshot(
        person_ref="BIG-1",
        as_of=HEAVY_AS_OF,
        mechanism=DeliveryMechanism.COMMISSIONED,
        affordability=aff,
        thresholds=AlertThresholds(**thresholds),
    )


def test_a_300k_package_heading_for_overspend() -> None:
    snapshot = heavy_snapshot()
    aff = snapshot.affordability
    # Spent 154,000; schedule forecast 154,000 + 162,000 = 316,000 (16,000 over, 5.3%);
    # at the last 28 days' rate: 154,000 + 28,000 / 28 x 189 = 343,000 (43,000 over, 14.3%).
    assert aff.forecast_year_end == D("316000.00")
    assert aff.forecast_variance == D("16000.00")
    assert aff.forecast_from_recent_rate == D("343000")
    alerts = evaluate(snapshot)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.code, alert.severity, alert.cause) == ("overspend", "high", "overspend:2026-04-06:high")
    assert alert.message == (
        "Forecast to overspend by £43,000.00 by 4 April 2027 at the current rate of care (14% of the budget)."
    )
    assert alert.evidence == (
        "Budget £300,000.00 for 6 April 2026 to 4 April 2027",
        "Spent to 27 September 2026: £154,000.00 (pro-rata budget £144,230.77)",
        "Forecast if care continues as scheduled: £316,000.00 (£16,000.00 over budget)",
        "Forecast at the rate of the last 28 days: £343,000.00 (£43,000.00 over budget)",
    )
    status = package_status(
        person_ref="BIG-1",
        as_of=HEAVY_AS_OF,
        reconciliation=classify(match([], []), now=end_of_day(HEAVY_AS_OF)),
        affordability=aff,
        review=ReviewState(),
    )
    assert status["affordable"] == {
        "budget": "300000.00",
        "spent": "154000.00",
        "pro_rata_budget": "144230.77",
        "forecast_year_end": "316000.00",
        "forecast_variance": "16000.00",
        "rag": "red",  # 5.3% over on the schedule alone; above 5% is red
    }


def test_overspend_severity_and_escalation() -> None:
    # A generous council: medium above 10%, high above 20%: 14.3% is medium.
    medium = evaluate(heavy_snapshot(overspend_percent=D("10"), overspend_high_percent=D("20")))
    assert [(a.severity, a.cause) for a in medium] == [("medium", "overspend:2026-04-06:medium")]
    # Escalating to high is a new cause, so it is raised; staying high is not raised again.
    high = evaluate(heavy_snapshot())
    assert new_alerts(high, {a.cause for a in medium}) == high
    assert new_alerts(evaluate(heavy_snapshot()), {a.cause for a in medium + high}) == []
    # Above every threshold of 15%: no alert.
    assert evaluate(heavy_snapshot(overspend_percent=D("15"), overspend_high_percent=D("15"))) == []


def test_overspend_on_the_schedule_says_so() -> None:
    # The schedule ahead costs 200,000: forecast 354,000 (54,000 over) beats the recent rate's 343,000.
    [alert] = evaluate(heavy_snapshot(future="200000.00"))
    assert alert.message == (
        "Forecast to overspend by £54,000.00 by 4 April 2027 if the rest of the plan is delivered as scheduled"
        " (18% of the budget)."
    )


# --- visit rules on one week of Mary's -----------------------------------------------------------

PLAN = parse_plan(MARY.read_bytes())
MONDAY = date(2026, 6, 1)  # 2026-W23


def week_snapshot(visit_changes: dict, **thresholds) -> PackageSnapshot:
    """Mary's week of 1 June: every slot delivered by C-ANN except as changed.

    ``visit_changes`` maps (day offset, hour) to ``None`` (no visit) or a dict of changes.
    """
    slots = list(scheduled_visits(PLAN, MONDAY, MONDAY + timedelta(days=6)))
    visits = []
    for slot in slots:
        key = ((slot.local_date - MONDAY).days, slot.start.hour)
        change = visit_changes.get(key, {})
        if change is None:
            continue
        begin = slot.start + timedelta(minutes=change.get("late_by", 0))
        lasted = change.get("lasted", slot.minutes)
        visits.append(
            DeliveredVisit(f"V{key[0]}-{key[1]}", "MARY-86", "homecare", change.get("carer", "C-ANN"), slot.start,
                           slot.minutes, begin, begin + timedelta(minutes=lasted), "completed")
        )
    as_of = MONDAY + timedelta(days=6)
    rec = classify(match(slots, visits), now=end_of_day(as_of), preferred_gender="female",
                   carer_genders={"C-ANN": "female", "C-BOB": "male"})
    return PackageSnapshot("MARY-86", as_of, DeliveryMechanism.ISF, reconciliation=rec, preferred_gender="female",
                           thresholds=AlertThresholds(**thresholds))


def test_one_missed_visit_is_not_repeated_but_a_council_can_say_it_is() -> None:
    snapshot = week_snapshot({(2, 9): None})
    assert evaluate(snapshot) == []
    [alert] = evaluate(replace(snapshot, thresholds=AlertThresholds(missed_per_week=1)))
    assert alert.cause == "missed:2026-W23"
    assert alert.message == "1 visit was missed in the week beginning 1 June 2026."


def test_short_visits_and_a_single_breach() -> None:
    snapshot = week_snapshot({
        (0, 9): {"lasted": 40}, (2, 9): {"lasted": 45}, (4, 9): {"lasted": 30},  # 3 short hour visits
        (5, 19): {"carer": "C-BOB"},
    })
    alerts = evaluate(snapshot)
    assert [(a.code, a.severity, a.cause) for a in alerts] == [
        ("short_visits", "low", "short:2026-W23"),
        ("preference_breach", "medium", "preference:2026-W23"),
    ]
    assert alerts[0].message == "3 visits were cut short in the week beginning 1 June 2026."
    assert alerts[0].evidence[0] == "V0-9: planned Mon 01 Jun 2026 09:00, 60 minutes, lasted 40 minutes"
    assert alerts[1].message == (
        "1 visit was made by a carer whose gender is not the one the person asked for (female) "
        "in the week beginning 1 June 2026."
    )


def test_late_threshold_is_at_least() -> None:
    two = week_snapshot({(0, 9): {"late_by": 45}, (1, 9): {"late_by": 31}})
    assert evaluate(two) == []
    three = week_snapshot({(0, 9): {"late_by": 45}, (1, 9): {"late_by": 31}, (2, 19): {"late_by": 60}})
    [alert] = evaluate(three)
    assert (alert.code, alert.cause, alert.message) == (
        "late_visits", "late:2026-W23", "3 visits started late in the week beginning 1 June 2026."
    )
    # 30 minutes late exactly is not late.
    assert evaluate(week_snapshot({(0, 9): {"late_by": 30}, (1, 9): {"late_by": 30}, (2, 19): {"late_by": 30}})) == []


# --- reviews, continuity, underspend timing ------------------------------------------------------


def test_review_overdue_escalates() -> None:
    base = PackageSnapshot("MARY-86", date(2026, 5, 18), DeliveryMechanism.ISF, next_review_due=date(2026, 5, 18))
    assert evaluate(base) == []  # due today
    [medium] = evaluate(replace(base, as_of=date(2026, 6, 15)))  # 28 days
    assert (medium.severity, medium.cause) == ("medium", "review:2026-05-18:medium")
    assert medium.message == "The review due on 18 May 2026 is 28 days overdue."
    assert medium.evidence == ("Review due 2026-05-18; no review recorded yet",)
    [high] = evaluate(replace(base, as_of=date(2026, 6, 16), last_review=date(2026, 4, 1)))
    assert (high.severity, high.cause) == ("high", "review:2026-05-18:high")
    assert high.evidence == ("Review due 2026-05-18; last review 1 April 2026",)
    graced = replace(base, as_of=date(2026, 5, 25), thresholds=AlertThresholds(review_grace_days=7))
    assert evaluate(graced) == []


def test_carer_continuity_is_off_unless_a_council_sets_it() -> None:
    base = PackageSnapshot("MARY-86", date(2026, 5, 17), DeliveryMechanism.ISF,
                           recent_carers=("C-1", "C-2", "C-3", "C-4", "C-5", "C-6"))
    assert evaluate(base) == []
    [alert] = evaluate(replace(base, thresholds=AlertThresholds(max_carers_4_weeks=5)))
    assert (alert.code, alert.severity, alert.cause) == ("carer_continuity", "low", "continuity:2026-W20")
    assert alert.message == (
        "6 different carers visited in the 4 weeks to 17 May 2026, more than the 5 agreed: "
        "the person may not know who is coming."
    )
    assert evaluate(replace(base, thresholds=AlertThresholds(max_carers_4_weeks=6))) == []


def test_underspend_waits_for_the_first_weeks() -> None:
    def at(day: date, spent_: str) -> PackageSnapshot:
        aff = affordability(budget=D("3640.00"), period_start=START, period_end=END, as_of=day,
                            spent=D(spent_), future_cost=D("0"), recent_spent=D("0"))
        return PackageSnapshot("X", day, DeliveryMechanism.ISF, affordability=aff)

    # Day 27: nothing spent, but too early to tell.
    assert evaluate(at(START + timedelta(days=26), "0")) == []
    # Day 28: pro-rata 3,640 x 28 / 364 = 280; 250 spent is 10.7% short: medium.
    [alert] = evaluate(at(START + timedelta(days=27), "250.00"))
    assert (alert.code, alert.severity) == ("underspend", "medium")
    # 252 spent is exactly 10% short: not more than 10%, no alert.
    assert [a.code for a in evaluate(at(START + timedelta(days=27), "252.00"))] == []


# --- spend policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "keyword"),
    [
        ("Paddy Power Online bet", "gambling", "paddy power"),
        ("PADDY-POWER", "gambling", "paddy power"),
        ("WWW.BET365.COM", "gambling", "bet365"),
        ("Gala Bingo", "gambling", "bingo"),
        ("GAMBLING.COM", "gambling", "gambl*"),
        ("Grosvenor Casinos", "gambling", "casino*"),
        ("Threshers off-licence", "alcohol", "off licence"),
        ("Smith's Tobacconist", "tobacco", "tobacco*"),
        ("Cash withdrawal LINK", "cash_withdrawal", "cash withdrawal*"),
        ("ATM 14:02 HIGH ST", "cash_withdrawal", "atm"),
        ("Unarranged overdraft fee", "bank_charges", "unarranged overdraft"),
        ("Overdraft fees", "bank_charges", "overdraft fee*"),
        ("Sunnyside Care Home", "residential_care", "care home"),
        ("Landlord: June rent", "household_bills", "landlord"),
        ("June rent", "household_bills", "rent"),
        ("Amazon gift card", "gifts", "gift card*"),
        ("Sainsbury's Local", "food_clothing", "sainsburys"),
    ],
)
def test_default_policy_finds(text: str, category: str, keyword: str) -> None:
    found = DEFAULT_SPEND_POLICY.match(text)
    assert found is not None
    assert (found[0].code, found[1]) == (category, keyword)


@pytest.mark.parametrize(
    "text",
    [
        "Betty's Tea Room",  # not "bet"
        "Alphabet Community Transport",  # not "bet"
        "Atmosphere Hairdressing",  # not "atm"
        "Rentokil pest control",  # not "rent"
        "Current account transfer",  # not "rent"
        "Ginger & Co physiotherapy",
        "Giftwrap Ltd",  # not "gift"
        "Winebrook Care Agency",  # not "wine"
        "J Smith PA wages",
        "Age UK day centre",
        "",
    ],
)
def test_default_policy_leaves_alone(text: str) -> None:
    assert DEFAULT_SPEND_POLICY.match(text) is None


def test_a_council_tunes_its_policy() -> None:
    local = SpendPolicy(
        (
            SpendCategory("gambling", "gambling", ("betfred", "bet"), severity="high"),
            SpendCategory("taxis", "a taxi fare", ("taxi*", "uber"), severity="low", advice="Check it was agreed."),
        )
    )
    snapshot = PackageSnapshot(
        "DP-9", date(2026, 6, 30), DeliveryMechanism.DIRECT_PAYMENT, spend_policy=local,
        transactions=(
            Transaction("T2", date(2026, 6, 3), D("-12.00"), "Castle Taxis", None),
            Transaction("T1", date(2026, 6, 3), D("-5.00"), None, "BETFRED 0441"),
            Transaction("T3", date(2026, 6, 4), D("40.00"), "Betfred", "winnings"),  # money in: not spend
            Transaction("T4", date(2026, 6, 5), D("-9.99"), "Tesco", "groceries"),  # not in this policy
        ),
    )
    alerts = evaluate(snapshot)
    assert [(a.cause, a.severity) for a in alerts] == [("ineligible:T1", "high"), ("ineligible:T2", "low")]
    assert alerts[0].message == (
        "£5.00 paid on 3 June 2026 looks like gambling. "
        "A direct payment should not be spent on this; please check it with the person."
    )
    assert alerts[1].message == "£12.00 paid to Castle Taxis on 3 June 2026 looks like a taxi fare. Check it was agreed."  # noqa: E501


def test_policy_and_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="no letters"):
        SpendCategory("x", "x", ("**",))
    with pytest.raises(ValueError, match="not one string"):
        SpendCategory("x", "x", "bet")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="severity"):
        SpendCategory("x", "x", ("bet",), severity="urgent")
    for bad in (
        {"overspend_percent": D("-1")},
        {"overspend_percent": 1.5},
        {"overspend_percent": D("6")},  # above the high threshold of 5
        {"underspend_high_percent": D("101")},
        {"missed_per_week": 0},
        {"late_per_week": True},
        {"review_grace_days": -1},
        {"max_carers_4_weeks": 0},
    ):
        with pytest.raises(ValueError):
            AlertThresholds(**bad)
    assert AlertThresholds(overspend_percent=2).overspend_percent == D(2)
    with pytest.raises(ValueError, match="severity"):
        Alert("x", "urgent", "x:1", "m")
    with pytest.raises(ValueError, match="must start with"):
        Alert("missed_visits", "high", "late:2026-W01", "m")
    with pytest.raises(ValueError, match="needs a cause"):
        Alert("custom", "low", " ", "m")


# --- never twice for the same cause --------------------------------------------------------------


def test_rules_run_twice_raise_nothing_new() -> None:
    for snapshot in (dp_snapshot(), heavy_snapshot()):
        first = evaluate(snapshot)
        second = evaluate(snapshot)
        assert [a.cause for a in first] == [a.cause for a in second]
        assert new_alerts(second, {a.cause for a in first}) == []
        assert new_alerts(first + first, ()) == first  # duplicates within one batch are dropped too


def test_every_rule_is_listed_once() -> None:
    names = [rule.__name__ for rule in RULES]
    assert len(names) == len(set(names)) == 10


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            st.integers(-10_000, 10_000),
            st.sampled_from(["Paddy Power", "Tesco", "J Smith", "Betty's Tea Room", "ATM", None]),
            st.sampled_from(["Online bet", "wages", "gift", None]),
        ),
        max_size=15,
    ),
    st.randoms(use_true_random=False),
)
def test_alerts_do_not_depend_on_input_order_and_causes_are_unique(rows, random) -> None:
    txns = [Transaction(f"T{i}", START + timedelta(days=d), D(p) / 100, who, what) for i, (d, p, who, what) in enumerate(rows)]
    shuffled = list(txns)
    random.shuffle(shuffled)
    base = dp_snapshot()
    one = evaluate(replace(base, transactions=tuple(txns)))
    two = evaluate(replace(base, transactions=tuple(shuffled)))
    assert one == two
    causes = [a.cause for a in one]
    assert len(causes) == len(set(causes))
    assert all(a.severity in ("high", "medium", "low") and a.message and a.evidence for a in one)
