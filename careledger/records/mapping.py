"""From stored rows to the domain's immutable values."""

from __future__ import annotations

import dataclasses
import functools
import json
from decimal import Decimal, InvalidOperation

from careledger.domain import plans as d
from careledger.domain.alerts import DEFAULT_SPEND_POLICY, DEFAULT_THRESHOLDS, AlertThresholds, SpendCategory, SpendPolicy
from careledger.domain.rates import RateCard
from careledger.domain.rules import RULE_FIELDS, MonitoringRules
from careledger.domain.schedules import VisitPattern as DomainVisitPattern

from . import models as m
from .errors import InvalidInput


def budget_to_domain(budget: m.Budget) -> d.Budget:
    return d.Budget(
        annual_amount=budget.annual_amount,
        start_date=budget.start_date,
        end_date=budget.end_date,
        delivery_mechanism=d.DeliveryMechanism(budget.delivery_mechanism),
        weekly_contribution=budget.weekly_contribution,
        funding=tuple(d.Funding(d.FundingSource(f.source), f.annual_amount) for f in budget.funding.all()),
    )


def version_to_domain(version: m.PlanVersion) -> d.Plan:
    """A stored plan version as a domain Plan. Prefetch services, patterns, outcomes and budget funding."""
    person = version.plan.person
    services = tuple(
        d.Service(
            ref=service.ref,
            provider_ref=service.provider.ref,
            rates=RateCard(service.standard_rate, service.weekend_rate, service.bank_holiday_rate),
            visits=tuple(
                DomainVisitPattern(
                    start=p.start_time,
                    minutes=p.minutes,
                    days=tuple(x for x in p.days.split(",") if x),
                    rrule=p.rrule or None,
                )
                for p in service.visit_patterns.all()
            ),
            service_component=service.service_component,
        )
        for service in version.services.all()
    )
    return d.Plan(
        person=d.Person(
            person.ref,
            person.given_name,
            person.family_name,
            person.birth_date,
            d.Preferences(version.carer_gender or None, version.known_carers_only),
        ),
        # The account is named in the version's own document: the budget row is shared by versions.
        budget=dataclasses.replace(budget_to_domain(version.budget), account_ref=(version.document or {}).get("budget", {}).get("account_ref")),
        services=services,
        outcomes=tuple(d.Outcome(o.ref, o.text, d.AscotDomain(o.domain)) for o in version.outcomes.all()),
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
