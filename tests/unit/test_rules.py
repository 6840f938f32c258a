"""Monitoring rules: validation, rounding, payable minutes and amounts, checked by hand."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

from careledger.domain.money import round_money
from careledger.domain.rules import RULE_FIELDS, MonitoringRules, payable_amount, payable_minutes, round_minutes

D = Decimal
DEFAULT = MonitoringRules()


def pay(planned: int, actual: str | None, status: str = "completed", rules: MonitoringRules = DEFAULT) -> Decimal:
    return payable_minutes(
        planned_minutes=planned, actual_minutes=None if actual is None else D(actual), status=status, rules=rules
    )


def test_defaults_mirror_the_contract() -> None:
    assert {f.name: f.default for f in fields(MonitoringRules)} == {
        "match_window_minutes": 120,
        "missed_after_minutes": 120,
        "late_after_minutes": 30,
        "short_below_percent": 80,
        "minimum_visit_minutes": 30,
        "payment_basis": "planned_within_tolerance",
        "payment_tolerance_minutes": 5,
        "rounding": "nearest",
        "rounding_step_minutes": 5,
        "dp_surplus_weeks": 8,
    }
    assert RULE_FIELDS[0] == "match_window_minutes"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rounding_step_minutes": 7}, "rounding_step_minutes must be one of 1, 5, 10, 15, 30, 60"),
        ({"rounding": "sideways"}, "rounding must be one of"),
        ({"payment_basis": "hourly"}, "payment_basis must be one of"),
        ({"short_below_percent": 101}, "short_below_percent must be at most 100"),
        ({"late_after_minutes": -1}, "late_after_minutes must be a whole number"),
        ({"match_window_minutes": 1.5}, "match_window_minutes must be a whole number"),
        ({"dp_surplus_weeks": True}, "dp_surplus_weeks must be a whole number"),
    ],
)
def test_invalid_rules_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MonitoringRules(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rounding", "step", "minutes", "expected"),
    [
        ("nearest", 5, "42.5", "45"),
        ("nearest", 5, "42.4", "40"),
        ("nearest", 5, "54", "55"),
        ("nearest", 15, "22.5", "30"),
        ("nearest", 1, "20.5", "21"),
        ("up", 5, "40.01", "45"),
        ("up", 5, "40", "40"),
        ("up", 15, "1", "15"),
        ("down", 5, "44.99", "40"),
        ("down", 60, "59", "0"),
        ("none", 5, "42.37", "42.37"),
    ],
)
def test_round_minutes(rounding: str, step: int, minutes: str, expected: str) -> None:
    rules = MonitoringRules(rounding=rounding, rounding_step_minutes=step)
    assert round_minutes(D(minutes), rules) == D(expected)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("60", "60"),
        ("57", "60"),  # within 5 minutes of planned
        ("55", "60"),  # exactly 5 under is within
        ("54.9", "55"),  # just outside: actual, to the nearest 5
        ("54", "55"),
        ("52.5", "55"),  # half-up
        ("52.4", "50"),
        ("75", "60"),  # over planned: planned, never more
        ("0", "0"),
    ],
)
def test_default_basis_planned_within_tolerance(actual: str, expected: str) -> None:
    assert pay(60, actual) == D(expected)


@pytest.mark.parametrize("status", ["missed", "cancelled_by_person", "cancelled_by_provider", "in_progress"])
def test_only_completed_visits_pay(status: str) -> None:
    for rules in (DEFAULT, MonitoringRules(payment_basis="planned"), MonitoringRules(payment_basis="actual")):
        assert pay(60, "60", status, rules) == 0


def test_unknown_status_and_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown visit status"):
        pay(60, "60", "done")
    with pytest.raises(ValueError, match="cannot be negative"):
        pay(60, "-1")


def test_planned_basis_pays_planned_whatever_was_clocked() -> None:
    rules = MonitoringRules(payment_basis="planned")
    assert pay(60, "12", rules=rules) == 60
    assert pay(60, "90", rules=rules) == 60
    assert pay(60, None, rules=rules) == 60


def test_without_clock_times_only_planned_basis_pays() -> None:
    assert pay(60, None) == 0
    assert pay(60, None, rules=MonitoringRules(payment_basis="actual")) == 0


@pytest.mark.parametrize(
    ("rounding", "step", "actual", "expected"),
    [
        ("nearest", 5, "57", "55"),  # no tolerance under this basis
        ("nearest", 5, "52.5", "55"),
        ("up", 15, "31", "45"),
        ("up", 15, "50", "60"),
        ("up", 60, "50", "60"),  # capped at planned
        ("down", 15, "59", "45"),
        ("down", 5, "75", "60"),  # overruns are not paid by this rule
        ("none", 5, "52.25", "52.25"),
        ("none", 5, "61", "60"),
    ],
)
def test_actual_basis(rounding: str, step: int, actual: str, expected: str) -> None:
    rules = MonitoringRules(payment_basis="actual", rounding=rounding, rounding_step_minutes=step)
    assert pay(60, actual, rules=rules) == D(expected)


def test_tolerance_and_rounding_are_settings() -> None:
    rules = MonitoringRules(payment_tolerance_minutes=10, rounding="up", rounding_step_minutes=15)
    assert pay(60, "50") == D("50")
    assert pay(60, "50", rules=rules) == D("60")
    assert pay(60, "49", rules=rules) == D("60")  # up to 60 (not beyond planned)
    assert pay(60, "44", rules=rules) == D("45")
    # Rounding up past the plan is capped at planned.
    no_tolerance = MonitoringRules(payment_tolerance_minutes=0, rounding="up", rounding_step_minutes=15)
    assert pay(20, "16", rules=no_tolerance) == D("20")
    assert pay(20, "14", rules=no_tolerance) == D("15")


def test_payable_amount_is_exact_and_rounds_once() -> None:
    amount = payable_amount(D(20), D("12.50"))
    assert str(amount).startswith("4.1666666666666666666")
    assert round_money(amount) == D("4.17")
    assert payable_amount(D(60), D("12.50")) == D("12.50")
    assert payable_amount(D("52.5"), D("12.50")) == D("10.9375")
    assert payable_amount(pay(60, "57"), D("12.50")) == D("12.50")
