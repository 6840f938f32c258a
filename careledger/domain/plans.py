"""A person's care plan and budget as plain, immutable values.

These are what a plan file describes and what costing, monitoring and the
records layer exchange. Validation of *files* lives in :mod:`careledger.formats`;
these classes only refuse values that can never be right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .money import ZERO, Decimal
from .rates import RateCard
from .schedules import VisitPattern

__all__ = [
    "DeliveryMechanism",
    "AscotDomain",
    "FundingSource",
    "Preferences",
    "Person",
    "Funding",
    "Budget",
    "Service",
    "Outcome",
    "Plan",
]


class DeliveryMechanism(StrEnum):
    DIRECT_PAYMENT = "direct_payment"
    ISF = "isf"  # individual service fund: a provider-managed personal budget
    COUNCIL_MANAGED = "council_managed"
    COMMISSIONED = "commissioned"

    @property
    def label(self) -> str:
        return _MECHANISM_LABELS[self]

    @property
    def cld_default(self) -> str:
        """The Client Level Data "Delivery Mechanism" it maps to unless a council says otherwise."""
        return _CLD_MECHANISM[self]


_MECHANISM_LABELS = {
    DeliveryMechanism.DIRECT_PAYMENT: "Direct payment",
    DeliveryMechanism.ISF: "Individual service fund (provider-managed)",
    DeliveryMechanism.COUNCIL_MANAGED: "Council-managed personal budget",
    DeliveryMechanism.COMMISSIONED: "Council-commissioned support",
}
_CLD_MECHANISM = {
    DeliveryMechanism.DIRECT_PAYMENT: "Direct payment",
    DeliveryMechanism.ISF: "CASSR managed personal budget",
    DeliveryMechanism.COUNCIL_MANAGED: "CASSR managed personal budget",
    DeliveryMechanism.COMMISSIONED: "CASSR commissioned support",
}


class AscotDomain(StrEnum):
    """The eight ASCOT social care-related quality-of-life domains."""

    CONTROL = "control"
    PERSONAL_CARE = "personal_care"
    FOOD_DRINK = "food_drink"
    SAFETY = "safety"
    SOCIAL_PARTICIPATION = "social_participation"
    OCCUPATION = "occupation"
    ACCOMMODATION = "accommodation"
    DIGNITY = "dignity"

    @property
    def label(self) -> str:
        return _ASCOT_LABELS[self]


_ASCOT_LABELS = {
    AscotDomain.CONTROL: "Control over daily life",
    AscotDomain.PERSONAL_CARE: "Personal cleanliness and comfort",
    AscotDomain.FOOD_DRINK: "Food and drink",
    AscotDomain.SAFETY: "Personal safety",
    AscotDomain.SOCIAL_PARTICIPATION: "Social participation and involvement",
    AscotDomain.OCCUPATION: "Occupation",
    AscotDomain.ACCOMMODATION: "Accommodation cleanliness and comfort",
    AscotDomain.DIGNITY: "Dignity",
}


class FundingSource(StrEnum):
    COUNCIL = "council"
    NHS_CHC = "nhs_chc"  # NHS continuing healthcare
    SECTION_117 = "section_117"  # mental health aftercare
    OTHER = "other"


@dataclass(frozen=True)
class Preferences:
    carer_gender: str | None = None  # "female", "male" or None for no preference
    known_carers_only: bool = False


@dataclass(frozen=True)
class Person:
    ref: str
    given_name: str
    family_name: str
    birth_date: date | None = None
    preferences: Preferences = field(default_factory=Preferences)


@dataclass(frozen=True)
class Funding:
    source: FundingSource
    annual_amount: Decimal


@dataclass(frozen=True)
class Budget:
    annual_amount: Decimal
    start_date: date
    end_date: date
    delivery_mechanism: DeliveryMechanism
    weekly_contribution: Decimal = ZERO
    funding: tuple[Funding, ...] = ()
    account_ref: str | None = None  # the direct payment account (or prepaid card) whose transactions are this budget's

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ValueError("a budget cannot end before it starts")

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1


@dataclass(frozen=True)
class Service:
    ref: str
    provider_ref: str
    rates: RateCard
    visits: tuple[VisitPattern, ...]
    service_component: str = ""


@dataclass(frozen=True)
class Outcome:
    ref: str
    text: str  # in the person's own words
    domain: AscotDomain


@dataclass(frozen=True)
class Plan:
    person: Person
    budget: Budget
    services: tuple[Service, ...]
    outcomes: tuple[Outcome, ...] = ()
    review_every_weeks: int | None = None
    contingency: str = ""

    @property
    def provider_refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.provider_ref for s in self.services))
