"""Every package's "working?" at once: ``review_states`` is ``review_state`` for each person, in a fixed number of queries.

The people here have the histories that make the per-person reading subtle: no outcomes at all,
outcomes only from the plan (and from a later plan version), recorded outcomes rated better,
the same and worse, one ended and one achieved later, reviews with and without a score,
incidents open, settled, settled after the date asked about, and a safeguarding flag, and a
direct payment's cadence. Each is compared, at dates before, between and after the reviews, with
``review_state`` and with the per-person queries ``review_state`` ran before it was set-based
(copied below as the reference).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import pytest
from django.db.models import Q

from careledger.domain.outcomes import Level, count_changes, next_review_due
from careledger.domain.plans import AscotDomain
from careledger.domain.status import ReviewState
from careledger.outcomes import selectors, services
from careledger.outcomes.models import Incident, Outcome, Rating, Review
from careledger.records import services as records
from careledger.records.mapping import version_to_domain
from careledger.records.models import Outcome as PlanOutcome
from careledger.records.models import Person, PlanVersion
from careledger.records.scoping import Scope
from careledger.records.selectors import plan_version_at

pytestmark = pytest.mark.django_db

START = date(2026, 4, 6)  # every budget here starts on Mary's date
AS_OF_DATES = [
    date(2026, 4, 1),  # before any plan is in force
    date(2026, 5, 1),  # before the first review
    date(2026, 5, 18),  # the day of the first reviews
    date(2026, 6, 10),  # between reviews (and the day before a plan change)
    date(2026, 6, 15),  # a plan change in force
    date(2026, 7, 20),  # after the second reviews; an incident not yet settled
    date(2026, 8, 1),  # the day it is settled, and two plan versions in force from the same day
    date(2026, 9, 30),  # after everything
]
ALL_DOMAINS = {d.value: "some_needs" for d in AscotDomain}


# -- the reference: the per-person queries review_state and person_outcomes ran before (unchanged) ------


def _reference_outcomes(person: Person, as_of: date, include_ended: bool = False) -> list[selectors.OutcomeView]:
    records_ = list(Outcome.objects.filter(person=person, agreed_on__lte=as_of).order_by("agreed_on", "id"))
    by_record: dict[int, list[tuple[date, Level]]] = defaultdict(list)
    for outcome_id, held_on, level in (
        Rating.objects.filter(outcome__person=person, review__held_on__lte=as_of).order_by("review__held_on", "id").values_list("outcome_id", "review__held_on", "level")
    ):
        by_record[outcome_id].append((held_on, Level(level)))
    views = []
    for r in records_:
        ended = r.status == Outcome.Status.ENDED and (r.ended_on is None or r.ended_on <= as_of)
        if ended and not include_ended:
            continue
        status = r.status if r.ended_on is None or r.ended_on <= as_of else Outcome.Status.ACTIVE
        views.append(
            selectors.OutcomeView(r.ref, r.text, AscotDomain(r.domain), r.agreed_on, r.agreed_by, status, r.source,
                                  Level(r.baseline) if r.baseline else None, r.pk, tuple(by_record.get(r.pk, ())))  # fmt: skip
        )
    known = {r.ref for r in records_} | set(Outcome.objects.filter(person=person).values_list("ref", flat=True))
    versions = list(PlanVersion.objects.filter(plan__person=person, effective_from__lte=as_of).order_by("effective_from", "number").values("id", "number", "effective_from"))
    if not versions:
        return views
    current = versions[-1]
    first_seen: dict[str, tuple[date, int]] = {}
    for ref, effective_from, number in (
        PlanOutcome.objects.filter(version__plan__person=person, version__effective_from__lte=as_of)
        .order_by("version__effective_from", "version__number", "id")
        .values_list("ref", "version__effective_from", "version__number")
    ):
        first_seen.setdefault(ref, (effective_from, number))
    for o in PlanOutcome.objects.filter(version_id=current["id"]).order_by("id"):
        if o.ref in known:
            continue
        agreed_on, number = first_seen.get(o.ref, (current["effective_from"], current["number"]))
        views.append(selectors.OutcomeView(o.ref, o.text, AscotDomain(o.domain), agreed_on, f"care plan version {number}", "active", f"plan:v{number}"))
    return views


def _reference_state(person: Person, plan, as_of: date) -> ReviewState:
    outcomes = _reference_outcomes(person, as_of)
    counts = count_changes(o.change for o in outcomes)
    reviews = list(Review.objects.filter(person=person, held_on__lte=as_of).order_by("held_on").values_list("held_on", "quality_of_life"))
    last = reviews[-1][0] if reviews else None
    scores = [score for _, score in reviews if score is not None]
    incidents = (
        Incident.objects.filter(person=person, happened_on__lte=as_of)
        .exclude(kind=Incident.Kind.SAFEGUARDING)
        .filter(Q(status__in=Incident.OPEN_STATUSES) | Q(settled_on__gt=as_of))
        .count()
    )
    return ReviewState(
        outcomes=len(outcomes), improving=counts["improving"], same=counts["same"], worse=counts["worse"], last_review=last,
        next_review_due=next_review_due(start=plan.budget.start_date, cadence=selectors.cadence_for(plan), last_review=last),
        open_incidents=incidents, quality_of_life=scores[-1] if scores else None, quality_of_life_before=scores[-2] if len(scores) >= 2 else None,
    )  # fmt: skip


# -- the people ---------------------------------------------------------------------------------


def _plan(mary_data: dict, ref: str, *, outcomes=None, mechanism: str = "isf", weeks: int | None = 6) -> dict:
    plan = json.loads(json.dumps(mary_data))
    plan["person"]["ref"] = ref
    plan["budget"]["delivery_mechanism"] = mechanism
    if outcomes is None:
        plan.pop("outcomes", None)
    else:
        plan["outcomes"] = outcomes
    if weeks is None:
        plan.pop("review_every_weeks", None)
    else:
        plan["review_every_weeks"] = weeks
    return plan


CHURCH = {"ref": "church", "text": "Keep going to church on Sundays", "domain": "social_participation"}
GARDEN = {"ref": "garden", "text": "Sit in the garden when it's warm", "domain": "occupation"}
WALK = {"ref": "walk", "text": "Walk to the shop", "domain": "occupation"}


def _review(scope, ref, held_on, ratings, *, scored=False, **extra):
    return services.review_record(
        scope=scope, person_ref=ref, held_on=held_on, method="in_person", participants=["the person", "the social worker"],
        ratings=[{"outcome": o, "rating": level} for o, level in ratings.items()],
        domain_ratings_given=ALL_DOMAINS if scored else None, **extra,
    )  # fmt: skip


@pytest.fixture
def people(system, acme, mary_data, council):
    s = system
    # No outcomes, no reviews, a plan with no review cadence (at least yearly).
    records.plan_import(scope=s, raw=_plan(mary_data, "NONE-1", weeks=None))
    # Outcomes from the plan only, never recorded: church from v1, garden added by v2 (1 June) and walk by v3 (1 August),
    # which drops church; v4, the same day as v3, changes walk's words (v4 is the one in force).
    records.plan_import(scope=s, raw=_plan(mary_data, "PLAN-1", outcomes=[CHURCH]))
    records.plan_import(scope=s, raw=_plan(mary_data, "PLAN-1", outcomes=[CHURCH, GARDEN]), effective_from=date(2026, 6, 1))
    records.plan_import(scope=s, raw=_plan(mary_data, "PLAN-1", outcomes=[GARDEN, WALK]), effective_from=date(2026, 8, 1))
    records.plan_import(scope=s, raw=_plan(mary_data, "PLAN-1", outcomes=[GARDEN, {**WALK, "text": "Walk to the shop and back"}]),
                        effective_from=date(2026, 8, 1))  # fmt: skip

    # Recorded outcomes rated better, the same and worse; one ended, one achieved later; one agreed after the first review.
    records.plan_import(scope=s, raw=_plan(mary_data, "RATED-1", outcomes=[CHURCH]))
    for oref, domain, baseline in (("shower", "personal_care", "some_needs"), ("tablets", "safety", "no_needs"),
                                   ("eat", "food_drink", "high_needs"), ("know-who", "control", "")):  # fmt: skip
        services.outcome_record(scope=s, person_ref="RATED-1", ref=oref, text=f"My {oref}", domain=domain, agreed_on=START,
                                agreed_by="me and my daughter", baseline=baseline or None)  # fmt: skip
    _review(s, "RATED-1", date(2026, 5, 18), {"church": "no_needs", "shower": "no_needs", "tablets": "some_needs", "eat": "high_needs",
                                              "know-who": "some_needs"}, scored=True)  # fmt: skip
    services.outcome_close(scope=s, person_ref="RATED-1", ref="eat", status="ended", on=date(2026, 6, 1))
    services.outcome_close(scope=s, person_ref="RATED-1", ref="know-who", status="achieved", on=date(2026, 7, 1))
    services.outcome_record(scope=s, person_ref="RATED-1", ref="phone", text="Ring my sister", domain="social_participation",
                            agreed_on=date(2026, 6, 12), agreed_by="me")  # fmt: skip
    changed = _plan(mary_data, "RATED-1", outcomes=[CHURCH, GARDEN])
    _review(s, "RATED-1", date(2026, 6, 29), {"church": "some_needs", "shower": "ideal_state", "tablets": "some_needs", "phone": "no_needs",
                                              "know-who": "some_needs"}, plan=changed, plan_effective_from=date(2026, 7, 6))  # fmt: skip
    _review(s, "RATED-1", date(2026, 8, 10), {"church": "some_needs", "shower": "no_needs", "tablets": "high_needs", "phone": "no_needs",
                                              "know-who": "some_needs", "garden": "high_needs"}, scored=True)  # fmt: skip

    # Incidents: open, being looked into, settled, settled after a date asked about, and a safeguarding flag.
    records.plan_import(scope=s, raw=_plan(mary_data, "INC-1", outcomes=[CHURCH], weeks=4))
    raise_ = lambda kind, day, **kw: services.incident_raise(scope=s, person_ref="INC-1", kind=kind, summary="It happened", happened_on=day, **kw).pk  # noqa: E731
    raise_("missed_visit", date(2026, 4, 20))  # open
    services.incident_update(scope=s, incident_id=raise_("late_visit", date(2026, 5, 1)), status="investigating")
    services.incident_settle(scope=s, incident_id=raise_("dispute", date(2026, 5, 4), provider_ref="ACME-CARE"), resolution="agreed",
                             settled_on=date(2026, 5, 10))  # fmt: skip
    services.incident_settle(scope=s, incident_id=raise_("service_failure", date(2026, 6, 1)), resolution="fixed", settled_on=date(2026, 8, 1))
    raise_("safeguarding", date(2026, 5, 2), safeguarding_link="https://council.example/case/1")
    _review(s, "INC-1", date(2026, 5, 18), {"church": "some_needs"})  # not scored

    # A direct payment (first review within six months, then every 52 weeks), reviewed once with a score, once without.
    records.plan_import(scope=s, raw=_plan(mary_data, "DP-1", outcomes=[CHURCH], mechanism="direct_payment", weeks=52))
    services.outcome_record(scope=s, person_ref="DP-1", ref="pa", text="Choose my own assistants", domain="control", agreed_on=START,
                            agreed_by="me", baseline="high_needs")  # fmt: skip
    _review(s, "DP-1", date(2026, 6, 1), {"church": "some_needs", "pa": "some_needs"}, scored=True)
    _review(s, "DP-1", date(2026, 7, 20), {"church": "some_needs", "pa": "some_needs"})

    # Mary's plan has church; it is recorded directly as agreed on 20 June: before then it is in neither list.
    records.plan_import(scope=s, raw=mary_data)
    services.outcome_record(scope=s, person_ref="MARY-86", ref="church", text="Church on Sundays", domain="social_participation",
                            agreed_on=date(2026, 6, 20), agreed_by="Mary")  # fmt: skip
    return {p.ref: p for p in Person.objects.filter(council=council)}


def _plans(people: dict[str, Person], as_of: date) -> dict[int, object]:
    """The plan version in force for each person (the first version before any is in force)."""
    return {p.pk: version_to_domain(plan_version_at(person=p, as_of=max(as_of, START))) for p in people.values()}


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_review_states_are_each_persons_review_state(people, council, as_of):
    plans = _plans(people, as_of)
    by_id = {p.pk: p for p in people.values()}
    bulk = selectors.review_states(council_id=council.pk, plans=plans, as_of=as_of)
    assert list(bulk) == list(plans)
    assert bulk == {pid: selectors.review_state(person=by_id[pid], plan=plan, as_of=as_of) for pid, plan in plans.items()}
    assert bulk == {pid: _reference_state(by_id[pid], plan, as_of) for pid, plan in plans.items()}
    for person in people.values():
        for include_ended in (False, True):
            assert selectors.person_outcomes(person=person, as_of=as_of, include_ended=include_ended) == _reference_outcomes(person, as_of, include_ended)


def test_the_histories_read_as_worked_out_by_hand(people, council):
    def state(ref, as_of):
        return selectors.review_states(council_id=council.pk, plans=_plans(people, as_of), as_of=as_of)[people[ref].pk]

    def outcomes(ref, as_of):
        return {o.ref: (o.agreed_on, o.agreed_by, o.status, o.latest) for o in selectors.person_outcomes(person=people[ref], as_of=as_of)}

    assert state("NONE-1", date(2026, 9, 30)) == ReviewState(next_review_due=date(2027, 4, 6))  # at least yearly
    assert outcomes("MARY-86", date(2026, 6, 19)) == {}
    assert outcomes("MARY-86", date(2026, 6, 20)) == {"church": (date(2026, 6, 20), "Mary", "active", None)}
    # Plan outcomes: each agreed with the first version that has it; church gone once v3 drops it.
    v1, v2, v3 = "care plan version 1", "care plan version 2", "care plan version 3"
    assert outcomes("PLAN-1", date(2026, 4, 1)) == {}
    assert outcomes("PLAN-1", date(2026, 5, 1)) == {"church": (START, v1, "active", None)}
    assert outcomes("PLAN-1", date(2026, 6, 15)) == {"church": (START, v1, "active", None), "garden": (date(2026, 6, 1), v2, "active", None)}
    assert outcomes("PLAN-1", date(2026, 9, 30)) == {"garden": (date(2026, 6, 1), v2, "active", None), "walk": (date(2026, 8, 1), v3, "active", None)}
    assert [o.text for o in selectors.person_outcomes(person=people["PLAN-1"], as_of=date(2026, 9, 30))] == [GARDEN["text"], "Walk to the shop and back"]
    assert (state("PLAN-1", date(2026, 9, 30)).outcomes, state("PLAN-1", date(2026, 9, 30)).same) == (2, 2)

    # RATED-1 before the first review: 5 outcomes (4 recorded, church from the plan); none rated.
    assert state("RATED-1", date(2026, 5, 1)) == ReviewState(outcomes=5, same=5, next_review_due=date(2026, 5, 18))
    # On it: shower better, tablets worse, eat the same, know-who and church rated for the first time (same); scored 8 x 1.
    assert state("RATED-1", date(2026, 5, 18)) == ReviewState(outcomes=5, improving=1, same=3, worse=1, last_review=date(2026, 5, 18),
                                                              next_review_due=date(2026, 6, 29), quality_of_life=8)  # fmt: skip
    # 15 June: eat ended on 1 June (left out), phone agreed on 12 June; know-who achieved only from 1 July (active).
    june = outcomes("RATED-1", date(2026, 6, 15))
    assert sorted(june) == ["church", "know-who", "phone", "shower", "tablets"] and june["know-who"][2] == "active"
    assert outcomes("RATED-1", date(2026, 7, 20))["know-who"][2] == "achieved"
    assert "phone" not in outcomes("RATED-1", date(2026, 6, 10))
    # After the third review: church same, shower worse (ideal -> no needs), tablets worse, garden first rated; scores 8 then 8.
    late = state("RATED-1", date(2026, 9, 30))
    assert (late.outcomes, late.improving, late.same, late.worse) == (6, 0, 4, 2)
    assert (late.last_review, late.quality_of_life, late.quality_of_life_before) == (date(2026, 8, 10), 8, 8)

    # INC-1: the safeguarding flag never counts; the one settled on 1 August is open before then.
    assert state("INC-1", date(2026, 5, 1)).open_incidents == 2  # missed (20 April), late (1 May)
    assert state("INC-1", date(2026, 5, 5)).open_incidents == 3  # and the dispute, settled on 10 May
    assert state("INC-1", date(2026, 7, 20)).open_incidents == 3  # missed, late, service failure (settled 1 August)
    assert state("INC-1", date(2026, 7, 31)).open_incidents == 3
    assert state("INC-1", date(2026, 8, 1)).open_incidents == 2  # settled that day
    assert state("INC-1", date(2026, 9, 30)).open_incidents == 2
    assert state("INC-1", date(2026, 5, 18)).quality_of_life is None  # the review did not rate all eight domains
    # The direct payment: first review within six months, then every 52 weeks; the unscored review keeps the earlier score.
    assert state("DP-1", date(2026, 5, 1)).next_review_due == date(2026, 10, 6)
    assert (state("DP-1", date(2026, 6, 15)).improving, state("DP-1", date(2026, 6, 15)).quality_of_life) == (1, 8)
    dp = state("DP-1", date(2026, 9, 30))
    assert (dp.last_review, dp.next_review_due, dp.quality_of_life, dp.quality_of_life_before, dp.improving, dp.same) == (
        date(2026, 7, 20), date(2027, 7, 19), 8, None, 0, 2)  # fmt: skip


def test_a_fixed_number_of_queries_whatever_the_number_of_people(people, council, django_assert_num_queries):
    as_of = date(2026, 9, 30)
    plans = _plans(people, as_of)
    one = dict(list(plans.items())[:1])
    with django_assert_num_queries(6):
        selectors.review_states(council_id=council.pk, plans=one, as_of=as_of)
    with django_assert_num_queries(6):
        selectors.review_states(council_id=council.pk, plans=plans, as_of=as_of)
    with django_assert_num_queries(6):  # one person's review_state is the same six queries
        selectors.review_state(person=people["RATED-1"], plan=plans[people["RATED-1"].pk], as_of=as_of)
    with django_assert_num_queries(4):
        selectors.person_outcomes(person=people["RATED-1"], as_of=as_of)
    with django_assert_num_queries(0):
        assert selectors.review_states(council_id=council.pk, plans={}, as_of=as_of) == {}


def test_only_the_councils_rows_are_read(people, council, other_council, mary_data):
    as_of = date(2026, 9, 30)
    plans = _plans(people, as_of)
    rated = people["RATED-1"]
    # The same person ids asked about for another council: nothing of NOR's is read.
    elsewhere = selectors.review_states(council_id=other_council.pk, plans=plans, as_of=as_of)
    assert elsewhere[rated.pk] == ReviewState(next_review_due=next_review_due(start=START, cadence=selectors.cadence_for(plans[rated.pk])))
    assert all(s.outcomes == s.open_incidents == 0 and s.last_review is None for s in elsewhere.values())
    # A person of the other council, with outcomes and a review there, read with NOR's people for NOR: nothing either.
    sou = Scope.system(other_council)
    records.provider_create(scope=sou, ref="ACME-CARE", name="Acme Care South")
    records.plan_import(scope=sou, raw=_plan(mary_data, "RATED-1", outcomes=[CHURCH]))
    theirs = Person.objects.get(council=other_council, ref="RATED-1")
    _review(sou, "RATED-1", date(2026, 5, 18), {"church": "no_needs"})
    their_plan = version_to_domain(plan_version_at(person=theirs, as_of=as_of))
    mixed = selectors.review_states(council_id=council.pk, plans={**plans, theirs.pk: their_plan}, as_of=as_of)
    assert mixed[theirs.pk].outcomes == 0 and mixed[theirs.pk].last_review is None
    assert {pid: s for pid, s in mixed.items() if pid != theirs.pk} == selectors.review_states(council_id=council.pk, plans=plans, as_of=as_of)
    assert selectors.review_states(council_id=other_council.pk, plans={theirs.pk: their_plan}, as_of=as_of)[theirs.pk] == (
        selectors.review_state(person=theirs, plan=their_plan, as_of=as_of))  # fmt: skip
    assert selectors.review_state(person=theirs, plan=their_plan, as_of=as_of).last_review == date(2026, 5, 18)


@pytest.mark.slow
def test_every_person_of_a_small_demo_council(monkeypatch, django_assert_num_queries):
    from careledger.audit.context import acting_as
    from careledger.demo.build import ACTOR, build_demo, generate_people
    from careledger.demo.outcomes import load_outcomes
    from careledger.records.models import Council

    monkeypatch.delenv("CARELEDGER_DEMO_PASSWORD", raising=False)
    upto, count = date(2026, 11, 30), 60
    build_demo(people=count, upto=upto, delivery=False)  # the plans; then the outcomes, reviews and incidents without the visits
    demo = Council.objects.get()
    with acting_as(ACTOR):
        load_outcomes(Scope.system(demo, ACTOR), generate_people(2026, count), [], seed=2026, upto=upto)
    people = {p.pk: p for p in Person.objects.filter(council=demo, care_plan__isnull=False)}
    held = sorted(Review.objects.filter(council=demo).values_list("held_on", flat=True))
    assert len(held) > count and Incident.objects.filter(council=demo).exists()
    for as_of in (held[0], held[len(held) // 2], upto):
        plans = {pid: version_to_domain(plan_version_at(person=p, as_of=as_of)) for pid, p in people.items()
                 if PlanVersion.objects.filter(plan__person=p, effective_from__lte=as_of).exists()}  # fmt: skip
        with django_assert_num_queries(6):
            bulk = selectors.review_states(council_id=demo.pk, plans=plans, as_of=as_of)
        assert bulk == {pid: _reference_state(people[pid], plan, as_of) for pid, plan in plans.items()}
        assert bulk == {pid: selectors.review_state(person=people[pid], plan=plan, as_of=as_of) for pid, plan in plans.items()}
    assert len(plans) == len(people) and sum(s.last_review is not None for s in bulk.values()) > count / 2
