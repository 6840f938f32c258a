"""The demo's delivery data generator (pure: no database)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest

from careledger.demo.build import generate_people
from careledger.demo.delivery import MARY_LATE, MARY_MALE, MARY_REF, PROFILES, generate_delivery, overspend_target
from careledger.formats.delivery_csv import Accepted, parse_carers, parse_visits
from careledger.formats.plan_file import plan_from_data

UPTO = date(2026, 7, 31)


def people_plans(people: int):
    return [
        [(date.fromisoformat(v["effective_from"]), plan_from_data(v["plan"])) for v in entry["versions"]]
        for entry in generate_people(2026, people)
    ]


@pytest.fixture(scope="module")
def plans():
    return people_plans(40)


@pytest.fixture(scope="module")
def data(plans):
    return generate_delivery(plans, seed=2026, upto=UPTO)


def parsed_visits(data):
    results = list(parse_visits(io.BytesIO(data.visits_csv.encode()), source="demo-visits.csv"))
    assert all(isinstance(r, Accepted) for r in results), [r for r in results if not isinstance(r, Accepted)][:3]
    return [r.row for r in results]


def test_the_same_seed_gives_the_same_files(plans, data):
    again = generate_delivery(plans, seed=2026, upto=UPTO)
    assert (again.visits_csv, again.carers_csv) == (data.visits_csv, data.carers_csv)
    other = generate_delivery(plans, seed=7, upto=UPTO)
    assert other.visits_csv != data.visits_csv


def test_refs_are_unique_and_one_per_slot_whatever_the_seed(plans, data):
    assert len(set(data.visit_refs)) == len(data.visit_refs) == data.visit_rows
    other = generate_delivery(plans, seed=7, upto=UPTO)
    slots = {ref for _, ref in data.visit_refs if not ref.endswith(("-x", "-extra"))}
    other_slots = {ref for _, ref in other.visit_refs if not ref.endswith(("-x", "-extra"))}
    # the same slot has the same ref under any seed (only which slots have no row differs)
    assert len(slots & other_slots) > 0.95 * len(slots)


def test_the_files_parse_without_a_rejection_and_every_carer_is_listed(plans, data):
    rows = parsed_visits(data)
    assert len(rows) == data.visit_rows
    carers = list(parse_carers(io.BytesIO(data.carers_csv.encode()), source="demo-carers.csv"))
    assert all(isinstance(c, Accepted) for c in carers)
    listed = {(c.row.provider_ref, c.row.carer_ref) for c in carers}
    assert {(r.provider_ref, r.carer_ref) for r in rows if r.carer_ref} == listed
    assert all(r.planned_start.date() <= UPTO for r in rows)
    assert min(r.planned_start.date() for r in rows) == min(v[0][1].budget.start_date for v in plans)


def test_deviation_rates_follow_each_providers_profile(data):
    for provider, counts in data.by_provider.items():
        if counts["slots"] < 1500:
            continue
        profile = PROFILES[provider]
        for name, expected in (("missed", profile.missed), ("late", profile.late), ("short", profile.short)):
            share = counts[name] / counts["slots"]
            assert abs(share - expected) < max(0.01, expected * 0.35), (provider, name, share, expected)
    assert PROFILES["HEARTHSIDE"].missed > 10 * PROFILES["ACME-CARE"].missed


def test_mary_is_close_to_her_plan_with_a_few_late_visits_and_two_men(data):
    genders = {}
    for line in data.carers_csv.splitlines()[1:]:
        carer, _, gender = line.split(",")
        genders[carer] = gender
    mary = [r for r in parsed_visits(data) if r.person_ref == MARY_REF]
    assert mary and all(r.status == "completed" and r.provider_ref == "ACME-CARE" for r in mary)
    assert sum(1 for r in mary if genders[r.carer_ref] == "male") == MARY_MALE == 2
    late = [r for r in mary if r.actual_start - r.planned_start > timedelta(minutes=30)]
    assert len(late) == MARY_LATE
    assert len({r.carer_ref for r in mary if genders[r.carer_ref] == "female"}) <= 4  # a small, stable team


def test_one_big_package_gets_extra_visits_every_day_lately(plans, data):
    target = overspend_target(plans)
    assert target is not None
    budget = next(v[-1][1].budget for v in plans if v[-1][1].person.ref == target)
    assert budget.annual_amount > 100000
    extras = [r for r in parsed_visits(data) if r.person_ref == target and r.visit_ref.endswith("-extra")]
    days = {r.planned_start.date() for r in extras}
    assert len(days) == 42 and max(days) == UPTO


def test_nothing_after_upto_and_nothing_before_the_budgets():
    plans = people_plans(3)
    first = min(v[0][1].budget.start_date for v in plans)
    assert generate_delivery(plans, seed=1, upto=first - timedelta(days=1)).visit_rows == 0
    one_day = generate_delivery(plans, seed=1, upto=first)
    assert 0 < one_day.visit_rows and all(
        datetime.fromisoformat(line.split(",")[5]).date() == first for line in one_day.visits_csv.splitlines()[1:]
    )
