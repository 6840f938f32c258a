"""Exact money: parsing, half-up rounding to the penny, printing, and rate-minutes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.money import (
    MoneyError,
    divide,
    format_gbp,
    format_money,
    minutes_to_hours,
    parse_money,
    parse_rate,
    rate_minutes_to_money,
    round_money,
)

D = Decimal


# --- parse_money / parse_rate -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4387.50", D("4387.50")),
        ("0", D("0")),
        ("12.5", D("12.5")),
        ("  12.50 ", D("12.50")),
        ("-3.20", D("-3.20")),
        ("1E+2", D("100")),
    ],
)
def test_parse_money_reads_decimal_strings_exactly(text, expected):
    amount = parse_money(text)
    assert amount == expected
    assert isinstance(amount, Decimal)


def test_parse_money_accepts_ints_and_decimals():
    assert parse_money(12) == D("12")
    assert isinstance(parse_money(12), Decimal)
    assert parse_money(D("9.99")) == D("9.99")


@pytest.mark.parametrize("value", [0.1, 12.5, 1.0, float("nan"), float("inf")])
def test_parse_money_rejects_floats_because_they_are_not_exact(value):
    with pytest.raises(MoneyError, match="not a float"):
        parse_money(value)


@pytest.mark.parametrize("value", [True, False])
def test_parse_money_rejects_booleans(value):
    with pytest.raises(MoneyError):
        parse_money(value)


@pytest.mark.parametrize("value", [None, [], {}, b"12.50"])
def test_parse_money_rejects_other_types(value):
    with pytest.raises(MoneyError):
        parse_money(value)


@pytest.mark.parametrize("text", ["12.505", "0.001", "1e-3", "4387.501"])
def test_parse_money_rejects_more_than_two_decimal_places(text):
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        parse_money(text)


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "Infinity", "inf", "-inf", "-Infinity"])
def test_parse_money_rejects_nan_and_infinity(text):
    with pytest.raises(MoneyError, match="not a finite number"):
        parse_money(text)


@pytest.mark.parametrize("text", ["", "   ", "twelve", "12,50", "£12.50", "12.50p", "1/2"])
def test_parse_money_rejects_text_that_is_not_a_number(text):
    with pytest.raises(MoneyError, match="not a number"):
        parse_money(text)


def test_parse_rate_allows_four_decimal_places_but_not_five():
    assert parse_rate("12.3456") == D("12.3456")
    assert parse_rate("24.10") == D("24.10")
    assert parse_rate(32) == D("32")
    with pytest.raises(MoneyError, match="more than 4 decimal places"):
        parse_rate("12.34567")
    with pytest.raises(MoneyError, match="not a float"):
        parse_rate(24.1)
    with pytest.raises(MoneyError, match="not a finite number"):
        parse_rate("NaN")


def test_error_messages_name_what_was_being_read():
    with pytest.raises(MoneyError, match=r"^budget '1\.234' has more than 2 decimal places$"):
        parse_money("1.234", what="budget")


def test_error_messages_show_a_decimal_as_written_not_as_python():
    # JSON numbers reach parse_money as Decimals; a person should read 12.505, not Decimal('12.505').
    with pytest.raises(MoneyError) as caught:
        parse_money(D("12.505"))
    assert "Decimal(" not in str(caught.value)
    assert "12.505" in str(caught.value)


def test_amounts_too_large_to_hold_are_refused():
    # A budget is stored as at most 12 digits with 2 decimal places (a rate: 10 with 4).
    assert parse_money("9999999999.99") == D("9999999999.99")
    with pytest.raises(MoneyError, match="too large"):
        parse_money("10000000000")
    with pytest.raises(MoneyError, match="too large"):
        parse_money("1e100")
    with pytest.raises(MoneyError, match="too large"):
        parse_money(10**40)
    assert parse_rate("999999.9999") == D("999999.9999")
    with pytest.raises(MoneyError, match="too large"):
        parse_rate("1000000")


# --- round_money: half-up to the penny ------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("84.375", "84.38"),
        ("2.675", "2.68"),  # the float 2.675 is 2.67499999...; the Decimal is exact
        ("2.665", "2.67"),  # half-even would give 2.66
        ("3.085", "3.09"),
        ("4387.5", "4387.50"),
        ("-0.005", "-0.01"),  # ROUND_HALF_UP: halves go away from zero
        ("-84.375", "-84.38"),
        ("-0.004", "0.00"),
        ("0.0049999999999999999999999999999", "0.00"),
    ],
)
def test_round_money_rounds_half_up_to_the_penny(amount, expected):
    rounded = round_money(D(amount))
    assert rounded == D(expected)
    assert rounded.as_tuple().exponent == -2


def test_round_money_of_a_very_long_recurring_decimal_is_decided_correctly():
    # 250 / 60 = 4.1666...: 60 significant digits, still rounds to 4.17.
    assert round_money(divide(250, 60)) == D("4.17")
    # A hair under half a penny is down; a hair over is up.
    assert round_money(D("0.00499999999999999999999999999999999999999999")) == D("0.00")
    assert round_money(D("0.00500000000000000000000000000000000000000001")) == D("0.01")


# --- format_money / format_gbp ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("84.375", "84.38"),
        ("4387.5", "4387.50"),
        ("0", "0.00"),
        ("1234567.891", "1234567.89"),
        ("-12", "-12.00"),
        ("1E+3", "1000.00"),
    ],
)
def test_format_money_is_plain_two_places_without_symbol_or_commas(amount, expected):
    assert format_money(D(amount)) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("4387.5", "£4,387.50"),
        ("4387.50", "£4,387.50"),
        ("-12", "-£12.00"),
        ("0", "£0.00"),
        ("0.005", "£0.01"),
        ("1234567.891", "£1,234,567.89"),
        ("999.995", "£1,000.00"),
        ("-1234.5", "-£1,234.50"),
    ],
)
def test_format_gbp_uses_pound_sign_commas_and_leading_minus(amount, expected):
    assert format_gbp(D(amount)) == expected


def test_format_gbp_does_not_print_minus_zero():
    assert format_gbp(D("-0.004")) == "£0.00"
    assert format_gbp(D("-0")) == "£0.00"


# --- rate-minutes -----------------------------------------------------------------------------


def test_twenty_minutes_at_twelve_fifty_is_a_recurring_amount_that_rounds_to_4_17():
    cost = rate_minutes_to_money(D("12.50") * 20)
    assert D("4.1666") < cost < D("4.1667")
    assert round_money(cost) == D("4.17")


def test_three_twenty_minute_visits_cost_exactly_twelve_fifty_when_rate_minutes_are_summed_first():
    rate_minutes = sum((D("12.50") * 20 for _ in range(3)), D(0))
    assert rate_minutes_to_money(rate_minutes) == D("12.50")
    # Rounding each visit first would overcharge by a penny.
    assert sum(round_money(rate_minutes_to_money(D("12.50") * 20)) for _ in range(3)) == D("12.51")


def test_a_half_penny_tie_from_rate_minutes_rounds_up():
    # 15 minutes at £12.34 = 185.10 / 60 = 3.085 exactly.
    assert rate_minutes_to_money(D("12.34") * 15) == D("3.085")
    assert format_money(rate_minutes_to_money(D("12.34") * 15)) == "3.09"


def test_minutes_to_hours():
    assert minutes_to_hours(405) == D("6.75")
    assert minutes_to_hours(D(90)) == D("1.5")
    assert round_money(minutes_to_hours(20)) == D("0.33")


@settings(max_examples=200, deadline=None)
@given(
    pence=st.integers(min_value=0, max_value=100_000_00),
    minutes=st.integers(min_value=1, max_value=24 * 60),
    visits=st.integers(min_value=1, max_value=60),
)
def test_summing_rate_minutes_then_dividing_gives_the_correctly_rounded_penny(pence, minutes, visits):
    rate = D(pence) / 100
    total = rate_minutes_to_money(sum((rate * minutes for _ in range(visits)), D(0)))
    # In whole numbers: the true cost is X / 60 pence, X = pence x minutes x visits;
    # half-up to the penny is floor((2X + 60) / 120).
    x = pence * minutes * visits
    assert round_money(total) == D((2 * x + 60) // 120) / 100
    if x % 3 == 0:  # 60 = 2^2 x 3 x 5: only a factor of 3 can make the division recur
        assert total * 6000 == x  # exact, not merely close


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6))
def test_round_money_never_moves_more_than_half_a_penny(amount):
    rounded = round_money(amount)
    assert abs(rounded - amount) <= D("0.005")
    assert rounded.as_tuple().exponent == -2
    # format_gbp shows the same digits as format_money, with a pound sign and commas.
    assert format_gbp(amount).lstrip("-").replace("£", "").replace(",", "") == format_money(amount).lstrip("-")


def test_a_tiny_negative_prints_as_zero_not_minus_zero():
    from careledger.domain.money import Decimal, format_money

    assert format_money(Decimal("-0.003")) == "0.00"
    assert format_money(Decimal("-0.005")) == "-0.01"


@pytest.mark.parametrize(
    ("stored", "written"),
    [("12.5000", "12.50"), ("12.345", "12.345"), ("20", "20.00"), ("0.0000", "0.00"), ("13.1", "13.10"), ("1E+1", "10.00")],
)
def test_rates_are_written_with_two_places_or_the_places_that_matter(stored, written):
    from careledger.domain.money import Decimal, format_rate

    assert format_rate(Decimal(stored)) == written
