"""API tokens: made by a council administrator, shown once, stored hashed, scoped, rate-limited, revocable."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from careledger.access.models import ApiToken, Membership, hash_token
from careledger.audit.models import AuditEntry
from careledger.records import services
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(council, acme, django_user_model):
    user = django_user_model.objects.create_user(username="admin", password="a-long-test-password")
    Membership.objects.create(user=user, council=council, role=Membership.Role.COUNCIL_ADMIN)
    client = Client()
    client.force_login(user)
    return client


def make_token(client, **body) -> dict:
    response = client.post("/api/v1/councils/NOR/tokens", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_token_is_shown_once_and_stored_only_as_a_hash(admin_client):
    made = make_token(admin_client, name="Rostering export", access="write", provider_ref="ACME-CARE")
    secret = made["secret"]
    assert secret.startswith("cl_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=made["id"])
    assert stored.digest == hash_token(secret) and secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    listed = admin_client.get("/api/v1/councils/NOR/tokens").json()
    assert listed[0]["secret"] is None and listed[0]["prefix"] == secret[:10]
    assert all(secret not in json.dumps(e.after or {}) for e in AuditEntry.objects.all())


def test_a_token_works_records_its_use_and_its_last_use(admin_client, council, mary_data):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    secret = make_token(admin_client, name="Council BI", access="read")["secret"]
    caller = Client(headers={"Authorization": f"Bearer {secret}"})
    assert caller.get("/api/v1/councils/NOR/people/MARY-86/plan").status_code == 200
    token = ApiToken.objects.get(name="Council BI")
    assert token.last_used_at is not None
    uses = AuditEntry.objects.filter(action="token_use", object_id=str(token.pk))
    exports = AuditEntry.objects.filter(action="export", actor=f"token:{token.pk}")
    assert uses.count() == 1 and exports.count() == 1


def test_a_wrong_or_revoked_token_is_refused(admin_client):
    made = make_token(admin_client, name="Old system", access="read")
    caller = Client(headers={"Authorization": f"Bearer {made['secret']}"})
    assert Client(headers={"Authorization": "Bearer cl_not-a-real-token"}).get("/api/v1/councils").status_code == 401
    assert caller.get("/api/v1/councils").status_code == 200
    assert admin_client.delete(f"/api/v1/councils/NOR/tokens/{made['id']}").json()["revoked_at"]
    assert caller.get("/api/v1/councils").status_code == 401


def test_a_token_cannot_make_tokens(admin_client):
    secret = make_token(admin_client, name="Writer", access="write")["secret"]
    caller = Client(headers={"Authorization": f"Bearer {secret}"})
    response = caller.post("/api/v1/councils/NOR/tokens", data=json.dumps({"name": "x"}), content_type="application/json")
    assert response.status_code == 404


def test_a_provider_token_needs_a_provider_of_the_council(admin_client, other_council):
    response = admin_client.post(
        "/api/v1/councils/NOR/tokens", data=json.dumps({"name": "x", "provider_ref": "NOBODY"}), content_type="application/json"
    )
    assert response.status_code == 404
    bad_access = admin_client.post("/api/v1/councils/NOR/tokens", data=json.dumps({"name": "x", "access": "admin"}), content_type="application/json")
    assert bad_access.status_code == 400


@override_settings(CARELEDGER_API_RATE="5/m")
def test_requests_are_rate_limited_per_token(admin_client):
    cache.clear()
    first = Client(headers={"Authorization": f"Bearer {make_token(admin_client, name='one')['secret']}"})
    second = Client(headers={"Authorization": f"Bearer {make_token(admin_client, name='two')['secret']}"})
    statuses = [first.get("/api/v1/councils").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert second.get("/api/v1/councils").status_code == 200  # another token has its own allowance
    cache.clear()


def test_auditors_filter_the_trail_of_their_council_only(client, council, other_council, acme, mary_data, django_user_model):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    services.provider_create(scope=Scope.system(other_council), ref="SOUTH", name="South Care")
    auditor = django_user_model.objects.create_user(username="auditor", password="a-long-test-password")
    Membership.objects.create(user=auditor, council=council, role=Membership.Role.AUDITOR)
    client.force_login(auditor)
    entries = client.get("/api/v1/councils/NOR/audit").json()
    assert entries and all(e["seq"] for e in entries)
    assert not any("SOUTH" in json.dumps(e) for e in entries)
    people = client.get("/api/v1/councils/NOR/audit?model=records.person&action=create").json()
    assert [e["after"]["ref"] for e in people] == ["MARY-86"]
    assert client.get("/api/v1/councils/SOU/audit").status_code == 404
