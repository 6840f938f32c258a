"""Writes: the use cases every entry point (API, CLI, demo, pages) calls.

Each service validates everything before it writes, and writes in one
transaction, so a refused request leaves nothing behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from careledger.domain.plans import Plan
from careledger.formats.plan_file import PlanFileError, Problem, parse_plan, plan_from_data, plan_to_data

from . import models as m
from .errors import Conflict, InvalidInput
from careledger.audit import trail

from .mapping import version_to_domain
from .scoping import Scope
from .selectors import plan_version_at, today_in_london

log = logging.getLogger(__name__)


def council_create(*, code: str, name: str) -> m.Council:
    council = m.Council(code=code.strip().upper(), name=name.strip())
    try:
        council.full_clean()
    except ValidationError as error:
        if "code" in error.message_dict and m.Council.objects.filter(code=council.code).exists():
            raise Conflict(f"council {council.code!r} already exists") from None
        raise InvalidInput(_messages(error)) from None
    council.save()
    log.info("council created id=%s code=%s", council.id, council.code)
    return council


def provider_create(*, scope: Scope, ref: str, name: str, cqc_location_id: str = "") -> m.Provider:
    """Register a provider with a council, with a default contract carrying the default monitoring rules."""
    scope.require(scope.can_manage)
    council = scope.council
    if m.Provider.objects.filter(council=council, ref=ref).exists():
        raise Conflict(f"provider {ref!r} is already registered with council {council.code}")
    provider = m.Provider(council=council, ref=ref.strip(), name=name.strip(), cqc_location_id=cqc_location_id)
    try:
        provider.full_clean(exclude=["council"])
    except ValidationError as error:
        raise InvalidInput(_messages(error)) from None
    with transaction.atomic():
        provider.save()
        m.Contract.objects.create(council=council, provider=provider, ref=f"{provider.ref}/default", name="Default terms")
    log.info("provider registered id=%s council=%s", provider.id, council.code)
    return provider


@dataclass(frozen=True)
class PlanImportResult:
    person_ref: str
    version_number: int
    effective_from: date
    outcome: str  # "created" (first version), "changed" (a new version) or "unchanged"
    plan: Plan

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_ref": self.person_ref,
            "version": self.version_number,
            "effective_from": self.effective_from.isoformat(),
            "outcome": self.outcome,
        }


def plan_parse_for_council(*, council: m.Council, raw: str | bytes | dict, source: str = "plan") -> Plan:
    """Parse a plan file, also checking that its providers are registered with the council."""
    known = set(m.Provider.objects.filter(council=council).values_list("ref", flat=True))

    def check_provider(ref: str) -> str | None:
        if ref in known:
            return None
        return f"provider {ref!r} is not registered with council {council.code}; register it first (careledger provider add)"

    if isinstance(raw, dict):
        return plan_from_data(raw, source=source, check_provider=check_provider)
    return parse_plan(raw, source=source, check_provider=check_provider)


def plan_import(
    *,
    scope: Scope,
    raw: str | bytes | dict,
    source: str = "plan",
    effective_from: date | None = None,
    note: str = "",
) -> PlanImportResult:
    """Import a ``careledger/plan@1`` file: create or update the person, budget and plan.

    The same file imported again changes nothing. A changed file makes a new plan
    version effective from ``effective_from`` (default: the budget's start for a
    first plan, otherwise today in London, but never before the budget starts);
    earlier versions stay as they were. Any problem raises
    :class:`~careledger.formats.plan_file.PlanFileError` and nothing is written.
    """
    scope.require(scope.can_write_plans)
    council = scope.council
    plan = plan_parse_for_council(council=council, raw=raw, source=source)
    document = plan_to_data(plan)
    with transaction.atomic():
        person, _ = m.Person.objects.select_for_update().get_or_create(
            council=council,
            ref=plan.person.ref,
            defaults={"given_name": plan.person.given_name, "family_name": plan.person.family_name, "birth_date": plan.person.birth_date},
        )
        _update(person, given_name=plan.person.given_name, family_name=plan.person.family_name, birth_date=plan.person.birth_date)
        care_plan, _ = m.CarePlan.objects.get_or_create(person=person, defaults={"council": council})
        latest = care_plan.versions.order_by("-number").first()
        if latest is not None and latest.document == document:
            return PlanImportResult(person.ref, latest.number, latest.effective_from, "unchanged", plan)

        budget = _budget_upsert(council, person, plan)
        _account_link(council, person, plan, source)
        if effective_from is None:
            effective_from = plan.budget.start_date if latest is None else max(today_in_london(), plan.budget.start_date)
        problems = []
        if not plan.budget.start_date <= effective_from <= plan.budget.end_date:
            problems.append(Problem("effective_from", f"{effective_from.isoformat()} is outside the budget period {plan.budget.start_date.isoformat()} to {plan.budget.end_date.isoformat()}"))
        if latest is not None and effective_from < latest.effective_from:
            problems.append(Problem("effective_from", f"{effective_from.isoformat()} is before version {latest.number}, in force from {latest.effective_from.isoformat()}; a change cannot be back-dated past it"))
        if problems:
            raise PlanFileError(problems, source)

        version = m.PlanVersion.objects.create(
            plan=care_plan,
            number=(latest.number + 1) if latest else 1,
            effective_from=effective_from,
            budget=budget,
            carer_gender=plan.person.preferences.carer_gender or "",
            known_carers_only=plan.person.preferences.known_carers_only,
            review_every_weeks=plan.review_every_weeks,
            contingency=plan.contingency,
            document=document,
            created_by=scope.actor,
            note=note,
        )
        _write_plan_rows(council, version, plan)
    log.info("plan imported council=%s person_id=%s version=%s", council.code, person.id, version.number)
    return PlanImportResult(person.ref, version.number, version.effective_from, "created" if latest is None else "changed", plan)


def _budget_upsert(council: m.Council, person: m.Person, plan: Plan) -> m.Budget:
    b = plan.budget
    budget, created = m.Budget.objects.get_or_create(
        person=person,
        start_date=b.start_date,
        defaults={
            "council": council,
            "annual_amount": b.annual_amount,
            "end_date": b.end_date,
            "delivery_mechanism": b.delivery_mechanism.value,
            "weekly_contribution": b.weekly_contribution,
        },
    )
    if not created:
        _update(
            budget,
            annual_amount=b.annual_amount,
            end_date=b.end_date,
            delivery_mechanism=b.delivery_mechanism.value,
            weekly_contribution=b.weekly_contribution,
        )
    stored = sorted((f.source, f.annual_amount) for f in budget.funding.all())
    wanted = sorted((f.source.value, f.annual_amount) for f in b.funding)
    if stored != wanted:
        budget.funding.all().delete()
        m.BudgetFunding.objects.bulk_create(m.BudgetFunding(budget=budget, source=s, annual_amount=a) for s, a in wanted)
    return budget


def _account_link(council: m.Council, person: m.Person, plan: Plan, source: str) -> None:
    ref = plan.budget.account_ref
    if not ref:
        return
    account, _ = m.PaymentAccount.objects.get_or_create(council=council, ref=ref, defaults={"person": person})
    if account.person_id != person.pk:
        raise PlanFileError([Problem("$.budget.account_ref", f"account {ref!r} belongs to another person")], source)


def _write_plan_rows(council: m.Council, version: m.PlanVersion, plan: Plan) -> None:
    providers = {p.ref: p for p in m.Provider.objects.filter(council=council, ref__in=plan.provider_refs)}
    contracts: dict[int, m.Contract] = {}
    for contract in m.Contract.objects.filter(council=council, provider__in=providers.values()).order_by("id"):
        contracts.setdefault(contract.provider_id, contract)
    for service in plan.services:
        provider = providers[service.provider_ref]
        row = m.PlannedService.objects.create(
            version=version,
            ref=service.ref,
            provider=provider,
            contract=contracts.get(provider.id),
            service_component=service.service_component,
            standard_rate=service.rates.standard,
            weekend_rate=service.rates.weekend,
            bank_holiday_rate=service.rates.bank_holiday,
        )
        m.VisitPattern.objects.bulk_create(
            m.VisitPattern(
                service=row,
                position=i,
                days=",".join(p.days),
                rrule=p.rrule or "",
                start_time=p.start,
                minutes=p.minutes,
            )
            for i, p in enumerate(service.visits)
        )
    m.Outcome.objects.bulk_create(m.Outcome(version=version, ref=o.ref, text=o.text, domain=o.domain.value) for o in plan.outcomes)


def _update(instance, **fields) -> None:
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, fields[name])
    if changed:
        instance.save(update_fields=changed)


def _messages(error: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())


__all__ = ["council_create", "provider_create", "plan_import", "plan_export", "plan_parse_for_council", "PlanImportResult"]


def plan_export(*, scope: Scope, person_ref: str, as_of: date | None = None) -> Plan:
    """A person's plan for export; every export is written to the audit trail."""
    person = scope.person(person_ref)
    version = plan_version_at(person=person, as_of=as_of)
    trail.record(
        "export",
        model="records.planversion",
        object_id=version.pk,
        council_id=scope.council.pk,
        after={"what": "plan", "person_id": person.pk, "version": version.number},
        actor=scope.actor,
    )
    return version_to_domain(version)
