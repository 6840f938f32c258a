"""Outcomes, reviews and incidents through the API: who may do what, clear refusals, nothing leaked, all audited."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from careledger.access.models import Membership
from careledger.audit.models import AuditEntry
from careledger.records import services as records

pytestmark = pytest.mark.django_db


@pytest.fixture
def nor(system, acme, mary_data, django_user_model, council):
    records.plan_import(scope=system, raw=json.dumps(mary_data))
    bob = json.loads(json.dumps(mary_data))
    bob["person"].update(ref="BOB-1", given_name="Robert", family_name="Otherperson")
    records.provider_create(scope=system, ref="BETA-CARE", name="Beta")
    bob["services"][0]["provider"] = "BETA-CARE"  # not the provider manager's client
    records.plan_import(scope=system, raw=bob)
    mary = council.people.get(ref="MARY-86")
    clients = {}
    for role in ("commissioner", "finance", "person", "provider"):
        user = django_user_model.objects.create_user(username=f"u-{role}", password="a-long-test-password")
        Membership.objects.create(user=user, council=council, role=role, person=mary if role == "person" else None,
                                  provider=acme if role == "provider" else None)  # fmt: skip
        client = Client()
        client.force_login(user)
        clients[role] = (client, user)
    return clients


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_review_with_a_plan_change_and_an_incident_through_the_api(nor, mary_data):
    staff, staff_user = nor["commissioner"]
    person, person_user = nor["person"]
    base = "/api/v1/councils/NOR"
    made = post(staff, f"{base}/people/MARY-86/outcomes", {"ref": "shower", "text": "Shower safely", "domain": "personal_care",
                                                           "agreed_on": "2026-04-06", "agreed_by": "Mary and David", "baseline": "some_needs"})  # fmt: skip
    assert made.status_code == 201, made.content
    refused = post(person, f"{base}/people/MARY-86/outcomes", {"ref": "x", "text": "x", "domain": "control", "agreed_on": "2026-04-06", "agreed_by": "me"})
    assert refused.status_code == 404

    changed = json.loads(json.dumps(mary_data))
    changed["services"][0]["visits"][2]["minutes"] = 30  # evening calls of half an hour
    review = {"held_on": "2026-05-18", "method": "in_person", "participants": ["Mary", "David (son)"],
              "ratings": [{"outcome": "church", "rating": "no_needs"}, {"outcome": "shower", "rating": "no_needs", "comment": "better"}],
              "new_outcomes": [{"ref": "garden", "text": "Sit in the garden when it's warm", "domain": "occupation"}],
              "plan": changed, "plan_effective_from": "2026-05-25"}  # fmt: skip
    bad = post(staff, f"{base}/people/MARY-86/reviews", {**review, "ratings": [{"outcome": "church", "rating": "lovely"}]})
    assert bad.status_code == 400
    assert "ratings[0].rating: 'lovely' is not a rating" in bad.json()["detail"] and "not rated: shower" in bad.json()["detail"]
    bad_plan = post(staff, f"{base}/people/MARY-86/reviews", {**review, "plan": {**changed, "services": []}})
    assert bad_plan.status_code == 422 and bad_plan.json()["problems"]  # the plan's problems, listed; nothing written
    done = post(staff, f"{base}/people/MARY-86/reviews", review)
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["plan_version"] == {"number": 2, "effective_from": "2026-05-25"}
    assert [(r["outcome"], r["change"]) for r in body["ratings"]] == [("church", None), ("shower", "improving")]
    assert post(staff, f"{base}/people/MARY-86/reviews", review).status_code == 409  # one review a day

    # Mary herself sees her outcomes and reviews, and raises a complaint; the provider sees it; nobody sees Bob's.
    outcomes = person.get(f"{base}/people/MARY-86/outcomes").json()
    assert [o["ref"] for o in outcomes] == ["shower", "church", "garden"]
    assert person.get(f"{base}/people/BOB-1/reviews").status_code == 404
    raised = post(person, f"{base}/incidents", {"person_ref": "MARY-86", "kind": "late_visit", "summary": "Late three times this week",
                                                "happened_on": "2026-05-20", "provider_ref": "ACME-CARE"})  # fmt: skip
    assert raised.status_code == 201 and raised.json()["raised_as"] == "person" and raised.json()["owner"] == "provider"
    assert post(person, f"{base}/incidents", {"person_ref": "BOB-1", "kind": "other", "summary": "x", "happened_on": "2026-05-20"}).status_code == 404
    assert post(person, f"{base}/incidents/{raised.json()['id']}/settle", {"resolution": "mine"}).status_code == 404
    provider = nor["provider"][0]
    assert [i["id"] for i in provider.get(f"{base}/incidents?status=open").json()] == [raised.json()["id"]]
    for client in (person, provider):
        for url in (f"{base}/incidents", f"{base}/reviews/due?as_of=2026-12-01", f"{base}/value-for-money"):
            answer = client.get(url)
            assert answer.status_code == 200 and b"BOB-1" not in answer.content and b"Otherperson" not in answer.content, url
    assert [d["person_ref"] for d in staff.get(f"{base}/reviews/due?as_of=2026-07-01").json()] == ["BOB-1", "MARY-86"]

    finance = nor["finance"][0]
    settled = post(finance, f"{base}/incidents/{raised.json()['id']}/settle", {"resolution": "Agreed: a credit", "adjustment": "6.25",
                                                                               "adjustment_kind": "refund", "settled_on": "2026-05-22"})  # fmt: skip
    assert settled.status_code == 200 and settled.json()["adjustment"] == "6.25"
    assert post(finance, f"{base}/incidents/{raised.json()['id']}/settle", {"resolution": "again"}).status_code == 409
    assert post(finance, f"{base}/incidents/{raised.json()['id']}/settle", {"resolution": "x", "adjustment": "1.234"}).status_code in (400, 409)

    # Every action, by whom (an id, never a name).
    who = {(e.model, e.actor) for e in AuditEntry.objects.filter(model__startswith="outcomes.")}
    assert ("outcomes.outcome", f"user:{staff_user.pk}") in who and ("outcomes.review", f"user:{staff_user.pk}") in who
    assert ("outcomes.incident", f"user:{person_user.pk}") in who
    assert ("outcomes.incident", f"user:{nor['finance'][1].pk}") in who
    assert AuditEntry.objects.filter(model="ledger.ledgerentry", actor=f"user:{nor['finance'][1].pk}").exists()


def test_bad_requests_are_400_or_422_never_500(nor):
    staff = nor["commissioner"][0]
    base = "/api/v1/councils/NOR"
    cases = [
        (f"{base}/people/MARY-86/reviews", {"held_on": "not a date"}),
        (f"{base}/people/MARY-86/reviews", {"held_on": "2026-05-18", "method": "phone", "participants": "Mary", "ratings": []}),
        (f"{base}/people/MARY-86/outcomes", {"ref": "bad ref!", "text": "\u0000", "domain": "x", "agreed_on": "2026-04-06", "agreed_by": ""}),
        (f"{base}/incidents", {"person_ref": "MARY-86", "kind": "safeguarding", "summary": "x", "happened_on": "2026-04-06", "safeguarding_link": "javascript:alert(1)"}),
        (f"{base}/incidents", {"person_ref": "MARY-86", "kind": "dispute", "summary": "x", "happened_on": "2026-04-06", "parties": ["council"]}),
    ]
    for url, body in cases:
        answer = post(staff, url, body)
        assert answer.status_code in (400, 422), (url, body, answer.status_code, answer.content)
    assert staff.get(f"{base}/reviews/due?within_days=-1").status_code == 422
    assert staff.get(f"{base}/incidents/999999").status_code == 404
