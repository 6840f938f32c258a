"""API v1 handlers: parse the request, call a service or selector, shape the answer.

Errors are answered as JSON with a ``detail`` and, for a refused plan file, the
list of ``problems`` (JSON path and reason). A council the caller may not reach
answers 404, exactly as a council that does not exist.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import NinjaAPI, Schema, Status
from ninja.security import django_auth

from careledger.domain.costing import cost_plan
from careledger.formats.plan_file import PlanFileError, parse_plan, plan_to_data
from careledger.records import selectors, services
from careledger.records.access import council_for, councils_for
from careledger.records.errors import Conflict, InvalidInput, NotFound

from .schemas import CouncilOut, PersonOut, PlanCostOut, PlanImportOut, plan_cost_out

api = NinjaAPI(
    title="careledger API",
    version="1",
    description="Care plans, budgets and their cost; delivery data and monitoring follow. Money is a decimal string in pounds.",
    urls_namespace="api-v1",
    auth=django_auth,
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


@api.post("/plans/cost", response={200: PlanCostOut, 422: ErrorOut}, openapi_extra=PLAN_BODY, tags=["plans"])
def plan_cost(request: HttpRequest):
    """Cost a plan file without storing it: weekly hours and cost, 52-week and period cost, headroom."""
    plan = parse_plan(request.body, source="request body")
    return plan_cost_out(cost_plan(plan))


@api.get("/councils", response=list[CouncilOut], tags=["councils"])
def council_list(request: HttpRequest):
    """The councils the caller holds a staff role in."""
    return list(councils_for(request.user))


@api.get("/councils/{code}/people", response=list[PersonOut], tags=["people"])
def person_list(request: HttpRequest, code: str):
    council = council_for(request.user, code)
    return [PersonOut.from_person(p) for p in selectors.person_summaries(council=council)]


@api.post(
    "/councils/{code}/plans",
    response={200: PlanImportOut, 201: PlanImportOut, 422: ErrorOut, 404: ErrorOut},
    openapi_extra=PLAN_BODY,
    tags=["plans"],
)
def plan_import(request: HttpRequest, code: str, effective_from: date | None = None):
    """Import a plan: 201 with a new version, 200 when it is identical to the current one; 422 lists every problem."""
    council = council_for(request.user, code, write=True)
    result = services.plan_import(council=council, raw=request.body, source="request body", effective_from=effective_from, actor=request.user)
    return Status(200 if result.outcome == "unchanged" else 201, result.as_dict())


@api.get("/councils/{code}/people/{person_ref}/plan", response={200: dict, 404: ErrorOut}, tags=["plans"])
def plan_export(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None):
    """The person's plan as a careledger/plan@1 document: the version in force on ``as_of``, or the latest."""
    council = council_for(request.user, code)
    return plan_to_data(selectors.plan_get(council=council, person_ref=person_ref, as_of=as_of))


@api.get("/councils/{code}/people/{person_ref}/plan/cost", response={200: PlanCostOut, 404: ErrorOut}, tags=["plans"])
def package_cost(request: HttpRequest, code: str, person_ref: str):
    """The latest plan's cost; ``period_cost`` prices each plan version over the days it was in force."""
    council = council_for(request.user, code)
    package = selectors.package_cost(council=council, person_ref=person_ref)
    return plan_cost_out(package.cost, period_cost=package.period_cost_all_versions)
