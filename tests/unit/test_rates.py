"""Which hourly rate applies on a date: bank holiday, else weekend, else standard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from careledger.domain.rates import RateCard, RateKind

D = Decimal
STANDARD, WEEKEND, BANK_HOLIDAY = D("20.00"), D("25.00"), D("40.00")

ALL_THREE = RateCard(STANDARD, WEEKEND, BANK_HOLIDAY)
WEEKEND_ONLY = RateCard(STANDARD, weekend=WEEKEND)
HOLIDAY_ONLY = RateCard(STANDARD, bank_holiday=BANK_HOLIDAY)
STANDARD_ONLY = RateCard(STANDARD)

THURSDAY = date(2026, 12, 24)  # Christmas Eve: not a bank holiday
CHRISTMAS = date(2026, 12, 25)  # Friday
BOXING_DAY = date(2026, 12, 26)  # Saturday, and a bank holiday in England's set
SUNDAY = date(2026, 12, 27)
SUBSTITUTE = date(2026, 12, 28)  # Monday, Boxing Day's substitute


def test_an_ordinary_weekday_is_standard_whatever_the_card():
    for card in (ALL_THREE, WEEKEND_ONLY, HOLIDAY_ONLY, STANDARD_ONLY):
        assert card.kind_for(THURSDAY) is RateKind.STANDARD
        assert card.rate_for(THURSDAY) == STANDARD


def test_boxing_day_on_a_saturday_takes_the_bank_holiday_rate_over_the_weekend_rate():
    assert ALL_THREE.kind_for(BOXING_DAY) is RateKind.BANK_HOLIDAY
    assert ALL_THREE.rate_for(BOXING_DAY) == BANK_HOLIDAY


def test_boxing_day_on_a_saturday_with_only_a_weekend_rate_is_weekend():
    assert WEEKEND_ONLY.kind_for(BOXING_DAY) is RateKind.WEEKEND
    assert WEEKEND_ONLY.rate_for(BOXING_DAY) == WEEKEND


def test_boxing_day_on_a_saturday_with_only_a_standard_rate_is_standard():
    assert STANDARD_ONLY.kind_for(BOXING_DAY) is RateKind.STANDARD
    assert STANDARD_ONLY.rate_for(BOXING_DAY) == STANDARD


def test_substitute_monday_with_only_a_weekend_rate_is_standard():
    assert WEEKEND_ONLY.kind_for(SUBSTITUTE) is RateKind.STANDARD
    assert WEEKEND_ONLY.rate_for(SUBSTITUTE) == STANDARD


def test_substitute_monday_with_a_bank_holiday_rate_is_bank_holiday():
    assert ALL_THREE.kind_for(SUBSTITUTE) is RateKind.BANK_HOLIDAY
    assert HOLIDAY_ONLY.rate_for(SUBSTITUTE) == BANK_HOLIDAY


def test_a_weekday_bank_holiday_without_a_bank_holiday_rate_is_standard_even_with_a_weekend_rate():
    assert WEEKEND_ONLY.kind_for(CHRISTMAS) is RateKind.STANDARD
    assert HOLIDAY_ONLY.kind_for(CHRISTMAS) is RateKind.BANK_HOLIDAY


def test_a_plain_weekend_day_with_only_a_bank_holiday_rate_is_standard():
    assert HOLIDAY_ONLY.kind_for(SUNDAY) is RateKind.STANDARD
    assert ALL_THREE.kind_for(SUNDAY) is RateKind.WEEKEND
    assert ALL_THREE.kind_for(date(2026, 12, 19)) is RateKind.WEEKEND  # Saturday


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 21), RateKind.STANDARD),  # Mon
        (date(2026, 12, 24), RateKind.STANDARD),  # Thu
        (date(2026, 12, 25), RateKind.BANK_HOLIDAY),  # Fri
        (date(2026, 12, 26), RateKind.BANK_HOLIDAY),  # Sat
        (date(2026, 12, 27), RateKind.WEEKEND),  # Sun
        (date(2026, 12, 28), RateKind.BANK_HOLIDAY),  # Mon (substitute)
        (date(2026, 12, 29), RateKind.STANDARD),  # Tue
        (date(2027, 1, 1), RateKind.BANK_HOLIDAY),  # Fri
        (date(2027, 1, 2), RateKind.WEEKEND),  # Sat
    ],
)
def test_a_week_of_christmas_with_all_three_rates(day, expected):
    assert ALL_THREE.kind_for(day) is expected


def test_a_zero_rate_is_still_a_rate_that_applies():
    free_holidays = RateCard(STANDARD, weekend=D("0"), bank_holiday=D("0"))
    assert free_holidays.kind_for(CHRISTMAS) is RateKind.BANK_HOLIDAY
    assert free_holidays.rate_for(CHRISTMAS) == 0
    assert free_holidays.kind_for(SUNDAY) is RateKind.WEEKEND


@pytest.mark.parametrize("field", ["standard", "weekend", "bank_holiday"])
def test_negative_rates_are_refused(field):
    values = {"standard": STANDARD, field: D("-0.01")}
    with pytest.raises(ValueError, match=field):
        RateCard(**values)


def test_as_dict_lists_only_the_rates_the_card_has():
    assert WEEKEND_ONLY.as_dict() == {"standard": STANDARD, "weekend": WEEKEND}
    assert ALL_THREE.as_dict() == {"standard": STANDARD, "weekend": WEEKEND, "bank_holiday": BANK_HOLIDAY}
