"""Mary walked through her six-weekly reviews, a disputed visit settled with a credit, and a plan change.

The seed (``../shared/seeds/003_*``): Mary, 86, needs support to shower safely, to eat and drink
and take her medication; she prefers women carers and wants to know who is coming; she wants to
keep going to church; a six-weekly review is agreed. Her first six weeks of visits are those of
``tests/unit/test_status.py``. Each step is checked in the status ("working?") and the ledger.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from careledger.audit.models import AuditEntry
from careledger.formats.plan_file import plan_to_data
from careledger.ledger import selectors as ledger_selectors
from careledger.monitoring.services import package_view
from careledger.outcomes import selectors, services
from careledger.outcomes.models import Incident, Outcome, Rating, Review
from careledger.records import selectors as records_selectors
from careledger.records.errors import Conflict, InvalidInput, NotFound
from careledger.records.scoping import Scope
from tests.integration.test_status import mary_six_weeks  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

AGREED = date(2026, 4, 6)
WHO = "Mary, her son David, the council's social worker"
SEED_OUTCOMES = [
    ("shower", "Have a shower safely, with someone there", "personal_care"),
    ("eat-drink", "Eat properly and drink enough", "food_drink"),
    ("tablets", "Take my tablets at the right times", "safety"),
    ("know-who", "Know who is coming to help me, and have women carers", "control"),
]


def working(scope, as_of):
    return package_view(scope=scope, person_ref="MARY-86", as_of=as_of).status["working"]


def _person_scope(council, role, person, actor="user:99"):
    return Scope(council, actor, person_ids=frozenset({person.pk}), roles=frozenset({role}))


@pytest.fixture
def mary_agreed(mary_six_weeks):  # noqa: F811
    system = mary_six_weeks
    for ref, text, domain in SEED_OUTCOMES:
        services.outcome_record(scope=system, person_ref="MARY-86", ref=ref, text=text, domain=domain, agreed_on=AGREED,
                                agreed_by=WHO, baseline="some_needs")  # fmt: skip
    return system


def test_mary_two_reviews_a_disputed_visit_and_a_plan_change(mary_agreed, council):
    system = mary_agreed
    mary = council.people.get(ref="MARY-86")

    # Before the first review: her five outcomes (church from the plan, four agreed at the start),
    # nothing rated yet, the review due six weeks from 6 April.
    w = working(system, date(2026, 5, 17))
    assert (w["outcomes"], w["improving"], w["same"], w["worse"]) == (5, 0, 5, 0)
    assert (w["last_review"], w["next_review_due"], w["review_overdue"], w["rag"]) == (None, "2026-05-18", False, "green")
    late = working(system, date(2026, 5, 20))
    assert (late["review_overdue"], late["rag"]) == (True, "amber")
    assert late["reasons"] == ["The review due on 18 May 2026 is 2 days overdue."]
    assert [d.person_ref for d in selectors.reviews_due(scope=system, as_of=date(2026, 5, 20))] == ["MARY-86"]

    # Review 1 (18 May, at home): showering is better; the rest as before; church rated for the first time.
    first = services.review_record(
        scope=system, person_ref="MARY-86", held_on=date(2026, 5, 18), method="in_person",
        participants=["Mary", "David (son)", "Social worker"],
        ratings=[
            {"outcome": "church", "rating": "no_needs", "comment": "The carers get me ready in time"},
            {"outcome": "shower", "rating": "no_needs", "comment": "I feel safe in the shower now"},
            {"outcome": "eat-drink", "rating": "some_needs"},
            {"outcome": "tablets", "rating": "some_needs"},
            {"outcome": "know-who", "rating": "some_needs", "comment": "I don't always know who is coming"},
        ],
        domain_ratings_given={"occupation": "some_needs", "accommodation": "no_needs", "dignity": "some_needs"},
        comments="I like Ann. I'd like to know the rota a week ahead.", decisions="Agency to send Mary the weekly rota.",
    )  # fmt: skip
    assert first.due_on == date(2026, 5, 18)
    assert first.quality_of_life == 11  # 2 (social) + 2 (personal care) + 1 + 1 + 1 + 1 (occupation) + 2 (accommodation) + 1 (dignity)
    changes = {r.outcome.ref: (r.previous_level, r.level, r.change) for r in first.ratings.select_related("outcome")}
    assert changes == {
        "church": ("", "no_needs", ""), "shower": ("some_needs", "no_needs", "improving"),
        "eat-drink": ("some_needs", "some_needs", "same"), "tablets": ("some_needs", "some_needs", "same"),
        "know-who": ("some_needs", "some_needs", "same"),
    }  # fmt: skip
    assert Outcome.objects.get(person=mary, ref="church").source == "plan:v1"  # recorded from the plan when first rated
    w = working(system, date(2026, 5, 20))
    assert (w["outcomes"], w["improving"], w["same"], w["worse"]) == (5, 1, 4, 0)
    assert (w["last_review"], w["next_review_due"], w["review_overdue"], w["quality_of_life"], w["rag"]) == ("2026-05-18", "2026-06-29", False, 11, "green")
    assert selectors.reviews_due(scope=system, as_of=date(2026, 5, 20)) == []

    # Her son disputes a visit the agency says happened (Monday 4 May, 09:00, an hour): nobody came.
    son = _person_scope(council, "representative", mary, actor="user:42")
    dispute = services.incident_raise(
        scope=son, person_ref="MARY-86", kind="dispute", summary="Nobody came on Monday morning; Mum did not get her shower.",
        happened_on=date(2026, 5, 4), provider_ref="ACME-CARE", visit_refs=["V-0504-0900"],
    )  # fmt: skip
    assert (dispute.raised_as, dispute.parties, dispute.owner, dispute.status) == ("representative", ["council", "person", "provider"], "council", "open")
    assert [link.visit.ref for link in dispute.visit_links.all()] == ["V-0504-0900"]
    w = working(system, date(2026, 5, 20))
    assert (w["open_incidents"], w["rag"], w["reasons"][0]) == (1, "amber", "1 open incident.")
    with pytest.raises(NotFound):  # the son cannot settle it
        services.incident_settle(scope=son, incident_id=dispute.pk, resolution="agreed")

    spent_before = ledger_selectors.spent(mary, date(2026, 4, 6), date(2026, 5, 20))
    settled = services.incident_settle(
        scope=system, incident_id=dispute.pk, resolution="The agency could not show the carer's check-in; it credits the hour.",
        adjustment=Decimal("12.50"), adjustment_kind="refund", settled_on=date(2026, 5, 20),
    )  # fmt: skip
    assert (settled.status, settled.adjustment_amount, settled.ledger_source) == ("settled", Decimal("12.50"), f"incident:{dispute.pk}")
    lines = ledger_selectors.ledger_lines(scope=system, person_ref="MARY-86").lines
    credit = [line for line in lines if line.entry.source_ref == f"incident:{dispute.pk}"]
    assert [(c.entry.kind, c.entry.day, c.value) for c in credit] == [("refund", date(2026, 5, 20), Decimal("12.50"))]
    assert ledger_selectors.spent(mary, date(2026, 4, 6), date(2026, 5, 20)) == spent_before - Decimal("12.50")
    with pytest.raises(Conflict):  # settled once; the credit is posted once
        services.incident_settle(scope=system, incident_id=dispute.pk, resolution="again", adjustment="12.50", adjustment_kind="refund")
    w = working(system, date(2026, 5, 20))
    assert (w["open_incidents"], w["rag"]) == (0, "green")
    assert working(system, date(2026, 5, 10))["open_incidents"] == 1  # looking back: it was open then (raised about 4 May)

    # Review 2 (29 June, by phone): church is worse (the Sunday visit is too late to get ready), the shower is
    # ideal; dignity better. The review moves Sunday's morning visit to 08:30 for 45 minutes from 6 July.
    document = plan_to_data(records_selectors.plan_get(scope=system, person_ref="MARY-86"))
    visits = document["services"][0]["visits"]
    visits[1]["days"] = ["TU", "TH", "SA"]
    visits.append({"days": ["SU"], "start": "08:30", "minutes": 45})
    second = services.review_record(
        scope=system, person_ref="MARY-86", held_on=date(2026, 6, 29), method="phone", participants=["Mary", "David (son)", "Social worker"],
        ratings=[
            {"outcome": "church", "rating": "some_needs", "comment": "I missed church twice: they came too late to get me ready"},
            {"outcome": "shower", "rating": "ideal_state"},
            {"outcome": "eat-drink", "rating": "some_needs"},
            {"outcome": "tablets", "rating": "some_needs"},
            {"outcome": "know-who", "rating": "some_needs"},
        ],
        domain_ratings_given={"occupation": "some_needs", "accommodation": "no_needs", "dignity": "no_needs"},
        comments="Sundays are the problem.", decisions="Sunday morning visit at 08:30 for 45 minutes from 6 July.",
        plan=document, plan_effective_from=date(2026, 7, 6),
    )  # fmt: skip
    assert second.due_on == date(2026, 6, 29)
    assert second.quality_of_life == 12  # 1 + 3 + 1 + 1 + 1 + 1 + 2 + 2
    assert (second.plan_version.number, second.plan_version.effective_from) == (2, date(2026, 7, 6))
    w = working(system, date(2026, 6, 30))
    assert (w["outcomes"], w["improving"], w["same"], w["worse"]) == (5, 1, 3, 1)
    assert (w["last_review"], w["next_review_due"], w["quality_of_life"], w["rag"]) == ("2026-06-29", "2026-08-10", 12, "amber")
    assert w["reasons"] == ["1 of 5 outcomes got worse at the last review.", "Quality of life 12 out of 24 at the last review, from 11."]

    # The plan change: version 1 until 5 July, version 2 from 6 July. Sunday goes from 30 to 45 minutes:
    # 15 minutes more a week at £12.50 an hour, £3.125 a week for the 39 weeks from 6 July.
    cost = records_selectors.package_cost(scope=system, person_ref="MARY-86")
    assert cost.period_cost_all_versions == Decimal("4387.50") + 39 * Decimal("3.125")
    assert cost.cost.weekly_cost == Decimal("87.50")  # was 84.375
    july = package_view(scope=system, person_ref="MARY-86", as_of=date(2026, 7, 12))
    assert july.plan.services[0].visits[-1].minutes == 45
    # No visits were pushed after 17 May: the forecast is what was spent on visits (£479.17) less the £12.50
    # credited for the disputed visit (£466.67, as in the ledger) and the 38 weeks from 13 July to 4 April
    # 2027 at the new plan's £87.50 a week (£3,325.00).
    assert (july.status["affordable"]["spent"], july.status["affordable"]["forecast_year_end"]) == ("466.67", "3791.67")
    from careledger.ledger.services import ledger_sync

    ledger_sync(july)  # the stored ledger, brought up to the status's date, says the same
    from careledger.domain.money import round_money

    assert round_money(ledger_selectors.spent(mary, date(2026, 4, 6), date(2026, 7, 12))) == Decimal("466.67")
    # Everything written is in the audit trail.
    labels = set(AuditEntry.objects.filter(council_id=council.pk).values_list("model", flat=True))
    assert {"outcomes.outcome", "outcomes.review", "outcomes.rating", "outcomes.incident", "outcomes.incidentvisit", "ledger.ledgerentry",
            "records.planversion"} <= labels  # fmt: skip
    assert AuditEntry.objects.filter(model="outcomes.incident", object_id=str(dispute.pk), action="create", actor="user:42").exists()
    assert Review.objects.count() == 2 and Rating.objects.count() == 10 and Incident.objects.count() == 1


def test_reviews_refuse_bad_input_listing_every_problem(mary_agreed, council):
    system = mary_agreed
    with pytest.raises(InvalidInput) as refused:
        services.review_record(
            scope=system, person_ref="MARY-86", held_on=date(2026, 5, 18), method="telepathy", participants=[],
            ratings=[{"outcome": "church", "rating": "great"}, {"outcome": "golf", "rating": "no_needs"}],
        )  # fmt: skip
    message = str(refused.value)
    for part in ("method: 'telepathy'", "participants: say who took part", "ratings[0].rating: 'great' is not a rating",
                 "ratings[1].outcome: MARY-86 has no current outcome 'golf'", "not rated: eat-drink, know-who, shower, tablets"):  # fmt: skip
        assert part in message
    with pytest.raises(InvalidInput, match="held_on: 2099-01-01 is in the future"):
        services.review_record(scope=system, person_ref="MARY-86", held_on=date(2099, 1, 1), method="phone", participants=["Mary"], ratings=[])
    assert Review.objects.count() == 0 and Outcome.objects.filter(source__startswith="plan").count() == 0  # nothing written


def test_who_may_record_and_raise(mary_agreed, council):
    mary = council.people.get(ref="MARY-86")
    person = _person_scope(council, "person", mary)
    finance = Scope(council, "user:7", whole_council=True, roles=frozenset({"finance"}))
    auditor = Scope(council, "user:8", whole_council=True, roles=frozenset({"auditor"}))
    for scope in (person, finance, auditor):
        with pytest.raises(NotFound):
            services.outcome_record(scope=scope, person_ref="MARY-86", ref="x", text="x", domain="control", agreed_on=AGREED, agreed_by="x")
    with pytest.raises(NotFound):
        services.incident_raise(scope=auditor, person_ref="MARY-86", kind="other", summary="x", happened_on=AGREED)
    raised = services.incident_raise(scope=person, person_ref="MARY-86", kind="safeguarding", summary="Concern raised",
                                     happened_on=AGREED, safeguarding_link="https://council.example/safeguarding/123")  # fmt: skip
    # A safeguarding flag is for the council and whoever raised it.
    provider = Scope(council, "user:9", provider_ids=frozenset({mary.care_plan.versions.first().services.first().provider_id}), roles=frozenset({"provider"}))
    assert list(selectors.incident_list(scope=provider)) == []
    assert [i.pk for i in selectors.incident_list(scope=person)] == [raised.pk]
    assert [i.pk for i in selectors.incident_list(scope=finance)] == [raised.pk]
    assert package_view(scope=mary_agreed, person_ref="MARY-86", as_of=date(2026, 4, 20)).status["working"]["open_incidents"] == 0  # not counted
    with pytest.raises(InvalidInput, match="safeguarding_link"):
        services.incident_raise(scope=person, person_ref="MARY-86", kind="safeguarding", summary="x", happened_on=AGREED)
    with pytest.raises(InvalidInput, match="no visit NOPE"):
        services.incident_raise(scope=person, person_ref="MARY-86", kind="missed_visit", summary="x", happened_on=AGREED, visit_refs=["NOPE"])
    complaint = services.incident_raise(scope=provider, person_ref="MARY-86", kind="service_failure", summary="Carer off sick, visit covered late",
                                        happened_on=date(2026, 4, 14), visit_refs=["V-0414-0900"])  # fmt: skip
    assert (complaint.raised_as, complaint.provider.ref, complaint.owner) == ("provider", "ACME-CARE", "provider")
    assert Outcome.objects.filter(person=mary).count() == 4
    with pytest.raises(Conflict):
        services.outcome_record(scope=mary_agreed, person_ref="MARY-86", ref="shower", text="again", domain="control", agreed_on=AGREED, agreed_by="x")
    closed = services.incident_update(scope=finance, incident_id=complaint.pk, status="closed", note="Covered the same morning; no loss.")
    assert (closed.status, closed.resolution) == ("closed", "Covered the same morning; no loss.")


def test_value_for_money_puts_spend_beside_outcome_change(mary_agreed, council):
    system = mary_agreed
    services.review_record(
        scope=system, person_ref="MARY-86", held_on=date(2026, 5, 18), method="in_person", participants=["Mary"],
        ratings=[{"outcome": r, "rating": "no_needs"} for r in ("church", "shower", "eat-drink", "tablets", "know-who")],
        domain_ratings_given={"occupation": "some_needs", "accommodation": "no_needs", "dignity": "some_needs"},
    )  # fmt: skip
    mary = council.people.get(ref="MARY-86")
    spend = {mary.pk: selectors.PackageSpend(Decimal("4387.50"), Decimal("479.17"), "ACME-CARE", date(2026, 5, 17), "isf")}
    found = selectors.value_for_money(scope=system, spend=spend, as_of=date(2026, 5, 20))
    row = found["packages"][0]
    # Four outcomes from some needs to no needs; church has one rating only (nothing to compare yet).
    assert (row["outcomes"], row["rated"], row["improving"], row["same"], row["worse"]) == (5, 4, 4, 0, 0)
    assert (row["spent"], row["spent_per_improving_outcome"], row["quality_of_life_latest"]) == ("479.17", "119.79", 14)
    assert found["by_provider"]["ACME-CARE"]["spent_per_improving_outcome"] == "119.79"
    assert found["total"]["net_improving"] == 4
