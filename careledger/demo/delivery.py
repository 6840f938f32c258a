"""Delivery data for the demo council: visits and carers, so its packages have a status.

Two halves, as in :mod:`careledger.demo.build`:

* :func:`generate_delivery` is pure: from the people's plans (their versions, as
  domain :class:`~careledger.domain.plans.Plan` objects), a seed and a last day
  ``upto``, it writes the visits CSV and the carers CSV (``formats.md`` section 3)
  that an electronic call monitoring system would export. Every scheduled slot from
  the budget's start to ``upto`` gets a row (or, for some missed visits, none), by a
  small stable team of carers per person and provider. How often a visit is missed,
  late, short or by a carer of the wrong gender depends on the provider's
  :class:`QualityProfile`. It reads no clock and no database.
* :func:`load_delivery` imports that through :func:`careledger.ingest.services.import_file`
  (carers, then visits) and recomputes every package's status. Running it again
  imports nothing: rows whose refs are already stored are left out of the file.

Visit refs are one per slot (``PROVIDER-PERSON-yyyymmddHHMM-SERVICE``), the same for
any seed. No transactions are generated: the demo plans name no payment accounts
(a direct payment's ``budget.account_ref``), so there is no account to report on.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from careledger.domain.costing import scheduled_visits
from careledger.domain.localtime import LONDON, UTC
from careledger.domain.plans import DeliveryMechanism, Plan
from careledger.domain.schedules import ScheduledVisit

__all__ = [
    "CARER_COLUMNS",
    "MARY_REF",
    "PROFILES",
    "VISIT_COLUMNS",
    "DeliveryData",
    "DeliveryLoad",
    "QualityProfile",
    "generate_delivery",
    "load_delivery",
    "overspend_target",
]

VISIT_COLUMNS = (
    "visit_ref", "person_ref", "provider_ref", "service_ref", "carer_ref",
    "planned_start", "planned_minutes", "actual_start", "actual_end", "status",
)  # fmt: skip
CARER_COLUMNS = ("carer_ref", "provider_ref", "gender")

MARY_REF = "MARY-86"
MARY_LATE = 5  # Mary's visits that start late
MARY_MALE = 2  # ... and those by a male carer (she prefers women)

OVERSPEND_OVER = Decimal("100000")  # the first package above this is heading for an overspend
OVERSPEND_DAYS = 42  # ... because of extra visits on each of the last this many days
OVERSPEND_EXTRAS = ((10, 30, 90), (14, 30, 90), (22, 30, 60))  # (hour, minute, minutes) each day


@dataclass(frozen=True)
class QualityProfile:
    """How a provider delivers: the share of its slots that go each way, and its staff."""

    missed: float  # missed: reported "missed", or (``unreported`` of them) no row at all
    late: float  # started 35 to 90 minutes late
    short: float  # 60% to 75% of the planned minutes
    wrong_gender: float = 0.0  # by a carer of the gender the person asked not to have
    cancelled: float = 0.003  # cancelled by the person
    extra: float = 0.002  # an extra, unplanned visit on the same day
    cover: float = 0.02  # by a carer from outside the person's usual team
    unreported: float = 0.5
    staff: int = 30
    female_share: float = 0.8


GOOD = QualityProfile(missed=0.002, late=0.025, short=0.015)
PROFILES: dict[str, QualityProfile] = {
    "ACME-CARE": GOOD,
    "BRIGHTCARE": QualityProfile(missed=0.004, late=0.04, short=0.03, wrong_gender=0.002, staff=40),
    # the poor one: many missed visits, late and short calls, and the wrong carers
    "HEARTHSIDE": QualityProfile(missed=0.07, late=0.16, short=0.12, wrong_gender=0.03, cover=0.08, staff=25),
    "KINDLY-HANDS": QualityProfile(missed=0.001, late=0.015, short=0.01),
    # stretched: more late and short calls than it should, some missed
    "RIVERSIDE": QualityProfile(missed=0.012, late=0.09, short=0.06, wrong_gender=0.01, cover=0.05, staff=40),
    "MEADOWVIEW": QualityProfile(missed=0.001, late=0.02, short=0.01, staff=40),
    "WILLOWBANK": QualityProfile(missed=0.002, late=0.02, short=0.02, staff=35),
    "NIGHTINGALE": QualityProfile(missed=0.002, late=0.03, short=0.01, staff=25),
    "OAKTREE-PA": QualityProfile(missed=0.002, late=0.02, short=0.02, cover=0.0, staff=20),
    "COMPASS-PA": QualityProfile(missed=0.004, late=0.03, short=0.03, cover=0.0, staff=20),
}
DEFAULT_PROFILE = GOOD

PersonPlans = Sequence[tuple[date, Plan]]  # one person's plan versions: (effective_from, plan)


@dataclass
class DeliveryData:
    """The two CSV files, and what went into them (counts by provider and by outcome)."""

    visits_csv: str
    carers_csv: str
    visit_rows: int = 0
    carers: int = 0
    by_provider: dict[str, Counter] = field(default_factory=dict)
    visit_refs: list[tuple[str, str]] = field(default_factory=list)  # (provider_ref, visit_ref) per row, in file order


def overspend_target(people_plans: Iterable[PersonPlans]) -> str | None:
    """The person whose package is made to head for an overspend: the first one above £100,000
    that is not a direct payment (a direct payment's spending is its account, not its visits)."""
    for versions in people_plans:
        if not versions:
            continue
        plan = versions[-1][1]
        if plan.budget.annual_amount > OVERSPEND_OVER and plan.budget.delivery_mechanism != DeliveryMechanism.DIRECT_PAYMENT:
            return plan.person.ref
    return None


class _Staff:
    """Each provider's carers (refs and genders, from the seed), and which of them were used."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.pools: dict[str, list[tuple[str, str]]] = {}
        self.used: dict[str, str] = {}  # carer ref -> provider ref

    def pool(self, provider: str) -> list[tuple[str, str]]:
        if provider not in self.pools:
            profile = PROFILES.get(provider, DEFAULT_PROFILE)
            rng = random.Random(f"{self.seed}:staff:{provider}")
            self.pools[provider] = [
                (f"{provider}/C{n:02d}", "female" if rng.random() < profile.female_share else "male") for n in range(1, profile.staff + 1)
            ]
        return self.pools[provider]

    def gender(self, provider: str, carer: str) -> str:
        return dict(self.pool(provider))[carer]

    def use(self, provider: str, carer: str) -> str:
        self.used[carer] = provider
        return carer


def _team(rng: random.Random, staff: _Staff, provider: str, preferred: str | None, size: int) -> tuple[list[str], list[str], list[str]]:
    """(the person's team, other carers they may accept as cover, carers of the gender they asked not to have)."""
    pool = staff.pool(provider)
    fitting = [ref for ref, gender in pool if preferred is None or gender == preferred] or [ref for ref, _ in pool]
    wrong = [ref for ref, gender in pool if preferred is not None and gender != preferred]
    team = rng.sample(fitting, min(size, len(fitting)))
    cover = [ref for ref in fitting if ref not in team] or team
    return team, cover, wrong


def generate_delivery(people_plans: Iterable[PersonPlans], *, seed: int, upto: date) -> DeliveryData:
    """The visits and carers CSV for every scheduled slot of ``people_plans`` up to ``upto``, inclusive."""
    people = [list(versions) for versions in people_plans if versions]
    target = overspend_target(people)
    staff = _Staff(seed)
    lines = [",".join(VISIT_COLUMNS)]
    by_provider: dict[str, Counter] = {}
    refs: list[tuple[str, str]] = []
    for versions in people:
        _person(versions, seed=seed, upto=upto, staff=staff, overspend=versions[-1][1].person.ref == target, lines=lines, by_provider=by_provider, refs=refs)
    carers = [",".join(CARER_COLUMNS)] + [
        f"{carer},{provider},{staff.gender(provider, carer)}" for carer, provider in sorted(staff.used.items(), key=lambda item: (item[1], item[0]))
    ]
    return DeliveryData(
        visits_csv="\n".join(lines) + "\n",
        carers_csv="\n".join(carers) + "\n",
        visit_rows=len(lines) - 1,
        carers=len(carers) - 1,
        by_provider=by_provider,
        visit_refs=refs,
    )


def _slots(versions: list[tuple[date, Plan]], upto: date) -> list[ScheduledVisit]:
    """The scheduled slots up to ``upto``: each plan version's in its own span (as ``versioned_priced_visits``)."""
    ordered = sorted(versions, key=lambda pair: pair[0])
    slots: list[ScheduledVisit] = []
    for index, (effective_from, plan) in enumerate(ordered):
        last = ordered[index + 1][0] - timedelta(days=1) if index + 1 < len(ordered) else plan.budget.end_date
        last = min(last, upto)
        if last >= effective_from:
            slots.extend(scheduled_visits(plan, effective_from, last))
    return slots


def _person(
    versions: list[tuple[date, Plan]],
    *,
    seed: int,
    upto: date,
    staff: _Staff,
    overspend: bool,
    lines: list[str],
    by_provider: dict[str, Counter],
    refs: list[tuple[str, str]],
) -> None:
    latest = versions[-1][1]
    person = latest.person.ref
    preferred = latest.person.preferences.carer_gender
    rng = random.Random(f"{seed}:visits:{person}")
    providers = {s.ref: s.provider_ref for _, plan in versions for s in plan.services}
    slots = _slots(versions, upto)
    if not slots:
        return
    per_day = len(slots) / max(1, (slots[-1].local_date - slots[0].local_date).days + 1)
    size = 3 if per_day <= 3 else 5 if per_day <= 6 else 8
    teams = {provider: _team(rng, staff, provider, preferred, size) for provider in sorted(set(providers.values()))}
    profiles = {provider: PROFILES.get(provider, DEFAULT_PROFILE) for provider in teams}

    is_mary = person == MARY_REF
    mary_late: set[int] = set()
    mary_male: set[int] = set()
    if is_mary:
        chosen = rng.sample(range(len(slots)), min(len(slots), MARY_LATE + MARY_MALE))
        mary_late, mary_male = set(chosen[:MARY_LATE]), set(chosen[MARY_LATE:])

    seen: set[str] = set()

    def add(provider: str, ref: str, service: str, carer: str, planned: str, minutes: int, begin: datetime | None, took: int, status: str) -> None:
        while ref in seen:  # two slots of one service at one minute (a second carer, or the hour the clocks go back)
            ref += "-b"
        seen.add(ref)
        refs.append((provider, ref))
        if begin is None:
            actual = ","
        else:  # naive UTC, written with a Z
            actual = f"{begin.isoformat(timespec='minutes')}Z,{(begin + timedelta(minutes=took)).isoformat(timespec='minutes')}Z"
        lines.append(f"{ref},{person},{provider},{service},{carer},{planned},{minutes},{actual},{status}")

    random_ = rng.random
    for index, slot in enumerate(slots):
        service = slot.service_ref
        provider = providers[service]
        profile = profiles[provider]
        counts = by_provider.setdefault(provider, Counter())
        counts["slots"] += 1
        team, cover, wrong = teams[provider]
        planned = slot.start.isoformat(timespec="minutes")  # 2026-04-06T09:00+01:00
        ref = f"{provider}-{person}-{planned[0:4]}{planned[5:7]}{planned[8:10]}{planned[11:13]}{planned[14:16]}-{service}"
        minutes = slot.minutes
        start_utc = slot.start.astimezone(UTC).replace(tzinfo=None)
        draw = random_()
        if is_mary:  # close to her plan: a few late visits and two by a man
            draw = 1.0
        if draw < profile.missed:
            counts["missed"] += 1
            if random_() < profile.unreported:
                counts["unreported"] += 1
                continue
            add(provider, ref, service, "", planned, minutes, None, 0, "missed")
            continue
        draw -= profile.missed
        if draw < profile.cancelled:
            counts["cancelled"] += 1
            add(provider, ref, service, "", planned, minutes, None, 0, "cancelled_by_person")
            continue
        draw -= profile.cancelled
        carer = cover[int(random_() * len(cover))] if random_() < profile.cover else team[int(random_() * len(team))]
        if draw < profile.late or index in mary_late:
            counts["late"] += 1
            begin, took = start_utc + timedelta(minutes=35 + int(random_() * 56)), minutes + int(random_() * 6) - 2
        else:
            begin = start_utc + timedelta(minutes=int(random_() * 16) - 5)
            if draw - profile.late < profile.short:
                counts["short"] += 1
                took = round(minutes * (0.60 + 0.15 * random_()))
            else:
                took = minutes + int(random_() * 9) - 3
        if wrong and (index in mary_male or (not is_mary and random_() < profile.wrong_gender)):
            carer = wrong[int(random_() * len(wrong))]
            counts["wrong_gender"] += 1
        counts["completed"] += 1
        staff.use(provider, carer)
        add(provider, ref, service, carer, planned, minutes, begin, max(1, took), "completed")
        if not is_mary and random_() < profile.extra:
            counts["extra"] += 1
            extra_at = slot.start + timedelta(hours=3)
            extra_carer = staff.use(provider, team[int(random_() * len(team))])
            extra_utc = extra_at.astimezone(UTC).replace(tzinfo=None)
            add(provider, f"{ref}-x", service, extra_carer, extra_at.isoformat(timespec="minutes"), 60, extra_utc, 60 + int(random_() * 9) - 3, "completed")

    if overspend:  # extra, unplanned visits every day lately: heading for an overspend
        first_service = latest.services[0]
        provider = first_service.provider_ref
        counts = by_provider.setdefault(provider, Counter())
        team = teams[provider][0]
        last = min(upto, latest.budget.end_date)
        day = max(latest.budget.start_date, last - timedelta(days=OVERSPEND_DAYS - 1))
        while day <= last:
            for hour, minute, minutes in OVERSPEND_EXTRAS:
                at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)
                counts["extra"] += 1
                add(provider, f"{provider}-{person}-{at.strftime('%Y%m%d%H%M')}-{first_service.ref}-extra", first_service.ref,
                    staff.use(provider, rng.choice(team)), at.isoformat(timespec="minutes"), minutes,
                    at.astimezone(UTC).replace(tzinfo=None), minutes + rng.randint(0, 5), "completed")  # fmt: skip
            day += timedelta(days=1)


# -- loading it --------------------------------------------------------------------------------


@dataclass
class DeliveryLoad:
    """What :func:`load_delivery` did, and the packages' stored statuses afterwards."""

    upto: date
    visits_generated: int = 0
    visits_imported: int = 0
    carers_imported: int = 0
    rejected: int = 0
    statuses: int = 0
    status_failures: dict[str, str] = field(default_factory=dict)
    worst: dict[str, int] = field(default_factory=dict)  # "red"/"amber"/"green" -> packages
    followed: dict[str, int] = field(default_factory=dict)
    affordable: dict[str, int] = field(default_factory=dict)


def load_delivery(
    scope,
    people_plans: Iterable[PersonPlans],
    *,
    seed: int,
    upto: date,
    progress: Callable[[str], None] = lambda message: None,
) -> DeliveryLoad:
    """Import the generated carers and visits (those not yet stored) and recompute the statuses."""
    from careledger.ingest.models import Carer, Visit
    from careledger.ingest.services import import_file
    from careledger.monitoring.models import PackageStatus
    from careledger.monitoring.services import recompute_statuses

    council = scope.council
    progress(f"generating visits up to {upto.isoformat()}")
    data = generate_delivery(people_plans, seed=seed, upto=upto)
    result = DeliveryLoad(upto=upto, visits_generated=data.visit_rows)

    known_visits = set(Visit.objects.filter(council=council).values_list("provider__ref", "ref"))
    visit_lines = data.visits_csv.splitlines()
    new_visits = [visit_lines[0]] + [line for key, line in zip(data.visit_refs, visit_lines[1:], strict=True) if key not in known_visits]

    # Only the carers of the new visits, and only those not yet stored: a rerun imports nothing.
    needed = {(fields[2], fields[4]) for fields in (line.split(",") for line in new_visits[1:]) if fields[4]}
    known_carers = set(Carer.objects.filter(council=council).values_list("provider__ref", "ref"))
    carer_lines = data.carers_csv.splitlines()
    new_carers = [carer_lines[0]] + [
        line for line in carer_lines[1:] if (key := tuple(reversed(line.split(",")[:2]))) in needed and key not in known_carers
    ]
    if len(new_carers) > 1:
        summary = import_file(scope=scope, kind="carers", stream=BytesIO(("\n".join(new_carers) + "\n").encode()), source="demo-carers.csv")
        result.carers_imported = summary.run.added + summary.run.amended
        result.rejected += summary.run.rejected

    if len(new_visits) > 1:
        progress(f"importing {len(new_visits) - 1} visits")
        summary = import_file(scope=scope, kind="visits", stream=BytesIO(("\n".join(new_visits) + "\n").encode()), source="demo-visits.csv")
        result.visits_imported = summary.run.added + summary.run.amended
        result.rejected += summary.run.rejected
    else:
        progress("visits: all already there")

    progress("computing package statuses")
    recomputed = recompute_statuses(scope=scope, as_of=upto, only_stale=len(new_visits) == 1)
    result.statuses = recomputed.packages
    result.status_failures = dict(recomputed.failed)
    stored = PackageStatus.objects.filter(council=council)
    names = {0: "red", 1: "amber", 2: "green"}
    result.worst = dict(Counter(names[w] for w in stored.values_list("worst", flat=True)))
    result.followed = dict(Counter(stored.values_list("followed", flat=True)))
    result.affordable = dict(Counter(stored.values_list("affordable", flat=True)))
    return result
