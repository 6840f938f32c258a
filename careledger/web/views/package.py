"""The package page: the person, their plan and who is coming when, spending against the plan,
the visits with what went wrong, the alerts with their evidence, outcomes and reviews, the plan's versions.

Everything is read through selectors and services with the user's scope: council staff see any
package in their council, a provider manager only the people their provider serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.shortcuts import render

from careledger.domain.costing import versioned_priced_visits
from careledger.domain.localtime import LONDON
from careledger.monitoring.selectors import alert_list
from careledger.monitoring.services import package_view
from careledger.outcomes import selectors as outcome_selectors
from careledger.records.mapping import version_to_domain
from careledger.records.models import Provider
from careledger.records.selectors import _in_force, plan_versions, today_in_london

from ..charts import spending_chart
from ..pages import ALERT_HANDLERS, PROVIDER, STAFF, has_role, page
from ..spending import ledger_spend_rows, spending

TIMELINE_DAYS = 14
NEXT_DAYS = 7

# What happened at a visit, in words, with a GOV.UK tag colour; worst first.
FLAGS = (
    ("missed", "Missed", "govuk-tag--red"),
    ("late", "Late", "govuk-tag--orange"),
    ("short", "Short", "govuk-tag--orange"),
    ("under_minimum", "Under 30 minutes", "govuk-tag--yellow"),
    ("preference_breaches", "Carer not as asked", "govuk-tag--purple"),
    ("unplanned", "Not in the plan", "govuk-tag--blue"),
    ("cancelled_by_person", "Cancelled by the person", "govuk-tag--grey"),
    ("pending", "Not reported yet", "govuk-tag--grey"),
)
PROBLEMS = {"missed", "late", "short", "under_minimum", "preference_breaches"}


@dataclass(frozen=True)
class TimelineRow:
    planned_start: datetime
    minutes: int
    service_ref: str
    carer_ref: str
    actual_start: datetime | None
    actual_end: datetime | None
    flags: list[tuple[str, str]]  # (words, tag class)
    problem: bool


def _timeline(reconciliation, first: date, problems_only: bool) -> list[TimelineRow]:
    flagged: dict[str, set[str]] = {}
    lines = {}
    for name in ("scheduled", "delivered", "unplanned", *(f[0] for f in FLAGS)):
        for line in getattr(reconciliation, name):
            lines[line.ref] = line
            flagged.setdefault(line.ref, set()).add(name)
    rows = []
    for ref, line in lines.items():
        start = line.planned_start.astimezone(LONDON)
        if start.date() < first:
            continue
        names = flagged[ref]
        flags = [(words, css) for key, words, css in FLAGS if key in names]
        if not flags and "delivered" in names:
            flags = [("Delivered", "govuk-tag--green")]
        problem = bool(names & PROBLEMS)
        if problems_only and not problem:
            continue
        visit = line.visit
        rows.append(TimelineRow(
            start, line.planned_minutes, (line.slot.service_ref if line.slot else visit.service_ref), (visit.carer_ref or "") if visit else "",
            visit.actual_start.astimezone(LONDON) if visit and visit.actual_start else None,
            visit.actual_end.astimezone(LONDON) if visit and visit.actual_end else None, flags, problem,
        ))  # fmt: skip
    rows.sort(key=lambda r: r.planned_start, reverse=True)
    return rows


def _next_visits(plans, today: date, providers: dict[str, str]) -> list[dict]:
    """The planned visits from now to a week ahead, with who provides them."""
    now = datetime.now(LONDON)
    provider_of = {s.ref: s.provider_ref for _, plan in plans for s in plan.services}
    component_of = {s.ref: s.service_component for _, plan in plans for s in plan.services}
    out = []
    for priced in versioned_priced_visits(plans, today, today + timedelta(days=NEXT_DAYS - 1)):
        slot = priced.visit
        if slot.end <= now:
            continue
        ref = provider_of.get(slot.service_ref, "")
        out.append({"start": slot.start, "end": slot.end, "minutes": slot.minutes, "provider": providers.get(ref, ref),
                    "service": component_of.get(slot.service_ref) or slot.service_ref})  # fmt: skip
    return sorted(out, key=lambda v: v["start"])


def package_context(scope, person_ref: str, *, as_of: date, problems_only: bool = False) -> dict:
    view = package_view(scope=scope, person_ref=person_ref, as_of=as_of)
    person, plan = view.person, view.plan
    budget = plan.budget
    every_version = plan_versions(person=person)
    versions = _in_force(every_version)
    current = [v for v in versions if v.effective_from <= as_of][-1]
    plans = [(v.effective_from, version_to_domain(v)) for v in versions if v.budget_id == current.budget_id]
    providers = dict(Provider.objects.filter(council=scope.council, ref__in={s.provider_ref for _, p in plans for s in p.services}).values_list("ref", "name"))

    upto = min(as_of, budget.end_date)
    rows = ledger_spend_rows(person, budget.start_date, upto)
    money = spending(plans=plans, start=budget.start_date, end=budget.end_date, budget=budget.annual_amount, rows=rows, as_of=upto)
    chart = spending_chart(start=budget.start_date, end=budget.end_date, as_of=upto, budget=budget.annual_amount,
                           planned=money.planned, actual=money.actual, forecast=money.forecast)  # fmt: skip
    first = upto - timedelta(days=TIMELINE_DAYS - 1)
    return {
        "council": scope.council,
        "person": person,
        "representatives": list(person.representatives.all()),
        "plan": plan,
        "budget": budget,
        "status": view.status,
        "affordability": view.affordability,
        "counts": view.reconciliation.counts,
        "as_of": as_of,
        "upto": upto,
        "services": [{"service": s, "provider": providers.get(s.provider_ref, s.provider_ref)} for s in plan.services],
        "next_visits": _next_visits(plans, as_of + timedelta(days=1), providers),
        "money": money,
        "chart": chart,
        "timeline": _timeline(view.reconciliation, first, problems_only),
        "timeline_first": first,
        "timeline_days": TIMELINE_DAYS,
        "problems_only": problems_only,
        "alerts": list(alert_list(scope=scope, status=None, person_ref=person.ref)),
        "can_handle_alerts": has_role(scope, ALERT_HANDLERS),
        "is_staff": has_role(scope, STAFF),
        "outcomes": outcome_selectors.person_outcomes(person=person, as_of=as_of),
        "reviews": list(outcome_selectors.review_list(scope=scope, person_ref=person.ref).order_by("-held_on")),
        "versions": sorted(every_version, key=lambda v: v.number, reverse=True),
    }


@page(roles=STAFF | PROVIDER)
def package(request, scope, person_ref: str):
    # As at the end of yesterday: today's visits are still to come (the stored statuses are as at yesterday too).
    yesterday = today_in_london() - timedelta(days=1)
    context = package_context(scope, person_ref, as_of=yesterday, problems_only=request.GET.get("visits") == "problems")
    context["next"] = request.get_full_path()
    return render(request, "web/package.html", context)
