"""API v1 handlers: parse the request, find the caller's scope, call a service or selector, shape the answer.

Callers authenticate with an API token (``Authorization: Bearer cl_…``) or a
signed-in session. Errors are JSON with a ``detail`` and, for a refused plan
file, the list of ``problems`` (JSON path and reason). A council, person or token
outside the caller's scope answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import NinjaAPI, Query, Schema, Status

from careledger.access import services as access_services
from careledger.access.models import ApiToken
from careledger.access.scope import councils_for, scope_for
from careledger.audit.selectors import audit_entries
from careledger.domain.costing import cost_plan
from careledger.formats.plan_cost import plan_cost_dict
from careledger.formats.plan_file import PlanFileError, parse_plan, plan_to_data
from careledger.records import selectors, services
from careledger.records.errors import Conflict, InvalidInput, NotFound

from .auth import PerCallerThrottle, api_auth
from .schemas import AuditEntryOut, CouncilOut, PersonOut, PlanCostOut, PlanImportOut, TokenIn, TokenOut

api = NinjaAPI(
    title="careledger API",
    version="1",
    description="Care plans, budgets and their cost; delivery data and monitoring follow. Money is a decimal string in pounds.",
    urls_namespace="api-v1",
    auth=api_auth,
    throttle=[PerCallerThrottle()],
)

PLAN_BODY = {
    "requestBody": {
        "required": True,
        "description": "A care plan file in the careledger/plan@1 format (docs/formats.md section 1).",
        "content": {"application/json": {"schema": {"type": "object", "required": ["format", "person", "budget", "services"]}}},
    }
}


class Problem(Schema):
    path: str
    reason: str


class ErrorOut(Schema):
    detail: str
    problems: list[Problem] = []


@api.exception_handler(PlanFileError)
def _plan_file_error(request: HttpRequest, error: PlanFileError):
    return api.create_response(
        request,
        {"detail": f"the plan has {len(error.problems)} problem(s); nothing was written", "problems": [p.as_dict() for p in error.problems]},
        status=422,
    )


@api.exception_handler(NotFound)
def _not_found(request: HttpRequest, error: NotFound):
    return api.create_response(request, {"detail": "not found"}, status=404)


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, error: Conflict):
    return api.create_response(request, {"detail": str(error)}, status=409)


@api.exception_handler(InvalidInput)
def _invalid(request: HttpRequest, error: InvalidInput):
    return api.create_response(request, {"detail": str(error)}, status=400)


# -- plans -------------------------------------------------------------------------------------


@api.post("/plans/cost", response={200: PlanCostOut, 422: ErrorOut}, openapi_extra=PLAN_BODY, tags=["plans"])
def plan_cost(request: HttpRequest):
    """Cost a plan file without storing it: weekly hours and cost, 52-week and period cost, headroom."""
    plan = parse_plan(request.body, source="request body")
    return plan_cost_dict(cost_plan(plan))


@api.get("/councils", response=list[CouncilOut], tags=["councils"])
def council_list(request: HttpRequest):
    """The councils the caller holds a role in."""
    return list(councils_for(request.auth))


@api.get("/councils/{code}/people", response={200: list[PersonOut], 404: ErrorOut}, tags=["people"])
def person_list(request: HttpRequest, code: str):
    """The people the caller may see in this council: everyone for council staff, their own for others."""
    scope = scope_for(request.auth, code)
    return [PersonOut.from_person(p) for p in selectors.person_summaries(scope=scope)]


@api.post(
    "/councils/{code}/plans",
    response={200: PlanImportOut, 201: PlanImportOut, 422: ErrorOut, 404: ErrorOut},
    openapi_extra=PLAN_BODY,
    tags=["plans"],
)
def plan_import(request: HttpRequest, code: str, effective_from: date | None = None):
    """Import a plan: 201 with a new version, 200 when it is identical to the current one; 422 lists every problem."""
    scope = scope_for(request.auth, code)
    result = services.plan_import(scope=scope, raw=request.body, source="request body", effective_from=effective_from)
    return Status(200 if result.outcome == "unchanged" else 201, result.as_dict())


@api.get("/councils/{code}/people/{person_ref}/plan", response={200: dict, 404: ErrorOut}, tags=["plans"])
def plan_export(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None):
    """The person's plan as a careledger/plan@1 document: the version in force on ``as_of``, or the latest."""
    scope = scope_for(request.auth, code)
    return plan_to_data(services.plan_export(scope=scope, person_ref=person_ref, as_of=as_of))


@api.get("/councils/{code}/people/{person_ref}/plan/cost", response={200: PlanCostOut, 404: ErrorOut}, tags=["plans"])
def package_cost(request: HttpRequest, code: str, person_ref: str):
    """The latest plan's cost; ``period_cost`` prices each plan version over the days it was in force."""
    scope = scope_for(request.auth, code)
    package = selectors.package_cost(scope=scope, person_ref=person_ref)
    return plan_cost_dict(package.cost, period_cost=package.period_cost_all_versions)


# -- API tokens (council administrators, signed in; a token cannot make tokens) -----------------


@api.get("/councils/{code}/tokens", response={200: list[TokenOut], 404: ErrorOut}, tags=["tokens"])
def token_list(request: HttpRequest, code: str):
    scope = scope_for(request.auth, code)
    scope.require(scope.can_manage)
    return [TokenOut.from_token(t) for t in ApiToken.objects.filter(council=scope.council).select_related("provider")]


@api.post("/councils/{code}/tokens", response={201: TokenOut, 400: ErrorOut, 404: ErrorOut}, tags=["tokens"])
def token_create(request: HttpRequest, code: str, body: TokenIn):
    """Make a token. Its secret is in this response only; careledger keeps just its hash."""
    scope = scope_for(request.auth, code)
    new = access_services.token_create(scope=scope, name=body.name, access=body.access, provider_ref=body.provider_ref, created_by=request.auth)
    return Status(201, TokenOut.from_token(new.token, secret=new.secret))


@api.delete("/councils/{code}/tokens/{token_id}", response={200: TokenOut, 404: ErrorOut}, tags=["tokens"])
def token_revoke(request: HttpRequest, code: str, token_id: int):
    scope = scope_for(request.auth, code)
    return TokenOut.from_token(access_services.token_revoke(scope=scope, token_id=token_id))


# -- audit trail (auditors and council administrators) ----------------------------------------


@api.get("/councils/{code}/audit", response={200: list[AuditEntryOut], 404: ErrorOut}, tags=["audit"])
def audit_list(
    request: HttpRequest,
    code: str,
    action: str | None = None,
    model: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
):
    """The council's audit trail, newest first, filtered by action, record, actor and time."""
    scope = scope_for(request.auth, code)
    scope.require(scope.can_read_audit)
    entries = audit_entries(council_id=scope.council.pk, actor=actor, action=action, model=model, object_id=object_id, since=since, until=until)
    return [AuditEntryOut.from_entry(e) for e in entries[:limit]]
