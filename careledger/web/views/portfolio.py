"""The commissioner's portfolio: every package's stored status, counted, filtered, sorted, paged; the open alerts."""

from __future__ import annotations

from django.db.models import Max
from django.shortcuts import render

from careledger.domain.plans import DeliveryMechanism
from careledger.monitoring.selectors import RAGS, alert_list, portfolio as portfolio_selector
from careledger.records.errors import InvalidInput

from ..csv import csv_response, wants_csv
from ..pages import ALERT_HANDLERS, STAFF, has_role, page
from ..tables import columns, page_links, paginate, sort_params, sorted_by

QUESTIONS = {
    "followed": "Is the plan followed?",
    "affordable": "Is it affordable?",
    "working": "Is it working?",
}
RAG_MEANING = {"red": "needs action now", "amber": "keep an eye on it", "green": "on track"}
SORTS = {
    "worst": ("worst", "-reds", "-open_alerts", "person__family_name", "person__ref"),
    "person": ("person__family_name", "person__given_name", "person__ref"),
    "mechanism": ("mechanism", "person__family_name", "person__ref"),
    "provider": ("provider_ref", "person__family_name", "person__ref"),
    "budget": ("budget", "person__ref"),
    "spent": ("spent", "person__ref"),
    "variance": ("forecast_variance", "person__ref"),
    "alerts": ("open_alerts", "person__ref"),
}
COLUMNS = [
    ("person", "Person", False),
    ("mechanism", "How it is paid", False),
    ("provider", "Provider", False),
    ("", "Followed", False),
    ("", "Affordable", False),
    ("", "Working", False),
    ("budget", "Budget a year", True),
    ("spent", "Spent so far", True),
    ("variance", "Forecast against budget", True),
    ("alerts", "Open alerts", True),
]
MECHANISM_LABELS = {m.value: m.label for m in DeliveryMechanism}
ALERTS_PER_PAGE = 10


def _filters(request) -> dict:
    rag = request.GET.get("rag") or None
    question = request.GET.get("question") or None
    if rag is not None and rag not in RAGS:
        raise InvalidInput(f"rating must be red, amber or green, not {rag!r}")
    if question is not None and question not in QUESTIONS:
        raise InvalidInput(f"question must be followed, affordable or working, not {question!r}")
    mechanism = request.GET.get("mechanism") or None
    if mechanism is not None and mechanism not in MECHANISM_LABELS:
        raise InvalidInput(f"unknown way of paying {mechanism!r}")
    return {"rag": rag, "question": question, "provider_ref": request.GET.get("provider") or None, "mechanism": mechanism}


@page(roles=STAFF)
def portfolio(request, scope):
    filters = _filters(request)
    found = portfolio_selector(scope=scope, **filters)
    key, direction = sort_params(request, SORTS, "worst")
    rows = sorted_by(found["packages"], SORTS, key, direction)

    if wants_csv(request):
        header = ["person_ref", "given_name", "family_name", "mechanism", "provider_ref", "followed", "affordable", "working",
                  "budget", "spent", "forecast_variance", "open_alerts", "as_of"]  # fmt: skip
        data = (
            (s.person.ref, s.person.given_name, s.person.family_name, s.mechanism, s.provider_ref, s.followed, s.affordable, s.working,
             s.budget, s.spent, s.forecast_variance, s.open_alerts, s.as_of)  # fmt: skip
            for s in rows.iterator()
        )
        return csv_response(scope, "portfolio", header, data)

    packages = paginate(request, rows)
    alerts = paginate(request, alert_list(scope=scope, status="open"), ALERTS_PER_PAGE, param="apage")
    counts = [
        {"question": q, "title": title, "rags": [{"rag": r, "count": found["counts"][q][r], "meaning": RAG_MEANING[r]} for r in RAGS]}
        for q, title in QUESTIONS.items()
    ]
    context = {
        "council": scope.council,
        "counts": counts,
        "total": sum(found["counts"]["followed"].values()),
        "stale": found["stale"],
        "as_of": found["packages"].aggregate(latest=Max("as_of"))["latest"],
        "packages": packages,
        "package_links": page_links(request, packages),
        "columns": columns(request, COLUMNS, key, direction),
        "sorted_by_column": key != "worst",
        "filters": filters,
        "filtered": any(filters.values()),
        "providers": list(found["by_provider"]),
        "mechanisms": [(value, MECHANISM_LABELS.get(value, value)) for value in found["by_mechanism"]],
        "questions": QUESTIONS,
        "rags": RAGS,
        "mechanism_labels": MECHANISM_LABELS,
        "alerts": alerts,
        "alert_links": page_links(request, alerts, param="apage"),
        "can_handle_alerts": has_role(scope, ALERT_HANDLERS),
    }
    return render(request, "web/portfolio.html", context)
