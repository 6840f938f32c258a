"""The JSON API over HTTP (Django's test client), against the real database."""

from __future__ import annotations

import json

import pytest

from careledger.records import models as m
from careledger.access.models import Membership
from careledger.records import services
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db


def post_json(client, url: str, body) -> object:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def test_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/plans/cost" in paths and "/api/v1/councils/{code}/plans" in paths


def test_every_route_needs_sign_in(client, council):
    for method, url in [
        ("post", "/api/v1/plans/cost"),
        ("get", "/api/v1/councils"),
        ("get", "/api/v1/councils/NOR/people"),
        ("post", "/api/v1/councils/NOR/plans"),
        ("get", "/api/v1/councils/NOR/people/MARY-86/plan"),
        ("get", "/api/v1/councils/NOR/people/MARY-86/plan/cost"),
    ]:
        assert getattr(client, method)(url).status_code == 401, url


def test_cost_a_plan_without_storing_it(staff_client, mary_data):
    response = post_json(staff_client, "/api/v1/plans/cost", mary_data)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("weekly_hours", "weekly_cost", "annual_cost_52_weeks", "period_cost", "budget", "headroom", "fits_budget")} == {
        "weekly_hours": "6.75", "weekly_cost": "84.38", "annual_cost_52_weeks": "4387.50",
        "period_cost": "4387.50", "budget": "4387.50", "headroom": "0.00", "fits_budget": True,
    }
    assert m.Person.objects.count() == 0


def test_import_then_reimport_then_export(staff_client, acme, mary_data):
    first = post_json(staff_client, "/api/v1/councils/NOR/plans", mary_data)
    assert first.status_code == 201, first.content
    assert first.json() == {"person_ref": "MARY-86", "version": 1, "effective_from": "2026-04-06", "outcome": "created"}
    again = post_json(staff_client, "/api/v1/councils/NOR/plans", mary_data)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    exported = staff_client.get("/api/v1/councils/NOR/people/MARY-86/plan")
    assert exported.status_code == 200 and exported.json()["budget"] == mary_data["budget"]
    cost = staff_client.get("/api/v1/councils/NOR/people/MARY-86/plan/cost").json()
    assert cost["period_cost"] == "4387.50" and cost["headroom"] == "0.00"
    people = staff_client.get("/api/v1/councils/NOR/people").json()
    assert people == [{"ref": "MARY-86", "given_name": "Mary", "family_name": "Example", "delivery_mechanism": "isf", "annual_budget": "4387.50"}]


def test_a_bad_plan_gets_every_problem_with_its_path(staff_client, acme, mary_data):
    mary_data["services"][0]["visits"][0]["days"] = ["MO", "XX"]
    mary_data["budget"]["annual_amount"] = "lots"
    response = post_json(staff_client, "/api/v1/councils/NOR/plans", mary_data)
    assert response.status_code == 422
    problems = {p["path"]: p["reason"] for p in response.json()["problems"]}
    assert set(problems) == {"$.services[0].visits[0].days[1]", "$.budget.annual_amount"}
    assert "XX" in problems["$.services[0].visits[0].days[1]"]
    assert m.Person.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"\xff\xfe\x00junk", b"[]", b"null", b'"text"', json.dumps({"format": "careledger/plan@1"}).encode()],
)
def test_junk_bodies_get_422_never_500(staff_client, acme, body):
    response = post_json(staff_client, "/api/v1/councils/NOR/plans", body)
    assert response.status_code == 422
    assert response.json()["problems"]


def test_another_councils_records_look_like_nothing(client, council, other_council, acme, mary_data, django_user_model):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    outsider = django_user_model.objects.create_user(username="south", password="a-long-test-password")
    Membership.objects.create(user=outsider, council=other_council, role=Membership.Role.COMMISSIONER)
    client.force_login(outsider)
    for url in ["/api/v1/councils/NOR/people", "/api/v1/councils/NOR/people/MARY-86/plan", "/api/v1/councils/NOR/people/MARY-86/plan/cost"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Mary" not in response.content and b"MARY" not in response.content
    assert post_json(client, "/api/v1/councils/NOR/plans", mary_data).status_code == 404
    assert client.get("/api/v1/councils").json() == [{"code": "SOU", "name": "Southshire Council"}]


def test_an_auditor_may_read_but_not_import(client, council, acme, mary_data, django_user_model):
    auditor = django_user_model.objects.create_user(username="auditor", password="a-long-test-password")
    Membership.objects.create(user=auditor, council=council, role=Membership.Role.AUDITOR)
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    client.force_login(auditor)
    assert client.get("/api/v1/councils/NOR/people/MARY-86/plan").status_code == 200
    assert post_json(client, "/api/v1/councils/NOR/plans", mary_data).status_code == 404


def test_unknown_person_is_404(staff_client, council):
    assert staff_client.get("/api/v1/councils/NOR/people/NOBODY/plan").status_code == 404


def test_admin_shows_only_the_users_councils(client, council, other_council, acme, mary_data, django_user_model):
    from django.contrib.auth.models import Permission

    services.plan_import(scope=Scope.system(council), raw=mary_data)
    outsider = django_user_model.objects.create_user(username="south", password="a-long-test-password", is_staff=True)
    outsider.user_permissions.set(Permission.objects.filter(content_type__app_label="records", codename__startswith="view_"))
    Membership.objects.create(user=outsider, council=other_council, role=Membership.Role.COUNCIL_ADMIN)
    client.force_login(outsider)
    listing = client.get("/admin/records/person/")
    assert listing.status_code == 200 and b"MARY-86" not in listing.content
    person = m.Person.objects.get()
    assert client.get(f"/admin/records/person/{person.pk}/change/").status_code in (302, 404)


def test_a_user_with_roles_in_two_councils_has_each_roles_reach_in_each(client, council, other_council, acme, mary_data, django_user_model):
    services.provider_create(scope=Scope.system(other_council), ref="ACME-CARE", name="Acme Care (south)")
    user = django_user_model.objects.create_user(username="both", password="a-long-test-password")
    Membership.objects.create(user=user, council=council, role=Membership.Role.COMMISSIONER)
    Membership.objects.create(user=user, council=other_council, role=Membership.Role.AUDITOR)
    client.force_login(user)
    assert sorted(c["code"] for c in client.get("/api/v1/councils").json()) == ["NOR", "SOU"]
    assert post_json(client, "/api/v1/councils/NOR/plans", mary_data).status_code == 201  # commissioner here
    assert post_json(client, "/api/v1/councils/SOU/plans", mary_data).status_code == 404  # auditor there: read only
    assert client.get("/api/v1/councils/SOU/audit").status_code == 200
    assert client.get("/api/v1/councils/NOR/audit").status_code == 404  # a commissioner does not read the trail
