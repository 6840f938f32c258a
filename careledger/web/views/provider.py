"""The provider view: a provider's packages and delivery, its visit files, import results and API tokens.

A provider manager sees their own provider only (``/councils/{code}/provider/`` opens it); council
staff see every provider of the council (a list with each one's delivery metrics) and may open any.
Everything a page shows is read through the caller's :class:`Scope`, narrowed to the provider
(:func:`provider_scope`): a provider outside it is 404, exactly like one that does not exist.

* Upload: a multipart form, no JavaScript. Django spools a large file to disk and
  ``ingest.services.import_file`` reads it as a stream, in chunks, under the provider's scope (so
  a row for someone the provider does not serve is rejected with its line, field and reason).
* Import results: the run's counts and its rejected rows, a page at a time, and all of them as CSV.
* API tokens: only council administrators may make or revoke one (``access.services``); the
  provider's manager sees their provider's tokens (name, first characters, access, last use),
  never a secret. A new token's secret is shown once, in the answer to the form, and not kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache

from careledger.access import services as access_services
from careledger.access.models import ApiToken
from careledger.ingest import selectors as ingest_selectors
from careledger.ingest import services as ingest_services
from careledger.ingest.models import ImportRun
from careledger.monitoring.models import Alert, PackageStatus
from careledger.monitoring.selectors import provider_metrics
from careledger.records.errors import InvalidInput
from careledger.records.models import PlanVersion, Provider
from careledger.records.scoping import Scope
from careledger.records.selectors import today_in_london

from ..csv import csv_response, wants_csv
from ..pages import PROVIDER, STAFF, has_role, page

PROVIDER_PAGES = STAFF | PROVIDER
UPLOADERS = frozenset({"council_admin", "commissioner", "provider"})  # who may send delivery data (access.scope)
TOKEN_READERS = frozenset({"council_admin", "provider"})
REJECTIONS_PER_PAGE = 100
RUNS_PER_PAGE = 50
PACKAGES_PER_PAGE = 50
METRICS_CACHE_SECONDS = 600
KIND_LABELS = {"visits": "Visits", "carers": "Carers", "transactions": "Account transactions"}


# -- scope ---------------------------------------------------------------------------------------


def _provider(scope: Scope, ref: str) -> Provider:
    found = scope.providers().filter(ref=ref).first()
    if found is None:
        raise Http404(f"no provider {ref!r}")
    return found


def provider_scope(scope: Scope, provider: Provider) -> Scope:
    """The caller's scope narrowed to one provider's people (it never widens what the caller may do)."""
    if not scope.whole_council and provider.pk not in scope.provider_ids:
        raise Http404("not found")
    return dataclasses.replace(scope, whole_council=False, provider_ids=frozenset({provider.pk}), person_ids=frozenset())


def _paginate(request, rows, per_page: int):
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def _percent(rate) -> str:
    return "" if rate is None else f"{(rate * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _data_stamp(scope: Scope) -> tuple:
    """What the delivery figures are made from, as a few cheap numbers: any new import or push, plan
    version or alert, or an alert resolved, changes it (and so the cached figures)."""
    runs = ImportRun.objects.filter(council=scope.council).aggregate(last=Max("id"), finished=Max("finished_at"), n=Count("id"))
    alerts = Alert.objects.filter(council=scope.council).aggregate(last=Max("id"), resolved=Count("id", filter=Q(status=Alert.Status.RESOLVED)))
    plans = PlanVersion.objects.filter(plan__council=scope.council).aggregate(last=Max("id"))
    return (runs["last"], runs["finished"], runs["n"], alerts["last"], alerts["resolved"], plans["last"])


def _metrics(scope: Scope, provider_ref: str | None = None) -> list:
    """``monitoring.selectors.provider_metrics`` as at today, kept for a few minutes while nothing it reads has changed.

    Reading four weeks of every provider's visits takes longer than a page should; the figures
    only change when data arrives, so the last ones stand until then (or for METRICS_CACHE_SECONDS).
    """
    as_of = today_in_london()
    reach = (scope.council.pk, scope.council.created_at, scope.whole_council, tuple(sorted(scope.provider_ids)), tuple(sorted(scope.person_ids)), as_of, provider_ref)
    key = "careledger.web.provider_metrics:" + hashlib.sha256(repr((reach, _data_stamp(scope))).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = provider_metrics(scope=scope, as_of=as_of, provider_ref=provider_ref)
        cache.set(key, found, METRICS_CACHE_SECONDS)
    return found


def _metrics_rows(found) -> list[dict]:
    return [
        {
            "m": m,
            "on_time_percent": _percent(m.on_time_rate),
            "missed_percent": _percent(m.missed_rate),
            "continuity": "" if m.continuity is None else f"{m.continuity.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}",
        }
        for m in found
    ]


METRIC_HEADER = ["Provider", "Name", "From", "To", "Visits planned", "Completed", "On time", "Late", "Missed", "On time (%)",
                 "Missed (%)", "Carers per person (median)", "People visited", "Packages", "Open alerts"]  # fmt: skip


def _metric_cells(row: dict) -> list:
    m = row["m"]
    return [m.provider_ref, m.provider_name, m.since, m.as_of, m.scheduled, m.delivered, m.on_time, m.late, m.missed,
            row["on_time_percent"].rstrip("%"), row["missed_percent"].rstrip("%"), row["continuity"], m.people_visited, m.packages,
            m.open_alerts]  # fmt: skip


# -- the landing page: a provider manager's own provider; for staff, every provider ------------------


@page(roles=PROVIDER_PAGES)
def provider_home(request, scope: Scope):
    if not scope.whole_council:
        providers = list(scope.providers().order_by("ref"))
        if len(providers) == 1:
            return _provider_page(request, scope, providers[0])
        return render(request, "web/provider/choose.html", {"scope": scope, "providers": providers})
    found = _metrics_rows(_metrics(scope))
    if wants_csv(request):
        return csv_response(scope, "provider-metrics", METRIC_HEADER, (_metric_cells(r) for r in found))
    return render(request, "web/provider/list.html", {"scope": scope, "rows": found, "as_of": today_in_london()})


@page(roles=PROVIDER_PAGES)
def provider_detail(request, scope: Scope, provider_ref: str):
    return _provider_page(request, scope, _provider(scope, provider_ref))


PACKAGE_HEADER = ["Person", "Mechanism", "Main provider", "Followed", "Affordable", "Working", "Budget", "Spent", "Forecast variance",
                  "Open alerts", "As of"]  # fmt: skip


def _provider_page(request, scope: Scope, provider: Provider):
    narrowed = provider_scope(scope, provider)
    packages = (
        PackageStatus.objects.filter(council=scope.council, person__in=narrowed.people())
        .select_related("person")
        .order_by("worst", "-reds", "-open_alerts", "person__ref")
    )
    table = request.GET.get("table")
    if wants_csv(request) and table == "metrics":
        found = _metrics_rows(_metrics(narrowed, provider.ref))
        return csv_response(scope, f"provider-{provider.ref}-metrics", METRIC_HEADER, (_metric_cells(r) for r in found))
    if wants_csv(request):
        rows = ([p.person.ref, p.mechanism, p.provider_ref, p.followed, p.affordable, p.working, p.budget, p.spent, p.forecast_variance,
                 p.open_alerts, p.as_of] for p in packages.iterator())  # fmt: skip
        return csv_response(scope, f"provider-{provider.ref}-packages", PACKAGE_HEADER, rows)
    metrics = _metrics_rows(_metrics(narrowed, provider.ref))
    runs = ingest_selectors.import_runs(scope=narrowed).filter(provider=provider)[:5]
    return render(
        request,
        "web/provider/detail.html",
        {
            "scope": scope,
            "provider": provider,
            "own": not scope.whole_council,
            "metrics": metrics[0] if metrics else None,
            "packages": _paginate(request, packages, PACKAGES_PER_PAGE),
            "runs": runs,
            "may_upload": scope.can_write_delivery and has_role(scope, UPLOADERS),
            "may_see_tokens": has_role(scope, TOKEN_READERS),
        },
    )


# -- upload a visits file ----------------------------------------------------------------------


@page(roles=UPLOADERS)
def provider_upload(request, scope: Scope, provider_ref: str):
    """GET: the form. POST: import the file under the provider's scope, then show its result."""
    provider = _provider(scope, provider_ref)
    narrowed = provider_scope(scope, provider)
    scope.require(scope.can_write_delivery)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        kind = request.POST.get("kind", "visits")
        if kind not in ("visits", "carers"):
            error = "Choose visits or carers"
        elif upload is None or not upload.name:
            error = "Choose a CSV file to upload"
        elif upload.size == 0:
            error = "The selected file is empty"
        else:
            try:
                summary = ingest_services.import_file(
                    scope=narrowed, kind=kind, stream=upload.file, source=upload.name[:255],
                    all_or_nothing=request.POST.get("all_or_nothing") == "yes", keep=0,
                )  # fmt: skip
            except InvalidInput as problem:
                error = str(problem)
            else:
                run = summary.run
                messages.success(request, f"{upload.name}: {run.rows} rows read, {run.rejected} rejected")
                return redirect("web:import-run", code=scope.council.code, run_id=run.pk)
    context = {"scope": scope, "provider": provider, "error": error, "page_has_errors": bool(error), "kind": request.POST.get("kind", "visits")}
    return render(request, "web/provider/upload.html", context, status=400 if error else 200)


# -- import runs and their rejected rows --------------------------------------------------------


RUN_HEADER = ["Run", "Started", "Kind", "Channel", "Source", "Provider", "Status", "Rows", "Added", "Amended", "Duplicates", "Rejected"]


@page(roles=PROVIDER_PAGES)
def import_list(request, scope: Scope):
    """Earlier imports and pushes (a provider's own; every one of the council for its staff), filtered by kind."""
    runs = ingest_selectors.import_runs(scope=scope)
    kind = request.GET.get("kind", "")
    if kind in KIND_LABELS:
        runs = runs.filter(kind=kind)
    else:
        kind = ""
    provider_ref = request.GET.get("provider", "")
    if provider_ref:
        runs = runs.filter(provider__ref=provider_ref)
    if wants_csv(request):
        rows = ([r.pk, r.started_at, r.kind, r.channel, r.source, r.provider.ref if r.provider else "", r.status, r.rows, r.added, r.amended,
                 r.duplicates, r.rejected] for r in runs.iterator())  # fmt: skip
        return csv_response(scope, "imports", RUN_HEADER, rows)
    return render(request, "web/provider/imports.html", {"scope": scope, "runs": _paginate(request, runs, RUNS_PER_PAGE), "kind": kind,
                                                          "kinds": KIND_LABELS, "provider_ref": provider_ref})  # fmt: skip


@page(roles=PROVIDER_PAGES)
def import_run(request, scope: Scope, run_id: int):
    run = ingest_selectors.import_run(scope=scope, run_id=run_id)
    rejections = run.rejections.order_by("line", "id")
    if wants_csv(request):
        rows = ([r.line, r.field, r.reason, r.raw] for r in rejections.iterator())
        return csv_response(scope, f"import-{run.pk}-rejections", ["Line", "Field", "Reason", "Raw"], rows,
                            filename=f"{scope.council.code}-import-{run.pk}-rejections.csv")  # fmt: skip
    return render(request, "web/provider/run.html", {"scope": scope, "run": run, "kind_label": KIND_LABELS.get(run.kind, run.kind),
                                                     "rejections": _paginate(request, rejections, REJECTIONS_PER_PAGE)})  # fmt: skip


# -- API tokens ----------------------------------------------------------------------------------


FORM_NONCES = "careledger.web.token_form_nonces"
TOKEN_HEADER = ["Name", "Starts with", "Access", "Signed pushes", "Created", "Last used", "Revoked"]


@never_cache
@page(roles=TOKEN_READERS)
def provider_tokens(request, scope: Scope, provider_ref: str):
    """The provider's tokens; a council administrator may make one (its secret shown once, here) or revoke one."""
    provider = _provider(scope, provider_ref)
    provider_scope(scope, provider)
    tokens = ApiToken.objects.filter(council=scope.council, provider=provider).order_by("-created_at")
    new = None
    error = ""
    if request.method == "POST":
        scope.require(scope.can_manage)
        name = request.POST.get("name", "").strip()
        access = request.POST.get("access", "")
        sent = request.session.get(FORM_NONCES, [])
        nonce = request.POST.get("nonce", "")
        if nonce not in sent:  # sent twice (a reload, a double click): the token was made the first time
            error = "This form was already sent: its token was made then and its secret shown once. Make another below if you need one"
        elif not name:
            error = "Enter a name saying which system will use the token"
        elif access not in ApiToken.Access.values:
            error = "Choose read only, or read and write"
        else:
            request.session[FORM_NONCES] = [n for n in sent if n != nonce]
            try:
                new = access_services.token_create(scope=scope, name=name, access=access, provider_ref=provider.ref, created_by=request.user,
                                                   require_signature=request.POST.get("require_signature") == "yes")  # fmt: skip
            except InvalidInput as problem:
                error = str(problem)
    if wants_csv(request):
        rows = ([t.name, t.prefix, t.access, "required" if t.require_signature else "optional", t.created_at, t.last_used_at, t.revoked_at]
                for t in tokens)  # fmt: skip
        return csv_response(scope, f"provider-{provider.ref}-tokens", TOKEN_HEADER, rows)
    nonce = None
    if scope.can_manage:  # each form carries a one-time number, so sending it twice makes one token, not two
        nonce = secrets.token_urlsafe(16)
        request.session[FORM_NONCES] = [*request.session.get(FORM_NONCES, [])[-4:], nonce]
    response = render(
        request,
        "web/provider/tokens.html",
        {"scope": scope, "provider": provider, "tokens": tokens, "new": new, "error": error, "page_has_errors": bool(error),
         "may_manage": scope.can_manage, "form": request.POST if error else {}, "nonce": nonce},
    )  # fmt: skip
    if error:
        response.status_code = 400
    return response


@page(roles=frozenset({"council_admin"}))
def token_revoke(request, scope: Scope, token_id: int):
    """GET: are you sure? POST: revoke it (it stops working at once; it cannot be brought back)."""
    scope.require(scope.can_manage)
    token = ApiToken.objects.filter(council=scope.council, pk=token_id).select_related("provider").first()
    if token is None:
        raise Http404("no such token")
    back = reverse("web:provider-tokens", kwargs={"code": scope.council.code, "provider_ref": token.provider.ref}) if token.provider else reverse("web:provider", kwargs={"code": scope.council.code})
    if request.method == "POST":
        access_services.token_revoke(scope=scope, token_id=token.pk)
        messages.success(request, f"Token “{token.name}” revoked: it no longer works")
        return redirect(back)
    return render(request, "web/provider/token_revoke.html", {"scope": scope, "token": token, "back": back})


urlpatterns = [
    path("councils/<str:code>/provider/", provider_home, name="provider"),
    path("councils/<str:code>/providers/<str:provider_ref>/", provider_detail, name="provider-detail"),
    path("councils/<str:code>/providers/<str:provider_ref>/upload/", provider_upload, name="provider-upload"),
    path("councils/<str:code>/providers/<str:provider_ref>/tokens/", provider_tokens, name="provider-tokens"),
    path("councils/<str:code>/tokens/<int:token_id>/revoke/", token_revoke, name="token-revoke"),
    path("councils/<str:code>/imports/", import_list, name="imports"),
    path("councils/<str:code>/imports/<int:run_id>/", import_run, name="import-run"),
]

__all__ = ["provider_scope", "urlpatterns"]
