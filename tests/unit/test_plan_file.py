"""The care plan file (careledger/plan@1): parsing, round trips and every problem at once."""

from __future__ import annotations

import copy
import json
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.plans import (
    AscotDomain,
    Budget,
    DeliveryMechanism,
    Funding,
    FundingSource,
    Outcome,
    Person,
    Plan,
    Preferences,
    Service,
)
from careledger.domain.rates import RateCard
from careledger.domain.schedules import WEEKDAY_CODES, VisitPattern
from careledger.formats.plan_file import FORMAT, PlanFileError, Problem, dump_plan, parse_plan, plan_from_data, plan_to_data

D = Decimal
MARY_PATH = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
MARY_TEXT = MARY_PATH.read_text(encoding="utf-8")


def mary() -> dict[str, Any]:
    """Mary's plan as parsed JSON (money as strings), a fresh copy each time."""
    return json.loads(MARY_TEXT)


def problems(data_or_text: Any, **kwargs: Any) -> list[Problem]:
    raw = data_or_text if isinstance(data_or_text, (str, bytes)) else json.dumps(data_or_text)
    with pytest.raises(PlanFileError) as caught:
        parse_plan(raw, **kwargs)
    assert caught.value.problems, "a PlanFileError must list at least one problem"
    return caught.value.problems


def only_problem(data_or_text: Any, **kwargs: Any) -> Problem:
    found = problems(data_or_text, **kwargs)
    assert len(found) == 1, found
    return found[0]


# --- Mary ------------------------------------------------------------------------------------------


def test_mary_parses_into_the_plan_the_file_describes():
    plan = parse_plan(MARY_TEXT, source="mary.json")
    assert plan.person == Person("MARY-86", "Mary", "Example", date(1939, 5, 2), Preferences("female", False))
    assert plan.budget == Budget(D("4387.50"), date(2026, 4, 6), date(2027, 4, 4), DeliveryMechanism.ISF, D("0.00"))
    (service,) = plan.services
    assert (service.ref, service.provider_ref) == ("homecare", "ACME-CARE")
    assert service.service_component == "Home support or domiciliary care"
    assert service.rates == RateCard(D("12.50"))
    assert service.visits == (
        VisitPattern(time(9, 0), 60, ("MO", "WE", "FR")),
        VisitPattern(time(9, 0), 30, ("TU", "TH", "SA", "SU")),
        VisitPattern(time(19, 0), 15, tuple(WEEKDAY_CODES)),
    )
    assert plan.outcomes == (Outcome("church", "Keep going to church on Sundays", AscotDomain.SOCIAL_PARTICIPATION),)
    assert plan.review_every_weeks == 6
    assert plan.contingency.startswith("Neighbours pop in")
    assert plan.provider_refs == ("ACME-CARE",)


def test_mary_parses_from_utf8_bytes_with_or_without_a_byte_order_mark():
    assert parse_plan(MARY_TEXT.encode("utf-8")) == parse_plan(MARY_TEXT)
    assert parse_plan(b"\xef\xbb\xbf" + MARY_TEXT.encode("utf-8")) == parse_plan(MARY_TEXT)


def test_mary_round_trips_through_dump_plan():
    plan = parse_plan(MARY_TEXT)
    text = dump_plan(plan)
    assert parse_plan(text) == plan
    assert dump_plan(parse_plan(text)) == text
    data = json.loads(text)
    assert data["format"] == FORMAT
    assert data["budget"]["annual_amount"] == "4387.50"  # money is written as decimal strings
    assert data["services"][0]["rates"] == {"standard": "12.50"}


def test_json_numbers_are_read_exactly_as_money():
    data = mary()
    data["budget"]["annual_amount"] = 4387.5  # serialised as the JSON number 4387.5
    data["services"][0]["rates"]["standard"] = 12.5
    plan = parse_plan(json.dumps(data))
    assert plan.budget.annual_amount == D("4387.5")
    assert plan.services[0].rates.standard == D("12.5")
    # A JSON number is read from its text, never through a float.
    text = MARY_TEXT.replace('"weekly_contribution": "0.00"', '"weekly_contribution": 0.30')
    assert parse_plan(text).budget.weekly_contribution == D("0.30")


def test_a_whole_number_written_as_a_json_decimal_is_accepted_for_minutes():
    data = mary()
    text = json.dumps(data).replace('"minutes": 60', '"minutes": 60.0')
    assert parse_plan(text).services[0].visits[0].minutes == 60


def test_funding_shares_that_add_up_are_accepted():
    data = mary()
    data["budget"]["funding"] = [
        {"source": "council", "annual_amount": "4000.00"},
        {"source": "nhs_chc", "annual_amount": "387.50"},
    ]
    plan = parse_plan(json.dumps(data))
    assert plan.budget.funding == (Funding(FundingSource.COUNCIL, D("4000.00")), Funding(FundingSource.NHS_CHC, D("387.50")))
    assert parse_plan(dump_plan(plan)) == plan


def test_a_visit_pattern_may_give_an_rrule_instead_of_days():
    data = mary()
    data["services"][0]["visits"] = [{"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "start": "10:00", "minutes": 45}]
    plan = parse_plan(json.dumps(data))
    assert plan.services[0].visits == (VisitPattern(time(10, 0), 45, rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),)
    assert parse_plan(dump_plan(plan)) == plan


def test_optional_parts_may_be_left_out():
    data = mary()
    for key in ("outcomes", "review_every_weeks", "contingency"):
        del data[key]
    del data["person"]["birth_date"]
    del data["person"]["preferences"]
    del data["budget"]["weekly_contribution"]
    del data["services"][0]["service_component"]
    plan = parse_plan(json.dumps(data))
    assert plan.outcomes == ()
    assert plan.review_every_weeks is None
    assert plan.person.preferences == Preferences()
    assert plan.budget.weekly_contribution == 0
    assert parse_plan(dump_plan(plan)) == plan


# --- each kind of problem, with its path and reason ---------------------------------------------


def test_minutes_that_are_not_a_number():
    data = mary()
    data["services"][0]["visits"][0]["minutes"] = "sixty"
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0].minutes"
    assert problem.reason == 'must be a whole number of minutes, not a string "sixty"'


def test_minutes_that_are_not_whole():
    data = mary()
    text = json.dumps(data).replace('"minutes": 60', '"minutes": 60.5')
    problem = only_problem(text)
    assert problem.path == "$.services[0].visits[0].minutes"
    assert "whole number of minutes" in problem.reason and "60.5" in problem.reason


@pytest.mark.parametrize(("minutes", "shown"), [(0, "0"), (-30, "-30"), (1441, "1441")])
def test_minutes_out_of_range(minutes, shown):
    data = mary()
    data["services"][0]["visits"][1]["minutes"] = minutes
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[1].minutes"
    assert problem.reason == f"{shown} is out of range: must be from 1 to 1440 minutes"


@pytest.mark.parametrize("huge", ["1e400", "1e100000", "-1e999999999", "1e999999999"])
def test_absurdly_large_minutes_are_reported_not_crashed_on(huge):
    text = MARY_TEXT.replace('"minutes": 60', f'"minutes": {huge}')
    problem = only_problem(text)
    assert problem.path == "$.services[0].visits[0].minutes"
    assert "out of range" in problem.reason


def test_money_with_more_than_two_decimal_places():
    data = mary()
    data["budget"]["annual_amount"] = "12.505"
    problem = only_problem(data)
    assert problem.path == "$.budget.annual_amount"
    assert problem.reason == "'12.505' has more than 2 decimal places"


def test_money_as_a_json_number_with_more_than_two_decimal_places_reads_as_written():
    text = MARY_TEXT.replace('"annual_amount": "4387.50"', '"annual_amount": 12.505')
    problem = only_problem(text)
    assert problem.path == "$.budget.annual_amount"
    assert problem.reason == "12.505 has more than 2 decimal places"


def test_a_rate_may_have_four_decimal_places_but_not_five():
    data = mary()
    data["services"][0]["rates"]["standard"] = "12.3456"
    assert parse_plan(json.dumps(data)).services[0].rates.standard == D("12.3456")
    data["services"][0]["rates"]["standard"] = "12.34567"
    problem = only_problem(data)
    assert problem.path == "$.services[0].rates.standard"
    assert "more than 4 decimal places" in problem.reason


@pytest.mark.parametrize(
    ("where", "value", "reason"),
    [
        (("budget", "annual_amount"), "-5.00", '"-5.00" must not be negative'),
        (("budget", "annual_amount"), "lots", "'lots' is not a number"),
        (("budget", "annual_amount"), "NaN", "'NaN' is not a finite number"),
        (("budget", "annual_amount"), True, 'must be a decimal string such as "12.50", not true or false'),
        (("budget", "annual_amount"), "1e100", "'1e100' is too large"),
    ],
)
def test_bad_money_values(where, value, reason):
    data = mary()
    data[where[0]][where[1]] = value
    problem = only_problem(data)
    assert problem.path == "$." + ".".join(where)
    assert problem.reason.startswith(reason)


def test_a_huge_budget_with_funding_shares_is_reported_not_crashed_on():
    data = mary()
    data["budget"]["annual_amount"] = "1e100"
    data["budget"]["funding"] = [{"source": "council", "annual_amount": "1.00"}]
    found = problems(data)
    assert [p.path for p in found] == ["$.budget.annual_amount"]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("person", [], "must be an object, not a list"),
        ("budget", "4387.50", "must be an object, not a string"),
        ("services", {"ref": "homecare"}, "must be a list, not an object"),
        ("services", [], "must have at least one entry"),
        ("outcomes", "church", "must be a list, not a string"),
        ("review_every_weeks", "6", 'must be a whole number of weeks, not a string "6"'),
        ("format", 1, "must be a string, not a number"),
    ],
)
def test_wrong_json_types_at_the_top_level(key, value, reason):
    data = mary()
    data[key] = value
    problem = only_problem(data)
    assert (problem.path, problem.reason) == (f"$.{key}", reason)


def test_a_list_entry_that_should_be_an_object():
    data = mary()
    data["services"].append(["homecare"])
    data["services"][0]["visits"][2] = "19:00 daily"
    found = problems(data)
    assert [(p.path, p.reason) for p in found] == [
        ("$.services[0].visits[2]", "must be an object, not a string"),
        ("$.services[1]", "must be an object, not a list"),
    ]


@pytest.mark.parametrize("document", [[], "plan", 42, None])
def test_a_file_that_is_not_a_json_object(document):
    problem = only_problem(json.dumps(document))
    assert problem.path == "$"
    assert problem.reason.startswith("must be a JSON object")


def test_a_missing_required_field():
    data = mary()
    del data["person"]["ref"]
    data["budget"]["start_date"] = None
    found = problems(data)
    assert [(p.path, p.reason) for p in found] == [
        ("$.person.ref", "is required"),
        ("$.budget.start_date", "is required"),
    ]


def test_an_unknown_weekday():
    data = mary()
    data["services"][0]["visits"][0]["days"] = ["MO", "XX", "FR"]
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0].days[1]"
    assert problem.reason == 'unknown weekday "XX"; use one of MO, TU, WE, TH, FR, SA, SU'


def test_a_weekday_listed_twice_and_a_weekday_that_is_not_a_string():
    data = mary()
    data["services"][0]["visits"][0]["days"] = ["MO", "MO", 3]
    found = problems(data)
    assert [(p.path, p.reason) for p in found] == [
        ("$.services[0].visits[0].days[1]", "MO is listed twice"),
        ("$.services[0].visits[0].days[2]", "unknown weekday 3; use one of MO, TU, WE, TH, FR, SA, SU"),
    ]


def test_end_date_before_start_date():
    data = mary()
    data["budget"]["end_date"] = "2026-04-05"
    problem = only_problem(data)
    assert problem.path == "$.budget.end_date"
    assert problem.reason == "2026-04-05 is before start_date 2026-04-06"


@pytest.mark.parametrize("value", ["2026-02-30", "06/04/2026", "2026-4-6", "20260406", "2026-04-06T00:00"])
def test_a_date_that_is_not_yyyy_mm_dd(value):
    data = mary()
    data["budget"]["start_date"] = value
    problem = only_problem(data)
    assert problem.path == "$.budget.start_date"
    assert problem.reason == f"{value!r} is not a date in the form YYYY-MM-DD"


def test_a_budget_period_longer_than_three_years():
    data = mary()
    data["budget"]["end_date"] = "2030-01-01"
    problem = only_problem(data)
    assert problem.path == "$.budget.end_date"
    assert "three years" in problem.reason


def test_an_unknown_delivery_mechanism():
    data = mary()
    data["budget"]["delivery_mechanism"] = "voucher"
    problem = only_problem(data)
    assert problem.path == "$.budget.delivery_mechanism"
    assert problem.reason == "'voucher' is not one of direct_payment, isf, council_managed, commissioned"


def test_an_unknown_ascot_domain():
    data = mary()
    data["outcomes"][0]["domain"] = "happiness"
    problem = only_problem(data)
    assert problem.path == "$.outcomes[0].domain"
    assert problem.reason.startswith("'happiness' is not one of control, personal_care, food_drink")


def test_a_duplicate_service_ref():
    data = mary()
    data["services"].append(copy.deepcopy(data["services"][0]))
    problem = only_problem(data)
    assert problem.path == "$.services[1].ref"
    assert problem.reason == "'homecare' is used by another service in this plan"


def test_a_duplicate_outcome_ref():
    data = mary()
    data["outcomes"].append(copy.deepcopy(data["outcomes"][0]))
    problem = only_problem(data)
    assert (problem.path, problem.reason) == ("$.outcomes[1].ref", "'church' is used by another outcome in this plan")


def test_a_ref_with_spaces():
    data = mary()
    data["person"]["ref"] = "MARY 86"
    problem = only_problem(data)
    assert (problem.path, problem.reason) == ("$.person.ref", "'MARY 86' must not contain spaces")


def test_both_days_and_an_rrule():
    data = mary()
    data["services"][0]["visits"][0]["rrule"] = "FREQ=WEEKLY;BYDAY=MO"
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0]"
    assert "either days" in problem.reason and "not both" in problem.reason


def test_neither_days_nor_an_rrule():
    data = mary()
    del data["services"][0]["visits"][0]["days"]
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0]"
    assert "either days" in problem.reason


@pytest.mark.parametrize(
    "rule",
    ["FREQ=SOMETIMES", "every other Monday", "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY;INTERVAL=0;BYDAY=MO"],
)
def test_an_invalid_rrule(rule):
    data = mary()
    data["services"][0]["visits"][0] = {"rrule": rule, "start": "09:00", "minutes": 60}
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0].rrule"
    assert problem.reason.startswith(("not a valid RFC 5545 rule", "INTERVAL"))


def test_an_rrule_carrying_its_own_dtstart():
    data = mary()
    data["services"][0]["visits"][0] = {"rrule": "DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "start": "09:00", "minutes": 60}
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0].rrule"
    assert "DTSTART" in problem.reason


@pytest.mark.parametrize("value", ["9am", "9:00", "09:00:00", "24:00", "09:60", "0900", ""])
def test_a_bad_visit_time(value):
    data = mary()
    data["services"][0]["visits"][0]["start"] = value
    problem = only_problem(data)
    assert problem.path == "$.services[0].visits[0].start"
    if value:
        assert problem.reason == f"{value!r} is not a 24-hour time in the form HH:MM"
    else:
        assert problem.reason == "must not be empty"


def test_a_wrong_format_string():
    data = mary()
    data["format"] = "careledger/plan@2"
    problem = only_problem(data)
    assert problem.path == "$.format"
    assert problem.reason == "'careledger/plan@2' is not a format careledger reads; expected 'careledger/plan@1'"


def test_an_unknown_carer_gender_and_a_non_boolean_preference():
    data = mary()
    data["person"]["preferences"] = {"carer_gender": "any", "known_carers_only": "yes"}
    found = problems(data)
    assert [(p.path, p.reason) for p in found] == [
        ("$.person.preferences.carer_gender", "'any' is not one of female, male"),
        ("$.person.preferences.known_carers_only", "must be true or false, not a string"),
    ]


def test_an_unknown_provider_is_reported_with_the_callbacks_reason():
    def check_provider(ref: str) -> str | None:
        return None if ref == "KNOWN-CARE" else f"no provider {ref!r} is registered with the council"

    problem = only_problem(MARY_TEXT, check_provider=check_provider)
    assert problem.path == "$.services[0].provider"
    assert problem.reason == "no provider 'ACME-CARE' is registered with the council"
    assert parse_plan(MARY_TEXT.replace("ACME-CARE", "KNOWN-CARE"), check_provider=check_provider)


def test_funding_shares_that_do_not_add_up_to_the_budget():
    data = mary()
    data["budget"]["funding"] = [
        {"source": "council", "annual_amount": "4000.00"},
        {"source": "nhs_chc", "annual_amount": "387.00"},
    ]
    problem = only_problem(data)
    assert problem.path == "$.budget.funding"
    assert problem.reason == "the shares add up to 4387.00, not the annual_amount 4387.50"


def test_an_unknown_funding_source():
    data = mary()
    data["budget"]["funding"] = [{"source": "lottery", "annual_amount": "4387.50"}]
    problem = only_problem(data)
    assert problem.path == "$.budget.funding[0].source"


# --- files that are not JSON at all ---------------------------------------------------------------


def test_invalid_json_reports_line_and_column():
    problem = only_problem('{"format": "careledger/plan@1",\n  "person": }')
    assert problem.path == "$"
    assert problem.reason.startswith("is not valid JSON: ")
    assert problem.reason.endswith("at line 2, column 13")


def test_nan_and_infinity_are_not_json():
    problem = only_problem(MARY_TEXT.replace('"4387.50"', "NaN"))
    assert (problem.path, problem.reason) == ("$", "is not valid JSON: NaN is not allowed")
    assert only_problem(MARY_TEXT.replace('"4387.50"', "-Infinity")).path == "$"


@pytest.mark.parametrize("raw", ["", "   \n\t", b"", b"\n"])
def test_an_empty_file(raw):
    problem = only_problem(raw)
    assert (problem.path, problem.reason) == ("$", "the file is empty")


def test_a_file_that_is_not_utf8():
    problem = only_problem(b'{"format": "\xff"}')
    assert (problem.path, problem.reason) == ("$", "is not UTF-8 text (byte 12)")
    latin1 = MARY_TEXT.replace("Example", "Müller").encode("latin-1")
    assert only_problem(latin1).reason.startswith("is not UTF-8 text")


def test_json_nested_too_deeply_is_a_problem_not_a_crash():
    problem = only_problem("[" * 100_000 + "]" * 100_000)
    assert problem.path == "$"
    assert "nested too deeply" in problem.reason


# --- every problem at once ------------------------------------------------------------------------


def test_five_different_errors_give_five_problems_in_one_go():
    data = mary()
    data["services"][0]["visits"][0]["minutes"] = "sixty"
    data["services"][0]["visits"][1]["days"] = ["TU", "XX"]
    data["budget"]["end_date"] = "2025-01-01"
    data["budget"]["delivery_mechanism"] = "voucher"
    data["outcomes"][0]["domain"] = "happiness"
    with pytest.raises(PlanFileError) as caught:
        parse_plan(json.dumps(data), source="mary.json")
    error = caught.value
    assert sorted(p.path for p in error.problems) == sorted(
        [
            "$.services[0].visits[0].minutes",
            "$.services[0].visits[1].days[1]",
            "$.budget.end_date",
            "$.budget.delivery_mechanism",
            "$.outcomes[0].domain",
        ]
    )
    # The message names the file and lists every problem, one a line.
    message = str(error)
    assert message.startswith("mary.json: 5 problem(s)\n")
    assert all(str(p) in message for p in error.problems)
    assert error.problems[0].as_dict().keys() == {"path", "reason"}


def test_problems_in_several_services_and_visits_are_all_reported():
    data = mary()
    second = copy.deepcopy(data["services"][0])
    second["ref"] = "daycentre"
    second["rates"] = {"standard": "-1"}
    second["visits"] = [{"days": ["MO"], "start": "9am", "minutes": 0}]
    data["services"].append(second)
    data["services"][0]["visits"][2]["start"] = "25:00"
    found = problems(data)
    assert [p.path for p in found] == [
        "$.services[0].visits[2].start",
        "$.services[1].rates.standard",
        "$.services[1].visits[0].start",
        "$.services[1].visits[0].minutes",
    ]


# --- properties ----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["MO", "XX", "09:00", "9am", "12.50", "12.505", "2026-04-06", "isf", "control", FORMAT, "1e100"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["format", "person", "budget", "services", "visits", "days", "ref"]), st.text(max_size=6)),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def parses_or_reports(text: str) -> None:
    try:
        plan = parse_plan(text)
    except PlanFileError as error:
        assert error.problems
        assert all(p.path.startswith("$") and p.reason for p in error.problems)
    else:
        assert isinstance(plan, Plan)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_raises_anything_but_plan_file_error(value):
    parses_or_reports(json.dumps(value))


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, path + (index,))
    return found


MARY_PATHS = [p for p in _paths(json.loads(MARY_TEXT)) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(MARY_PATHS), json_values), min_size=1, max_size=3))
def test_mary_with_any_part_replaced_by_any_json_parses_or_reports_problems(replacements):
    data = mary()
    for path, value in replacements:
        target = data
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this part
    parses_or_reports(json.dumps(data))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_arbitrary_text_and_bytes_never_raise_anything_but_plan_file_error(raw):
    parses_or_reports(raw)


# Round trip of generated plans.

refs = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=20)
names = st.text(min_size=1, max_size=20).filter(lambda s: s.strip())
money = st.integers(min_value=0, max_value=10_000_000_00).map(lambda pence: D(pence) / 100)
rates = st.integers(min_value=0, max_value=999_999_9999).map(lambda n: D(n) / 10_000)  # up to 4 places
patterns = st.one_of(
    st.builds(
        VisitPattern,
        start=st.builds(time, st.integers(0, 23), st.integers(0, 59)),
        minutes=st.integers(1, 1440),
        days=st.lists(st.sampled_from(WEEKDAY_CODES), min_size=1, max_size=7, unique=True).map(tuple),
    ),
    st.builds(
        VisitPattern,
        start=st.builds(time, st.integers(0, 23), st.integers(0, 59)),
        minutes=st.integers(1, 1440),
        rrule=st.sampled_from(["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=DAILY"]),
    ),
)


@st.composite
def plans(draw):
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
    end = start + timedelta(days=draw(st.integers(0, 3 * 366)))
    amount = draw(money)
    split = draw(st.one_of(st.none(), st.integers(0, int(amount * 100))))
    funding = () if split is None else (
        Funding(FundingSource.COUNCIL, D(split) / 100),
        Funding(FundingSource.NHS_CHC, amount - D(split) / 100),
    )
    service_refs = draw(st.lists(refs, min_size=1, max_size=3, unique=True))
    outcome_refs = draw(st.lists(refs, max_size=3, unique=True))
    return Plan(
        Person(
            draw(refs),
            draw(names),
            draw(names),
            draw(st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 1, 1)))),
            Preferences(draw(st.sampled_from([None, "female", "male"])), draw(st.booleans())),
        ),
        Budget(amount, start, end, draw(st.sampled_from(list(DeliveryMechanism))), draw(money), funding),
        tuple(
            Service(
                ref,
                draw(refs),
                RateCard(draw(rates), draw(st.one_of(st.none(), rates)), draw(st.one_of(st.none(), rates))),
                tuple(draw(st.lists(patterns, min_size=1, max_size=3))),
                draw(st.text(max_size=30)),
            )
            for ref in service_refs
        ),
        tuple(Outcome(ref, draw(names), draw(st.sampled_from(list(AscotDomain)))) for ref in outcome_refs),
        draw(st.one_of(st.none(), st.integers(1, 104))),
        draw(st.text(max_size=30)),
    )


@settings(max_examples=150, deadline=None)
@given(plans())
def test_any_valid_plan_round_trips_through_the_file_format(plan):
    text = dump_plan(plan)
    assert parse_plan(text) == plan
    assert plan_from_data(json.loads(text, parse_float=Decimal)) == plan
    assert plan_to_data(parse_plan(text)) == json.loads(text)
