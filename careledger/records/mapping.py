"""From stored rows to the domain's immutable values."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable
from datetime import date, time
from decimal import Decimal, InvalidOperation

from careledger.domain import plans as d
from careledger.domain.alerts import DEFAULT_SPEND_POLICY, DEFAULT_THRESHOLDS, AlertThresholds, SpendCategory, SpendPolicy
from careledger.domain.rates import RateCard
from careledger.domain.rules import RULE_FIELDS, MonitoringRules
from careledger.domain.schedules import VisitPattern as DomainVisitPattern

from . import models as m
from .errors import InvalidInput


# -- building the domain's values from plain stored values -------------------------------------
# One definition each, shared by version_to_domain (model instances) and records.bulk (rows).


def visit_pattern_from_row(start_time: time, minutes: int, days: str, rrule: str) -> DomainVisitPattern:
    """A stored visit pattern: ``days`` comma-separated RFC 5545 codes ("" for none), ``rrule`` "" for none."""
    return DomainVisitPattern(start=start_time, minutes=minutes, days=tuple(x for x in days.split(",") if x), rrule=rrule or None)


def service_from_row(
    *,
    ref: str,
    provider_ref: str,
    standard_rate: Decimal,
    weekend_rate: Decimal | None,
    bank_holiday_rate: Decimal | None,
    service_component: str,
    visits: tuple[DomainVisitPattern, ...],
) -> d.Service:
    return d.Service(
        ref=ref,
        provider_ref=provider_ref,
        rates=RateCard(standard_rate, weekend_rate, bank_holiday_rate),
        visits=visits,
        service_component=service_component,
    )


def outcome_from_row(ref: str, text: str, domain: str) -> d.Outcome:
    return d.Outcome(ref, text, d.AscotDomain(domain))


def budget_from_row(
    *,
    annual_amount: Decimal,
    start_date: date,
    end_date: date,
    delivery_mechanism: str,
    weekly_contribution: Decimal,
    funding: Iterable[tuple[str, Decimal]],
    account_ref: str | None = None,
) -> d.Budget:
    """A budget row with its funding rows as ``(source, annual_amount)`` pairs, in their stored order."""
    return d.Budget(
        annual_amount=annual_amount,
        start_date=start_date,
        end_date=end_date,
        delivery_mechanism=d.DeliveryMechanism(delivery_mechanism),
        weekly_contribution=weekly_contribution,
        funding=tuple(d.Funding(d.FundingSource(source), amount) for source, amount in funding),
        account_ref=account_ref,
    )


def account_ref_from_budget_data(budget_data: dict) -> str | None:
    """The direct payment account a version names: ``budget.account_ref`` of its own document (None if absent).

    It lives in the version's document because the budget row is shared by versions.
    """
    return budget_data.get("account_ref")


def plan_from_rows(
    *,
    person_ref: str,
    given_name: str,
    family_name: str,
    birth_date: date | None,
    carer_gender: str,
    known_carers_only: bool,
    budget: d.Budget,
    services: tuple[d.Service, ...],
    outcomes: tuple[d.Outcome, ...],
    review_every_weeks: int | None,
    contingency: str,
) -> d.Plan:
    """A plan from a person's row and a version's row (its preferences: ``carer_gender`` "" for none)."""
    return d.Plan(
        person=d.Person(person_ref, given_name, family_name, birth_date, d.Preferences(carer_gender or None, known_carers_only)),
        budget=budget,
        services=services,
        outcomes=outcomes,
        review_every_weeks=review_every_weeks,
        contingency=contingency,
    )


def _budget_kwargs(budget: m.Budget) -> dict:
    return {
        "annual_amount": budget.annual_amount,
        "start_date": budget.start_date,
        "end_date": budget.end_date,
        "delivery_mechanism": budget.delivery_mechanism,
        "weekly_contribution": budget.weekly_contribution,
        "funding": ((f.source, f.annual_amount) for f in budget.funding.all()),
    }


def budget_to_domain(budget: m.Budget) -> d.Budget:
    return budget_from_row(**_budget_kwargs(budget))


def version_to_domain(version: m.PlanVersion) -> d.Plan:
    """A stored plan version as a domain Plan. Prefetch services, patterns, outcomes and budget funding.

    :mod:`careledger.records.bulk` builds the same values from rows for many people at once.
    """
    person = version.plan.person
    services = tuple(
        service_from_row(
            ref=service.ref,
            provider_ref=service.provider.ref,
            standard_rate=service.standard_rate,
            weekend_rate=service.weekend_rate,
            bank_holiday_rate=service.bank_holiday_rate,
            service_component=service.service_component,
            visits=tuple(visit_pattern_from_row(p.start_time, p.minutes, p.days, p.rrule) for p in service.visit_patterns.all()),
        )
        for service in version.services.all()
    )
    return plan_from_rows(
        person_ref=person.ref,
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=person.birth_date,
        carer_gender=version.carer_gender,
        known_carers_only=version.known_carers_only,
        budget=budget_from_row(
            **_budget_kwargs(version.budget),
            account_ref=account_ref_from_budget_data((version.document or {}).get("budget", {})),
        ),
        services=services,
        outcomes=tuple(outcome_from_row(o.ref, o.text, o.domain) for o in version.outcomes.all()),
        review_every_weeks=version.review_every_weeks,
        contingency=version.contingency,
    )


VERSION_PREFETCH = (
    "services__visit_patterns",
    "services__provider",
    "outcomes",
    "budget__funding",
)


def version_contract(version: m.PlanVersion) -> m.Contract | None:
    """The contract whose rules a package follows: that of the first service that names one."""
    for service in version.services.all():
        if service.contract_id:
            return service.contract
    return None


def contract_rules(contract: m.Contract) -> MonitoringRules:
    """A contract's monitoring and payment rules as the domain's value."""
    return MonitoringRules(**{name: getattr(contract, name) for name in RULE_FIELDS})


# -- alert thresholds (per contract) and the ineligible-spend policy (per council) -------------

THRESHOLD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AlertThresholds))
_PERCENT_FIELDS = frozenset(name for name in THRESHOLD_FIELDS if name.endswith("_percent"))
_CATEGORY_FIELDS = ("code", "label", "keywords", "severity", "advice")


def _threshold_value(name: str, value: object) -> object:
    """A JSON value as the domain wants it: percentages exact Decimals, counts whole numbers (or null)."""
    if name in _PERCENT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidInput(f"alert threshold {name}: a percentage is needed (a number or a string like \"2.5\"), not {value!r}")
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"alert threshold {name}: {value!r} is not a number") from None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def alert_thresholds_from_json(data: object) -> AlertThresholds:
    """A contract's stored overrides (a JSON object; empty for the defaults) as the domain's thresholds.

    Raises :class:`InvalidInput` naming the setting and why, for an unknown name or a bad value.
    """
    if data in (None, ""):
        return DEFAULT_THRESHOLDS
    if not isinstance(data, dict):
        raise InvalidInput(f"alert thresholds must be a JSON object of settings, not {type(data).__name__}")
    unknown = sorted(set(data) - set(THRESHOLD_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown alert threshold(s) {', '.join(unknown)}; use {', '.join(THRESHOLD_FIELDS)}")
    values = {name: _threshold_value(name, value) for name, value in data.items()}
    try:
        return AlertThresholds(**values)
    except ValueError as error:
        raise InvalidInput(f"alert thresholds: {error}") from None


def alert_thresholds_to_json(thresholds: AlertThresholds) -> dict:
    """Every setting, percentages as strings (exact), for showing or storing."""
    out = {}
    for name in THRESHOLD_FIELDS:
        value = getattr(thresholds, name)
        out[name] = f"{value}" if isinstance(value, Decimal) else value
    return out


def contract_thresholds(contract: m.Contract | None) -> AlertThresholds:
    """A contract's alert thresholds (the defaults with its overrides); defaults with no contract."""
    return alert_thresholds_from_json(contract.alert_thresholds) if contract is not None else DEFAULT_THRESHOLDS


def spend_policy_from_json(data: object) -> SpendPolicy:
    """A council's stored policy (``{"categories": [...]}``; empty for the defaults) as the domain's SpendPolicy."""
    if data in (None, "") or data == {}:
        return DEFAULT_SPEND_POLICY
    if not isinstance(data, dict) or set(data) != {"categories"} or not isinstance(data["categories"], list):
        raise InvalidInput('a spend policy is a JSON object {"categories": [...]} (or empty for the defaults)')
    categories = []
    seen: set[str] = set()
    for index, item in enumerate(data["categories"]):
        where = f"spend policy category {index + 1}"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where}: each category is an object with code, label and keywords")
        unknown = sorted(set(item) - set(_CATEGORY_FIELDS))
        if unknown:
            raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}; use {', '.join(_CATEGORY_FIELDS)}")
        missing = [name for name in ("code", "label", "keywords") if not item.get(name)]
        if missing:
            raise InvalidInput(f"{where}: {', '.join(missing)} needed")
        if not all(isinstance(item.get(name, ""), str) for name in ("code", "label", "severity", "advice")):
            raise InvalidInput(f"{where}: code, label, severity and advice are text")
        keywords = item["keywords"]
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise InvalidInput(f"{where} ({item['code']}): keywords must be a list of words or phrases")
        if item["code"] in seen:
            raise InvalidInput(f"{where}: the code {item['code']!r} is used twice")
        seen.add(item["code"])
        extra = {name: item[name] for name in ("severity", "advice") if name in item}
        try:
            categories.append(SpendCategory(item["code"], item["label"], tuple(keywords), **extra))
        except ValueError as error:
            raise InvalidInput(f"{where} ({item['code']}): {error}") from None
    if not categories:
        raise InvalidInput("a spend policy needs at least one category (leave it empty for the defaults)")
    return SpendPolicy(tuple(categories))


def spend_policy_to_json(policy: SpendPolicy) -> dict:
    return {
        "categories": [
            {"code": c.code, "label": c.label, "keywords": list(c.keywords), "severity": c.severity, "advice": c.advice}
            for c in policy.categories
        ]
    }


def council_spend_policy(council: m.Council) -> SpendPolicy:
    """A council's policy (parsed once per distinct policy: each keyword is a compiled pattern)."""
    if not council.spend_policy:
        return DEFAULT_SPEND_POLICY
    return _cached_policy(json.dumps(council.spend_policy, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _cached_policy(text: str) -> SpendPolicy:
    return spend_policy_from_json(json.loads(text))
