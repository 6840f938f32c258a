"""plan_import: the service the CLI, the API and the demo all call."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from careledger.formats.plan_file import PlanFileError, plan_to_data
from careledger.records import models as m
from careledger.records import selectors, services
from careledger.records.errors import Conflict, InvalidInput, NotFound
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db

RECORD_MODELS = [m.Person, m.Budget, m.BudgetFunding, m.CarePlan, m.PlanVersion, m.PlannedService, m.VisitPattern, m.Outcome]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in RECORD_MODELS}


def test_mary_imports_and_exports_unchanged(council, acme, mary_data):
    result = services.plan_import(scope=Scope.system(council), raw=json.dumps(mary_data))
    assert (result.outcome, result.version_number, result.effective_from) == ("created", 1, date(2026, 4, 6))
    assert counts() == {
        "Person": 1, "Budget": 1, "BudgetFunding": 0, "CarePlan": 1, "PlanVersion": 1,
        "PlannedService": 1, "VisitPattern": 3, "Outcome": 1,
    }
    budget = m.Budget.objects.get()
    assert budget.annual_amount == Decimal("4387.50") and budget.delivery_mechanism == "isf"
    exported = plan_to_data(selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86"))
    assert exported["budget"] == mary_data["budget"]
    assert exported["services"][0]["visits"] == mary_data["services"][0]["visits"]
    assert exported["person"] == mary_data["person"]
    assert exported["outcomes"] == mary_data["outcomes"]


def test_reimporting_the_same_file_changes_nothing(council, acme, mary_data):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    before = counts()
    again = services.plan_import(scope=Scope.system(council), raw=json.dumps(mary_data, indent=4))
    assert again.outcome == "unchanged" and again.version_number == 1
    assert counts() == before


def test_a_changed_plan_is_a_new_version_and_the_old_one_stays_readable(council, acme, mary_data):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    mary_data["services"][0]["visits"][2]["minutes"] = 30  # evening call doubled
    result = services.plan_import(scope=Scope.system(council), raw=mary_data, effective_from=date(2026, 5, 18))
    assert (result.outcome, result.version_number) == ("changed", 2)
    old = selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86", as_of=date(2026, 5, 17))
    new = selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86", as_of=date(2026, 5, 18))
    assert old.services[0].visits[2].minutes == 15
    assert new.services[0].visits[2].minutes == 30
    assert m.PlanVersion.objects.count() == 2 and m.Budget.objects.count() == 1


def test_period_cost_prices_each_version_over_its_own_days(council, acme, mary_data):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    mary_data["services"][0]["visits"][2]["minutes"] = 30
    # 2026-05-18 is the start of week 7: six weeks at 405 min/week, then 46 weeks at 510 min/week.
    services.plan_import(scope=Scope.system(council), raw=mary_data, effective_from=date(2026, 5, 18))
    package = selectors.package_cost(scope=Scope.system(council), person_ref="MARY-86")
    expected = (Decimal(6 * 405) + Decimal(46 * 510)) * Decimal("12.50") / 60
    assert package.period_cost_all_versions == expected == Decimal("5393.75")
    assert package.headroom == Decimal("-1006.25")


def test_unknown_provider_is_refused_and_nothing_is_written(council, mary_data):
    with pytest.raises(PlanFileError) as raised:
        services.plan_import(scope=Scope.system(council), raw=mary_data)
    assert [(p.path, "not registered" in p.reason) for p in raised.value.problems] == [("$.services[0].provider", True)]
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_provider_of_another_council_does_not_count(council, other_council, mary_data):
    services.provider_create(scope=Scope.system(other_council), ref="ACME-CARE", name="Acme Care (south)")
    with pytest.raises(PlanFileError):
        services.plan_import(scope=Scope.system(council), raw=mary_data)
    assert m.Person.objects.count() == 0


def test_every_problem_is_listed_and_nothing_is_written(council, acme, mary_data):
    mary_data["services"][0]["visits"][0]["minutes"] = -60
    mary_data["services"][0]["visits"][1]["days"] = ["TU", "XX"]
    mary_data["budget"]["end_date"] = "2026-01-01"
    mary_data["services"][0]["visits"][2]["minutes"] = "fifteen"
    mary_data["services"][0]["provider"] = "NOBODY"
    with pytest.raises(PlanFileError) as raised:
        services.plan_import(scope=Scope.system(council), raw=mary_data)
    paths = {p.path for p in raised.value.problems}
    assert paths == {
        "$.services[0].visits[0].minutes",
        "$.services[0].visits[1].days[1]",
        "$.budget.end_date",
        "$.services[0].visits[2].minutes",
        "$.services[0].provider",
    }
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_change_cannot_be_backdated_before_the_current_version(council, acme, mary_data):
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    mary_data["services"][0]["visits"][2]["minutes"] = 30
    services.plan_import(scope=Scope.system(council), raw=mary_data, effective_from=date(2026, 6, 1))
    mary_data["services"][0]["visits"][2]["minutes"] = 45
    with pytest.raises(PlanFileError) as raised:
        services.plan_import(scope=Scope.system(council), raw=mary_data, effective_from=date(2026, 5, 1))
    assert raised.value.problems[0].path == "effective_from"
    with pytest.raises(PlanFileError):
        services.plan_import(scope=Scope.system(council), raw=mary_data, effective_from=date(2027, 6, 1))
    assert m.PlanVersion.objects.count() == 2


def test_funding_sources_are_stored(council, acme, mary_data):
    mary_data["budget"]["funding"] = [
        {"source": "council", "annual_amount": "2387.50"},
        {"source": "nhs_chc", "annual_amount": "2000.00"},
    ]
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    assert sorted(m.BudgetFunding.objects.values_list("source", "annual_amount")) == [
        ("council", Decimal("2387.50")),
        ("nhs_chc", Decimal("2000.00")),
    ]


def test_people_in_two_councils_may_share_a_reference(council, other_council, acme, mary_data):
    services.provider_create(scope=Scope.system(other_council), ref="ACME-CARE", name="Acme Care (south)")
    services.plan_import(scope=Scope.system(council), raw=mary_data)
    mary_data["person"]["given_name"] = "Maria"
    services.plan_import(scope=Scope.system(other_council), raw=mary_data)
    assert selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86").person.given_name == "Mary"
    assert selectors.plan_get(scope=Scope.system(other_council), person_ref="MARY-86").person.given_name == "Maria"


def test_council_and_provider_creation_refuse_duplicates_and_bad_codes(council, acme):
    with pytest.raises(Conflict):
        services.council_create(code="nor", name="Again")
    with pytest.raises(InvalidInput):
        services.council_create(code="no spaces", name="Bad")
    with pytest.raises(Conflict):
        services.provider_create(scope=Scope.system(council), ref="ACME-CARE", name="Again")
    with pytest.raises(InvalidInput):
        services.provider_create(scope=Scope.system(council), ref="has space", name="Bad")
    assert m.Contract.objects.filter(provider=acme).count() == 1


def test_council_resolve(db):
    with pytest.raises(NotFound):
        selectors.council_resolve(None)
    services.council_create(code="ONE", name="One")
    assert selectors.council_resolve(None).code == "ONE"
    services.council_create(code="TWO", name="Two")
    with pytest.raises(InvalidInput):
        selectors.council_resolve(None)
    assert selectors.council_resolve("TWO").name == "Two"
    with pytest.raises(NotFound):
        selectors.council_resolve("THREE")


def test_an_exported_plan_imports_back_as_unchanged(council, acme, mary_data):
    """Rates are stored with four places; the export writes them back as the file had them."""
    from careledger.formats.plan_file import dump_plan

    services.plan_import(scope=Scope.system(council), raw=mary_data)
    exported = dump_plan(selectors.plan_get(scope=Scope.system(council), person_ref="MARY-86"))
    assert '"standard": "12.50"' in exported
    again = services.plan_import(scope=Scope.system(council), raw=exported)
    assert again.outcome == "unchanged" and m.PlanVersion.objects.count() == 1


def test_a_new_contract_carries_the_default_monitoring_rules(acme):
    from careledger.domain.rules import DEFAULT_RULES
    from careledger.records.mapping import contract_rules

    contract = m.Contract.objects.get(provider=acme)
    assert contract_rules(contract) == DEFAULT_RULES
    contract.payment_basis, contract.rounding, contract.rounding_step_minutes = "actual", "up", 15
    assert contract_rules(contract).rounding_step_minutes == 15
