"""API v1: outcomes, reviews, incidents and value for money (registered on the one ``api`` of :mod:`careledger.api.routes`).

Reads are for everyone whose scope reaches the person (a person and their
representatives see their own; a provider its clients; safeguarding flags only
council staff and whoever raised them). Outcomes and reviews are written by
council administrators and commissioners; incidents are raised by council staff
(not auditors), providers, the person and their representatives, and moved on or
settled by council administrators, commissioners and finance officers.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Schema, Status

from careledger.access.scope import scope_for
from careledger.monitoring.models import PackageStatus
from careledger.outcomes import selectors, services
from careledger.records.selectors import today_in_london

from .routes import ErrorOut, api

TAGS = ["outcomes"]


class OutcomeIn(Schema):
    ref: str
    text: str = Field(description="In the person's own words")
    domain: str = Field(description="control, personal_care, food_drink, safety, social_participation, occupation, accommodation or dignity")
    agreed_on: date
    agreed_by: str = Field(description="Who agreed it (the person, family, worker)")
    baseline: str | None = Field(None, description="ideal_state, no_needs, some_needs or high_needs: how things were when agreed")


class OutcomeCloseIn(Schema):
    status: Literal["active", "achieved", "ended"]
    on: date


class RatingIn(Schema):
    outcome: str
    rating: str = Field(description="ideal_state, no_needs, some_needs or high_needs")
    comment: str = ""


class NewOutcomeIn(Schema):
    ref: str
    text: str
    domain: str
    baseline: str | None = None


class ReviewIn(Schema):
    held_on: date
    method: str = Field(description="in_person, phone, video or paper")
    participants: list[str]
    ratings: list[RatingIn] = Field(description="Every current outcome, each rated on the four levels")
    domain_ratings: dict[str, str] = Field(default_factory=dict, description="ASCOT domain -> level, for the score out of 24")
    comments: str = Field("", description="The person's own comments")
    decisions: str = ""
    new_outcomes: list[NewOutcomeIn] = Field(default_factory=list, description="Outcomes agreed at this review")
    plan: dict[str, Any] | None = Field(None, description="A changed careledger/plan@1 document: a new plan version")
    plan_effective_from: date | None = None


class IncidentIn(Schema):
    person_ref: str
    kind: str = Field(description="missed_visit, late_visit, service_failure, safeguarding, dispute or other")
    summary: str
    happened_on: date
    provider_ref: str | None = None
    visit_refs: list[str] = Field(default_factory=list)
    parties: list[str] = Field(default_factory=list, description="For a dispute: two or more of council, person, provider")
    safeguarding_link: str = Field("", description="A safeguarding concern: the link to the council's record (no case work here)")


class IncidentUpdateIn(Schema):
    status: Literal["open", "investigating", "closed"] | None = None
    owner: Literal["council", "provider"] | None = None
    note: str = ""


class IncidentSettleIn(Schema):
    resolution: str
    adjustment: str | None = Field(None, description="Agreed payment adjustment in pounds, e.g. \"12.50\" (positive credits the budget)")
    adjustment_kind: Literal["refund", "adjustment"] = "adjustment"
    adjustment_day: date | None = None
    settled_on: date | None = None


outcome_out = selectors.outcome_dict
review_out = selectors.review_dict
incident_out = selectors.incident_dict


# -- outcomes -----------------------------------------------------------------------------------


@api.get("/councils/{code}/people/{person_ref}/outcomes", response={200: list[dict], 404: ErrorOut}, tags=TAGS)
def outcome_list(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None, include_ended: bool = False):
    """The person's outcomes in their own words, ASCOT domain, who agreed them and when, and every rating (oldest first)."""
    scope = scope_for(request.auth, code)
    person = scope.person(person_ref)
    return [o.as_dict() for o in selectors.person_outcomes(person=person, as_of=as_of, include_ended=include_ended)]


@api.post("/councils/{code}/people/{person_ref}/outcomes", response={201: dict, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}, tags=TAGS)
def outcome_create(request: HttpRequest, code: str, person_ref: str, body: OutcomeIn):
    """Record an outcome agreed with the person (council administrators and commissioners)."""
    scope = scope_for(request.auth, code)
    outcome = services.outcome_record(scope=scope, person_ref=person_ref, **body.dict())
    return Status(201, outcome_out(outcome))


@api.post("/councils/{code}/people/{person_ref}/outcomes/{outcome_ref}/status", response={200: dict, 400: ErrorOut, 404: ErrorOut}, tags=TAGS)
def outcome_status(request: HttpRequest, code: str, person_ref: str, outcome_ref: str, body: OutcomeCloseIn):
    """Mark an outcome achieved, ended (no longer wanted) or active again, from a date."""
    scope = scope_for(request.auth, code)
    return outcome_out(services.outcome_close(scope=scope, person_ref=person_ref, ref=outcome_ref, status=body.status, on=body.on))


# -- reviews ------------------------------------------------------------------------------------


@api.get("/councils/{code}/reviews/due", response={200: list[dict], 400: ErrorOut, 404: ErrorOut}, tags=TAGS)
def reviews_due(request: HttpRequest, code: str, as_of: date | None = None, within_days: int = Query(0, ge=0, le=366), overdue_only: bool = False):
    """Reviews due by ``as_of`` (default today) plus ``within_days``, overdue first, on each plan's cadence."""
    scope = scope_for(request.auth, code)
    found = selectors.reviews_due(scope=scope, as_of=as_of or today_in_london(), within_days=within_days, overdue_only=overdue_only)
    return [d.as_dict() for d in found]


@api.get("/councils/{code}/people/{person_ref}/reviews", response={200: list[dict], 404: ErrorOut}, tags=TAGS)
def review_list(request: HttpRequest, code: str, person_ref: str):
    """The person's reviews, oldest first: who took part, how, each outcome's rating and change, comments, decisions."""
    scope = scope_for(request.auth, code)
    return [review_out(r) for r in selectors.review_list(scope=scope, person_ref=person_ref)]


@api.post("/councils/{code}/people/{person_ref}/reviews", response={201: dict, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}, tags=TAGS)
def review_create(request: HttpRequest, code: str, person_ref: str, body: ReviewIn):
    """Record a review (council administrators and commissioners); with ``plan``, also a new plan version."""
    scope = scope_for(request.auth, code)
    review = services.review_record(
        scope=scope, person_ref=person_ref, held_on=body.held_on, method=body.method, participants=body.participants,
        ratings=[r.dict() for r in body.ratings], domain_ratings_given=body.domain_ratings, comments=body.comments,
        decisions=body.decisions, new_outcomes=[o.dict() for o in body.new_outcomes], plan=body.plan,
        plan_effective_from=body.plan_effective_from,
    )  # fmt: skip
    return Status(201, review_out(review))


# -- incidents ----------------------------------------------------------------------------------


@api.get("/councils/{code}/incidents", response={200: list[dict], 404: ErrorOut}, tags=TAGS)
def incident_list(request: HttpRequest, code: str, status: str | None = None, person_ref: str | None = None, kind: str | None = None,
                  provider_ref: str | None = None, limit: int = Query(200, ge=1, le=1000)):  # fmt: skip
    """Incidents the caller may see, newest first (``status=open`` for open and being looked into)."""
    scope = scope_for(request.auth, code)
    found = selectors.incident_list(scope=scope, status=status, person_ref=person_ref, kind=kind, provider_ref=provider_ref)
    return [incident_out(i) for i in found[:limit]]


@api.post("/councils/{code}/incidents", response={201: dict, 400: ErrorOut, 404: ErrorOut}, tags=TAGS)
def incident_create(request: HttpRequest, code: str, body: IncidentIn):
    """Raise a complaint, service failure, safeguarding flag (with its link) or dispute, with the visits it is about."""
    scope = scope_for(request.auth, code)
    return Status(201, incident_out(services.incident_raise(scope=scope, **body.dict())))


@api.get("/councils/{code}/incidents/{incident_id}", response={200: dict, 404: ErrorOut}, tags=TAGS)
def incident_detail(request: HttpRequest, code: str, incident_id: int):
    scope = scope_for(request.auth, code)
    return incident_out(selectors.incident_get(scope=scope, incident_id=incident_id))


@api.post("/councils/{code}/incidents/{incident_id}/update", response={200: dict, 400: ErrorOut, 404: ErrorOut}, tags=TAGS)
def incident_update(request: HttpRequest, code: str, incident_id: int, body: IncidentUpdateIn):
    """Move an incident on, hand it to the provider or the council, or close it without settlement (with a note)."""
    scope = scope_for(request.auth, code)
    return incident_out(services.incident_update(scope=scope, incident_id=incident_id, status=body.status, owner=body.owner, note=body.note))


@api.post("/councils/{code}/incidents/{incident_id}/settle", response={200: dict, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}, tags=TAGS)
def incident_settle(request: HttpRequest, code: str, incident_id: int, body: IncidentSettleIn):
    """Settle an incident; an agreed payment adjustment is posted to the person's ledger once (``incident:<id>``)."""
    scope = scope_for(request.auth, code)
    return incident_out(services.incident_settle(scope=scope, incident_id=incident_id, **body.dict()))


# -- value for money ----------------------------------------------------------------------------


def _spend(scope) -> dict[int, selectors.PackageSpend]:
    """Each package's spend so far, from its stored status (``careledger recompute`` keeps them current)."""
    return selectors.spend_from_rows(
        PackageStatus.objects.filter(council=scope.council, person__in=scope.people()).values_list(
            "person_id", "budget", "spent", "provider_ref", "as_of", "mechanism"
        )
    )


@api.get("/councils/{code}/value-for-money", response={200: dict, 404: ErrorOut}, tags=TAGS)
def value_for_money(request: HttpRequest, code: str, as_of: date | None = None, provider_ref: str | None = None,
                    offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)):  # fmt: skip
    """Spend (from each package's stored status) beside outcome change, per package, per provider and in total."""
    scope = scope_for(request.auth, code)
    found = selectors.value_for_money(scope=scope, spend=_spend(scope), as_of=as_of)
    packages = [p for p in found["packages"] if provider_ref is None or p["provider_ref"] == provider_ref]
    found["total_packages"] = len(packages)
    found["packages"] = packages[offset : offset + limit]
    return found


@api.get("/councils/{code}/people/{person_ref}/value-for-money", response={200: dict, 404: ErrorOut}, tags=TAGS)
def package_value_for_money(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None):
    """One package's spend beside its outcomes' change."""
    scope = scope_for(request.auth, code)
    found = selectors.value_for_money(scope=scope, spend=_spend(scope), as_of=as_of, person_ref=person_ref)
    return found["packages"][0] if found["packages"] else {"person_ref": person_ref}
