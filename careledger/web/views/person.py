"""The person's own page (and their representative's): their budget this month, in plain English.

How much there is this month (the year's budget shared out by day), how much was used and on
what, what is left, who is coming next and when, and what they want from their care. No
jargon: the way the budget is paid is explained in words. Big figures, one column, fits a phone.
Council staff and the person's provider may open it too (to see what the person sees).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.shortcuts import render

from careledger.domain import ledger as d
from careledger.domain.money import divide, rate_minutes_to_money
from careledger.domain.plans import DeliveryMechanism
from careledger.outcomes import selectors as outcome_selectors
from careledger.records.mapping import version_to_domain
from careledger.records.models import Provider
from careledger.records.selectors import _in_force, plan_versions, today_in_london

from ..pages import EVERYONE, PEOPLE, has_role, page
from ..spending import ledger_spend_rows, spending
from .package import _next_visits

HOW_PAID = {
    DeliveryMechanism.ISF: "{providers} look after this money for you and use it to arrange your care. (This is called an individual service fund.)",
    DeliveryMechanism.DIRECT_PAYMENT: "The council pays this money to you, or to the person who manages it for you, so you can arrange your own care. (This is called a direct payment.)",
    DeliveryMechanism.COUNCIL_MANAGED: "The council looks after this money for you and arranges your care with you. (This is called a council-managed personal budget.)",
    DeliveryMechanism.COMMISSIONED: "The council arranges your care and pays {providers} for it directly.",
}
OUTCOME_CHANGE = {"improving": "Getting better", "same": "About the same", "worse": "Getting harder"}


def _and(names: list[str]) -> str:
    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        return "Your care provider"
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def _month_share(annual: Decimal, start: date, end: date, first: date, last: date) -> Decimal:
    """The budget's share for the days of [first, last] inside the period: annual x days / days in the period (exact)."""
    days = max(0, (min(last, end) - max(first, start)).days + 1)
    return divide(annual * days, (end - start).days + 1)


@page(roles=EVERYONE)
def person(request, scope, person_ref: str):
    person = scope.person(person_ref)
    today = today_in_london()
    yesterday = today - timedelta(days=1)
    versions = _in_force(plan_versions(person=person))
    in_force = [v for v in versions if v.effective_from <= today] or versions[:1]
    context = {"person": person, "council": scope.council, "is_self": has_role(scope, PEOPLE), "is_person": "person" in scope.roles, "today": today}
    if not in_force:
        return render(request, "web/person.html", context | {"no_plan": True})
    current = in_force[-1]
    plans = [(v.effective_from, version_to_domain(v)) for v in versions if v.budget_id == current.budget_id]
    plan = dict(plans)[current.effective_from]
    budget = plan.budget
    provider_names = dict(Provider.objects.filter(council=scope.council, ref__in=plan.provider_refs).values_list("ref", "name"))
    providers = _and([provider_names.get(ref, ref) for ref in plan.provider_refs])

    rows = ledger_spend_rows(person, budget.start_date, yesterday)
    month_first = today.replace(day=1)
    month_last = (month_first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month_budget = _month_share(budget.annual_amount, budget.start_date, budget.end_date, month_first, month_last)
    month_rows = [r for r in rows if month_first <= r[0] <= yesterday]
    # Spent, as domain.ledger.spent: minus the entries' sum, in sixtieths of a pound, divided by 60 once.
    used = -rate_minutes_to_money(sum((r[2] * 60 + r[3] for r in month_rows), Decimal(0)))
    visits = [r for r in month_rows if r[1] == d.EntryKind.VISIT.value]
    visits_net = sum(1 if r[3] < 0 else -1 if r[3] > 0 else 0 for r in visits)  # a reversal takes a visit back
    payments = -rate_minutes_to_money(sum((r[2] * 60 + r[3] for r in month_rows if r[1] != d.EntryKind.VISIT.value), Decimal(0)))
    year = spending(plans=plans, start=budget.start_date, end=budget.end_date, budget=budget.annual_amount, rows=rows, as_of=yesterday)
    year_used = year.actual[-1].amount if year.actual else Decimal(0)
    outcomes = outcome_selectors.person_outcomes(person=person, as_of=today)
    percent_used = int(min(Decimal(100), divide(used * 100, month_budget)) if month_budget else 0)
    context |= {
        "plan": plan,
        "budget": budget,
        "how_paid": HOW_PAID.get(budget.delivery_mechanism, "").format(providers=providers),
        "providers": providers,
        "month_first": month_first,
        "month_last": month_last,
        "month_budget": month_budget,
        "used": used,
        "left": month_budget - used,
        "percent_used": percent_used,
        "visit_count": visits_net,
        "visit_money": used - payments,
        "payments": payments,
        "year_used": year_used,
        "year_left": budget.annual_amount - year_used,
        "forecast": year.forecast_end,
        "forecast_over": year.forecast_end - budget.annual_amount,
        "next_visits": _next_visits(plans, today, provider_names)[:5],
        "outcomes": [{"text": o.text, "change": OUTCOME_CHANGE.get(o.change.value if o.change else "", "")} for o in outcomes],
        "tomorrow": today + timedelta(days=1),
    }
    return render(request, "web/person.html", context)
