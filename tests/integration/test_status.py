"""Package status through the database: Mary's first six weeks pushed as visits give the hand-worked figures."""

from __future__ import annotations

import json
from datetime import date

import pytest

from careledger.ingest.services import push_items
from careledger.monitoring.models import Alert
from careledger.monitoring.services import alert_acknowledge, alert_resolve, alerts_raise, package_view
from tests.unit.test_status import AS_OF, GENDERS, six_weeks_of_visits

EXPECTED = {
    "person_ref": "MARY-86",
    "as_of": "2026-05-17",
    "followed": {"scheduled": 84, "delivered": 81, "missed": 3, "late": 4, "short": 3, "unplanned": 1, "preference_breaches": 2,
                 "planned_hours": "40.50", "delivered_hours": "38.34", "rag": "amber"},
    "affordable": {"budget": "4387.50", "spent": "479.17", "pro_rata_budget": "506.25", "forecast_year_end": "4360.42",
                   "forecast_variance": "-27.08", "rag": "green"},
    "working": {"outcomes": 1, "improving": 0, "same": 1, "worse": 0, "last_review": None, "next_review_due": "2026-05-18",
                "review_overdue": False, "open_incidents": 0, "quality_of_life": None, "rag": "green",
                "reasons": ["0 of 1 outcome improving, none worse; next review due 18 May 2026; no open incidents."]},
}  # fmt: skip


def _item(v) -> dict:
    return {
        "visit_ref": v.visit_ref, "person_ref": v.person_ref, "provider_ref": "ACME-CARE", "service_ref": v.service_ref,
        "carer_ref": v.carer_ref, "planned_start": v.planned_start.isoformat(), "planned_minutes": v.planned_minutes,
        "actual_start": v.actual_start.isoformat() if v.actual_start else None,
        "actual_end": v.actual_end.isoformat() if v.actual_end else None, "status": v.status,
    }  # fmt: skip


@pytest.fixture
def mary_six_weeks(system, acme, mary_data):
    from careledger.records import services as records

    records.plan_import(scope=system, raw=json.dumps(mary_data))
    carers = [{"carer_ref": ref, "provider_ref": "ACME-CARE", "gender": g} for ref, g in GENDERS.items()]
    assert push_items(scope=system, kind="carers", items=carers).counts["accepted"] == 3
    items = [_item(v) for v in six_weeks_of_visits()]
    result = push_items(scope=system, kind="visits", items=items)
    assert result.counts == {"accepted": len(items), "duplicate": 0, "amended": 0, "rejected": 0}
    return system


def test_mary_six_weeks_status_from_the_database(mary_six_weeks):
    view = package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert view.status == EXPECTED
    causes = sorted(a.cause for a in view.alerts)
    assert causes == ["late:2026-W18", "missed:2026-W17", "preference:2026-W19"]


def test_alerts_are_raised_once_and_have_a_lifecycle(mary_six_weeks, council):
    from careledger.records.errors import InvalidInput, NotFound
    from careledger.records.scoping import Scope

    view = package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert len(alerts_raise(view)) == 3
    assert alerts_raise(view) == []  # the same causes again: nothing new
    later = package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=date(2026, 5, 19))
    # Two days on: the review of 18 May is overdue, and nobody has reported the visits of 18 and 19 May.
    assert sorted(a.cause for a in alerts_raise(later)) == ["missed:2026-W21", "review:2026-05-18:medium"]
    assert Alert.objects.count() == 5
    missed = Alert.objects.get(cause="missed:2026-W17")
    commissioner = Scope(council, "user:5", whole_council=True, roles=frozenset({"commissioner"}))
    auditor = Scope(council, "user:6", whole_council=True, roles=frozenset({"auditor"}))
    with pytest.raises(InvalidInput):
        alert_acknowledge(scope=commissioner, alert_id=missed.pk, note=" ")
    with pytest.raises(NotFound):
        alert_acknowledge(scope=auditor, alert_id=missed.pk, note="looking")
    acked = alert_acknowledge(scope=commissioner, alert_id=missed.pk, note="Called Acme: new rota from Monday")
    assert (acked.status, acked.acknowledged_by) == ("acknowledged", "user:5")
    assert alert_resolve(scope=commissioner, alert_id=missed.pk).status == "resolved"


def test_status_command_and_api(mary_six_weeks, staff_client):
    response = staff_client.get("/api/v1/councils/NOR/people/MARY-86/status?as_of=2026-05-17")
    assert response.status_code == 200 and response.json() == EXPECTED
    assert staff_client.get("/api/v1/councils/NOR/alerts").json() == []  # a past date raises nothing
    alerts_raise(package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF))
    alerts = staff_client.get("/api/v1/councils/NOR/alerts").json()
    assert [a["severity"] for a in alerts] == ["high", "medium", "medium"]
    first = alerts[0]["id"]
    done = staff_client.post(f"/api/v1/councils/NOR/alerts/{first}/acknowledge", data={"note": "on it"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    assert len(staff_client.get("/api/v1/councils/NOR/alerts").json()) == 2


def test_recompute_stores_statuses_and_the_portfolio_counts_them(mary_six_weeks, staff_client, mary_data):
    from careledger.monitoring.services import recompute_statuses, stale_people
    from careledger.records import services as records

    sue = dict(mary_data, person=dict(mary_data["person"], ref="SUE-2", given_name="Sue"))
    records.plan_import(scope=mary_six_weeks, raw=json.dumps(sue))
    assert stale_people(scope=mary_six_weeks).count() == 2
    result = recompute_statuses(scope=mary_six_weeks, as_of=AS_OF)
    assert (result.packages, result.failed) == (2, {})
    assert stale_people(scope=mary_six_weeks).count() == 0
    body = staff_client.get("/api/v1/councils/NOR/portfolio").json()
    # Mary: followed amber (3 missed of 84). Sue: no visits reported at all, so every slot is missed: red.
    assert body["counts"]["followed"] == {"red": 1, "amber": 1, "green": 0}
    assert [p["person_ref"] for p in body["packages"]] == ["SUE-2", "MARY-86"]
    assert body["by_provider"] == {"ACME-CARE": {"red": 1, "amber": 1, "green": 0}}
    assert body["stale"] == 0 and body["total"] == 2
    reds = staff_client.get("/api/v1/councils/NOR/portfolio?rag=red&question=followed").json()
    assert [p["person_ref"] for p in reds["packages"]] == ["SUE-2"]
    # New data for Mary makes her stored status stale until it is refreshed.
    push_items(scope=mary_six_weeks, kind="visits", items=[_item(six_weeks_of_visits()[0]) | {"visit_ref": "NEW-1"}])
    assert staff_client.get("/api/v1/councils/NOR/portfolio").json()["stale"] == 1
    assert recompute_statuses(scope=mary_six_weeks, as_of=AS_OF, only_stale=True).packages == 1
    # So does an incident ("working?" counts open ones), and the refresh brings it back in step.
    from careledger.outcomes.services import incident_raise

    incident_raise(scope=mary_six_weeks, person_ref="MARY-86", kind="missed_visit", summary="Nobody came.", happened_on=AS_OF)
    assert [p.ref for p in mary_six_weeks.people().filter(id__in=stale_people(scope=mary_six_weeks))] == ["MARY-86"]
    assert recompute_statuses(scope=mary_six_weeks, as_of=AS_OF, only_stale=True).packages == 1
    assert stale_people(scope=mary_six_weeks).count() == 0
