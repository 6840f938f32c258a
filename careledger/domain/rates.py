"""Hourly rates: standard, weekend and bank-holiday prices.

A visit is priced by the local date it starts on: the bank-holiday rate on a bank
holiday in England (if the contract has one), else the weekend rate on a Saturday
or Sunday (if it has one), else the standard rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .localtime import is_bank_holiday
from .money import Decimal

__all__ = ["RateKind", "RateCard"]


class RateKind(StrEnum):
    STANDARD = "standard"
    WEEKEND = "weekend"
    BANK_HOLIDAY = "bank_holiday"


@dataclass(frozen=True)
class RateCard:
    standard: Decimal
    weekend: Decimal | None = None
    bank_holiday: Decimal | None = None

    def __post_init__(self) -> None:
        for kind in RateKind:
            value = getattr(self, kind.value)
            if value is not None and value < 0:
                raise ValueError(f"the {kind.value} rate cannot be negative")

    def kind_for(self, day: date) -> RateKind:
        if self.bank_holiday is not None and is_bank_holiday(day):
            return RateKind.BANK_HOLIDAY
        if self.weekend is not None and day.weekday() >= 5:
            return RateKind.WEEKEND
        return RateKind.STANDARD

    def rate_for(self, day: date) -> Decimal:
        rate = getattr(self, self.kind_for(day).value)
        assert rate is not None
        return rate

    def as_dict(self) -> dict[str, Decimal]:
        return {kind.value: getattr(self, kind.value) for kind in RateKind if getattr(self, kind.value) is not None}
