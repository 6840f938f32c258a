"""Set-based reads of many people's plan versions and contracts, for the full recompute.

``selectors.plan_versions(person=...)`` with ``mapping.version_to_domain`` costs a handful of queries and
dozens of model instances per person. :func:`versions_by_person` loads every plan version of a council
(or of some of its people) in a fixed number of queries, whatever the number of people, from
``values_list`` rows (no model instances), and builds exactly the same domain values with the same
constructors (the ``*_from_row`` helpers of :mod:`careledger.records.mapping`, which
``version_to_domain`` uses too). Everything is filtered by council: a person id of another council
gives nothing.

Order is that of the prefetch's ``.all()`` in ``version_to_domain``, i.e. each model's ``Meta.ordering``
within its parent: services and outcomes by id, visit patterns by position (then id, for ties the
prefetch leaves to the database), funding rows by id (``BudgetFunding`` has no ordering, so the
prefetch returns them in database order, which in practice is insertion order, i.e. by id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform

from careledger.domain.alerts import AlertThresholds
from careledger.domain.plans import Plan
from careledger.domain.rules import RULE_FIELDS, MonitoringRules

from . import models as m
from .mapping import (
    account_ref_from_budget_data,
    alert_thresholds_from_json,
    budget_from_row,
    outcome_from_row,
    plan_from_rows,
    service_from_row,
    visit_pattern_from_row,
)

__all__ = ["StoredVersion", "ContractSettings", "versions_by_person", "contracts_by_id"]


@dataclass(frozen=True)
class StoredVersion:
    """One stored plan version, as ``version_to_domain`` and ``version_contract`` see it."""

    id: int
    person_id: int
    effective_from: date
    number: int
    budget_id: int
    contract_id: int | None  # that of the first service (in service order) that names one, as mapping.version_contract
    plan: Plan  # == mapping.version_to_domain(version)


@dataclass(frozen=True)
class ContractSettings:
    rules: MonitoringRules  # == mapping.contract_rules(contract)
    thresholds: AlertThresholds  # == mapping.contract_thresholds(contract)


# Above this many person ids, load the whole council and keep those asked for: the ids go into each query
# as parameters, and SQLite (32,766) and PostgreSQL (65,535) limit how many one statement may have.
MANY_IDS = 10_000


def _versions(council_id: int, person_ids: list[int] | None) -> QuerySet[m.PlanVersion]:
    versions = m.PlanVersion.objects.filter(plan__person__council_id=council_id)
    if person_ids is not None:
        versions = versions.filter(plan__person_id__in=person_ids)
    return versions


def versions_by_person(*, council_id: int, person_ids: Collection[int] | None = None) -> dict[int, list[StoredVersion]]:
    """Every plan version of the council's people (or of ``person_ids`` only), by person id.

    Each person's versions are ordered by ``(effective_from, number)`` as ``selectors.plan_versions``
    orders them, all of them (callers apply ``selectors._in_force`` semantics themselves); people with
    no plan version are not in the answer. Five queries (one when there is no version), whatever
    the number of people: versions with their person and budget, services with their provider's ref,
    visit patterns, outcomes and funding rows, each of the versions found (by their ids); with more
    than :data:`MANY_IDS` person ids, the whole council's, keeping those asked for.
    """
    ids = None if person_ids is None else list(person_ids)
    if ids is not None and not ids:
        return {}
    if ids is not None and len(ids) > MANY_IDS:
        wanted = set(ids)
        return {pid: vs for pid, vs in versions_by_person(council_id=council_id).items() if pid in wanted}
    versions = _versions(council_id, ids)
    version_rows = list(
        versions.order_by("plan__person_id", "effective_from", "number").values_list(
            "id", "plan__person_id", "effective_from", "number", "budget_id",
            "carer_gender", "known_carers_only", "review_every_weeks", "contingency",
            # Only the document's budget object, decoded as JSON on both SQLite and PostgreSQL.
            # (Not document__budget__account_ref: SQLite's JSON_EXTRACT gives a string unquoted,
            # so a ref such as "123" or "null" would be decoded as a number or None.)
            KeyTransform("budget", "document"),
            "plan__person__ref", "plan__person__given_name", "plan__person__family_name", "plan__person__birth_date",
            "budget__annual_amount", "budget__start_date", "budget__end_date", "budget__delivery_mechanism",
            "budget__weekly_contribution",
        )  # fmt: skip
    )
    if not version_rows:
        return {}
    # The rows below are asked for by these versions' (and budgets', services') own ids when there are not
    # too many for one statement, else by a subquery: for one person on PostgreSQL, the subqueries'
    # joins made each of the four queries 1.3-1.6 ms to plan and run.
    few = len(version_rows) <= MANY_IDS
    version_ids = [row[0] for row in version_rows] if few else versions.values("id")
    budget_ids = sorted({row[4] for row in version_rows}) if few else versions.values("budget_id")

    # Services: PlannedService.Meta.ordering is ("version", "id"): by id within a version.
    services_of: dict[int, list[tuple]] = defaultdict(list)
    service_rows = (
        m.PlannedService.objects.filter(version_id__in=version_ids)
        .order_by("version_id", "id")
        .values_list(
            "id", "version_id", "ref", "provider__ref", "contract_id", "service_component",
            "standard_rate", "weekend_rate", "bank_holiday_rate",
        )  # fmt: skip
    )
    service_ids = []
    for row in service_rows:
        services_of[row[1]].append(row)
        service_ids.append(row[0])

    # Visit patterns: VisitPattern.Meta.ordering is ("service", "position"): by position within a
    # service; id breaks ties, which the prefetch leaves to the database (in practice id order).
    patterns_of: dict[int, list] = defaultdict(list)
    pattern_services = service_ids if len(service_ids) <= MANY_IDS else m.PlannedService.objects.filter(version_id__in=version_ids).values("id")
    pattern_rows = (
        m.VisitPattern.objects.filter(service_id__in=pattern_services)
        .order_by("service_id", "position", "id")
        .values_list("service_id", "start_time", "minutes", "days", "rrule")
    )
    for service_id, start_time, minutes, days, rrule in pattern_rows:
        patterns_of[service_id].append(visit_pattern_from_row(start_time, minutes, days, rrule))

    # Outcomes: Outcome.Meta.ordering is ("version", "id"): by id within a version.
    outcomes_of: dict[int, list] = defaultdict(list)
    outcome_rows = (
        m.Outcome.objects.filter(version_id__in=version_ids)
        .order_by("version_id", "id")
        .values_list("version_id", "ref", "text", "domain")
    )
    for version_id, ref, text, domain in outcome_rows:
        outcomes_of[version_id].append(outcome_from_row(ref, text, domain))

    # Funding: BudgetFunding has no Meta.ordering, so budget.funding.all() comes in database order,
    # which in practice is by id (rows are only ever inserted and deleted); ordered by id explicitly here.
    funding_of: dict[int, list[tuple]] = defaultdict(list)
    funding_rows = (
        m.BudgetFunding.objects.filter(budget_id__in=budget_ids)
        .order_by("budget_id", "id")
        .values_list("budget_id", "source", "annual_amount")
    )
    for budget_id, source, amount in funding_rows:
        funding_of[budget_id].append((source, amount))

    out: dict[int, list[StoredVersion]] = {}
    for (
        version_id, person_id, effective_from, number, budget_id,
        carer_gender, known_carers_only, review_every_weeks, contingency, budget_data,
        person_ref, given_name, family_name, birth_date,
        annual_amount, start_date, end_date, delivery_mechanism, weekly_contribution,
    ) in version_rows:  # fmt: skip
        rows = services_of.get(version_id, ())
        services = tuple(
            service_from_row(
                ref=ref,
                provider_ref=provider_ref,
                standard_rate=standard,
                weekend_rate=weekend,
                bank_holiday_rate=bank_holiday,
                service_component=component,
                visits=tuple(patterns_of.get(service_id, ())),
            )
            for service_id, _, ref, provider_ref, _, component, standard, weekend, bank_holiday in rows
        )
        # A JSON null or a missing "budget" both come back as None (version_to_domain would fail on a null).
        account_ref = account_ref_from_budget_data(budget_data if budget_data is not None else {})
        plan = plan_from_rows(
            person_ref=person_ref,
            given_name=given_name,
            family_name=family_name,
            birth_date=birth_date,
            carer_gender=carer_gender,
            known_carers_only=known_carers_only,
            budget=budget_from_row(
                annual_amount=annual_amount,
                start_date=start_date,
                end_date=end_date,
                delivery_mechanism=delivery_mechanism,
                weekly_contribution=weekly_contribution,
                funding=funding_of.get(budget_id, ()),
                account_ref=account_ref,
            ),
            services=services,
            outcomes=tuple(outcomes_of.get(version_id, ())),
            review_every_weeks=review_every_weeks,
            contingency=contingency,
        )
        contract_id = next((row[4] for row in rows if row[4]), None)
        out.setdefault(person_id, []).append(StoredVersion(version_id, person_id, effective_from, number, budget_id, contract_id, plan))
    return out


def contracts_by_id(*, council_id: int, contract_ids: Collection[int] | None = None) -> dict[int, ContractSettings]:
    """The council's contracts (or those of ``contract_ids`` only) as their rules and alert thresholds, in one query.

    A contract id of another council gives nothing. Raises :class:`~careledger.records.errors.InvalidInput`
    for stored thresholds the domain refuses, as ``mapping.contract_thresholds`` does.
    """
    contracts = m.Contract.objects.filter(council_id=council_id)
    if contract_ids is not None:
        ids = list(contract_ids)
        if not ids:
            return {}
        if len(ids) > MANY_IDS:
            wanted = set(ids)
            return {cid: c for cid, c in contracts_by_id(council_id=council_id).items() if cid in wanted}
        contracts = contracts.filter(id__in=ids)
    return {
        row["id"]: ContractSettings(
            rules=MonitoringRules(**{name: row[name] for name in RULE_FIELDS}),
            thresholds=alert_thresholds_from_json(row["alert_thresholds"]),
        )
        for row in contracts.order_by("id").values("id", "alert_thresholds", *RULE_FIELDS)
    }
