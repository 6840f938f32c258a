"""A synthetic demo council: providers, about 300 people with plans and budgets, and a login.

Two halves:

* :func:`generate_people` is pure: from a seed it makes every person's plan files
  (``careledger/plan@1`` dicts), their plan changes and their representatives. Same
  seed, same output; it reads no clock and no database. Each person depends only on
  the seed and on the people before them, so ``people=40`` is the first 40 of
  ``people=300``.
* :func:`build_demo` writes that into the database through the same services the
  CLI and the API call (``council_create``, ``provider_create``, ``plan_import``),
  in one transaction. Running it again creates nothing and changes nothing.

Every name here is made up. "Mary" is the worked example of ``examples/mary.json``
(an ISF of £4,387.50 a year), kept exactly as in that file.
"""

from __future__ import annotations

import copy
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from careledger.access.models import ApiToken, Membership
from careledger.audit.context import acting_as
from careledger.demo.delivery import DeliveryLoad, load_delivery
from careledger.demo.outcomes import load_outcomes
from careledger.domain.costing import cost_plan, period_cost, versioned_priced_visits
from careledger.domain.localtime import LONDON
from careledger.domain.money import ZERO, Decimal, format_gbp, format_money
from careledger.domain.plans import DeliveryMechanism
from careledger.formats.plan_file import FORMAT, plan_from_data, plan_to_data
from careledger.ingest.models import Visit
from careledger.records import models as m
from careledger.records import services
from careledger.records.errors import InvalidInput
from careledger.records.scoping import Scope

__all__ = [
    "COUNCIL_CODE",
    "COUNCIL_NAME",
    "DEMO_USERNAME",
    "DEFAULT_PASSWORD",
    "MARY_PLAN",
    "PROVIDERS",
    "DemoSummary",
    "build_demo",
    "demo_password",
    "generate_people",
]

COUNCIL_CODE = "DEMO"
COUNCIL_NAME = "Demoshire County Council (demo data)"
DEMO_USERNAME = "demo-admin"
DEFAULT_PASSWORD = "careledger-demo"
PASSWORD_ENV = "CARELEDGER_DEMO_PASSWORD"
ACTOR = "system:demo"  # how the audit trail and plan versions name the builder

FINANCIAL_YEAR_START = date(2026, 4, 6)  # a Monday; 52 weeks to Sunday 2027-04-04
WEEKS_52 = timedelta(weeks=52)
REVIEW_CHANGE_AFTER = timedelta(weeks=22)  # 2026-09-07 for a budget from 2026-04-06

# The worked example, exactly as examples/mary.json (a test keeps the two equal).
# Embedded rather than read from the repository so an installed package has it.
MARY_PLAN: dict[str, Any] = {
    "format": "careledger/plan@1",
    "person": {
        "ref": "MARY-86",
        "given_name": "Mary",
        "family_name": "Example",
        "birth_date": "1939-05-02",
        "preferences": {"carer_gender": "female", "known_carers_only": False},
    },
    "budget": {
        "annual_amount": "4387.50",
        "start_date": "2026-04-06",
        "end_date": "2027-04-04",
        "delivery_mechanism": "isf",
        "weekly_contribution": "0.00",
    },
    "services": [
        {
            "ref": "homecare",
            "provider": "ACME-CARE",
            "service_component": "Home support or domiciliary care",
            "rates": {"standard": "12.50"},
            "visits": [
                {"days": ["MO", "WE", "FR"], "start": "09:00", "minutes": 60},
                {"days": ["TU", "TH", "SA", "SU"], "start": "09:00", "minutes": 30},
                {"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "start": "19:00", "minutes": 15},
            ],
        }
    ],
    "outcomes": [{"ref": "church", "text": "Keep going to church on Sundays", "domain": "social_participation"}],
    "review_every_weeks": 6,
    "contingency": "Neighbours pop in; her daughter calls the council if more support is needed.",
}
MARY_REPRESENTATIVE = {
    "name": "David Example",
    "relationship": "Son",
    "email": "david.example@example.org",
    "phone": "07700 900086",
    "is_nominated_person": False,
}

# -- providers ---------------------------------------------------------------------------------

HOMECARE = "Home support or domiciliary care"
SUPPORTED_LIVING = "Community supported living"
DAY_SUPPORT = "Day support"
DIRECT_PAYMENT = "Direct payment"


@dataclass(frozen=True)
class DemoProvider:
    ref: str
    name: str
    kind: str  # "homecare", "supported_living", "complex" or "pa"
    standard: str
    weekend: str | None = None
    bank_holiday: str | None = None

    @property
    def rates(self) -> dict[str, str]:
        rates = {"standard": self.standard}
        if self.weekend:
            rates["weekend"] = self.weekend
        if self.bank_holiday:
            rates["bank_holiday"] = self.bank_holiday
        return rates


# Fictional names. Contract rates around what councils pay for homecare (£24.10 on
# average in 2025/26, against the Homecare Association's £32.14 minimum price).
PROVIDERS: tuple[DemoProvider, ...] = (
    DemoProvider("ACME-CARE", "Acme Care Ltd", "homecare", "23.40", None, "35.10"),
    DemoProvider("BRIGHTCARE", "Brightcare Home Support Ltd", "homecare", "24.10", "26.50", "36.15"),
    DemoProvider("HEARTHSIDE", "Hearthside Homecare", "homecare", "22.80"),
    DemoProvider("KINDLY-HANDS", "Kindly Hands Domiciliary Care", "homecare", "25.60", "27.90", "38.40"),
    DemoProvider("RIVERSIDE", "Riverside Care Services", "homecare", "21.95", None, "32.90"),
    DemoProvider("MEADOWVIEW", "Meadowview Supported Living", "supported_living", "21.50"),
    DemoProvider("WILLOWBANK", "Willowbank Supported Living CIC", "supported_living", "22.40", "23.80", "33.60"),
    DemoProvider("NIGHTINGALE", "Nightingale Complex Care", "complex", "31.20", "34.30", "46.80"),
    DemoProvider("OAKTREE-PA", "Oak Tree Personal Assistants", "pa", "16.50"),
    DemoProvider("COMPASS-PA", "Compass PA Co-operative", "pa", "15.75", None, "23.60"),
)
_BY_REF = {p.ref: p for p in PROVIDERS}
_HOMECARE = [p for p in PROVIDERS if p.kind == "homecare"]
_HOMECARE_WEIGHTS = [14, 26, 18, 16, 26]
_SUPPORTED = [p for p in PROVIDERS if p.kind == "supported_living"]
_PA = [p for p in PROVIDERS if p.kind == "pa"]

# -- people ------------------------------------------------------------------------------------

OLDER_WOMEN = (
    "Margaret", "Joan", "Dorothy", "Patricia", "Jean", "Barbara", "Eileen", "Sheila", "Doreen", "Betty",
    "Irene", "Brenda", "Maureen", "Sylvia", "Pauline", "Valerie", "Audrey", "Kathleen", "Elsie", "Winifred",
)
OLDER_MEN = (
    "John", "William", "George", "Kenneth", "Ronald", "Peter", "Brian", "Derek", "Albert", "Frank",
    "Dennis", "Raymond", "Arthur", "Stanley", "Norman", "Leslie", "Roy", "Harold", "Alan", "Michael",
)
YOUNGER_WOMEN = (
    "Sarah", "Emma", "Laura", "Rachel", "Claire", "Helen", "Nicola", "Jessica", "Chloe", "Amy",
    "Hannah", "Rebecca", "Lucy", "Gemma", "Karen", "Susan", "Julie", "Michelle", "Lisa", "Sophie",
)
YOUNGER_MEN = (
    "James", "David", "Daniel", "Thomas", "Matthew", "Christopher", "Andrew", "Mark", "Paul", "Richard",
    "Ryan", "Liam", "Jack", "Oliver", "Adam", "Craig", "Lee", "Stephen", "Gary", "Simon",
)
FAMILY_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell", "Harris", "Turner", "Cooper",
    "Hill", "Ward", "Morris", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan", "Young",
    "Allen", "Martin", "Scott", "Edwards", "Hughes", "Bennett", "Carter", "Shaw", "Bailey", "Parker",
)

# Outcomes in the person's own words: (ref, text) by ASCOT domain.
OUTCOMES: dict[str, tuple[tuple[str, str], ...]] = {
    "control": (
        ("choose-my-day", "Decide for myself what I do each day"),
        ("who-comes", "Choose who comes into my home and when"),
        ("own-money", "Look after my own money, with a bit of help with the bills"),
    ),
    "personal_care": (
        ("shower", "Have a shower every morning without worrying about falling"),
        ("dressed", "Be washed and dressed in time to get out for the day"),
        ("comfortable-night", "Feel clean and comfortable in bed at night"),
    ),
    "food_drink": (
        ("hot-meal", "Eat a hot meal every day"),
        ("drinks", "Have a drink to hand all day so I don't get poorly"),
        ("cook-tea", "Cook my own tea with someone beside me"),
    ),
    "safety": (
        ("safe-at-night", "Feel safe at home at night"),
        ("no-falls", "Stop having falls on the stairs"),
        ("tablets", "Take my tablets at the right times"),
    ),
    "social_participation": (
        ("church", "Keep going to church on Sundays"),
        ("grandchildren", "See my grandchildren every week"),
        ("lunch-club", "Get to my lunch club on Wednesdays"),
        ("football", "Go to the home games with my brother"),
    ),
    "occupation": (
        ("allotment", "Keep my allotment going"),
        ("volunteer", "Volunteer at the charity shop two mornings a week"),
        ("college", "Go to college and learn to cook"),
        ("job", "Keep my part-time job at the garden centre"),
    ),
    "accommodation": (
        ("tidy-home", "Keep my flat clean and tidy the way I like it"),
        ("stay-home", "Stay living in my own home"),
        ("washing", "Have my washing and ironing done each week"),
    ),
    "dignity": (
        ("know-me", "Be helped by people who know me and how I like things done"),
        ("not-rushed", "Not be rushed when I'm being helped"),
        ("adult", "Be spoken to as an adult, not talked over"),
    ),
}
_DOMAINS = tuple(OUTCOMES)

CONTINGENCIES = (
    "My daughter will come round if a carer cannot get here; the agency rings her first.",
    "If a visit is missed the agency's on-call manager phones me and sends someone within the hour.",
    "My neighbour has a key and checks on me if nobody has come by ten o'clock.",
    "If my PA is off sick I use the agency's bank staff, booked through my direct payment.",
    "My son stays over if the night carer cannot come, and tells the council the next morning.",
    "The care team calls the council's duty line if my needs change or support breaks down.",
    "I have a pendant alarm; the response service calls my brother if I press it.",
    "If the day centre is closed the supported living team covers the hours at home.",
)

RELATIVES_OF_OLDER = ("Daughter", "Son", "Daughter", "Son", "Niece", "Nephew", "Wife", "Husband", "Friend")
RELATIVES_OF_YOUNGER = ("Mother", "Father", "Sister", "Brother", "Mother", "Father")

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAYS = DAYS[:5]

MECHANISMS = [mechanism.value for mechanism in DeliveryMechanism]

# Indices (0 = Mary) that always get a 24-hour, two-carer package (over £300,000 a year),
# so even a small build has the top of the range.
TWENTY_FOUR_HOUR_INDICES = frozenset({3, 150, 250})


def _money(amount: Decimal) -> str:
    return format_money(amount)


def _pounds(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _pennies(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _clock(rng: random.Random, first: str, last: str, step: int = 15) -> str:
    h1, m1 = map(int, first.split(":"))
    h2, m2 = map(int, last.split(":"))
    minutes = rng.randrange(h1 * 60 + m1, h2 * 60 + m2 + 1, step)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _visit(days: list[str], start: str, minutes: int) -> dict[str, Any]:
    return {"days": [d for d in DAYS if d in days], "start": start, "minutes": minutes}


def _rrule_visit(rule: str, start: str, minutes: int) -> dict[str, Any]:
    return {"rrule": rule, "start": start, "minutes": minutes}


def _service(ref: str, provider: DemoProvider, component: str, visits: list[dict[str, Any]], rates: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "ref": ref,
        "provider": provider.ref,
        "service_component": component,
        "rates": dict(rates or provider.rates),
        "visits": visits,
    }


def _homecare_provider(rng: random.Random, not_this: DemoProvider | None = None) -> DemoProvider:
    while True:
        provider = rng.choices(_HOMECARE, weights=_HOMECARE_WEIGHTS)[0]
        if provider is not not_this:
            return provider


def _fortnightly_domestic(rng: random.Random, provider: DemoProvider) -> dict[str, Any]:
    day = rng.choice(WEEKDAYS)
    visit = _rrule_visit(f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}", _clock(rng, "10:00", "14:00", 30), 60)
    return _service("domestic", provider, HOMECARE, [visit])


# -- the kinds of package ----------------------------------------------------------------------
# Each returns the plan's services (careledger/plan@1 dicts).


def _light_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = _homecare_provider(rng)
    shape = rng.randrange(4)
    if shape == 0:  # one 30-minute call a day
        visits = [_visit(DAYS, _clock(rng, "08:00", "10:00"), 30)]
    elif shape == 1:  # a longer call three days a week
        visits = [_visit(sorted(rng.sample(WEEKDAYS, 3), key=DAYS.index), _clock(rng, "09:30", "11:00"), 60)]
    elif shape == 2:  # weekday mornings and a fortnightly clean
        visits = [
            _visit(WEEKDAYS, _clock(rng, "08:00", "09:30"), 30),
            _rrule_visit(f"FREQ=WEEKLY;INTERVAL=2;BYDAY={rng.choice(WEEKDAYS)}", "14:00", 60),
        ]
    else:  # a lunchtime medication prompt and a shower twice a week
        visits = [
            _visit(DAYS, _clock(rng, "12:00", "13:00"), 15),
            _visit(sorted(rng.sample(WEEKDAYS, 2), key=DAYS.index), _clock(rng, "09:00", "10:30"), 45),
        ]
    return [_service("homecare", provider, HOMECARE, visits)]


def _twice_daily_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = _homecare_provider(rng)
    visits = [_visit(DAYS, _clock(rng, "07:00", "09:00"), rng.choice([30, 30, 45, 45, 60]))]
    if rng.random() < 0.5:
        visits.append(_visit(DAYS, _clock(rng, "19:30", "21:30"), rng.choice([15, 30, 30])))
    else:
        visits.append(_visit(DAYS, _clock(rng, "16:30", "18:00"), 30))
    if rng.random() < 0.3:
        visits.insert(1, _visit(WEEKDAYS, _clock(rng, "12:00", "13:30"), 30))
    services = [_service("homecare", provider, HOMECARE, visits)]
    if rng.random() < 0.25:
        services.append(_fortnightly_domestic(rng, _homecare_provider(rng, not_this=provider)))
    return services


def _four_calls_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = _homecare_provider(rng)
    morning = _visit(DAYS, _clock(rng, "07:00", "08:30"), rng.choice([45, 60]))
    bed = _visit(DAYS, _clock(rng, "19:30", "21:30"), rng.choice([30, 30, 45]))
    visits = [
        morning,
        _visit(DAYS, _clock(rng, "12:00", "13:30"), 30),
        _visit(DAYS, _clock(rng, "16:30", "18:00"), 30),
        bed,
    ]
    services = [_service("homecare", provider, HOMECARE, visits)]
    if rng.random() < 0.3:  # moving with a hoist needs two carers
        services.append(_service("second-carer", provider, HOMECARE, copy.deepcopy([morning, bed])))
    if rng.random() < 0.25:
        day_centre = rng.choice(_SUPPORTED)
        services.append(_service("day-support", day_centre, DAY_SUPPORT, [_visit(sorted(rng.sample(WEEKDAYS, 2), key=DAYS.index), "10:00", 360)]))
    return services


def _pa_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = rng.choice(_PA)
    standard = Decimal(rng.randrange(1300, 1801, 5)) / 100
    rates = {"standard": f"{standard:.2f}"}
    if rng.random() < 0.3:
        rates["weekend"] = f"{standard + 1:.2f}"
    if rng.random() < 0.4:
        rates["bank_holiday"] = f"{standard * Decimal('1.5'):.2f}"
    days = sorted(rng.sample(DAYS, rng.randint(2, 6)), key=DAYS.index)
    visits = [_visit(days, _clock(rng, "09:00", "11:00", 30), rng.choice([180, 240, 300, 360]))]
    if rng.random() < 0.35:
        others = [d for d in DAYS if d not in days] or DAYS
        visits.append(_visit(sorted(rng.sample(others, min(len(others), rng.randint(1, 3))), key=DAYS.index), _clock(rng, "17:00", "18:30", 30), 120))
    return [_service("pa-support", provider, DIRECT_PAYMENT, visits, rates)]


def _supported_living_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = rng.choice(_SUPPORTED)
    visits = [
        _visit(WEEKDAYS, _clock(rng, "09:00", "10:00", 30), rng.choice([240, 300, 360])),
        _visit(DAYS, _clock(rng, "17:00", "18:00", 30), rng.choice([90, 120, 150])),
    ]
    if rng.random() < 0.5:
        visits.append(_visit(["SA", "SU"], "10:30", rng.choice([180, 240])))
    services = [_service("supported-living", provider, SUPPORTED_LIVING, visits)]
    if rng.random() < 0.2:
        services.append(_fortnightly_domestic(rng, _homecare_provider(rng)))
    return services


def _waking_nights_package(rng: random.Random) -> list[dict[str, Any]]:
    services = _four_calls_package(rng)
    nights = DAYS if rng.random() < 0.4 else sorted(rng.sample(DAYS, rng.randint(2, 4)), key=DAYS.index)
    services.append(_service("waking-night", _BY_REF["NIGHTINGALE"], HOMECARE, [_visit(nights, "22:00", 600)]))
    return services


def _twenty_four_hour_package(rng: random.Random) -> list[dict[str, Any]]:
    provider = rng.choice(_SUPPORTED)
    shifts = [_visit(DAYS, "08:00", 840), _visit(DAYS, "22:00", 600)]  # 08:00-22:00 and 22:00-08:00
    return [
        _service("first-carer", provider, SUPPORTED_LIVING, copy.deepcopy(shifts)),
        _service("second-carer", provider, SUPPORTED_LIVING, copy.deepcopy(shifts)),
    ]


# name, builder, weight, who ("older", "younger" or "any")
PACKAGES: tuple[tuple[str, Callable[[random.Random], list[dict[str, Any]]], float, str], ...] = (
    ("light", _light_package, 12, "older"),
    ("twice_daily", _twice_daily_package, 24, "older"),
    ("four_calls", _four_calls_package, 18, "older"),
    ("pa", _pa_package, 17, "any"),
    ("supported_living", _supported_living_package, 13, "younger"),
    ("waking_nights", _waking_nights_package, 7, "any"),
    ("twenty_four_hour", _twenty_four_hour_package, 0.5, "younger"),
)


def _pick_package(rng: random.Random, index: int) -> tuple[str, Callable[[random.Random], list[dict[str, Any]]], str]:
    if index in TWENTY_FOUR_HOUR_INDICES:
        name, builder, _, who = PACKAGES[-1]
        return name, builder, who
    name, builder, _, who = rng.choices(PACKAGES, weights=[p[2] for p in PACKAGES])[0]
    return name, builder, who


def _mechanism(rng: random.Random, package: str) -> str:
    if package == "pa":
        return "direct_payment"
    if package == "twenty_four_hour":
        return rng.choice(["commissioned", "council_managed"])
    return rng.choices(MECHANISMS, weights=[10, 20, 15, 55])[0]


def _budget_period(rng: random.Random) -> tuple[date, date]:
    if rng.random() < 0.8:
        start = FINANCIAL_YEAR_START
    else:  # a package that started part-way through 2026: 52 weeks from then
        start = date(2026, 1, 5) + timedelta(days=rng.randrange(0, 340))
    return start, start + WEEKS_52 - timedelta(days=1)


def _budget_for(cost: Decimal, rng: random.Random) -> Decimal:
    """A budget near the plan's cost: mostly within 10%, some generous, some short."""
    roll = rng.random()
    if roll < 0.25:
        return _pennies(cost)  # set to the plan's cost
    if roll < 0.75:
        factor = Decimal(rng.randrange(960, 1061)) / 1000
    elif roll < 0.88:
        factor = Decimal(rng.randrange(1100, 1301)) / 1000  # over-budgeted: room to spare
    else:
        factor = Decimal(rng.randrange(820, 951)) / 1000  # under-budgeted: the plan costs more
    return _pounds(cost * factor)


def _outcomes(rng: random.Random, package: str) -> list[dict[str, str]]:
    count = rng.choice([1, 2, 2, 3])
    weights = {d: 1.0 for d in _DOMAINS}
    if package in ("light", "twice_daily", "four_calls", "waking_nights"):
        weights.update(personal_care=3.0, food_drink=2.0, safety=2.0)
    else:
        weights.update(occupation=2.5, social_participation=2.5, control=2.0)
    domains: list[str] = []
    while len(domains) < count:
        domain = rng.choices(_DOMAINS, weights=[weights[d] for d in _DOMAINS])[0]
        if domain not in domains:
            domains.append(domain)
    return [{"ref": ref, "text": text, "domain": domain} for domain in domains for ref, text in [rng.choice(OUTCOMES[domain])]]


def _person(rng: random.Random, index: int, who: str) -> tuple[dict[str, Any], str, bool]:
    older = who == "older" or (who == "any" and rng.random() < 0.5)
    if older:
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, (date(1960, 12, 31) - date(1930, 1, 1)).days))
    else:
        birth = date(1961, 1, 1) + timedelta(days=rng.randrange(0, (date(2004, 12, 31) - date(1961, 1, 1)).days))
    female = rng.random() < (0.62 if older else 0.5)
    names = (OLDER_WOMEN if female else OLDER_MEN) if older else (YOUNGER_WOMEN if female else YOUNGER_MEN)
    given, family = rng.choice(names), rng.choice(FAMILY_NAMES)
    roll = rng.random()
    carer_gender = None
    if roll < 0.25:
        carer_gender = "female" if female else "male"
    elif roll < 0.28:
        carer_gender = "female"
    person = {
        "ref": f"P{index:06d}",
        "given_name": given,
        "family_name": family,
        "birth_date": birth.isoformat(),
        "preferences": {"carer_gender": carer_gender, "known_carers_only": rng.random() < 0.1},
    }
    return person, family, older


def _representative(rng: random.Random, index: int, family: str, older: bool, mechanism: str) -> dict[str, Any] | None:
    if rng.random() >= 0.3:
        return None
    if rng.random() < 0.15:
        given = rng.choice(YOUNGER_WOMEN + YOUNGER_MEN)
        name, relationship = f"{given} {rng.choice(FAMILY_NAMES)}", "Advocate"
        email = f"{given.lower()}.advocate@example.org"
    else:
        relationship = rng.choice(RELATIVES_OF_OLDER if older else RELATIVES_OF_YOUNGER)
        women = relationship in ("Daughter", "Niece", "Wife", "Mother", "Sister")
        if relationship == "Friend":
            women = rng.random() < 0.5
        pool = YOUNGER_WOMEN if women else YOUNGER_MEN
        if relationship in ("Wife", "Husband"):
            pool = OLDER_WOMEN if women else OLDER_MEN
        elif relationship in ("Mother", "Father"):
            pool = OLDER_WOMEN[10:] + YOUNGER_WOMEN[10:] if women else OLDER_MEN[10:] + YOUNGER_MEN[10:]
        given = rng.choice(pool)
        surname = rng.choice(FAMILY_NAMES) if relationship in ("Friend", "Daughter", "Niece", "Sister") and rng.random() < 0.5 else family
        name = f"{given} {surname}"
        email = f"{given.lower()}.{surname.lower()}@example.org"
    return {
        "name": name,
        "relationship": relationship,
        "email": email if rng.random() < 0.7 else "",
        "phone": f"07700 900{index % 1000:03d}",  # Ofcom's range for drama: never a real number
        "is_nominated_person": mechanism == "direct_payment" and relationship != "Advocate" and rng.random() < 0.5,
    }


def _plan_cost(plan_data: dict[str, Any]) -> Decimal:
    return cost_plan(plan_from_data(plan_data)).period_cost


def _with_review_increase(services_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services after a review added time: 15 more minutes on each call, or an hour on a long session."""
    changed = copy.deepcopy(services_data)
    visits = changed[0]["visits"]
    calls = [v for v in visits if v["minutes"] < 120]
    if calls:
        for visit in calls:
            visit["minutes"] += 15
    else:
        visits[0]["minutes"] = min(visits[0]["minutes"] + 60, 24 * 60)
    return changed


def _one_person(rng: random.Random, index: int) -> dict[str, Any]:
    package, builder, who = _pick_package(rng, index)
    person, family, older = _person(rng, index, who)
    mechanism = _mechanism(rng, package)
    start, end = _budget_period(rng)
    services_data = builder(rng)
    plan: dict[str, Any] = {
        "format": FORMAT,
        "person": person,
        "budget": {
            "annual_amount": "0.00",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "delivery_mechanism": mechanism,
            "weekly_contribution": "0.00",
        },
        "services": services_data,
        "outcomes": _outcomes(rng, package),
        "review_every_weeks": rng.choices([6, 12, 26, 52], weights=[1, 2, 3, 4])[0],
        "contingency": rng.choice(CONTINGENCIES),
    }
    if mechanism == "isf":
        plan["review_every_weeks"] = rng.choice([6, 12])
    budget = _budget_for(_plan_cost(plan), rng)
    plan["budget"]["annual_amount"] = _money(budget)

    # Funding: NHS continuing healthcare shares the cost of complex packages; section 117
    # aftercare pays for some mental-health support in full. Neither charges the person.
    funding: list[dict[str, str]] = []
    if package in ("twenty_four_hour", "waking_nights") and rng.random() < 0.6:
        nhs = _pennies(budget * Decimal(rng.choice([40, 50, 60, 100])) / 100)
        funding = [{"source": "nhs_chc", "annual_amount": _money(nhs)}]
        if nhs != budget:
            funding.insert(0, {"source": "council", "annual_amount": _money(budget - nhs)})
    elif package in ("pa", "supported_living") and rng.random() < 0.1:
        funding = [{"source": "section_117", "annual_amount": _money(budget)}]
    if funding:
        plan["budget"]["funding"] = funding
    elif rng.random() < 0.45:
        weekly = budget / 52
        contribution = min(Decimal(rng.randrange(500, 16000)) / 100, (weekly * Decimal("0.6")).quantize(Decimal("0.01")))
        plan["budget"]["weekly_contribution"] = _money(contribution)

    versions = [{"effective_from": start.isoformat(), "note": "demo: first plan", "plan": plan}]
    if index % 30 == 11 and package != "twenty_four_hour":  # about one in thirty: a review added hours part-way through the year
        changed = copy.deepcopy(plan)
        changed["services"] = _with_review_increase(plan["services"])
        effective = start + REVIEW_CHANGE_AFTER
        if rng.random() < 0.5:  # the budget went up to match; otherwise it is now overspent
            both = [(start, plan_from_data(plan)), (effective, plan_from_data(changed))]
            new_budget = _pounds(period_cost(versioned_priced_visits(both)))
            changed["budget"]["annual_amount"] = _money(new_budget)
            if funding:
                changed["budget"]["funding"] = _rescale(funding, budget, new_budget)
        versions.append({"effective_from": effective.isoformat(), "note": "demo: review increased the hours", "plan": changed})

    return {
        "ref": person["ref"],
        "package": package,
        "versions": versions,
        "representative": _representative(rng, index, family, older, mechanism),
    }


def _rescale(funding: list[dict[str, str]], old: Decimal, new: Decimal) -> list[dict[str, str]]:
    shares = [dict(f) for f in funding]
    if len(shares) == 1:
        shares[0]["annual_amount"] = _money(new)
        return shares
    last = shares[-1]
    moved = _pennies(Decimal(last["annual_amount"]) * new / old)
    last["annual_amount"] = _money(moved)
    shares[0]["annual_amount"] = _money(new - moved)
    return shares


def generate_people(seed: int, people: int) -> list[dict[str, Any]]:
    """Every demo person's plan files, plan changes and representative. Pure and repeatable.

    Returns ``people`` entries (Mary first), each a dict with ``ref``, ``package`` (the
    kind of support), ``versions`` (a list of ``{"effective_from", "note", "plan"}``,
    ``plan`` being a ``careledger/plan@1`` dict) and ``representative`` (or None).
    """
    if people < 1:
        raise InvalidInput("a demo needs at least one person (Mary): --people 1 or more")
    rng = random.Random(seed)
    result = [
        {
            "ref": MARY_PLAN["person"]["ref"],
            "package": "worked_example",
            "versions": [{"effective_from": MARY_PLAN["budget"]["start_date"], "note": "demo: the worked example", "plan": copy.deepcopy(MARY_PLAN)}],
            "representative": dict(MARY_REPRESENTATIVE),
        }
    ]
    for index in range(1, people):
        result.append(_one_person(rng, index))
    return result


# -- writing it --------------------------------------------------------------------------------


def demo_password() -> str:
    return os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD


@dataclass
class DemoSummary:
    council_code: str
    council_name: str
    people: int
    providers: int
    plans: int
    plan_versions: int
    by_mechanism: dict[str, int]
    smallest: Decimal
    median: Decimal
    largest: Decimal
    people_created: int = 0
    versions_created: int = 0
    providers_created: int = 0
    left_as_found: list[str] = field(default_factory=list)
    username: str = DEMO_USERNAME
    password_from_env: bool = False
    seconds: float = 0.0
    # -- delivery data (careledger.demo.delivery) --
    delivery_upto: date | None = None
    visits_imported: int = 0
    visits_stored: int = 0
    packages_by_rag: dict[str, int] = field(default_factory=dict)  # worst of the three questions
    followed_by_rag: dict[str, int] = field(default_factory=dict)  # "is the plan followed?" alone

    def describe(self, base_url: str) -> str:
        base = base_url if base_url.endswith("/") else base_url + "/"
        if self.people_created or self.versions_created or self.providers_created:
            news = f"{self.people_created} people, {self.providers_created} providers and {self.versions_created} plan versions added"
        else:
            news = "it was already there: nothing added or changed"
        lines = [
            f"Demo council {self.council_code}: {self.council_name}  ({news}; {self.seconds:.1f} s)",
            f"  people:     {self.people}",
            f"  providers:  {self.providers}",
            f"  plans:      {self.plans} ({self.plan_versions} versions), by delivery mechanism:",
        ]
        width = max(len(mechanism.label) for mechanism in DeliveryMechanism)
        for mechanism in DeliveryMechanism:
            lines.append(f"    {mechanism.label:<{width}}  {self.by_mechanism.get(mechanism.value, 0):>5}")
        lines.append(
            f"  annual budgets: smallest {format_gbp(self.smallest)}, median {format_gbp(self.median)}, largest {format_gbp(self.largest)}"
        )
        # -- delivery data (careledger.demo.delivery) --
        if self.delivery_upto is not None:
            lines.append(
                f"  visits:     {self.visits_stored} up to {self.delivery_upto.isoformat()} ({self.visits_imported} imported now)"
            )

            def rag(counts: dict[str, int]) -> str:
                return ", ".join(f"{counts.get(colour, 0)} {colour}" for colour in ("red", "amber", "green"))

            lines.append(f"  packages:   {rag(self.packages_by_rag)}; plan followed: {rag(self.followed_by_rag)}")
        # -- end of delivery data --
        if self.left_as_found:
            shown = ", ".join(self.left_as_found[:5]) + (" ..." if len(self.left_as_found) > 5 else "")
            lines.append(
                f"  {len(self.left_as_found)} people already had plans that differ from this seed's and were left as they are: {shown}"
            )
        password = f"the password in {PASSWORD_ENV}" if self.password_from_env else f"password {DEFAULT_PASSWORD}"
        lines += [
            "",
            "Open:",
            f"  {base:<44} home page",
            f"  {base + 'admin/':<44} administration (sign in below)",
            f"  {base + 'api/v1/docs':<44} the API, to try in the browser",
            f"  {base + 'api/v1/openapi.json':<44} the OpenAPI document",
            "",
            f"Sign in at {base + 'sign-in/'} (each login sees only what its role may; {password} for all):",
            *[
                f"  {login.username:<20} {Membership.Role(login.role).label}"
                + (f" ({login.provider_ref})" if login.provider_ref else "")
                + (f" ({login.person_ref})" if login.person_ref else "")
                for login in DEMO_LOGINS
            ],
            "  Every name in the demo is made up.",
            "",
            f"Mary ({MARY_PLAN['person']['ref']}) is one of the people: careledger plan export {MARY_PLAN['person']['ref']} --council {self.council_code}",
        ]
        return "\n".join(lines)


def build_demo(
    *,
    seed: int = 2026,
    people: int = 300,
    progress: Callable[[str], None] = lambda m: None,
    upto: date | None = None,
    delivery: bool = True,
) -> DemoSummary:
    """Build (or find already built) the demo council; return what is there.

    Everything goes through the services, in one transaction: an interrupted build
    leaves nothing behind. Running it again adds nothing and changes nothing; people
    whose stored plans differ from this seed's (another seed, or edited since) are
    left as they are and listed in the summary.

    Then the delivery data (:mod:`careledger.demo.delivery`): visits up to ``upto``
    (default yesterday in London, never after the budgets end) for the people built
    from this seed, and every package's status as at that day (``delivery=False``
    leaves it out: the tests of the plans alone use that).
    """
    started = time.perf_counter()
    progress(f"generating {people} people (seed {seed})")
    generated = generate_people(seed, people)
    with acting_as(ACTOR), transaction.atomic():
        council = _council(progress)
        scope = Scope.system(council, ACTOR)
        providers_created = _providers(scope, progress)
        people_created, versions_created, left = _people(scope, generated, progress)
        _demo_login(council, progress)
        _ = load_outcomes(scope, generated, left, seed=seed, upto=upto, progress=progress) if delivery else None  # outcomes, reviews, incidents (#7)
        loaded = _delivery(scope, generated, left, seed=seed, upto=upto, progress=progress) if delivery else None
        summary = _summarise(council)
        if loaded is not None:
            summary.delivery_upto = loaded.upto
            summary.visits_imported = loaded.visits_imported
            summary.visits_stored = Visit.objects.filter(council=council).count()
            summary.packages_by_rag = loaded.worst
            summary.followed_by_rag = loaded.followed
    summary.people_created = people_created
    summary.versions_created = versions_created
    summary.providers_created = providers_created
    summary.left_as_found = left
    summary.password_from_env = bool(os.environ.get(PASSWORD_ENV))
    summary.seconds = time.perf_counter() - started
    progress(f"done in {summary.seconds:.1f} s")
    return summary


# -- delivery data (careledger.demo.delivery) --


def _delivery(
    scope: Scope, generated: list[dict[str, Any]], left: list[str], *, seed: int, upto: date | None, progress: Callable[[str], None]
) -> DeliveryLoad | None:
    """Visits for the people built from this seed (not those left as found), and their statuses."""
    skip = set(left)
    people_plans = [
        [(date.fromisoformat(v["effective_from"]), plan_from_data(v["plan"])) for v in entry["versions"]]
        for entry in generated
        if entry["ref"] not in skip
    ]
    if not people_plans:
        return None
    starts = [versions[0][1].budget.start_date for versions in people_plans]
    ends = [versions[-1][1].budget.end_date for versions in people_plans]
    upto = min(upto or datetime.now(LONDON).date() - timedelta(days=1), max(ends))
    if upto < min(starts):
        progress(f"no visits: {upto.isoformat()} is before the budgets start")
        return None
    return load_delivery(scope, people_plans, seed=seed, upto=upto, progress=progress)


# -- end of delivery data --


def _council(progress: Callable[[str], None]) -> m.Council:
    council = m.Council.objects.filter(code=COUNCIL_CODE).first()
    if council is None:
        progress(f"creating council {COUNCIL_CODE}")
        council = services.council_create(code=COUNCIL_CODE, name=COUNCIL_NAME)
    else:
        progress(f"council {COUNCIL_CODE} is already there")
    return council


def _providers(scope: Scope, progress: Callable[[str], None]) -> int:
    progress("building providers")
    council = scope.council
    existing = set(m.Provider.objects.filter(council=council).values_list("ref", flat=True))
    created = 0
    for spec in PROVIDERS:
        if spec.ref not in existing:
            provider = services.provider_create(scope=scope, ref=spec.ref, name=spec.name)
            created += 1
            # The default contract's rates: set once, when the provider is new, so a
            # rerun never overwrites rates someone has since changed in the admin.
            # Saved (not QuerySet.update) so that the audit trail sees the change.
            contract = m.Contract.objects.get(council=council, provider=provider, ref=f"{spec.ref}/default")
            contract.standard_rate = Decimal(spec.standard)
            contract.weekend_rate = Decimal(spec.weekend) if spec.weekend else None
            contract.bank_holiday_rate = Decimal(spec.bank_holiday) if spec.bank_holiday else None
            contract.save(update_fields=["standard_rate", "weekend_rate", "bank_holiday_rate"])
    progress(f"providers: {len(PROVIDERS)} ({created} new)")
    return created


def _people(scope: Scope, generated: list[dict[str, Any]], progress: Callable[[str], None]) -> tuple[int, int, list[str]]:
    council = scope.council
    stored: dict[str, list[tuple[date, dict]]] = {}
    for ref, effective_from, document in (
        m.PlanVersion.objects.filter(plan__council=council).order_by("plan__person__ref", "number").values_list("plan__person__ref", "effective_from", "document")
    ):
        stored.setdefault(ref, []).append((effective_from, document))
    known_people = set(m.Person.objects.filter(council=council).values_list("ref", flat=True))
    representatives = set(
        m.Representative.objects.filter(person__council=council).values_list("person__ref", "name", "relationship")
    )

    people_created = versions_created = 0
    left: list[str] = []
    total = len(generated)
    for position, entry in enumerate(generated, start=1):
        ref = entry["ref"]
        have = stored.get(ref, [])
        wanted = [(date.fromisoformat(v["effective_from"]), plan_to_data(plan_from_data(v["plan"]))) for v in entry["versions"]]
        if have != wanted[: len(have)] or (ref in known_people and not have):
            left.append(ref)
            continue
        if ref not in known_people:
            people_created += 1
        for version in entry["versions"][len(have) :]:
            services.plan_import(
                scope=scope,
                raw=version["plan"],
                source=f"demo:{ref}",
                effective_from=date.fromisoformat(version["effective_from"]),
                note=version["note"],
            )
            versions_created += 1
        rep = entry["representative"]
        if rep and (ref, rep["name"], rep["relationship"]) not in representatives:
            person = m.Person.objects.get(council=council, ref=ref)
            m.Representative.objects.create(person=person, **rep)
        if position % 50 == 0 or position == total:
            progress(f"people {position}/{total}")
    return people_created, versions_created, left


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    provider_ref: str | None = None
    person_ref: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_PERMISSIONS


# One login per role, each scoped as careledger.access.scope says: the council's staff
# see the whole council; the provider manager sees ACME-CARE's people; Mary and her son
# see Mary's records only.
DEMO_LOGINS = (
    DemoLogin(DEMO_USERNAME, Membership.Role.COUNCIL_ADMIN),
    DemoLogin("demo-commissioner", Membership.Role.COMMISSIONER),
    DemoLogin("demo-finance", Membership.Role.FINANCE),
    DemoLogin("demo-auditor", Membership.Role.AUDITOR),
    DemoLogin("demo-provider", Membership.Role.PROVIDER, provider_ref="ACME-CARE"),
    DemoLogin("demo-mary", Membership.Role.PERSON, person_ref="MARY-86"),
    DemoLogin("demo-family", Membership.Role.REPRESENTATIVE, person_ref="MARY-86"),
)

# What each staff role may do in the admin site. Plan versions are view-only everywhere (a
# plan changes by importing a new version); tokens are made through the API or CLI, which
# show the secret once; nothing may be deleted through a demo login.
STAFF_PERMISSIONS = {
    Membership.Role.COUNCIL_ADMIN: ("view", "add", "change"),
    Membership.Role.COMMISSIONER: ("view", "add", "change"),
    Membership.Role.FINANCE: ("view",),
    Membership.Role.AUDITOR: ("view",),
}


def _admin_permissions(role: str = Membership.Role.COUNCIL_ADMIN) -> list[tuple[str, str]]:
    """(app label, codename) of what a demo staff login with ``role`` may do in the admin site."""
    wanted: list[tuple[str, str]] = []
    read_only = {m.PlanVersion, ApiToken}
    allowed = STAFF_PERMISSIONS.get(role, ())
    models = [*apps.get_app_config(m.Council._meta.app_label).get_models()]
    if role in (Membership.Role.COUNCIL_ADMIN, Membership.Role.AUDITOR):
        models += [Membership, ApiToken]
    for model in models:
        actions = tuple(a for a in allowed if a == "view") if model in read_only else allowed
        wanted += [(model._meta.app_label, f"{action}_{model._meta.model_name}") for action in actions]
    return wanted


def _demo_login(council: m.Council, progress: Callable[[str], None]) -> None:
    for login in DEMO_LOGINS:
        _one_login(council, login, progress)


def _one_login(council: m.Council, login: DemoLogin, progress: Callable[[str], None]) -> None:
    User = get_user_model()
    user, created = User.objects.get_or_create(username=login.username, defaults={"is_staff": login.is_staff, "is_active": True})
    changed = []
    for name, value in (("is_staff", login.is_staff), ("is_superuser", False), ("is_active", True)):
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    password = demo_password()
    if created or not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed and not created:
        user.save(update_fields=changed)
    elif created:
        user.save()
    provider = council.providers.get(ref=login.provider_ref) if login.provider_ref else None
    person = council.people.filter(ref=login.person_ref).first() if login.person_ref else None
    if login.person_ref and person is None:
        return  # a build too small to hold Mary (never with the default seed: she comes first)
    Membership.objects.get_or_create(user=user, council=council, role=login.role, provider=provider, person=person)

    wanted_perms = _admin_permissions(login.role) if login.is_staff else []
    by_app: dict[str, list[str]] = {}
    for app_label, codename in wanted_perms:
        by_app.setdefault(app_label, []).append(codename)
    wanted: set[int] = set()
    for app_label, codenames in by_app.items():
        wanted |= set(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames).values_list("id", flat=True))
    if len(wanted) != len(wanted_perms):  # pragma: no cover - the permissions come with the migrations
        raise RuntimeError("some admin permissions are missing: run `careledger migrate`")
    missing = wanted - set(user.user_permissions.values_list("id", flat=True))
    if missing:
        user.user_permissions.add(*sorted(missing))
    progress(f"demo login {login.username}: {'created' if created else 'already there'}")


def _summarise(council: m.Council) -> DemoSummary:
    latest: dict[int, tuple[Decimal, str]] = {}
    versions = 0
    for plan_id, amount, mechanism in (
        m.PlanVersion.objects.filter(plan__council=council).order_by("plan_id", "-number").values_list("plan_id", "budget__annual_amount", "budget__delivery_mechanism")
    ):
        versions += 1
        latest.setdefault(plan_id, (amount, mechanism))
    amounts = sorted(a for a, _ in latest.values())
    if amounts:
        middle = len(amounts) // 2
        median = amounts[middle] if len(amounts) % 2 else (amounts[middle - 1] + amounts[middle]) / 2
    else:
        median = ZERO
    return DemoSummary(
        council_code=council.code,
        council_name=council.name,
        people=m.Person.objects.filter(council=council).count(),
        providers=m.Provider.objects.filter(council=council).count(),
        plans=len(latest),
        plan_versions=versions,
        by_mechanism=dict(Counter(mech for _, mech in latest.values())),
        smallest=amounts[0] if amounts else ZERO,
        median=median,
        largest=amounts[-1] if amounts else ZERO,
    )
