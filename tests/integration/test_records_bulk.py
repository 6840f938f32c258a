"""records.bulk: every plan version of a council in a fixed number of queries, equal to the per-person path.

The per-person path is ``selectors.plan_versions(person=...)`` with ``mapping.version_to_domain`` and
``mapping.version_contract``; contracts are ``mapping.contract_rules`` and ``contract_thresholds``.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from careledger.domain.alerts import DEFAULT_THRESHOLDS
from careledger.domain.rules import DEFAULT_RULES
from careledger.records import models as m
from careledger.records import bulk, services
from careledger.records.bulk import ContractSettings, StoredVersion, contracts_by_id, versions_by_person
from careledger.records.mapping import contract_rules, contract_thresholds, version_contract, version_to_domain
from careledger.records.scoping import Scope
from careledger.records.selectors import plan_versions

pytestmark = pytest.mark.django_db

PROVIDERS = (("ACME-CARE", "Acme Care Ltd"), ("BETA-CARE", "Beta Homecare"), ("GAMMA-CARE", "Gamma Support"))
MANY = 12  # people besides the three built by hand

QUERIES = 5  # versions (with person and budget), services (with provider), visit patterns, outcomes, funding


def _mary_versions(system, mary_data) -> None:
    """Three versions; the second superseded on its own date by the third. Three services per version,
    not in ref order, by three providers; rrule and day patterns; two outcomes."""
    plan = copy.deepcopy(mary_data)
    plan["services"] = [
        {
            "ref": "zz-garden", "provider": "GAMMA-CARE", "service_component": "Garden and outings",
            "rates": {"standard": "10.00"},
            "visits": [{"days": ["SA"], "start": "14:00", "minutes": 90}],
        },
        plan["services"][0],
        {
            "ref": "a-sitting", "provider": "BETA-CARE",
            "rates": {"standard": "14.25", "weekend": "16.10", "bank_holiday": "28.50"},
            "visits": [
                {"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "start": "13:30", "minutes": 120},
                {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "start": "10:00", "minutes": 45},
                {"days": ["TU", "FR"], "start": "16:00", "minutes": 30},
            ],
        },
    ]  # fmt: skip
    plan["outcomes"].insert(0, {"ref": "walk", "text": "Walk to the shop with someone", "domain": "occupation"})
    services.plan_import(scope=system, raw=plan)
    plan["services"][1]["visits"][2]["minutes"] = 30
    services.plan_import(scope=system, raw=plan, effective_from=date(2026, 5, 18))
    plan["services"][2]["visits"][0]["rrule"] = "FREQ=WEEKLY;INTERVAL=3;BYDAY=TH"
    plan["person"]["preferences"] = {"known_carers_only": True}
    services.plan_import(scope=system, raw=plan, effective_from=date(2026, 5, 18))


def _bob(system, mary_data) -> None:
    """A direct payment with an account, three funding sources and three outcomes, no birth date."""
    plan = copy.deepcopy(mary_data)
    plan["person"] = {"ref": "BOB-1", "given_name": "Bob", "family_name": "Sample", "preferences": {"carer_gender": "male"}}
    plan["budget"].update(
        delivery_mechanism="direct_payment",
        account_ref="DP-0042",
        annual_amount="6000.00",
        weekly_contribution="12.40",
        funding=[
            {"source": "council", "annual_amount": "3000.00"},
            {"source": "nhs_chc", "annual_amount": "2000.00"},
            {"source": "section_117", "annual_amount": "1000.00"},
        ],
    )
    plan["services"][0].update(provider="BETA-CARE", rates={"standard": "13.00", "weekend": "15.00"})
    plan["outcomes"] = [
        {"ref": "wash", "text": "Have a bath twice a week", "domain": "personal_care"},
        {"ref": "cook", "text": "Cook Sunday lunch", "domain": "food_drink"},
        {"ref": "bills", "text": "Pay my own bills", "domain": "control"},
    ]
    del plan["review_every_weeks"]
    plan["contingency"] = ""
    services.plan_import(scope=system, raw=plan)


def _ann(system, mary_data) -> None:
    """A direct payment whose account ref is all digits (SQLite's JSON_EXTRACT would give a number)."""
    plan = copy.deepcopy(mary_data)
    plan["person"].update(ref="ANN-2", given_name="Ann", family_name="Other")
    plan["budget"].update(delivery_mechanism="direct_payment", account_ref="12345")
    services.plan_import(scope=system, raw=plan)


@pytest.fixture
def world(council, other_council, system, mary_data):
    for ref, name in PROVIDERS:
        services.provider_create(scope=system, ref=ref, name=name)
    _mary_versions(system, mary_data)
    _bob(system, mary_data)
    _ann(system, mary_data)
    for i in range(MANY):
        plan = copy.deepcopy(mary_data)
        plan["person"]["ref"] = f"P{i:03d}"
        plan["services"][0]["provider"] = PROVIDERS[i % 3][0]
        services.plan_import(scope=system, raw=plan)
    m.Person.objects.create(council=council, ref="NO-PLAN", given_name="No", family_name="Plan")

    # The garden service names no contract (it is Mary's first service: her contract is the next one's).
    m.PlannedService.objects.filter(ref="zz-garden").update(contract=None)
    # Positions not in id order: the prefetch orders patterns by position, so must the bulk path.
    for pattern in m.VisitPattern.objects.filter(service__ref="homecare", service__version__plan__person__ref="MARY-86"):
        m.VisitPattern.objects.filter(id=pattern.id).update(position=10 - pattern.position)
    # Funding rows not in source order (the prefetch gives them in database order: by id).
    budget = m.Budget.objects.get(person__ref="BOB-1")
    rows = list(budget.funding.order_by("-source").values_list("source", "annual_amount"))
    budget.funding.all().delete()
    m.BudgetFunding.objects.bulk_create(m.BudgetFunding(budget=budget, source=s, annual_amount=a) for s, a in rows)
    # A tuned contract: its own thresholds and rules.
    m.Contract.objects.filter(council=council, provider__ref="BETA-CARE").update(
        alert_thresholds={"missed_per_week": 1, "overspend_percent": "2.5", "max_carers_4_weeks": 6},
        match_window_minutes=90,
        late_after_minutes=15,
        short_below_percent=75,
        payment_basis="actual",
        rounding="up",
        rounding_step_minutes=15,
        dp_surplus_weeks=6,
    )

    south = Scope.system(other_council)
    services.provider_create(scope=south, ref="ACME-CARE", name="Acme Care (south)")
    services.plan_import(scope=south, raw=copy.deepcopy(mary_data))
    return council


def _person(ref: str, council) -> m.Person:
    return m.Person.objects.get(council=council, ref=ref)


def _assert_same(stored: list[StoredVersion], person: m.Person) -> None:
    expected = plan_versions(person=person)
    assert [(s.id, s.effective_from, s.number) for s in stored] == [(v.id, v.effective_from, v.number) for v in expected]
    for s, v in zip(stored, expected, strict=True):
        contract = version_contract(v)
        assert s.person_id == person.id
        assert s.budget_id == v.budget_id
        assert s.contract_id == (contract.id if contract is not None else None)
        assert s.plan == version_to_domain(v)


def test_every_version_equals_the_per_person_path(world):
    council = world
    got = versions_by_person(council_id=council.id)
    people = list(m.Person.objects.filter(council=council))
    assert len(people) == 3 + MANY + 1
    assert set(got) == {p.id for p in people if p.ref != "NO-PLAN"}
    for person in people:
        _assert_same(got.get(person.id, []), person)

    # What the comparison covered, so that it is not vacuous.
    mary = got[_person("MARY-86", council).id]
    assert [(v.number, v.effective_from) for v in mary] == [(1, date(2026, 4, 6)), (2, date(2026, 5, 18)), (3, date(2026, 5, 18))]
    latest = mary[-1].plan
    assert [s.ref for s in latest.services] == ["zz-garden", "homecare", "a-sitting"]
    assert [s.provider_ref for s in latest.services] == ["GAMMA-CARE", "ACME-CARE", "BETA-CARE"]
    assert [p.start.hour for p in latest.services[1].visits] == [19, 9, 9]  # positions reversed
    assert [p.rrule for p in latest.services[2].visits] == ["FREQ=WEEKLY;INTERVAL=3;BYDAY=TH", "FREQ=MONTHLY;BYMONTHDAY=1", None]
    assert latest.services[2].visits[2].days == ("TU", "FR")
    assert latest.services[2].rates.bank_holiday == Decimal("28.50")
    assert [o.ref for o in latest.outcomes] == ["walk", "church"]
    assert latest.person.preferences.known_carers_only and mary[0].plan.person.preferences.carer_gender == "female"
    assert latest.budget.account_ref is None
    acme = m.Contract.objects.get(council=council, provider__ref="ACME-CARE")
    assert {v.contract_id for v in mary} == {acme.id}  # the first service (GAMMA-CARE's) names no contract

    bob = got[_person("BOB-1", council).id]
    assert len(bob) == 1
    budget = bob[0].plan.budget
    assert budget.account_ref == "DP-0042" and budget.weekly_contribution == Decimal("12.40")
    assert [f.source.value for f in budget.funding] == ["section_117", "nhs_chc", "council"]
    assert [o.ref for o in bob[0].plan.outcomes] == ["wash", "cook", "bills"]
    assert bob[0].plan.person.birth_date is None and bob[0].plan.review_every_weeks is None
    assert got[_person("ANN-2", council).id][0].plan.budget.account_ref == "12345"


def test_another_councils_people_are_not_returned(world, other_council):
    council = world
    theirs = _person("MARY-86", other_council)
    assert theirs.id not in versions_by_person(council_id=council.id)
    assert versions_by_person(council_id=council.id, person_ids=[theirs.id]) == {}
    south = versions_by_person(council_id=other_council.id)
    assert list(south) == [theirs.id]
    _assert_same(south[theirs.id], theirs)


def test_only_the_people_asked_for(world):
    council = world
    mary, bob, no_plan = (_person(ref, council) for ref in ("MARY-86", "BOB-1", "NO-PLAN"))
    got = versions_by_person(council_id=council.id, person_ids={mary.id, bob.id, no_plan.id})
    assert set(got) == {mary.id, bob.id}
    _assert_same(got[mary.id], mary)
    _assert_same(got[bob.id], bob)
    assert versions_by_person(council_id=council.id, person_ids=[]) == {}


def test_a_long_list_of_people_loads_the_council_and_keeps_those_asked_for(world, monkeypatch, django_assert_num_queries):
    council = world
    monkeypatch.setattr(bulk, "MANY_IDS", 2)
    people = list(m.Person.objects.filter(council=council).order_by("id"))[:5]
    with django_assert_num_queries(QUERIES):
        got = versions_by_person(council_id=council.id, person_ids=[p.id for p in people])
    assert list(got) == [p.id for p in people]
    for person in people:
        _assert_same(got[person.id], person)
    contracts = list(m.Contract.objects.filter(council=council).values_list("id", flat=True))
    assert set(contracts_by_id(council_id=council.id, contract_ids=contracts)) == set(contracts)


def test_the_number_of_queries_does_not_grow_with_the_people(world, django_assert_num_queries):
    council = world
    mary = _person("MARY-86", council)
    with django_assert_num_queries(QUERIES):
        one = versions_by_person(council_id=council.id, person_ids=[mary.id])
    assert len(one[mary.id]) == 3
    with django_assert_num_queries(QUERIES):
        every = versions_by_person(council_id=council.id)
    assert len(every) == 3 + MANY
    ids = list(m.Person.objects.filter(council=council).values_list("id", flat=True))
    with django_assert_num_queries(QUERIES):
        assert len(versions_by_person(council_id=council.id, person_ids=ids)) == 3 + MANY
    no_plan = _person("NO-PLAN", council)
    with django_assert_num_queries(1):
        assert versions_by_person(council_id=council.id, person_ids=[no_plan.id]) == {}


def test_account_ref_is_read_from_the_versions_document_as_version_to_domain_reads_it(world):
    council = world
    documents = {
        "P000": lambda doc: doc["budget"].update(account_ref=None),  # a JSON null: None
        "P001": lambda doc: doc.pop("budget"),  # no budget at all: None
        "P002": lambda doc: doc["budget"].update(account_ref="null"),  # the text "null", not None
        "P003": lambda doc: doc["budget"].update(account_ref="007"),  # digits stay text, zeros kept
    }
    for ref, change in documents.items():
        version = m.PlanVersion.objects.get(plan__person__council=council, plan__person__ref=ref)
        document = copy.deepcopy(version.document)
        change(document)
        m.PlanVersion.objects.filter(id=version.id).update(document=document)
    got = versions_by_person(council_id=council.id)
    refs = {}
    for ref in documents:
        person = _person(ref, council)
        _assert_same(got[person.id], person)
        refs[ref] = got[person.id][0].plan.budget.account_ref
    assert refs == {"P000": None, "P001": None, "P002": "null", "P003": "007"}


def test_contract_settings_equal_the_per_contract_mapping(world, other_council, django_assert_num_queries):
    council = world
    contracts = list(m.Contract.objects.filter(council=council))
    assert len(contracts) == len(PROVIDERS)
    with django_assert_num_queries(1):
        got = contracts_by_id(council_id=council.id)
    assert set(got) == {c.id for c in contracts}
    for contract in contracts:
        assert got[contract.id] == ContractSettings(contract_rules(contract), contract_thresholds(contract))
    beta = next(c for c in contracts if c.provider.ref == "BETA-CARE")
    tuned = got[beta.id]
    assert tuned.rules != DEFAULT_RULES and tuned.thresholds != DEFAULT_THRESHOLDS
    assert (tuned.rules.match_window_minutes, tuned.rules.rounding, tuned.rules.payment_basis) == (90, "up", "actual")
    assert (tuned.thresholds.missed_per_week, tuned.thresholds.overspend_percent, tuned.thresholds.max_carers_4_weeks) == (1, Decimal("2.5"), 6)
    acme = next(c for c in contracts if c.provider.ref == "ACME-CARE")
    assert got[acme.id] == ContractSettings(DEFAULT_RULES, DEFAULT_THRESHOLDS)

    theirs = m.Contract.objects.get(council=other_council)
    with django_assert_num_queries(1):
        assert contracts_by_id(council_id=council.id, contract_ids=[beta.id, theirs.id]) == {beta.id: tuned}
    assert contracts_by_id(council_id=council.id, contract_ids=[]) == {}
    # The contracts versions_by_person names are all found.
    named = {v.contract_id for vs in versions_by_person(council_id=council.id).values() for v in vs} - {None}
    assert named <= set(contracts_by_id(council_id=council.id, contract_ids=named))
