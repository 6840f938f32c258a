"""The demo council: built through the services, repeatable, and idempotent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from careledger.access.models import Membership
from careledger.audit.models import AuditEntry
from careledger.demo.build import (
    COUNCIL_CODE,
    DEFAULT_PASSWORD,
    DEMO_USERNAME,
    MARY_PLAN,
    PROVIDERS,
    build_demo,
    generate_people,
)
from careledger.domain.plans import DeliveryMechanism
from careledger.formats.plan_file import parse_plan, plan_to_data
from careledger.records import models as m
from careledger.records import selectors
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db

MARY_FILE = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
SMALL = 40

RECORD_MODELS = [
    m.Council, Membership, m.Provider, m.Contract, m.Person, m.Representative, m.Budget, m.BudgetFunding,
    m.CarePlan, m.PlanVersion, m.PlannedService, m.VisitPattern, m.Outcome, AuditEntry,
]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in RECORD_MODELS}


def latest_budgets(council: m.Council) -> list[m.Budget]:
    return [m.PlanVersion.objects.filter(plan=plan).latest().budget for plan in m.CarePlan.objects.filter(council=council)]


@pytest.fixture
def small_demo(monkeypatch):
    monkeypatch.delenv("CARELEDGER_DEMO_PASSWORD", raising=False)
    return build_demo(people=SMALL, delivery=False)


def test_the_embedded_mary_is_the_example_file():
    assert MARY_PLAN == json.loads(MARY_FILE.read_text())


def test_builds_the_council_providers_people_and_plans(small_demo):
    council = m.Council.objects.get(code=COUNCIL_CODE)
    assert m.Person.objects.filter(council=council).count() == SMALL
    assert m.CarePlan.objects.filter(council=council).count() == SMALL
    assert m.Provider.objects.filter(council=council).count() == len(PROVIDERS) == 10
    assert m.Provider.objects.filter(council=council, ref="ACME-CARE").exists()
    assert m.Contract.objects.filter(council=council, weekend_rate__isnull=False).exists()
    assert m.Contract.objects.filter(council=council, bank_holiday_rate__isnull=False).exists()
    assert m.PlanVersion.objects.filter(plan__council=council).count() > SMALL  # some plans changed at a review
    assert m.Representative.objects.filter(person__council=council).exists()
    mechanisms = {b.delivery_mechanism for b in latest_budgets(council)}
    assert mechanisms == {mech.value for mech in DeliveryMechanism}
    assert set(m.PlanVersion.objects.values_list("created_by", flat=True)) == {"system:demo"}
    assert AuditEntry.objects.filter(actor="system:demo").exists()  # the builder's writes are on the trail
    assert (small_demo.people, small_demo.plans, small_demo.providers) == (SMALL, SMALL, 10)
    assert sum(small_demo.by_mechanism.values()) == SMALL


def mary_exported() -> dict:
    council = m.Council.objects.get(code=COUNCIL_CODE)
    return plan_to_data(selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86"))


def mary_from_file() -> dict:
    return plan_to_data(parse_plan(MARY_FILE.read_bytes()))


def rates_as_numbers(data: dict) -> dict:
    for service in data["services"]:
        service["rates"] = {kind: Decimal(rate) for kind, rate in service["rates"].items()}
    return data


def test_mary_is_there_exactly_as_in_the_example_file(small_demo):
    council = m.Council.objects.get(code=COUNCIL_CODE)
    budget = m.Budget.objects.get(person__council=council, person__ref="MARY-86")
    assert budget.annual_amount == Decimal("4387.50")
    version = m.PlanVersion.objects.get(plan__person__ref="MARY-86")
    assert version.document == mary_from_file()  # the plan as imported, to the character
    assert rates_as_numbers(mary_exported()) == rates_as_numbers(mary_from_file())
    son = m.Representative.objects.get(person__council=council, person__ref="MARY-86")
    assert son.relationship == "Son"


def test_mary_exports_character_for_character(small_demo):
    assert mary_exported() == mary_from_file()


def test_budgets_range_from_small_packages_to_24_hour_care(small_demo):
    amounts = sorted(b.annual_amount for b in latest_budgets(m.Council.objects.get(code=COUNCIL_CODE)))
    assert Decimal("2500") <= amounts[0] <= Decimal("5000")
    assert amounts[-1] >= Decimal("300000")
    assert small_demo.smallest == amounts[0] and small_demo.largest == amounts[-1]


def test_running_it_again_creates_and_changes_nothing(small_demo):
    before = counts()
    version_ids = sorted(m.PlanVersion.objects.values_list("id", flat=True))
    budgets = sorted(m.Budget.objects.values_list("id", "annual_amount", "delivery_mechanism"))
    password_hash = Membership.objects.get(user__username=DEMO_USERNAME).user.password
    again = build_demo(people=SMALL, delivery=False)
    assert counts() == before
    assert sorted(m.PlanVersion.objects.values_list("id", flat=True)) == version_ids
    assert sorted(m.Budget.objects.values_list("id", "annual_amount", "delivery_mechanism")) == budgets
    assert Membership.objects.get(user__username=DEMO_USERNAME).user.password == password_hash
    assert (again.people_created, again.versions_created, again.providers_created, again.left_as_found) == (0, 0, 0, [])
    assert "nothing added or changed" in again.describe("http://127.0.0.1:8000/")


def test_a_bigger_build_adds_only_the_new_people(small_demo):
    before = set(m.PlanVersion.objects.values_list("id", flat=True))
    bigger = build_demo(people=SMALL + 5, delivery=False)
    assert bigger.people == SMALL + 5 and bigger.people_created == 5 and bigger.left_as_found == []
    assert before <= set(m.PlanVersion.objects.values_list("id", flat=True))


def test_another_seed_leaves_what_is_there_alone(small_demo):
    before = counts()
    other = build_demo(seed=7, people=SMALL, delivery=False)
    assert counts() == before
    assert "MARY-86" not in other.left_as_found and len(other.left_as_found) == SMALL - 1
    assert "left as they are" in other.describe("http://127.0.0.1:8000/")


def test_the_password_can_be_set_from_the_environment(small_demo, monkeypatch, client):
    monkeypatch.setenv("CARELEDGER_DEMO_PASSWORD", "another-long-demo-password")
    summary = build_demo(people=SMALL, delivery=False)
    signed_in = client.post("/sign-in/", {"username": DEMO_USERNAME, "password": "another-long-demo-password"})
    assert signed_in.status_code == 302
    assert "another-long-demo-password" not in summary.describe("http://127.0.0.1:8000/")


def test_the_demo_login_reaches_the_admin(small_demo, client):
    user = Membership.objects.get(user__username=DEMO_USERNAME, role=Membership.Role.COUNCIL_ADMIN).user
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("records.view_planversion") and not user.has_perm("records.change_planversion")
    assert user.has_perm("records.change_person") and user.has_perm("records.add_budget")
    assert user.has_perm("access.view_membership") and not user.has_perm("access.add_apitoken")
    assert not any(perm.split(".")[1].startswith("delete_") for perm in user.get_all_permissions())
    # not client.login(): the lockout backend (django-axes) needs a request, so sign in as a browser does
    assert client.post("/sign-in/", {"username": DEMO_USERNAME, "password": DEFAULT_PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/records/person/?q=MARY-86")
    assert page.status_code == 200 and b"MARY-86" in page.content
    for listing in ("records/provider", "records/contract", "records/budget", "records/careplan", "records/planversion", "access/membership"):
        assert client.get(f"/admin/{listing}/").status_code == 200, listing
    mary = m.Person.objects.get(ref="MARY-86")
    assert client.get(f"/admin/records/person/{mary.pk}/change/").status_code == 200


def test_describe_says_what_to_open_and_how_to_sign_in(small_demo):
    text = small_demo.describe("http://127.0.0.1:8000/")
    for expected in (
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/api/v1/docs",
        "http://127.0.0.1:8000/api/v1/openapi.json",
        DEMO_USERNAME,
        DEFAULT_PASSWORD,
        "£4,387.50" if small_demo.smallest == Decimal("4387.50") else "£",
        "Direct payment",
    ):
        assert expected in text


def test_generation_is_repeatable_and_depends_on_the_seed():
    first = generate_people(2026, SMALL)
    assert first == generate_people(2026, SMALL)
    assert first != generate_people(7, SMALL)
    assert generate_people(2026, SMALL + 10)[:SMALL] == first  # a bigger build extends a smaller one
    assert first[0]["versions"][0]["plan"] == MARY_PLAN
    assert len({p["ref"] for p in first}) == SMALL


@pytest.mark.slow
def test_the_default_build_spreads_from_3k_to_over_300k():
    summary = build_demo(delivery=False)
    amounts = sorted(b.annual_amount for b in latest_budgets(m.Council.objects.get(code=COUNCIL_CODE)))
    assert len(amounts) == summary.people == 300
    assert amounts[0] < Decimal("5000")
    assert sum(1 for a in amounts if a >= Decimal("300000")) >= 2
    in_common_range = sum(1 for a in amounts if Decimal("5000") <= a <= Decimal("40000"))
    assert in_common_range > len(amounts) / 2  # most packages are modest; a long tail is not
    assert Decimal("8000") <= summary.median <= Decimal("30000")
    direct = summary.by_mechanism["direct_payment"] / summary.plans
    assert 0.18 <= direct <= 0.32
    assert m.PlanVersion.objects.filter(plan__council__code=COUNCIL_CODE).count() == 310  # ten plans changed at a review


def test_there_is_one_login_per_role_each_scoped(small_demo):
    from django.test import Client

    from careledger.demo.build import DEMO_LOGINS

    assert {login.role for login in DEMO_LOGINS} == set(Membership.Role.values)
    council = m.Council.objects.get(code=COUNCIL_CODE)
    everyone = set(council.people.values_list("ref", flat=True))
    acme_people = set(
        m.Person.objects.filter(council=council, care_plan__versions__services__provider__ref="ACME-CARE").values_list("ref", flat=True)
    )
    assert "MARY-86" in acme_people and acme_people < everyone
    expected = {
        "council_admin": everyone, "commissioner": everyone, "finance": everyone, "auditor": everyone,
        "provider": acme_people, "person": {"MARY-86"}, "representative": {"MARY-86"},
    }
    for login in DEMO_LOGINS:
        client = Client()
        signed_in = client.post("/sign-in/", {"username": login.username, "password": "careledger-demo"})
        assert signed_in.status_code == 302, login.username
        people = client.get(f"/api/v1/councils/{COUNCIL_CODE}/people")
        assert {p["ref"] for p in people.json()} == expected[login.role], login.username
        audit = client.get(f"/api/v1/councils/{COUNCIL_CODE}/audit?limit=1").status_code
        assert audit == (200 if login.role in ("council_admin", "auditor") else 404), login.username
        assert (client.get("/admin/records/person/").status_code == 200) == login.is_staff, login.username
