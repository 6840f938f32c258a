"""Hand-worked scenarios through the database: each figure worked out below, then asserted exactly.

Mary over six weeks is in ``test_status.py``. Here: a direct payment with a surplus and a
gambling transaction, and a £300,000 package heading for overspend. Each goes through the
push API's service (visits, transactions), the status, its alerts, and the stored ledger.
"""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from decimal import Decimal

import pytest

from careledger.domain.costing import scheduled_visits
from careledger.domain.localtime import local_datetime
from careledger.domain.money import round_money
from careledger.formats.plan_file import parse_plan
from careledger.ingest.services import push_items
from careledger.ledger import selectors
from careledger.ledger.models import LedgerEntry
from careledger.monitoring.services import status_refresh

pytestmark = pytest.mark.django_db
D = Decimal
START, END = date(2026, 4, 6), date(2027, 4, 4)  # Monday to Sunday: 364 days, 52 weeks
AS_OF = date(2026, 5, 3)  # Sunday: four whole weeks, 28 days


def plan_file(ref: str, amount: str, mechanism: str, service: dict, account_ref: str | None = None) -> dict:
    budget = {"annual_amount": amount, "start_date": START.isoformat(), "end_date": END.isoformat(), "delivery_mechanism": mechanism}
    if account_ref:
        budget["account_ref"] = account_ref
    return {
        "format": "careledger/plan@1",
        "person": {"ref": ref, "given_name": "Test", "family_name": ref.title(), "birth_date": "1950-01-01"},
        "budget": budget,
        "services": [service],
        "outcomes": [{"ref": "home", "text": "Stay living at home", "domain": "control"}],
        "review_every_weeks": 6,
    }


def completed(plan: dict, last: date) -> list[dict]:
    """Every slot of the plan up to ``last``, delivered on time and in full."""
    items = []
    for slot in scheduled_visits(parse_plan(json.dumps(plan)), START, last):
        end = slot.start + timedelta(minutes=slot.minutes)
        items.append({
            "visit_ref": f"{slot.service_ref}-{slot.start:%m%d-%H%M}", "person_ref": plan["person"]["ref"], "provider_ref": "ACME-CARE",
            "service_ref": slot.service_ref, "carer_ref": "", "planned_start": slot.start.isoformat(), "planned_minutes": slot.minutes,
            "actual_start": slot.start.isoformat(), "actual_end": end.isoformat(), "status": "completed",
        })  # fmt: skip
    return items


# -- a direct payment with a surplus and a gambling transaction ---------------------------------------
#
# Pat's direct payment: £5,200.00 for 6 April 2026 to 4 April 2027 (364 days), so the weekly amount
# is 5,200 x 7 / 364 = £100.00 exactly and 8 weeks of it is £800.00. Pat employs a personal assistant
# (the plan's service "pa": Monday, Wednesday and Friday 10:00 for 2 hours at £15.00 an hour = 6 hours,
# £90.00 a week) and pays the wages from the account, DP-PAT, every Friday. The council paid 20 weeks
# in advance (£2,000.00) on 6 April. On 25 April £40.00 went to Bet365.
#
# As at the end of Sunday 3 May (28 days):
#   money in  2,000.00
#   money out 4 x 90.00 (10, 17, 24 April, 1 May) + 40.00 (Bet365) = 400.00  -> spent £400.00
#   balance   2,000.00 - 400.00 = £1,600.00; surplus above 8 weeks: 1,600.00 - 800.00 = £800.00
#   pro-rata budget 5,200 x 28 / 364 = £400.00 (spent exactly that: no underspend)
#   forecast: 400.00 + the 48 weeks still to come (4 May 2026 to 4 April 2027) x 90.00 = 4,320.00
#             = £4,720.00, variance -£480.00
#   at the recent rate: 400.00 + 400.00 x 336 / 28 = 400.00 + 4,800.00 = £5,200.00, variance £0.00
#   weeks of budget left at the recent rate: (5,200 - 400) / (400 / 4 weeks) = 4,800 / 100 = 48 weeks;
#   weeks of money in the account at that rate: 1,600 / 100 = 16 weeks.
# Alerts: dp_surplus (medium, "dp_surplus:2026-05") and ineligible_spend (high, "ineligible:T4"),
# nothing else: every PA visit happened, no overspend, no underspend, the review is due 18 May.

PAT = plan_file(
    "PAT-1", "5200.00", "direct_payment",
    {"ref": "pa", "provider": "ACME-CARE", "rates": {"standard": "15.00"},
     "visits": [{"days": ["MO", "WE", "FR"], "start": "10:00", "minutes": 120}]},
    account_ref="DP-PAT",
)  # fmt: skip
PAT_TRANSACTIONS = [
    {"txn_ref": "T1", "account_ref": "DP-PAT", "date": "2026-04-06", "amount": "2000.00", "counterparty": "Northshire Council", "description": "Direct payment, 20 weeks"},
    {"txn_ref": "T2", "account_ref": "DP-PAT", "date": "2026-04-10", "amount": "-90.00", "counterparty": "J Carer", "description": "PA wages"},
    {"txn_ref": "T3", "account_ref": "DP-PAT", "date": "2026-04-17", "amount": "-90.00", "counterparty": "J Carer", "description": "PA wages"},
    {"txn_ref": "T5", "account_ref": "DP-PAT", "date": "2026-04-24", "amount": "-90.00", "counterparty": "J Carer", "description": "PA wages"},
    {"txn_ref": "T4", "account_ref": "DP-PAT", "date": "2026-04-25", "amount": "-40.00", "counterparty": "Bet365", "description": "Online bet"},
    {"txn_ref": "T6", "account_ref": "DP-PAT", "date": "2026-05-01", "amount": "-90.00", "counterparty": "J Carer", "description": "PA wages"},
    {"txn_ref": "T7", "account_ref": "DP-PAT", "date": "2026-05-08", "amount": "-90.00", "counterparty": "J Carer", "description": "PA wages (after the date)"},
]  # fmt: skip


def test_a_direct_payment_with_a_surplus_and_a_gambling_transaction(system, acme):
    from careledger.records import services as records

    records.plan_import(scope=system, raw=json.dumps(PAT))
    assert push_items(scope=system, kind="transactions", items=PAT_TRANSACTIONS).counts["accepted"] == 7
    visits = completed(PAT, AS_OF)
    assert len(visits) == 12  # 4 weeks x 3
    assert push_items(scope=system, kind="visits", items=visits).counts["accepted"] == 12

    view = status_refresh(scope=system, person_ref="PAT-1", as_of=AS_OF)
    assert view.status["affordable"] == {
        "budget": "5200.00", "spent": "400.00", "pro_rata_budget": "400.00", "forecast_year_end": "4720.00",
        "forecast_variance": "-480.00", "rag": "amber",  # amber for the surplus alone
    }  # fmt: skip
    followed = view.status["followed"]
    assert (followed["scheduled"], followed["delivered"], followed["missed"], followed["planned_hours"], followed["rag"]) == (12, 12, 0, "24.00", "green")
    aff = view.affordability
    assert (aff.dp_balance, aff.weekly_amount, aff.dp_surplus_threshold, aff.dp_surplus) == (D("1600.00"), D("100"), D("800"), D("800.00"))
    assert aff.forecast_from_recent_rate == D("5200.00") and aff.forecast_variance_from_recent_rate == 0
    assert aff.weeks_left == 48 and aff.recent_weekly_spend == 100
    assert selectors.balance(view.person, "DP-PAT", AS_OF) / aff.recent_weekly_spend == 16  # weeks of money in the account

    alerts = {a.code: a for a in view.alerts}
    assert sorted(alerts) == ["dp_surplus", "ineligible_spend"]
    surplus, gambling = alerts["dp_surplus"], alerts["ineligible_spend"]
    assert (surplus.severity, surplus.cause) == ("medium", "dp_surplus:2026-05")
    assert surplus.message == (
        "The direct payment account holds £1,600.00, £800.00 more than 8 weeks of payments (£800.00); the council may reclaim the surplus."
    )
    assert (gambling.severity, gambling.cause) == ("high", "ineligible:T4")
    assert gambling.message == "£40.00 paid to Bet365 on 25 April 2026 looks like gambling. A direct payment cannot be spent on gambling."

    # The stored ledger agrees: the allocation on the budget, the account line for line up to 3 May.
    person = view.person
    account = list(LedgerEntry.objects.filter(person=person, account="DP-PAT").values_list("source_ref", "amount"))
    assert account == [("txn:T1", D("2000.00")), ("txn:T2", D("-90.00")), ("txn:T3", D("-90.00")), ("txn:T5", D("-90.00")),
                       ("txn:T4", D("-40.00")), ("txn:T6", D("-90.00"))]  # fmt: skip
    assert round_money(selectors.spent(person, START, AS_OF)) == D("400.00")
    assert selectors.balance(person, "DP-PAT", AS_OF) == D("1600.00")
    assert selectors.balance(person, "budget", AS_OF) == D("5200.00")
    assert not LedgerEntry.objects.filter(person=person, kind="visit").exists()  # the PA is paid from the account


# -- a £300,000 package heading for overspend ----------------------------------------------------------
#
# Ray's commissioned package: £300,000.00 for the same 364 days. The plan: care around the clock,
# a day shift 07:00-19:00 and a night shift 19:00-07:00 (720 minutes each) every day at £35.00 an
# hour: 24 x 35 = £840.00 a day, £5,880.00 a week, 52 x 5,880 = £305,760.00 a year, already £5,760.00
# over the budget. Every shift of the first four weeks (56) is delivered in full; and in the last
# two weeks (20 April to 3 May) a second carer has come every day at 12:00 for 2 hours, which the
# plan does not have (14 unplanned visits, paid at the plan's rate: 14 x 2 x 35 = £980.00).
#
# As at the end of Sunday 3 May (28 days):
#   spent     56 shifts: 28 x 840.00 = 23,520.00, + 980.00 = £24,500.00
#   pro-rata  300,000 x 28 / 364 = 23,076.923... = £23,076.92
#   forecast  24,500.00 + 336 days x 840.00 (282,240.00) = £306,740.00, variance +£6,740.00 (2.25%)
#   at the recent rate (the 28 days are the whole window): 24,500 + 24,500 x 336 / 28 = 24,500 + 294,000
#             = £318,500.00, variance +£18,500.00 = 6.1666...% of the budget: above 5%, so high
#   weeks of budget left at that rate: (300,000 - 24,500) x 28 / (24,500 x 7) = 7,714,000 / 171,500
#             = 44.979... weeks
# Alert: overspend, high, on the recent rate (the larger of the two variances), cause
# "overspend:2026-04-06:high".

RAY = plan_file(
    "RAY-300", "300000.00", "commissioned",
    {"ref": "complex", "provider": "ACME-CARE", "rates": {"standard": "35.00"},
     "visits": [{"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "start": "07:00", "minutes": 720},
                {"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "start": "19:00", "minutes": 720}]},
)  # fmt: skip


def test_a_300k_package_heading_for_overspend(system, acme):
    from careledger.records import services as records

    records.plan_import(scope=system, raw=json.dumps(RAY))
    shifts = completed(RAY, AS_OF)
    assert len(shifts) == 56
    extra = []
    for offset in range(14):
        begin = local_datetime(date(2026, 4, 20) + timedelta(days=offset), time(12, 0))
        extra.append({
            "visit_ref": f"EXTRA-{offset + 1}", "person_ref": "RAY-300", "provider_ref": "ACME-CARE", "service_ref": "complex",
            "carer_ref": "", "planned_start": begin.isoformat(), "planned_minutes": 120, "actual_start": begin.isoformat(),
            "actual_end": (begin + timedelta(hours=2)).isoformat(), "status": "completed",
        })  # fmt: skip
    assert push_items(scope=system, kind="visits", items=shifts + extra).counts["accepted"] == 70

    view = status_refresh(scope=system, person_ref="RAY-300", as_of=AS_OF)
    affordable = view.status["affordable"]
    assert {k: v for k, v in affordable.items() if k != "rag"} == {
        "budget": "300000.00", "spent": "24500.00", "pro_rata_budget": "23076.92", "forecast_year_end": "306740.00", "forecast_variance": "6740.00",
    }  # fmt: skip
    assert affordable["rag"] == "red"  # the recent rate's variance, 6.17% of the budget, is above 5%
    followed = view.status["followed"]
    assert (followed["scheduled"], followed["delivered"], followed["unplanned"], followed["missed"]) == (56, 70, 14, 0)
    assert (followed["planned_hours"], followed["delivered_hours"]) == ("672.00", "700.00")
    aff = view.affordability
    assert aff.forecast_from_recent_rate == D("318500.00") and aff.forecast_variance_from_recent_rate == D("18500.00")
    assert f"{aff.weeks_left:.3f}" == "44.980" and aff.weeks_left * 171500 == 7714000

    (overspend,) = [a for a in view.alerts if a.code == "overspend"]
    assert (overspend.severity, overspend.cause) == ("high", "overspend:2026-04-06:high")
    assert overspend.message == "Forecast to overspend by £18,500.00 by 4 April 2027 at the current rate of care (6% of the budget)."
    assert overspend.evidence[1:3] == (
        "Spent to 3 May 2026: £24,500.00 (pro-rata budget £23,076.92)",
        "Forecast if care continues as scheduled: £306,740.00 (£6,740.00 over budget)",
    )
    assert [a.code for a in view.alerts] == ["overspend"]

    # The stored ledger: the allocation and 70 payable visits; its spend is the status's.
    person = view.person
    assert LedgerEntry.objects.filter(person=person, kind="visit").count() == 70
    assert round_money(selectors.spent(person, START, AS_OF)) == D("24500.00")
    assert selectors.balance(person, "budget", AS_OF) == D("275500.00")
