"""Reads: a person's outcomes and their ratings, reviews due, incidents, "working?" and value for money.

Every function takes the caller's :class:`~careledger.records.scoping.Scope` (or a
person already found through one) and returns only what it reaches.

A person's outcomes are the recorded ones (:class:`~careledger.outcomes.models.Outcome`)
together with the outcomes of the plan version in force that have not been recorded
yet (agreed on the date of the first plan version that has them). Safeguarding
concerns are seen by council staff and by whoever raised them, nobody else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Max, Q, QuerySet

from careledger.domain.money import divide, format_money
from careledger.domain.outcomes import Change, Level, ReviewCadence, change, count_changes, days_overdue, next_review_due, trend
from careledger.domain.plans import AscotDomain, DeliveryMechanism, Plan
from careledger.domain.status import ReviewState
from careledger.records.models import Outcome as PlanOutcome
from careledger.records.models import Person, PlanVersion
from careledger.records.scoping import Scope
from careledger.records.selectors import today_in_london

from .models import Incident, Outcome, Rating, Review

STAFF_ROLES = frozenset({"council_admin", "commissioner", "finance", "auditor"})

__all__ = [
    "OutcomeView",
    "person_outcomes",
    "cadence_for",
    "review_state",
    "review_states",
    "reviews_due",
    "review_list",
    "incident_list",
    "incident_get",
    "value_for_money",
    "PackageSpend",
    "spend_from_rows",
    "outcome_dict",
    "review_dict",
    "incident_dict",
]


@dataclass(frozen=True)
class OutcomeView:
    ref: str
    text: str
    domain: AscotDomain
    agreed_on: date
    agreed_by: str
    status: str
    source: str
    baseline: Level | None = None
    record_id: int | None = None
    ratings: tuple[tuple[date, Level], ...] = ()  # (review date, level), oldest first

    @property
    def latest(self) -> Level | None:
        return self.ratings[-1][1] if self.ratings else None

    @property
    def previous(self) -> Level | None:
        if len(self.ratings) >= 2:
            return self.ratings[-2][1]
        return self.baseline if self.ratings else None

    @property
    def change(self) -> Change | None:
        """Its latest rating against the one before (or the baseline)."""
        return change(self.previous, self.latest)

    @property
    def change_overall(self) -> Change | None:
        """Its latest rating against the first one known (baseline, else first rating)."""
        first = self.baseline or (self.ratings[0][1] if len(self.ratings) >= 2 else None)
        return change(first, self.latest)

    def as_dict(self) -> dict:
        return {
            "ref": self.ref, "text": self.text, "domain": self.domain.value, "domain_label": self.domain.label,
            "agreed_on": self.agreed_on.isoformat(), "agreed_by": self.agreed_by, "status": self.status, "source": self.source,
            "baseline": self.baseline.value if self.baseline else None,
            "latest": self.latest.value if self.latest else None, "previous": self.previous.value if self.previous else None,
            "change": self.change.value if self.change else None,
            "ratings": [{"review_on": d.isoformat(), "level": level.value} for d, level in self.ratings],
        }  # fmt: skip


# -- a person's outcomes and "working?": rows for any number of people, then the same assembly ----------
#
# The loaders read plain rows (``values_list``) for many people at once, a fixed number of queries
# whatever their number, filtered by the council and the person ids. The builders are pure: from one
# person's rows they make the OutcomeViews and the ReviewState. ``person_outcomes`` and ``review_state``
# are the same loaders and builders applied to one person, so one person and a council's recompute
# can never disagree.

_OUTCOME_COLUMNS = ("id", "person_id", "ref", "text", "domain", "agreed_on", "agreed_by", "baseline", "status", "ended_on", "source")


@dataclass(frozen=True)
class _OutcomeRows:
    """What the outcome views are made from, for some people as at a date (every mapping is by id)."""

    recorded: Mapping[int, list[tuple]]  # person -> every recorded outcome (_OUTCOME_COLUMNS), by agreed_on then id
    ratings: Mapping[int, list[tuple[date, Level]]]  # outcome -> (review date, level) up to as_of, by review date then id
    versions: Mapping[int, tuple[int, int, date]]  # person -> the plan version in force: (id, number, effective_from)
    plan_outcomes: Mapping[int, list[tuple]]  # person -> (version id, ref, text, domain, effective_from, number) of versions in force by as_of


@dataclass(frozen=True)
class _ReviewRows:
    reviews: Mapping[int, list[tuple[date, int | None]]]  # person -> (held on, quality of life) up to as_of, oldest first
    open_incidents: Mapping[int, int]  # person -> incidents open as at as_of (safeguarding left out)


def _load_outcome_rows(council_id: int, person_ids: list[int], as_of: date) -> _OutcomeRows:
    """Four queries, whatever the number of people."""
    recorded: dict[int, list[tuple]] = defaultdict(list)
    for row in (
        Outcome.objects.filter(council_id=council_id, person_id__in=person_ids).order_by("person_id", "agreed_on", "id").values_list(*_OUTCOME_COLUMNS)
    ):
        recorded[row[1]].append(row)
    ratings: dict[int, list[tuple[date, Level]]] = defaultdict(list)
    for outcome_id, held_on, level in (
        # By the outcome's council and person (not the rating's council): SQLite then starts from the person's outcomes.
        Rating.objects.filter(outcome__council_id=council_id, outcome__person_id__in=person_ids, review__held_on__lte=as_of)
        .order_by("review__held_on", "id")
        .values_list("outcome_id", "review__held_on", "level")
    ):
        ratings[outcome_id].append((held_on, Level(level)))
    versions: dict[int, tuple[int, int, date]] = {}
    for version_id, person_id, number, effective_from in (
        PlanVersion.objects.filter(plan__council_id=council_id, plan__person_id__in=person_ids, effective_from__lte=as_of)
        .order_by("effective_from", "number")
        .values_list("id", "plan__person_id", "number", "effective_from")
    ):
        versions[person_id] = (version_id, number, effective_from)  # the last in (effective_from, number) order is in force
    plan_outcomes: dict[int, list[tuple]] = defaultdict(list)
    for person_id, *row in (
        PlanOutcome.objects.filter(version__plan__council_id=council_id, version__plan__person_id__in=person_ids, version__effective_from__lte=as_of)
        .order_by("version__effective_from", "version__number", "id")
        .values_list("version__plan__person_id", "version_id", "ref", "text", "domain", "version__effective_from", "version__number")
    ):
        plan_outcomes[person_id].append(tuple(row))
    return _OutcomeRows(recorded, ratings, versions, plan_outcomes)


def _load_review_rows(council_id: int, person_ids: list[int], as_of: date) -> _ReviewRows:
    """Two queries, whatever the number of people.

    An incident counts as open when it had happened by ``as_of`` and was not settled or closed by
    then. Safeguarding flags are left out: the status is shown to the person, their family and the
    provider, and a count would tell them a concern exists (the council sees the flags in its list).
    """
    reviews: dict[int, list[tuple[date, int | None]]] = defaultdict(list)
    for person_id, held_on, score in (
        Review.objects.filter(council_id=council_id, person_id__in=person_ids, held_on__lte=as_of)
        .order_by("held_on")  # one review per person a day
        .values_list("person_id", "held_on", "quality_of_life")
    ):
        reviews[person_id].append((held_on, score))
    open_incidents = Counter(  # counted here: with a GROUP BY, SQLite would read the whole council's incidents for one person
        Incident.objects.filter(council_id=council_id, person_id__in=person_ids, happened_on__lte=as_of)
        .exclude(kind=Incident.Kind.SAFEGUARDING)
        .filter(Q(status__in=Incident.OPEN_STATUSES) | Q(settled_on__gt=as_of))
        .order_by()
        .values_list("person_id", flat=True)
    )
    return _ReviewRows(reviews, open_incidents)


def _outcome_views(rows: _OutcomeRows, person_id: int, as_of: date, include_ended: bool = False) -> list[OutcomeView]:
    """The person's recorded outcomes agreed by ``as_of`` (ended ones left out unless asked), then the plan's not yet recorded."""
    views = []
    known: set[str] = set()  # every recorded ref, whenever agreed: those are no longer the plan's
    for outcome_id, _, ref, text, domain, agreed_on, agreed_by, baseline, status, ended_on, source in rows.recorded.get(person_id, ()):
        known.add(ref)
        if agreed_on > as_of:
            continue
        ended = status == Outcome.Status.ENDED and (ended_on is None or ended_on <= as_of)
        if ended and not include_ended:
            continue
        if ended_on is not None and ended_on > as_of:
            status = Outcome.Status.ACTIVE  # achieved or ended later: still being worked towards then
        views.append(
            OutcomeView(ref, text, AscotDomain(domain), agreed_on, agreed_by, status, source,
                        Level(baseline) if baseline else None, outcome_id, tuple(rows.ratings.get(outcome_id, ())))  # fmt: skip
        )
    views.extend(_plan_outcome_views(rows.versions.get(person_id), rows.plan_outcomes.get(person_id, ()), known))
    return views


def _plan_outcome_views(version: tuple[int, int, date] | None, plan_outcomes, known: set[str]) -> list[OutcomeView]:
    """Outcomes of the plan version in force not yet recorded, agreed with the first version that has them."""
    if version is None:
        return []
    version_id, current_number, current_from = version
    first_seen: dict[str, tuple[date, int]] = {}
    for _, ref, _, _, effective_from, number in plan_outcomes:
        first_seen.setdefault(ref, (effective_from, number))
    views = []
    for in_version, ref, text, domain, _, _ in plan_outcomes:
        if in_version != version_id or ref in known:
            continue
        agreed_on, number = first_seen.get(ref, (current_from, current_number))
        views.append(OutcomeView(ref, text, AscotDomain(domain), agreed_on, f"care plan version {number}", "active", f"plan:v{number}"))
    return views


def _review_state(outcomes: list[OutcomeView], reviews: list[tuple[date, int | None]], open_incidents: int, plan: Plan) -> ReviewState:
    counts = count_changes(o.change for o in outcomes)
    last = reviews[-1][0] if reviews else None
    scores = [score for _, score in reviews if score is not None]
    return ReviewState(
        outcomes=len(outcomes),
        improving=counts["improving"],
        same=counts["same"],
        worse=counts["worse"],
        last_review=last,
        next_review_due=next_review_due(start=plan.budget.start_date, cadence=cadence_for(plan), last_review=last),
        open_incidents=open_incidents,
        quality_of_life=scores[-1] if scores else None,
        quality_of_life_before=scores[-2] if len(scores) >= 2 else None,
    )


def person_outcomes(*, person: Person, as_of: date | None = None, include_ended: bool = False) -> list[OutcomeView]:
    """The person's outcomes as at ``as_of`` (default today), with every rating up to then, oldest first."""
    as_of = as_of or today_in_london()
    return _outcome_views(_load_outcome_rows(person.council_id, [person.pk], as_of), person.pk, as_of, include_ended)


def cadence_for(plan: Plan) -> ReviewCadence:
    return ReviewCadence(every_weeks=plan.review_every_weeks, direct_payment=plan.budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT)


def review_states(*, council_id: int, plans: Mapping[int, Plan], as_of: date) -> dict[int, ReviewState]:
    """``review_state(person=<person id>, plan=plans[id], as_of=as_of)`` for every person id in ``plans``, with a fixed number of queries.

    Six queries whatever the number of people (none when there is nobody), reading only the
    council's rows for those people: a person of another council reads as having nothing. The
    caller has found the people through its scope (the recompute of a council's statuses).
    """
    person_ids = list(plans)
    if not person_ids:
        return {}
    outcome_rows = _load_outcome_rows(council_id, person_ids, as_of)
    review_rows = _load_review_rows(council_id, person_ids, as_of)
    return {
        person_id: _review_state(
            _outcome_views(outcome_rows, person_id, as_of), review_rows.reviews.get(person_id, []), review_rows.open_incidents.get(person_id, 0), plan
        )
        for person_id, plan in plans.items()
    }


def review_state(*, person: Person, plan: Plan, as_of: date) -> ReviewState:
    """What the status's "working" question reads for ``person`` as at ``as_of`` (``plan`` is the version in force)."""
    return review_states(council_id=person.council_id, plans={person.pk: plan}, as_of=as_of)[person.pk]


@dataclass(frozen=True)
class DueReview:
    person_ref: str
    cadence: str
    last_review: date | None
    due: date
    days_overdue: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    def as_dict(self) -> dict:
        return {
            "person_ref": self.person_ref, "cadence": self.cadence,
            "last_review": self.last_review.isoformat() if self.last_review else None,
            "due": self.due.isoformat(), "overdue": self.overdue, "days_overdue": self.days_overdue,
        }  # fmt: skip


def reviews_due(*, scope: Scope, as_of: date, within_days: int = 0, overdue_only: bool = False) -> list[DueReview]:
    """Reviews due by ``as_of`` + ``within_days`` (overdue ones first, most overdue first), for every plan in force."""
    if within_days < 0:
        from careledger.records.errors import InvalidInput

        raise InvalidInput("within_days cannot be negative")
    people = scope.people()
    latest: dict[int, dict] = {}
    for row in (
        PlanVersion.objects.filter(plan__person__in=people, effective_from__lte=as_of)
        .order_by("effective_from", "number")
        .values("plan__person_id", "plan__person__ref", "review_every_weeks", "budget__start_date", "budget__end_date", "budget__delivery_mechanism")
    ):
        latest[row["plan__person_id"]] = row
    last_reviews = dict(
        Review.objects.filter(person__in=people, held_on__lte=as_of).values("person_id").annotate(last=Max("held_on")).values_list("person_id", "last")
    )
    found = []
    horizon = date.fromordinal(as_of.toordinal() + within_days)
    for person_id, row in latest.items():
        if row["budget__end_date"] < as_of:
            continue  # that budget has ended: its next review is the new budget's
        cadence = ReviewCadence(every_weeks=row["review_every_weeks"], direct_payment=row["budget__delivery_mechanism"] == DeliveryMechanism.DIRECT_PAYMENT)
        last = last_reviews.get(person_id)
        due = next_review_due(start=row["budget__start_date"], cadence=cadence, last_review=last)
        late = days_overdue(due, as_of)
        if due > horizon or (overdue_only and not late):
            continue
        found.append(DueReview(row["plan__person__ref"], cadence.describe(), last, due, late))
    return sorted(found, key=lambda d: (-d.days_overdue, d.due, d.person_ref))


def review_list(*, scope: Scope, person_ref: str) -> QuerySet[Review]:
    person = scope.person(person_ref)
    return Review.objects.filter(person=person).select_related("plan_version").prefetch_related("ratings__outcome").order_by("held_on", "id")


def _visible_incidents(scope: Scope) -> QuerySet[Incident]:
    incidents = Incident.objects.filter(council=scope.council, person__in=scope.people())
    if scope.whole_council and (scope.roles & STAFF_ROLES or not scope.roles or "council_token" in scope.roles):
        return incidents
    reach = ~Q(kind=Incident.Kind.SAFEGUARDING) | Q(raised_by=scope.actor)
    if scope.provider_ids and not scope.person_ids:
        # A provider sees what concerns it (or what it raised), not complaints about another provider.
        reach &= Q(provider_id__in=scope.provider_ids) | Q(provider__isnull=True) | Q(raised_by=scope.actor)
    return incidents.filter(reach)


def incident_list(*, scope: Scope, status: str | None = None, person_ref: str | None = None, kind: str | None = None,
                  provider_ref: str | None = None) -> QuerySet[Incident]:  # fmt: skip
    incidents = _visible_incidents(scope).select_related("person", "provider").prefetch_related("visit_links__visit")
    if status == "open":
        incidents = incidents.filter(status__in=Incident.OPEN_STATUSES)
    elif status:
        incidents = incidents.filter(status=status)
    if person_ref:
        incidents = incidents.filter(person__ref=person_ref)
    if kind:
        incidents = incidents.filter(kind=kind)
    if provider_ref:
        incidents = incidents.filter(provider__ref=provider_ref)
    return incidents.order_by("-happened_on", "-id")


def incident_get(*, scope: Scope, incident_id: int) -> Incident:
    from careledger.records.errors import NotFound

    found = _visible_incidents(scope).select_related("person", "provider").filter(pk=incident_id).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}")
    return found


# -- value for money ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageSpend:
    """What a package has cost so far (from its stored status): the caller supplies it."""

    budget: Decimal
    spent: Decimal
    provider_ref: str
    as_of: date
    mechanism: str = ""


@dataclass
class _Tally:
    packages: int = 0
    budget: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)
    outcomes: int = 0
    rated: int = 0
    improving: int = 0
    same: int = 0
    worse: int = 0
    qol_changes: list[int] = field(default_factory=list)

    def add(self, row: dict, spend: PackageSpend | None) -> None:
        self.packages += 1
        if spend is not None:
            self.budget += spend.budget
            self.spent += spend.spent
        for name in ("outcomes", "rated", "improving", "same", "worse"):
            setattr(self, name, getattr(self, name) + row[name])
        if row["quality_of_life_change"] is not None:
            self.qol_changes.append(row["quality_of_life_change"])

    def as_dict(self) -> dict:
        net = self.improving - self.worse
        return {
            "packages": self.packages, "budget": format_money(self.budget), "spent": format_money(self.spent),
            "outcomes": self.outcomes, "rated": self.rated, "improving": self.improving, "same": self.same, "worse": self.worse,
            "net_improving": net,
            "spent_per_improving_outcome": format_money(divide(self.spent, self.improving)) if self.improving else None,
            "packages_with_score_change": len(self.qol_changes),
            "mean_quality_of_life_change": format_money(divide(sum(self.qol_changes), len(self.qol_changes))) if self.qol_changes else None,
        }  # fmt: skip


def value_for_money(*, scope: Scope, spend: Mapping[int, PackageSpend], as_of: date | None = None, person_ref: str | None = None) -> dict:
    """Spend beside outcome change, per package, per provider and for everything the caller may see.

    An outcome's change here is over the whole time it has been rated (its latest rating
    against its baseline, or its first rating); the quality-of-life change is the latest
    score against the first. ``spend`` maps person ids to what their package has cost
    (the monitoring layer's stored statuses). Money is rounded half-up to the penny once.
    """
    as_of = as_of or today_in_london()
    people = scope.people().filter(care_plan__isnull=False).order_by("ref")
    if person_ref:
        people = people.filter(pk=scope.person(person_ref).pk)
    people = list(people.only("id", "ref"))
    ids = [p.id for p in people]
    ratings: dict[int, list[tuple[date, Level]]] = defaultdict(list)
    for outcome_id, held_on, level in (
        Rating.objects.filter(outcome__person_id__in=ids, review__held_on__lte=as_of).order_by("review__held_on", "id").values_list("outcome_id", "review__held_on", "level")
    ):
        ratings[outcome_id].append((held_on, Level(level)))
    outcomes_by_person: dict[int, list[OutcomeView]] = defaultdict(list)
    for o in Outcome.objects.filter(person_id__in=ids, agreed_on__lte=as_of).exclude(status=Outcome.Status.ENDED, ended_on__lte=as_of):
        outcomes_by_person[o.person_id].append(
            OutcomeView(o.ref, o.text, AscotDomain(o.domain), o.agreed_on, o.agreed_by, o.status, o.source,
                        Level(o.baseline) if o.baseline else None, o.pk, tuple(ratings.get(o.pk, ())))  # fmt: skip
        )
    # People whose plans have outcomes: those not recorded yet count as outcomes not yet rated.
    with_plan_outcomes = set(PlanOutcome.objects.filter(version__plan__person_id__in=ids).values_list("version__plan__person_id", flat=True))
    scores: dict[int, list[int]] = defaultdict(list)
    for person_id, score in Review.objects.filter(person_id__in=ids, held_on__lte=as_of, quality_of_life__isnull=False).order_by("held_on").values_list("person_id", "quality_of_life"):
        scores[person_id].append(score)

    packages, by_provider, total = [], defaultdict(_Tally), _Tally()
    for person in people:
        views = outcomes_by_person.get(person.id, [])
        if not views and person.id in with_plan_outcomes:
            views = person_outcomes(person=person, as_of=as_of)
        changes = [v.change_overall for v in views]
        counts = {"improving": 0, "same": 0, "worse": 0}
        for c in changes:
            if c is not None:
                counts[c.value] += 1
        qol = scores.get(person.id, [])
        spent = spend.get(person.id)
        row = {
            "person_ref": person.ref,
            "provider_ref": spent.provider_ref if spent else None,
            "mechanism": spent.mechanism if spent else None,
            "spend_as_of": spent.as_of.isoformat() if spent else None,
            "budget": format_money(spent.budget) if spent else None,
            "spent": format_money(spent.spent) if spent else None,
            "outcomes": len(views),
            "rated": sum(1 for c in changes if c is not None),
            **counts,
            "quality_of_life_first": qol[0] if qol else None,
            "quality_of_life_latest": qol[-1] if qol else None,
            "quality_of_life_change": qol[-1] - qol[0] if len(qol) >= 2 else None,
            "quality_of_life_trend": (trend(qol).value if trend(qol) else None),
            "spent_per_improving_outcome": format_money(divide(spent.spent, counts["improving"])) if spent and counts["improving"] else None,
        }
        packages.append(row)
        total.add(row, spent)
        by_provider[spent.provider_ref if spent and spent.provider_ref else "(none)"].add(row, spent)
    return {
        "as_of": as_of.isoformat(),
        "total": total.as_dict(),
        "by_provider": {ref: tally.as_dict() for ref, tally in sorted(by_provider.items())},
        "packages": packages,
    }


def spend_from_rows(rows) -> dict[int, PackageSpend]:
    """``PackageSpend`` by person id from (person id, budget, spent, provider ref, as of, mechanism) rows."""
    return {pid: PackageSpend(budget, spent, provider, as_of, mechanism) for pid, budget, spent, provider, as_of, mechanism in rows}


# -- shapes for the API and the CLI ---------------------------------------------------------------


def outcome_dict(outcome) -> dict:
    return {
        "ref": outcome.ref, "text": outcome.text, "domain": outcome.domain, "agreed_on": outcome.agreed_on.isoformat(),
        "agreed_by": outcome.agreed_by, "baseline": outcome.baseline or None, "status": outcome.status, "source": outcome.source,
    }  # fmt: skip


def review_dict(review: Review) -> dict:
    return {
        "id": review.pk, "person_ref": review.person.ref, "held_on": review.held_on.isoformat(),
        "due_on": review.due_on.isoformat() if review.due_on else None, "method": review.method, "participants": review.participants,
        "ratings": [
            {"outcome": r.outcome.ref, "text": r.outcome.text, "domain": r.outcome.domain, "rating": r.level,
             "previous": r.previous_level or None, "change": r.change or None, "comment": r.comment}
            for r in review.ratings.all()
        ],  # fmt: skip
        "domain_ratings": review.domain_ratings, "quality_of_life": review.quality_of_life, "comments": review.comments,
        "decisions": review.decisions,
        "plan_version": {"number": review.plan_version.number, "effective_from": review.plan_version.effective_from.isoformat()}
        if review.plan_version_id else None,
    }  # fmt: skip


def incident_dict(incident: Incident) -> dict:
    return {
        "id": incident.pk, "person_ref": incident.person.ref, "kind": incident.kind, "summary": incident.summary,
        "happened_on": incident.happened_on.isoformat(), "provider_ref": incident.provider.ref if incident.provider_id else None,
        "visit_refs": [link.visit.ref for link in incident.visit_links.all()], "parties": incident.parties,
        "safeguarding_link": incident.safeguarding_link or None, "status": incident.status, "owner": incident.owner,
        "raised_by": incident.raised_by, "raised_as": incident.raised_as, "notes": incident.notes, "resolution": incident.resolution,
        "settled_on": incident.settled_on.isoformat() if incident.settled_on else None, "settled_by": incident.settled_by or None,
        "adjustment": format_money(incident.adjustment_amount) if incident.adjustment_amount is not None else None,
        "adjustment_kind": incident.adjustment_kind or None, "ledger_source": incident.ledger_source or None,
    }  # fmt: skip
