"""Writes: record outcomes, record reviews (which may change the plan), raise and settle incidents.

Who may do what (the caller's :class:`~careledger.records.scoping.Scope` says):

* outcomes and reviews: council administrators and commissioners (and the operator's CLI);
* incidents: raised by council staff (not auditors), providers, the person and their
  representatives, each about someone they reach; updated and settled by council
  administrators, commissioners and finance officers.

Anything else is refused as not found. Each write validates everything first and
writes in one transaction; every row written is in the audit trail (the ``outcomes``
app is audited). A settled dispute's agreed payment adjustment is posted to the
ledger once, with ``source_ref`` ``incident:<id>``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from careledger.audit.context import acting_as

from careledger.domain.money import parse_money
from careledger.domain.outcomes import Level, ReviewCadence, change, domain_ratings, next_review_due, parse_domain, parse_level, quality_of_life
from careledger.domain.plans import DeliveryMechanism
from careledger.ingest.models import Visit
from careledger.records import services as records_services
from careledger.records.errors import Conflict, InvalidInput, NotFound
from careledger.records.models import PlanVersion, Provider, ref_validator
from careledger.records.scoping import Scope
from careledger.records.selectors import today_in_london

from .models import Incident, IncidentVisit, Outcome, Rating, Review
from .selectors import incident_get, person_outcomes

log = logging.getLogger(__name__)

REVIEWERS = frozenset({"council_admin", "commissioner"})
INCIDENT_RAISERS = frozenset({"council_admin", "commissioner", "finance", "provider", "person", "representative"})
INCIDENT_HANDLERS = frozenset({"council_admin", "commissioner", "finance"})
PARTIES = ("council", "person", "provider")
MAX_TEXT = 4000

__all__ = ["outcome_record", "outcome_close", "review_record", "incident_raise", "incident_update", "incident_settle"]


def _as_caller(service):
    """Write the audit trail's entries as the scope's actor (the same label a request or the CLI sets)."""

    @functools.wraps(service)
    def run(*, scope: Scope, **kwargs):
        with acting_as(scope.actor):
            return service(scope=scope, **kwargs)

    return run


def _operator(scope: Scope) -> bool:
    """The CLI, the demo builder or a superuser: the whole council with no role attached."""
    return not scope.roles and scope.whole_council and scope.can_manage


def _allow(scope: Scope, roles: frozenset[str]) -> None:
    scope.require(bool(scope.roles & roles) or _operator(scope))


def _text(value: Any, what: str, problems: list[str], *, required: bool = True, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.append(f"{what}: must be text")
        return ""
    value = value.strip()
    if "\x00" in value:
        problems.append(f"{what}: contains a NUL character")
    elif required and not value:
        problems.append(f"{what}: is required")
    elif len(value) > limit:
        problems.append(f"{what}: is longer than {limit} characters")
    return value


def _not_future(day: date, what: str, problems: list[str]) -> None:
    if day > today_in_london():
        problems.append(f"{what}: {day.isoformat()} is in the future")


def _refuse(problems: list[str]) -> None:
    if problems:
        raise InvalidInput("; ".join(problems))


# -- outcomes -------------------------------------------------------------------------------------


@_as_caller
def outcome_record(*, scope: Scope, person_ref: str, ref: str, text: str, domain: str, agreed_on: date, agreed_by: str,
                   baseline: str | None = None) -> Outcome:  # fmt: skip
    """Record an outcome in the person's own words, its ASCOT domain, who agreed it and when."""
    _allow(scope, REVIEWERS)
    person = scope.person(person_ref)
    problems: list[str] = []
    ref = _text(ref, "ref", problems, limit=64)
    if ref:
        try:
            ref_validator(ref)
        except ValidationError:
            problems.append(f"ref: {ref!r} is not a reference (letters, digits, '.', '_', '-' or '/')")
    text = _text(text, "text", problems)
    agreed_by = _text(agreed_by, "agreed_by", problems, limit=300)
    found_domain = _parse(parse_domain, domain, "domain", problems)
    found_baseline = _parse(parse_level, baseline, "baseline", problems) if baseline not in (None, "") else None
    _not_future(agreed_on, "agreed_on", problems)
    _refuse(problems)
    if Outcome.objects.filter(person=person, ref=ref).exists():
        raise Conflict(f"{person.ref} already has an outcome {ref!r}")
    outcome = Outcome(
        council=scope.council, person=person, ref=ref, text=text, domain=found_domain.value, agreed_on=agreed_on, agreed_by=agreed_by,
        baseline=found_baseline.value if found_baseline else "", created_by=scope.actor,
    )  # fmt: skip
    try:
        with transaction.atomic():
            outcome.save()
    except IntegrityError:
        raise Conflict(f"{person.ref} already has an outcome {ref!r}") from None
    log.info("outcome recorded council=%s person_id=%s outcome_id=%s", scope.council.code, person.pk, outcome.pk)
    return outcome


@_as_caller
def outcome_close(*, scope: Scope, person_ref: str, ref: str, status: str, on: date) -> Outcome:
    """Mark an outcome achieved, or ended (no longer wanted), from a date."""
    _allow(scope, REVIEWERS)
    person = scope.person(person_ref)
    if status not in (Outcome.Status.ACHIEVED, Outcome.Status.ENDED, Outcome.Status.ACTIVE):
        raise InvalidInput(f"status: {status!r} is not one of active, achieved, ended")
    with transaction.atomic():
        outcome = _materialise(scope, person, on, only={ref}).get(ref)
        if outcome is None:
            raise NotFound(f"{person.ref} has no outcome {ref!r}")
        outcome.status = status
        outcome.ended_on = None if status == Outcome.Status.ACTIVE else on
        outcome.save()
    return outcome


def _parse(parser, value, what: str, problems: list[str]):
    try:
        return parser(value, what=what)
    except ValueError as error:
        problems.append(str(error))
        return None


def _materialise(scope: Scope, person, as_of: date, only: set[str] | None = None, views=None) -> dict[str, Outcome]:
    """The person's outcomes as rows: a plan outcome not yet recorded is recorded now, agreed with its plan version."""
    rows = {o.ref: o for o in Outcome.objects.filter(person=person)}
    for view in person_outcomes(person=person, as_of=as_of) if views is None else views:
        if view.record_id is not None or view.ref in rows or (only is not None and view.ref not in only):
            continue
        rows[view.ref] = Outcome.objects.create(
            council=scope.council, person=person, ref=view.ref, text=view.text, domain=view.domain.value, agreed_on=view.agreed_on,
            agreed_by=view.agreed_by, source=view.source, created_by=scope.actor,
        )  # fmt: skip
    return rows


# -- reviews --------------------------------------------------------------------------------------


@_as_caller
def review_record(
    *,
    scope: Scope,
    person_ref: str,
    held_on: date,
    method: str,
    participants: Sequence[str],
    ratings: Sequence[Mapping[str, Any]],
    domain_ratings_given: Mapping[str, str] | None = None,
    comments: str = "",
    decisions: str = "",
    new_outcomes: Sequence[Mapping[str, Any]] = (),
    plan: Mapping[str, Any] | None = None,
    plan_effective_from: date | None = None,
) -> Review:
    """Record a review: each current outcome rated (``{"outcome": ref, "rating": level, "comment": ...}``).

    ``new_outcomes`` (``ref``, ``text``, ``domain``, optional ``baseline``) are agreed at the
    review by its participants. ``plan``, a whole ``careledger/plan@1`` document, makes a
    new plan version in force from ``plan_effective_from`` (default: the review's date),
    linked to the review. Every problem is listed; nothing is written unless there are none.
    """
    _allow(scope, REVIEWERS)
    person = scope.person(person_ref)
    problems: list[str] = []
    _not_future(held_on, "held_on", problems)
    if method not in Review.Method.values:
        problems.append(f"method: {method!r} is not one of {', '.join(Review.Method.values)}")
    if isinstance(participants, str) or not isinstance(participants, Sequence) or not participants:
        problems.append("participants: say who took part (a list, at least one)")
        participants = []
    people_there = [_text(p, f"participants[{i}]", problems, limit=200) for i, p in enumerate(participants)]
    comments = _text(comments, "comments", problems, required=False)
    decisions = _text(decisions, "decisions", problems, required=False)
    version = (
        PlanVersion.objects.filter(plan__person=person, effective_from__lte=held_on)
        .order_by("-effective_from", "-number")
        .values("review_every_weeks", "budget__start_date", "budget__delivery_mechanism")
        .first()
    )
    if version is None:
        raise InvalidInput(f"held_on: {person.ref} has no care plan in force on {held_on.isoformat()}")
    if Review.objects.filter(person=person, held_on=held_on).exists():
        raise Conflict(f"{person.ref} already has a review on {held_on.isoformat()}")
    if Review.objects.filter(person=person, held_on__gt=held_on).exists():
        problems.append(f"held_on: {person.ref} has a later review; record reviews in order")

    current = {v.ref: v for v in person_outcomes(person=person, as_of=held_on)}
    added: list[dict] = []
    for i, item in enumerate(new_outcomes or ()):
        where = f"new_outcomes[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        ref = _text(item.get("ref"), f"{where}.ref", problems, limit=64)
        if ref in current or ref in {a["ref"] for a in added} or (ref and Outcome.objects.filter(person=person, ref=ref).exists()):
            problems.append(f"{where}.ref: {person.ref} already has an outcome {ref!r}")
        found_domain = _parse(parse_domain, item.get("domain"), f"{where}.domain", problems)
        base = item.get("baseline")
        added.append({
            "ref": ref, "text": _text(item.get("text"), f"{where}.text", problems), "domain": found_domain,
            "baseline": _parse(parse_level, base, f"{where}.baseline", problems) if base not in (None, "") else None,
        })  # fmt: skip

    rated: dict[str, tuple[Level, str]] = {}
    attempted: set[str] = set()
    if not isinstance(ratings, Sequence) or isinstance(ratings, str):
        problems.append("ratings: must be a list")
        ratings = []
    wanted = set(current) | {a["ref"] for a in added}
    for i, item in enumerate(ratings):
        where = f"ratings[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object with outcome and rating")
            continue
        ref = item.get("outcome")
        level = _parse(parse_level, item.get("rating"), f"{where}.rating", problems)
        comment = _text(item.get("comment"), f"{where}.comment", problems, required=False)
        if ref not in wanted:
            problems.append(f"{where}.outcome: {person.ref} has no current outcome {ref!r}")
        elif ref in attempted:
            problems.append(f"{where}.outcome: {ref!r} is rated twice")
        else:
            attempted.add(ref)
            if level is not None:
                rated[ref] = (level, comment)
    missing = sorted(set(current) - attempted)
    if missing:
        problems.append(f"ratings: every current outcome must be rated; not rated: {', '.join(missing)}")
    explicit: dict = {}
    for key, value in (domain_ratings_given or {}).items():
        d = _parse(parse_domain, key, f"domain_ratings.{key}", problems)
        level = _parse(parse_level, value, f"domain_ratings.{key}", problems)
        if d is not None and level is not None:
            explicit[d] = level
    if plan is not None:
        if not isinstance(plan, Mapping):
            problems.append("plan: must be a careledger/plan@1 object")
        elif (plan.get("person") or {}).get("ref") != person.ref:
            problems.append(f"plan.person.ref: must be {person.ref!r}, the person reviewed")
    _refuse(problems)

    levels_by_domain = [(current[ref].domain if ref in current else next(a["domain"] for a in added if a["ref"] == ref), level) for ref, (level, _) in rated.items()]
    by_domain = domain_ratings(explicit, levels_by_domain)
    last = Review.objects.filter(person=person, held_on__lt=held_on).order_by("-held_on").values_list("held_on", flat=True).first()
    cadence = ReviewCadence(every_weeks=version["review_every_weeks"], direct_payment=version["budget__delivery_mechanism"] == DeliveryMechanism.DIRECT_PAYMENT)
    due = next_review_due(start=version["budget__start_date"], cadence=cadence, last_review=last)
    with transaction.atomic():
        rows = _materialise(scope, person, held_on, views=current.values())
        for a in added:
            rows[a["ref"]] = Outcome.objects.create(
                council=scope.council, person=person, ref=a["ref"], text=a["text"], domain=a["domain"].value, agreed_on=held_on,
                agreed_by=", ".join(people_there), baseline=a["baseline"].value if a["baseline"] else "", source="review", created_by=scope.actor,
            )  # fmt: skip
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    council=scope.council, person=person, held_on=held_on, due_on=due, method=method, participants=people_there,
                    comments=comments, decisions=decisions, domain_ratings={d.value: lv.value for d, lv in by_domain.items()},
                    quality_of_life=quality_of_life(by_domain), created_by=scope.actor,
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(f"{person.ref} already has a review on {held_on.isoformat()}") from None
        for ref, (level, comment) in rated.items():
            outcome = rows[ref]
            before = current[ref].latest if ref in current and current[ref].latest else (Level(outcome.baseline) if outcome.baseline else None)
            moved = change(before, level)
            Rating.objects.create(
                council=scope.council, review=review, outcome=outcome, level=level.value, previous_level=before.value if before else "",
                change=moved.value if moved else "", comment=comment,
            )  # fmt: skip
        if plan is not None:
            result = records_services.plan_import(
                scope=scope, raw=dict(plan), source="review plan", effective_from=plan_effective_from or held_on,
                note=f"after the review of {held_on.isoformat()}",
            )  # fmt: skip
            if result.outcome != "unchanged":
                review.plan_version = PlanVersion.objects.get(plan__person=person, number=result.version_number)
                review.save(update_fields=["plan_version"])
    log.info("review recorded council=%s person_id=%s review_id=%s", scope.council.code, person.pk, review.pk)
    return review


# -- incidents ------------------------------------------------------------------------------------


def _raised_as(scope: Scope) -> str:
    for role in ("person", "representative", "provider"):
        if role in scope.roles and not scope.whole_council:
            return role
    return "council"


@_as_caller
def incident_raise(
    *,
    scope: Scope,
    person_ref: str,
    kind: str,
    summary: str,
    happened_on: date,
    provider_ref: str | None = None,
    visit_refs: Iterable[str] = (),
    parties: Iterable[str] = (),
    safeguarding_link: str = "",
) -> Incident:
    """Raise an incident about a person's care: a complaint, service failure, safeguarding flag or dispute."""
    _allow(scope, INCIDENT_RAISERS)
    person = scope.person(person_ref)
    problems: list[str] = []
    if kind not in Incident.Kind.values:
        problems.append(f"kind: {kind!r} is not one of {', '.join(Incident.Kind.values)}")
    summary = _text(summary, "summary", problems)
    _not_future(happened_on, "happened_on", problems)
    raised_as = _raised_as(scope)
    provider = None
    if raised_as == "provider":
        mine = Provider.objects.filter(council=scope.council, id__in=scope.provider_ids)
        provider = mine.filter(ref=provider_ref).first() if provider_ref else mine.order_by("id").first()
        if provider is None:
            problems.append(f"provider_ref: {provider_ref!r} is not your provider")
    elif provider_ref:
        provider = Provider.objects.filter(council=scope.council, ref=provider_ref, planned_services__version__plan__person=person).first()
        if provider is None:
            problems.append(f"provider_ref: {provider_ref!r} does not provide {person.ref}'s care")
    visit_refs = sorted({str(r).strip() for r in visit_refs or () if str(r).strip()})
    visits = []
    if visit_refs:
        found = Visit.objects.filter(person=person, ref__in=visit_refs)
        if provider is not None:
            found = found.filter(provider=provider)
        visits = list(found)
        unknown = sorted(set(visit_refs) - {v.ref for v in visits})
        if unknown:
            problems.append(f"visit_refs: no visit {', '.join(unknown)} of {person.ref}" + (f" by {provider.ref}" if provider else ""))
    parties = [str(p) for p in parties or ()]
    if kind == Incident.Kind.DISPUTE:
        if not parties:
            parties = ["council", "person"] + (["provider"] if provider else [])
        wrong = [p for p in parties if p not in PARTIES]
        if wrong:
            problems.append(f"parties: {', '.join(wrong)} not one of {', '.join(PARTIES)}")
        elif len(set(parties)) < 2:
            problems.append("parties: a dispute is between at least two of council, person, provider")
    elif parties:
        problems.append("parties: only a dispute has parties")
    link = (safeguarding_link or "").strip()
    if kind == Incident.Kind.SAFEGUARDING:
        try:
            URLValidator(schemes=["https", "http"])(link)
        except ValidationError:
            problems.append("safeguarding_link: a safeguarding concern needs the link to the council's record (https://...)")
    elif link:
        problems.append("safeguarding_link: only a safeguarding concern has one")
    _refuse(problems)
    owner = Incident.Owner.PROVIDER if provider is not None and kind in ("missed_visit", "late_visit", "service_failure") else Incident.Owner.COUNCIL
    with transaction.atomic():
        incident = Incident.objects.create(
            council=scope.council, person=person, provider=provider, kind=kind, summary=summary, happened_on=happened_on,
            raised_by=scope.actor, raised_as=raised_as, parties=sorted(set(parties), key=PARTIES.index), safeguarding_link=link, owner=owner,
        )  # fmt: skip
        for visit in visits:
            IncidentVisit.objects.create(council=scope.council, incident=incident, visit=visit)
    log.info("incident raised council=%s person_id=%s incident_id=%s kind=%s", scope.council.code, person.pk, incident.pk, kind)
    return incident


def _handled(scope: Scope, incident_id: int) -> Incident:
    _allow(scope, INCIDENT_HANDLERS)
    return incident_get(scope=scope, incident_id=incident_id)


@_as_caller
def incident_update(*, scope: Scope, incident_id: int, status: str | None = None, owner: str | None = None, note: str = "") -> Incident:
    """Council staff: move an incident on (being looked into, or closed without settlement), hand it over, add a note."""
    incident = _handled(scope, incident_id)
    problems: list[str] = []
    note = _text(note, "note", problems, required=status == Incident.Status.CLOSED)
    if status not in (None, "", Incident.Status.OPEN, Incident.Status.INVESTIGATING, Incident.Status.CLOSED):
        problems.append(f"status: {status!r} is not one of open, investigating, closed (settle it to settle it)")
    if owner not in (None, "") and owner not in Incident.Owner.values:
        problems.append(f"owner: {owner!r} is not one of {', '.join(Incident.Owner.values)}")
    if not incident.is_open:
        problems.append(f"incident {incident.pk} is already {incident.status}")
    _refuse(problems)
    if status:
        incident.status = status
    if owner:
        incident.owner = owner
    if status == Incident.Status.CLOSED:
        incident.settled_on, incident.settled_by, incident.resolution = today_in_london(), scope.actor, note
    if note:
        stamp = f"{timezone.now():%Y-%m-%d %H:%M} {scope.actor}: {note}"
        incident.notes = f"{incident.notes}\n{stamp}" if incident.notes else stamp
    incident.save()
    return incident


@_as_caller
def incident_settle(
    *,
    scope: Scope,
    incident_id: int,
    resolution: str,
    adjustment: Decimal | str | None = None,
    adjustment_kind: str = "adjustment",
    adjustment_day: date | None = None,
    settled_on: date | None = None,
) -> Incident:
    """Council staff: settle an incident; an agreed payment adjustment goes to the ledger (positive credits the budget).

    ``settled_on`` (default today) is when it was agreed; the adjustment is dated ``adjustment_day``
    (default the same day).
    """
    incident = _handled(scope, incident_id)
    problems: list[str] = []
    resolution = _text(resolution, "resolution", problems)
    amount = None
    if adjustment not in (None, ""):
        try:
            amount = parse_money(adjustment, what="adjustment")
        except ValueError as error:
            problems.append(str(error))
        if amount is not None and amount == 0:
            problems.append("adjustment: must not be zero (leave it out for no adjustment)")
        if adjustment_kind not in ("refund", "adjustment"):
            problems.append(f"adjustment_kind: {adjustment_kind!r} is not refund or adjustment")
    if not incident.is_open:
        raise Conflict(f"incident {incident.pk} is already {incident.status}")
    today = settled_on or today_in_london()
    _not_future(today, "settled_on", problems)
    if today < incident.happened_on:
        problems.append(f"settled_on: {today.isoformat()} is before it happened ({incident.happened_on.isoformat()})")
    _refuse(problems)
    day = adjustment_day or today
    with transaction.atomic():
        incident.status = Incident.Status.SETTLED
        incident.resolution, incident.settled_on, incident.settled_by = resolution, today, scope.actor
        if amount is not None:
            source = f"incident:{incident.pk}"
            from careledger.ledger import services as ledger_services

            ledger_services.post_adjustment(
                scope=scope, person_ref=incident.person.ref, day=day, amount=amount, kind=adjustment_kind,
                memo=f"Incident {incident.pk} ({incident.get_kind_display().lower()}) settled", source_ref=source,
            )  # fmt: skip
            incident.adjustment_amount, incident.adjustment_kind, incident.ledger_source = amount, adjustment_kind, source
        incident.save()
    log.info("incident settled council=%s incident_id=%s adjustment=%s", scope.council.code, incident.pk, amount is not None)
    return incident
