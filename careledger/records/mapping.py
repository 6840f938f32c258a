"""From stored rows to the domain's immutable values."""

from __future__ import annotations

import dataclasses

from careledger.domain import plans as d
from careledger.domain.rates import RateCard
from careledger.domain.rules import RULE_FIELDS, MonitoringRules
from careledger.domain.schedules import VisitPattern as DomainVisitPattern

from . import models as m


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


def contract_rules(contract: m.Contract) -> MonitoringRules:
    """A contract's monitoring and payment rules as the domain's value."""
    return MonitoringRules(**{name: getattr(contract, name) for name in RULE_FIELDS})
