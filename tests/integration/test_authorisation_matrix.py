"""Who can reach what: every route, every role, in scope and out of scope.

The routes come from Django's URL configuration (and, for the API, the methods
from its OpenAPI document), so a new route fails ``test_every_route_is_in_the_matrix``
until someone decides who may use it. For each role the test calls each route on a
record in the role's scope, then on records of another council, another provider
and another person: in scope works; out of scope is 404 (or 401/403/302 for a
page), and the response carries none of the other record's data.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, timedelta
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from careledger.access.models import ApiToken, Membership, Role
from careledger.access.services import token_create
from careledger.api.routes import api
from careledger.records import services
from careledger.records.scoping import Scope
from tests.conftest import MARY_FILE

pytestmark = pytest.mark.django_db

STAFF = {"council_admin", "commissioner", "finance", "auditor"}
EVERYONE = STAFF | {"provider", "person", "representative", "council_token_read", "council_token_write", "provider_token"}
SESSION_ROLES = STAFF | {"provider", "person", "representative"}
TOKEN_ROLES = EVERYONE - SESSION_ROLES
PLAN_WRITERS = {"council_admin", "commissioner", "council_token_write"}
DELIVERY_WRITERS = {"council_admin", "commissioner", "provider", "council_token_write", "provider_token"}
ALERT_HANDLERS = {"council_admin", "commissioner", "finance"}
RUN_READERS = STAFF | {"provider", "council_token_read", "council_token_write", "provider_token"}
REVIEWERS = {"council_admin", "commissioner"}  # outcomes and reviews (#7)
INCIDENT_RAISERS = {"council_admin", "commissioner", "finance", "provider", "person", "representative"}


@dataclass(frozen=True)
class Rule:
    """Who may use a route, and which record (if any) its path names."""

    allowed: frozenset[str]
    target: str = ""  # "", "council", "person", "token" or "run": what the {placeholders} name
    ok: tuple[int, ...] = (200,)
    body: str = ""  # "plan", "token", "visits", "carers", "transactions" or "upload"
    public: bool = False  # a page anyone may open (it shows nothing private)
    notes: str = field(default="", compare=False)


def R(allowed, target="", ok=(200,), body="", public=False) -> Rule:
    return Rule(frozenset(allowed), target, ok, body, public)


# Every route, with who may use it. Admin pages are covered by test_admin_*.
MATRIX: dict[str, Rule] = {
    "GET /": R(EVERYONE, public=True),
    "POST /api/v1/plans/cost": R(EVERYONE, body="plan"),
    "GET /api/v1/councils": R(EVERYONE),
    "GET /api/v1/councils/{code}/people": R(EVERYONE, target="council"),
    "POST /api/v1/councils/{code}/plans": R(PLAN_WRITERS, target="council", ok=(200, 201), body="plan"),
    "GET /api/v1/councils/{code}/people/{person_ref}/plan": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/people/{person_ref}/plan/cost": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/tokens": R({"council_admin"}, target="council"),
    "POST /api/v1/councils/{code}/tokens": R({"council_admin"}, target="council", ok=(201,), body="token"),
    "DELETE /api/v1/councils/{code}/tokens/{token_id}": R({"council_admin"}, target="token"),
    "GET /api/v1/councils/{code}/audit": R({"council_admin", "auditor"}, target="council"),
    "POST /api/v1/councils/{code}/visits": R(DELIVERY_WRITERS, target="council", body="visits"),
    "POST /api/v1/councils/{code}/carers": R(DELIVERY_WRITERS, target="council", body="carers"),
    "POST /api/v1/councils/{code}/transactions": R(DELIVERY_WRITERS, target="council", body="transactions"),
    "POST /api/v1/councils/{code}/imports": R(DELIVERY_WRITERS, target="council", ok=(201,), body="upload"),
    "GET /api/v1/councils/{code}/imports": R(EVERYONE, target="council"),
    "GET /api/v1/councils/{code}/imports/{run_id}": R(RUN_READERS, target="run"),
    "GET /api/v1/councils/{code}/people/{person_ref}/delivery": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/people/{person_ref}/status": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/alerts": R(EVERYONE, target="council"),
    "GET /api/v1/councils/{code}/portfolio": R(EVERYONE, target="council"),
    "POST /api/v1/councils/{code}/alerts/{alert_id}/acknowledge": R(ALERT_HANDLERS, target="alert", body="note"),
    "POST /api/v1/councils/{code}/alerts/{alert_id}/resolve": R(ALERT_HANDLERS, target="alert", body="note"),
    # -- ledger and monitoring (#5)
    "GET /api/v1/councils/{code}/providers/metrics": R(EVERYONE, target="council"),  # a provider sees itself, a person none
    "GET /api/v1/councils/{code}/people/{person_ref}/ledger": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/people/{person_ref}/ledger/balance": R(EVERYONE, target="person"),
    "GET /api/v1/councils/{code}/people/{person_ref}/ledger/assertions": R(EVERYONE, target="person"),
    "POST /api/v1/councils/{code}/people/{person_ref}/ledger/adjustments": R(ALERT_HANDLERS, target="person", ok=(200, 201), body="adjustment"),
    # -- outcomes, reviews, incidents (#7)
    "GET /api/v1/councils/{code}/people/{person_ref}/outcomes": R(EVERYONE, target="person"),
    "POST /api/v1/councils/{code}/people/{person_ref}/outcomes": R(REVIEWERS, target="person", ok=(201,), body="outcome"),
    "POST /api/v1/councils/{code}/people/{person_ref}/outcomes/{outcome_ref}/status": R(REVIEWERS, target="person", body="outcome_status"),
    "GET /api/v1/councils/{code}/people/{person_ref}/reviews": R(EVERYONE, target="person"),
    "POST /api/v1/councils/{code}/people/{person_ref}/reviews": R(REVIEWERS, target="person", ok=(201,), body="review"),
    "GET /api/v1/councils/{code}/reviews/due": R(EVERYONE, target="council"),
    "GET /api/v1/councils/{code}/incidents": R(EVERYONE, target="council"),
    "POST /api/v1/councils/{code}/incidents": R(INCIDENT_RAISERS, target="council", ok=(201,), body="incident"),
    "GET /api/v1/councils/{code}/incidents/{incident_id}": R(EVERYONE, target="incident"),
    "POST /api/v1/councils/{code}/incidents/{incident_id}/update": R(ALERT_HANDLERS, target="incident", body="incident_update"),
    "POST /api/v1/councils/{code}/incidents/{incident_id}/settle": R(ALERT_HANDLERS, target="incident", body="incident_settle"),
    "GET /api/v1/councils/{code}/value-for-money": R(EVERYONE, target="council"),
    "GET /api/v1/councils/{code}/people/{person_ref}/value-for-money": R(EVERYONE, target="person"),
    # -- web pages (#6): a page answers 302 (to the sign-in page) to anyone not signed in
    "GET /councils/{code}/portfolio/": R(STAFF, target="council"),
    "GET /councils/{code}/alerts/{alert_id}/": R(STAFF, target="alert"),
    "GET /councils/{code}/people/{person_ref}/": R(STAFF | {"provider"}, target="person"),
    "GET /councils/{code}/people/{person_ref}/budget/": R(SESSION_ROLES, target="person"),
    # web pages (#6): the provider view, imports and tokens ({provider_ref} is ACME-CARE, Mary's provider)
    "GET /councils/{code}/provider/": R(STAFF | {"provider"}, target="council"),
    "GET /councils/{code}/providers/{provider_ref}/": R(STAFF | {"provider"}, target="council"),
    "GET /councils/{code}/providers/{provider_ref}/upload/": R({"council_admin", "commissioner", "provider"}, target="council"),
    "GET /councils/{code}/providers/{provider_ref}/tokens/": R({"council_admin", "provider"}, target="council"),
    "GET /councils/{code}/tokens/{token_id}/revoke/": R({"council_admin"}, target="token"),
    "GET /councils/{code}/imports/": R(STAFF | {"provider"}, target="council"),
    "GET /councils/{code}/imports/{run_id}/": R(STAFF | {"provider"}, target="run"),
    "GET /councils/{code}/finance/": R(STAFF, target="council"),
    "GET /councils/{code}/finance/people/{person_ref}/": R(STAFF, target="person"),
    "GET /councils/{code}/audit/": R({"council_admin", "auditor"}, target="council"),
    "GET /api/v1/openapi.json": R(EVERYONE, public=True),
    "GET /api/v1/docs": R(EVERYONE, public=True),
    "GET /api/v1/": R(EVERYONE, public=True),
}
PAGE_PREFIXES_PUBLIC = ("sign-in", "sign-out", "password-reset", "reset")  # account pages: no records in them


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _api_routes() -> set[str]:
    schema = api.get_openapi_schema()
    return {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}


def all_routes() -> tuple[set[str], set[str], set[str]]:
    """(API routes with methods, other page routes, admin routes) from the URL configuration."""
    pages, admin_routes, api_paths = set(), set(), set()
    for route in _walk(get_resolver().url_patterns):
        route = route.lstrip("^").rstrip("$")
        if route.startswith("admin/"):
            admin_routes.add(route)
        elif route.startswith("api/v1/"):
            api_paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
        else:
            pages.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))  # /councils/{code}/... as in MATRIX
    return api_paths, pages, admin_routes


def test_every_route_is_in_the_matrix():
    api_paths, pages, _ = all_routes()
    api_routes = _api_routes()
    # Every URL under /api/v1/ is an operation of the OpenAPI document (or the document and its docs).
    ninja_own = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/"}  # the document, its docs, Ninja's root
    assert {r.split(" ", 1)[1] for r in api_routes} | ninja_own >= api_paths
    assert all(f"GET {path}" in MATRIX for path in ninja_own)
    missing = sorted(r for r in api_routes if r not in MATRIX)
    assert not missing, f"routes with no rule in the authorisation matrix: {missing}"
    for page in pages:
        if page.startswith(PAGE_PREFIXES_PUBLIC) or page.startswith("static/"):
            continue
        assert f"GET /{page}" in MATRIX, f"page /{page} has no rule in the authorisation matrix"


# -- the world: two councils, two providers, three people, one login or token per role -----------


@pytest.fixture
def world(db, django_user_model):
    nor = services.council_create(code="NOR", name="Northshire")
    sou = services.council_create(code="SOU", name="Southshire")
    mary = json.loads(MARY_FILE.read_text())
    services.provider_create(scope=Scope.system(nor), ref="ACME-CARE", name="Acme")
    services.provider_create(scope=Scope.system(nor), ref="BETA-CARE", name="Beta")
    services.provider_create(scope=Scope.system(sou), ref="ACME-CARE", name="Acme South")
    services.plan_import(scope=Scope.system(nor), raw=mary)
    bob = json.loads(MARY_FILE.read_text())
    bob["person"].update(ref="BOB-1", given_name="Robert", family_name="Otherperson")
    bob["services"][0]["provider"] = "BETA-CARE"
    services.plan_import(scope=Scope.system(nor), raw=bob)
    sue = json.loads(MARY_FILE.read_text())
    sue["person"].update(ref="SUE-9", given_name="Susan", family_name="Southerner")
    services.plan_import(scope=Scope.system(sou), raw=sue)
    # Mary and Sue would share the provider ref in different councils: Sue's plan names SOU's ACME-CARE.

    clients: dict[str, Client] = {}
    mary_person = nor.people.get(ref="MARY-86")
    for role in SESSION_ROLES:
        user = django_user_model.objects.create_user(username=f"u-{role}", password="a-long-test-password")
        Membership.objects.create(
            user=user,
            council=nor,
            role=role,
            provider=nor.providers.get(ref="ACME-CARE") if role == Role.PROVIDER else None,
            person=mary_person if role in (Role.PERSON, Role.REPRESENTATIVE) else None,
        )
        client = Client()
        client.force_login(user)
        clients[role] = client
    tokens = {
        "council_token_read": token_create(scope=Scope.system(nor), name="read", access="read"),
        "council_token_write": token_create(scope=Scope.system(nor), name="write", access="write"),
        "provider_token": token_create(scope=Scope.system(nor), name="acme", access="write", provider_ref="ACME-CARE"),
    }
    for role, new in tokens.items():
        clients[role] = Client(headers={"Authorization": f"Bearer {new.secret}"})
    nor_token = token_create(scope=Scope.system(nor), name="victim", access="read").token
    sou_token = token_create(scope=Scope.system(sou), name="south", access="read").token
    import io

    from careledger.ingest.services import import_file

    acme = nor.providers.get(ref="ACME-CARE")
    as_acme = Scope(nor, "test", provider_ids=frozenset({acme.pk}), can_write_delivery=True)
    nor_run = import_file(scope=as_acme, kind="visits", stream=io.BytesIO(VISITS_CSV.encode()), source="acme.csv").run
    sou_visits = VISITS_CSV.replace("MARY-86", "SUE-9")
    sou_run = import_file(scope=Scope.system(sou), kind="visits", stream=io.BytesIO(sou_visits.encode()), source="SUE-9 visits.csv").run
    from careledger.monitoring.models import Alert

    def alert(council, ref):
        person = council.people.get(ref=ref)
        return Alert.objects.create(council=council, person=person, code="missed_visits", severity="high", cause="missed:2026-W17",
                                    message=f"{ref}: 2 visits missed", evidence=[ref], as_of="2026-04-26")  # fmt: skip

    nor_alert, sou_alert = alert(nor, "MARY-86"), alert(sou, "SUE-9")
    return {"clients": clients, "nor_token": nor_token, "sou_token": sou_token, "mary": mary, "nor_run": nor_run, "sou_run": sou_run,
            "nor_alert": nor_alert, "sou_alert": sou_alert}  # fmt: skip


VISITS_CSV = (
    "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
    "V1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:00,2026-04-06 10:00,completed\n"
)
BODIES = {
    "visits": {"items": [{"visit_ref": "P1", "person_ref": "MARY-86", "provider_ref": "ACME-CARE", "service_ref": "homecare", "planned_start": "2026-04-07 09:00", "planned_minutes": 30, "status": "missed"}]},
    "carers": {"items": [{"carer_ref": "C1", "provider_ref": "ACME-CARE", "gender": "female"}]},
    "transactions": {"items": [{"txn_ref": "T1", "account_ref": "DP-NONE", "date": "2026-04-07", "amount": "-1.00"}]},
}


_SEQ = itertools.count(1)
OUTCOME_BODIES = {  # (#7) each call gets its own number: outcome refs and review days are unique per person
    "outcome": lambda n: {"ref": f"walk-{n}", "text": "Walk to the shop", "domain": "control", "agreed_on": "2026-04-06", "agreed_by": "Mary"},
    "outcome_status": lambda n: {"status": "achieved", "on": "2026-05-01"},
    "review": lambda n: {"held_on": (date(2026, 5, 1) + timedelta(days=n)).isoformat(), "method": "phone", "participants": ["Mary"],
                         "ratings": [{"outcome": "church", "rating": "no_needs"}]},
    "incident": lambda n: {"person_ref": "MARY-86", "kind": "missed_visit", "summary": "Nobody came", "happened_on": "2026-04-06"},
    "incident_update": lambda n: {"status": "investigating", "note": "asked the agency"},
    "incident_settle": lambda n: {"resolution": "credit agreed", "adjustment": "12.50", "adjustment_kind": "refund", "settled_on": "2026-04-22"},
}  # fmt: skip


def _incident(world, code: str) -> int:
    from careledger.outcomes.services import incident_raise
    from careledger.records.models import Council

    if code == "SOU" and "sou_incident" in world:
        return world["sou_incident"]
    scope = Scope.system(Council.objects.get(code=code))
    person = "SUE-9" if code == "SOU" else "MARY-86"
    found = incident_raise(scope=scope, person_ref=person, kind="missed_visit", summary="Nobody came", happened_on=date(2026, 4, 6),
                           provider_ref="ACME-CARE").pk  # fmt: skip
    if code == "SOU":
        world["sou_incident"] = found
    return found


# In scope: Mary in NOR, whom every NOR role reaches. Out of scope, per role.
OTHER_COUNCIL = {"code": "SOU", "person_ref": "SUE-9"}
OTHER_PROVIDER_OR_PERSON = {"code": "NOR", "person_ref": "BOB-1"}  # Beta's client: not the ACME manager's, not Mary's
RESTRICTED = {"provider", "person", "representative", "provider_token"}
SECRET_WORDS = {"SUE-9": [b"SUE-9", b"Susan", b"Southerner"], "BOB-1": [b"BOB-1", b"Robert", b"Otherperson"]}


def _call(client: Client, method: str, path: str, rule: Rule, world, *, out: dict | None = None):
    values = {"code": "NOR", "person_ref": "MARY-86", "token_id": str(world["nor_token"].pk), "run_id": str(world["nor_run"].pk), "kind": "visits",
              "alert_id": str(world["nor_alert"].pk)}  # fmt: skip
    if out:
        values.update(out)
        if rule.target == "token":
            values["token_id"] = str(world["sou_token"].pk)
        if rule.target == "run":
            values["run_id"] = str(world["sou_run"].pk)
        if rule.target == "alert":
            values["alert_id"] = str(world["sou_alert"].pk)
    if rule.target == "incident":  # a fresh incident for each call in scope (one settles once); a fixed one in SOU
        values["incident_id"] = str(_incident(world, "SOU" if out else "NOR"))
    values["outcome_ref"] = "church"
    values["provider_ref"] = "ACME-CARE"  # web provider pages (#6)
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    kwargs = {}
    if rule.body == "plan":
        kwargs = {"data": json.dumps(world["mary"]), "content_type": "application/json"}
    elif rule.body == "token":
        kwargs = {"data": json.dumps({"name": "new", "access": "read"}), "content_type": "application/json"}
    elif rule.body == "note":
        kwargs = {"data": json.dumps({"note": "seen"}), "content_type": "application/json"}
    elif rule.body == "adjustment":
        body = {"day": "2026-04-22", "amount": "12.50", "kind": "refund", "memo": "agreed credit", "source_ref": "dispute:matrix"}
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    elif rule.body in OUTCOME_BODIES:
        kwargs = {"data": json.dumps(OUTCOME_BODIES[rule.body](next(_SEQ))), "content_type": "application/json"}
    elif rule.body in BODIES:
        kwargs = {"data": json.dumps(BODIES[rule.body]), "content_type": "application/json"}
    elif rule.body == "upload":
        from django.core.files.uploadedfile import SimpleUploadedFile

        kwargs = {"data": {"file": SimpleUploadedFile("v.csv", VISITS_CSV.encode(), content_type="text/csv")}}
        url += "?kind=visits"
    return getattr(client, method.lower())(url, **kwargs)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_each_role_reaches_only_its_own_records(world, route):
    rule = MATRIX[route]
    method, path = route.split(" ", 1)
    if rule.public and path != "/":
        return  # the OpenAPI document and docs: no records, checked in test_api
    for role, client in world["clients"].items():
        response = _call(client, method, path, rule, world)
        # A page is for signed-in users: an API token is no sign-in, so it is sent to the sign-in page.
        denied = (302,) if role in TOKEN_ROLES and not path.startswith("/api/") else (401, 403, 404)
        if role in rule.allowed:
            assert response.status_code in rule.ok, f"{role} {route}: {response.status_code} {response.content[:200]!r}"
        else:
            assert response.status_code in denied, f"{role} should not use {route}: {response.status_code}"
        if not rule.target:
            for words in SECRET_WORDS.values():
                if role in RESTRICTED or words[0] == b"SUE-9":
                    for word in words[:1] if rule.public else words:
                        assert word not in response.content or rule.public, f"{role} {route} leaks {word!r}"
            continue
        outs = [OTHER_COUNCIL] + ([OTHER_PROVIDER_OR_PERSON] if role in RESTRICTED and rule.target == "person" else [])
        if rule.target in ("run", "alert"):
            outs = [{"code": "SOU", "person_ref": "SUE-9"}]
        for out in outs:
            response = _call(client, method, path, rule, world, out=out)
            assert response.status_code in denied, f"{role} {route} out of scope {out}: {response.status_code}"
            for word in SECRET_WORDS[out["person_ref"]]:
                assert word not in response.content, f"{role} {route} leaks {word!r}"
        if rule.target == "council" and role in RESTRICTED and method == "GET" and response.status_code == 200:
            pass


@pytest.mark.parametrize("role", sorted(RESTRICTED))
def test_restricted_roles_list_only_their_people(world, role):
    response = world["clients"][role].get("/api/v1/councils/NOR/people")
    assert response.status_code == 200
    assert [p["ref"] for p in response.json()] == ["MARY-86"]


@pytest.mark.parametrize("role", sorted(STAFF | {"council_token_read", "council_token_write"}))
def test_council_wide_roles_list_the_whole_council_and_nothing_else(world, role):
    response = world["clients"][role].get("/api/v1/councils/NOR/people")
    assert sorted(p["ref"] for p in response.json()) == ["BOB-1", "MARY-86"]
    assert world["clients"][role].get("/api/v1/councils/SOU/people").status_code == 404


def test_a_read_token_cannot_write_and_a_revoked_token_is_refused(world):
    reader = world["clients"]["council_token_read"]
    assert reader.post("/api/v1/councils/NOR/plans", data=json.dumps(world["mary"]), content_type="application/json").status_code == 404
    token = ApiToken.objects.get(name="read")
    token.revoked_at = token.created_at
    token.save()
    assert reader.get("/api/v1/councils").status_code == 401


# -- the admin site: every registered model, for every role -----------------------------------


def test_admin_is_for_council_staff_only_and_shows_only_their_council(world):
    from django.contrib import admin
    from django.contrib.auth.models import Permission

    from careledger.records.models import Person

    sue = Person.objects.get(ref="SUE-9")
    for role, client in world["clients"].items():
        if role in STAFF:
            user = Membership.objects.get(role=role).user
            user.is_staff = True
            user.save()
            user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["records", "access"], codename__startswith="view_"))
        for model in admin.site._registry:
            meta = model._meta
            listing = client.get(f"/admin/{meta.app_label}/{meta.model_name}/")
            if role in STAFF and meta.app_label in ("records", "access"):
                assert listing.status_code == 200, (role, meta.label)
                assert b"SUE-9" not in listing.content and b"Southerner" not in listing.content and b"Southshire" not in listing.content
            elif role in STAFF:
                assert listing.status_code == 403, (role, meta.label)  # users and groups: no permission given
            else:
                assert listing.status_code == 302, (role, meta.label)  # to the sign-in page
        change = client.get(f"/admin/records/person/{sue.pk}/change/")
        assert change.status_code in (302, 404) and b"Southerner" not in change.content


def test_admin_forms_offer_only_the_users_councils_records(world):
    from django.contrib.auth.models import Permission

    user = Membership.objects.get(role="council_admin").user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["records", "access"]))
    client = world["clients"]["council_admin"]
    for url in ["/admin/records/contract/add/", "/admin/records/budget/add/", "/admin/access/membership/add/", "/admin/records/provider/add/"]:
        page = client.get(url)
        assert page.status_code == 200, url
        assert b"Acme South" not in page.content and b"Southshire" not in page.content, url
