"""Reviews due and overdue from stored plans: month ends, 29 February and clock changes, in the list and the status."""

from __future__ import annotations

import json
from datetime import date

import pytest

from careledger.monitoring.services import package_view
from careledger.outcomes import selectors
from careledger.records import services as records

pytestmark = pytest.mark.django_db


def _plan(mary_data, ref, start, end, mechanism, weeks):
    plan = json.loads(json.dumps(mary_data))
    plan["person"]["ref"] = ref
    plan["budget"].update(start_date=start, end_date=end, delivery_mechanism=mechanism, annual_amount="6000.00")
    if weeks is None:
        plan.pop("review_every_weeks", None)
    else:
        plan["review_every_weeks"] = weeks
    return plan


@pytest.fixture
def plans(system, acme, mary_data):
    # A direct payment from 31 August 2027 (yearly cadence): first review within six months, due 29 February 2028.
    records.plan_import(scope=system, raw=_plan(mary_data, "DP-LEAP", "2027-08-31", "2028-08-29", "direct_payment", 52))
    # Six-weekly from Sunday 14 February 2027: due Sunday 28 March 2027, the day the clocks go forward.
    records.plan_import(scope=system, raw=_plan(mary_data, "SIX-DST", "2027-02-14", "2028-02-12", "isf", 6))
    # No cadence, commissioned, from 31 March 2027: at least yearly, due 31 March 2028.
    records.plan_import(scope=system, raw=_plan(mary_data, "YEARLY", "2027-03-31", "2028-03-29", "commissioned", None))
    return system


def _due(scope, as_of):
    return {d.person_ref: (d.due.isoformat(), d.days_overdue) for d in selectors.reviews_due(scope=scope, as_of=as_of, within_days=400)}


def test_due_dates_across_a_leap_day_a_clock_change_and_a_month_end(plans):
    assert _due(plans, date(2027, 3, 28)) == {"SIX-DST": ("2027-03-28", 0)}  # due today: not overdue; YEARLY not started
    assert _due(plans, date(2027, 3, 29)) == {"SIX-DST": ("2027-03-28", 1)}
    assert _due(plans, date(2027, 3, 31))["YEARLY"] == ("2028-03-31", 0)  # at least yearly: 12 calendar months
    assert _due(plans, date(2028, 2, 29))["DP-LEAP"] == ("2028-02-29", 0)
    assert _due(plans, date(2028, 3, 1))["DP-LEAP"] == ("2028-02-29", 1)
    overdue = selectors.reviews_due(scope=plans, as_of=date(2028, 3, 1), overdue_only=True)
    assert [(d.person_ref, d.days_overdue) for d in overdue] == [("DP-LEAP", 1)]  # SIX-DST's budget ended on 12 February
    # The status says the same.
    w = package_view(scope=plans, person_ref="DP-LEAP", as_of=date(2028, 2, 29)).status["working"]
    assert (w["next_review_due"], w["review_overdue"], w["rag"]) == ("2028-02-29", False, "green")
    w = package_view(scope=plans, person_ref="DP-LEAP", as_of=date(2028, 3, 1)).status["working"]
    assert (w["review_overdue"], w["rag"], w["reasons"][0]) == (True, "amber", "The review due on 29 February 2028 is 1 day overdue.")
    w = package_view(scope=plans, person_ref="SIX-DST", as_of=date(2027, 4, 26)).status["working"]
    assert (w["rag"], w["reasons"][0]) == ("red", "The review due on 28 March 2027 is 29 days overdue (red after 28).")
