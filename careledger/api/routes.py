"""API v1 handlers: parse the request, find the caller's scope, call a service or selector, shape the answer.

Callers authenticate with an API token (``Authorization: Bearer cl_…``) or a
signed-in session. Errors are JSON with a ``detail`` and, for a refused plan
file, the list of ``problems`` (JSON path and reason). A council, person or token
outside the caller's scope answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import File, NinjaAPI, Query, Schema, Status
from ninja.files import UploadedFile

from careledger.access import services as access_services
from careledger.access.models import ApiToken
from careledger.access.scope import councils_for, scope_for
from careledger.access.signing import SignatureError, verify as verify_signature
from careledger.audit.selectors import audit_entries
from careledger.domain.costing import cost_plan
from careledger.formats.plan_cost import plan_cost_dict
from careledger.formats.plan_file import PlanFileError, parse_plan, plan_to_data
from careledger.ingest import selectors as ingest_selectors
from careledger.ingest import services as ingest_services
from careledger.monitoring import batch as monitoring_batch
from careledger.monitoring import selectors as monitoring_selectors
from careledger.monitoring import services as monitoring_services
from careledger.records import selectors, services
from careledger.records.errors import Conflict, InvalidInput, NotFound

from .auth import PerCallerThrottle, api_auth
from .schemas import (
    AlertNoteIn,
    AlertOut,
    AuditEntryOut,
    CouncilOut,
    DeliveryFiguresOut,
    ImportRunOut,
    PersonOut,
    PlanCostOut,
    PlanImportOut,
    PushIn,
    PushOut,
    TokenIn,
    TokenOut,
)

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


@api.exception_handler(SignatureError)
def _bad_signature(request: HttpRequest, error: SignatureError):
    return api.create_response(request, {"detail": f"signature refused: {error}"}, status=401)


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


# -- delivery data: pushed batches, uploaded files, import runs, running figures ----------------

PUSH_DOC = (
    "Up to 1,000 items in one transaction. Each item is answered in order: `accepted` (new), `duplicate` "
    "(same ref and content: nothing changed), `amended` (same ref, new content; the earlier version is kept) or "
    "`rejected` with each field in trouble and why (the rest of the batch still applies). A token may sign the "
    "body: `X-Careledger-Timestamp` (Unix seconds) and `X-Careledger-Signature: sha256=<hex HMAC-SHA256 of "
    "timestamp + '.' + body>`, within 5 minutes of the server's clock; a replay is refused."
)


def _push(request: HttpRequest, code: str, kind: str, body: PushIn):
    scope = scope_for(request.auth, code)
    if isinstance(request.auth, ApiToken):
        verify_signature(request.auth, request.headers, request.body)
    return PushOut.from_result(ingest_services.push_items(scope=scope, kind=kind, items=body.items))


@api.post("/councils/{code}/visits", response={200: PushOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut}, tags=["delivery"], description=PUSH_DOC)
def push_visits(request: HttpRequest, code: str, body: PushIn):
    """Push visits (docs/formats.md section 3): visit_ref, person_ref, provider_ref, service_ref, carer_ref, planned_start, ..."""
    return _push(request, code, "visits", body)


@api.post("/councils/{code}/carers", response={200: PushOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut}, tags=["delivery"], description=PUSH_DOC)
def push_carers(request: HttpRequest, code: str, body: PushIn):
    """Push carers: carer_ref, provider_ref, gender."""
    return _push(request, code, "carers", body)


@api.post("/councils/{code}/transactions", response={200: PushOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut}, tags=["delivery"], description=PUSH_DOC)
def push_transactions(request: HttpRequest, code: str, body: PushIn):
    """Push account transactions (section 4): txn_ref, account_ref, date, amount (money out negative), counterparty, description."""
    return _push(request, code, "transactions", body)


@api.post("/councils/{code}/imports", response={201: ImportRunOut, 400: ErrorOut, 404: ErrorOut}, tags=["delivery"])
def import_upload(request: HttpRequest, code: str, kind: Literal["visits", "carers", "transactions"], file: File[UploadedFile], all_or_nothing: bool = False):
    """Upload a visits, carers or transactions file (``?kind=``; CSV, transactions also OFX). Answers with the run and its first 1,000 rejections."""
    scope = scope_for(request.auth, code)
    summary = ingest_services.import_file(scope=scope, kind=kind, stream=file.file, source=(file.name or "upload")[:255], all_or_nothing=all_or_nothing)
    return Status(201, ImportRunOut.from_run(summary.run, rejections=summary.run.rejections.all()[:1000]))


@api.get("/councils/{code}/imports", response={200: list[ImportRunOut], 404: ErrorOut}, tags=["delivery"])
def import_list(request: HttpRequest, code: str, limit: int = Query(50, ge=1, le=500)):
    """Recent imports and pushes: the council's for its staff, a provider's own for the provider."""
    scope = scope_for(request.auth, code)
    return [ImportRunOut.from_run(run) for run in ingest_selectors.import_runs(scope=scope)[:limit]]


@api.get("/councils/{code}/imports/{run_id}", response={200: ImportRunOut, 404: ErrorOut}, tags=["delivery"])
def import_detail(request: HttpRequest, code: str, run_id: int, offset: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=10000)):
    """One import run with its rejected rows (file line, field, reason, raw text), a page at a time."""
    scope = scope_for(request.auth, code)
    run = ingest_selectors.import_run(scope=scope, run_id=run_id)
    return ImportRunOut.from_run(run, rejections=run.rejections.all()[offset : offset + limit])


@api.get("/councils/{code}/people/{person_ref}/delivery", response={200: DeliveryFiguresOut, 404: ErrorOut}, tags=["delivery"])
def delivery_figures(request: HttpRequest, code: str, person_ref: str):
    """What has been reported for the person so far; reflects every accepted item at once."""
    scope = scope_for(request.auth, code)
    return ingest_selectors.delivery_figures(scope=scope, person_ref=person_ref)


# -- monitoring: status and alerts --------------------------------------------------------------


@api.get("/councils/{code}/people/{person_ref}/status", response={200: dict, 400: ErrorOut, 404: ErrorOut}, tags=["monitoring"])
def package_status(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None):
    """Followed? Affordable? Working? The docs/formats.md section 6 status as at the end of ``as_of`` (default today).

    Computed from the stored plan, visits and transactions at each call, so it reflects every item
    accepted before it; today's status is also stored for the portfolio, with any new alerts.
    """
    scope = scope_for(request.auth, code)
    today = selectors.today_in_london()
    if as_of is None or as_of == today:
        return monitoring_services.status_refresh(scope=scope, person_ref=person_ref, as_of=today).status
    return monitoring_batch.status_of(scope=scope, person_ref=person_ref, as_of=as_of).status


@api.get("/councils/{code}/portfolio", response={200: dict, 404: ErrorOut}, tags=["monitoring"])
def portfolio(
    request: HttpRequest,
    code: str,
    rag: Literal["red", "amber", "green"] | None = None,
    question: Literal["followed", "affordable", "working"] | None = None,
    provider_ref: str | None = None,
    mechanism: str | None = None,
    sort: Literal["worst", "variance", "budget", "person"] = "worst",
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
):
    """Packages by red/amber/green for each question, by provider and by mechanism, and a page of them worst first.

    From the stored statuses (``careledger recompute``, or each package's status call); ``stale`` says how many
    have had new data or a new plan since.
    """
    scope = scope_for(request.auth, code)
    found = monitoring_selectors.portfolio(scope=scope, rag=rag, question=question, provider_ref=provider_ref, mechanism=mechanism, sort=sort)
    page = found["packages"][offset : offset + limit]
    return {
        "counts": found["counts"],
        "by_provider": found["by_provider"],
        "by_mechanism": found["by_mechanism"],
        "stale": found["stale"],
        "total": found["packages"].count(),
        "packages": [
            {
                "person_ref": p.person.ref, "mechanism": p.mechanism, "provider_ref": p.provider_ref, "as_of": p.as_of.isoformat(),
                "followed": p.followed, "affordable": p.affordable, "working": p.working, "budget": f"{p.budget:.2f}",
                "spent": f"{p.spent:.2f}", "forecast_variance": f"{p.forecast_variance:.2f}", "open_alerts": p.open_alerts,
            }  # fmt: skip
            for p in page
        ],
    }


@api.get("/councils/{code}/providers/metrics", response={200: list[dict], 400: ErrorOut, 404: ErrorOut}, tags=["monitoring"])
def provider_metrics(request: HttpRequest, code: str, as_of: date | None = None, since: date | None = None, provider_ref: str | None = None):
    """Per provider: visits scheduled, delivered, on time, missed, carer continuity, packages and open alerts.

    Over ``since`` (default 27 days before ``as_of``) to ``as_of`` (default today); rates are exact fractions with a
    percentage rounded once. Council staff see every provider; a provider only itself; a person none.
    """
    scope = scope_for(request.auth, code)
    found = monitoring_selectors.provider_metrics(scope=scope, as_of=as_of or selectors.today_in_london(), since=since, provider_ref=provider_ref)
    return [m.as_dict() for m in found]


@api.get("/councils/{code}/alerts", response={200: list[AlertOut], 404: ErrorOut}, tags=["monitoring"])
def alert_list(request: HttpRequest, code: str, status: str | None = "open", person_ref: str | None = None, limit: int = Query(200, ge=1, le=1000)):
    """Alerts on the packages the caller may see, worst first (``status``: open, acknowledged, resolved, or empty for all)."""
    scope = scope_for(request.auth, code)
    return [AlertOut.from_alert(a) for a in monitoring_selectors.alert_list(scope=scope, status=status or None, person_ref=person_ref)[:limit]]


@api.post("/councils/{code}/alerts/{alert_id}/acknowledge", response={200: AlertOut, 400: ErrorOut, 404: ErrorOut}, tags=["monitoring"])
def alert_acknowledge(request: HttpRequest, code: str, alert_id: int, body: AlertNoteIn):
    """Acknowledge an alert with a note saying what is being done."""
    scope = scope_for(request.auth, code)
    return AlertOut.from_alert(monitoring_services.alert_acknowledge(scope=scope, alert_id=alert_id, note=body.note))


@api.post("/councils/{code}/alerts/{alert_id}/resolve", response={200: AlertOut, 400: ErrorOut, 404: ErrorOut}, tags=["monitoring"])
def alert_resolve(request: HttpRequest, code: str, alert_id: int, body: AlertNoteIn):
    """Resolve an alert (optionally with a closing note)."""
    scope = scope_for(request.auth, code)
    return AlertOut.from_alert(monitoring_services.alert_resolve(scope=scope, alert_id=alert_id, note=body.note))


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
    new = access_services.token_create(
        scope=scope, name=body.name, access=body.access, provider_ref=body.provider_ref, created_by=request.auth, require_signature=body.require_signature
    )
    return Status(201, TokenOut.from_token(new.token, secret=new.secret, signing_key=new.signing_key))


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


# Routes of other areas, each in its own module, on this one API (imported last: they use ``api``).
from careledger.api import ledger_routes, outcomes_routes  # noqa: E402,F401
