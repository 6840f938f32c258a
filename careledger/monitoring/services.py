"""One package's status as at a date, computed from its plan versions, visits and transactions.

This is the *full* computation (from the rows, every time): the plan versions in
force give the scheduled slots and their rates; the stored visits are matched and
classified (``domain.delivery``); each completed visit is posted to a ledger at
its payable minutes (the contract's payment rule) and rate; for a direct payment
the account's transactions are the spending; ``domain.affordability`` and
``domain.status`` give the figures and the red/amber/green; ``domain.alerts`` the
alerts, which are stored once per cause.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from careledger.domain.affordability import Affordability, affordability, recent_window
from careledger.domain.alerts import Alert as DomainAlert
from careledger.domain.alerts import PackageSnapshot, Transaction as DomainTransaction, evaluate
from careledger.domain.costing import period_cost, versioned_priced_visits
from careledger.domain.delivery import DeliveredVisit, Reconciliation, classify, match
from careledger.domain.ledger import Entry, EntryKind, spent, visit_entry
from careledger.domain.localtime import LONDON
from careledger.domain.money import rate_minutes_to_money
from careledger.domain.plans import DeliveryMechanism, Plan
from careledger.domain.rules import DEFAULT_RULES, MonitoringRules, payable_minutes
from careledger.domain.status import ReviewState, carers_seen, end_of_day, next_review_due, package_status
from careledger.ingest.models import Carer, Transaction, Visit
from careledger.records.errors import InvalidInput, NotFound
from careledger.records.mapping import contract_rules, version_to_domain
from careledger.records.models import Person, PlanVersion
from careledger.records.scoping import Scope
from careledger.records.selectors import _in_force, plan_versions

from .models import Alert, PackageStatus

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.Overflow])  # sums and products of money never round

__all__ = ["PackageView", "package_view", "alerts_raise", "alert_acknowledge", "alert_resolve"]


@dataclass(frozen=True)
class PackageView:
    person: Person
    as_of: date
    plan: Plan
    status: dict
    reconciliation: Reconciliation
    affordability: Affordability
    alerts: tuple[DomainAlert, ...]
    ledger: tuple[Entry, ...]


def _versions(person: Person, as_of: date) -> tuple[list[PlanVersion], PlanVersion]:
    versions = _in_force(plan_versions(person=person))
    current = [v for v in versions if v.effective_from <= as_of]
    if not current:
        raise NotFound(f"person {person.ref!r} has no care plan in force on {as_of.isoformat()}")
    version = current[-1]
    return [v for v in versions if v.budget_id == version.budget_id], version


def _rules(version: PlanVersion) -> MonitoringRules:
    for service in version.services.all():
        if service.contract_id:
            return contract_rules(service.contract)
    return DEFAULT_RULES


def package_view(*, scope: Scope, person_ref: str, as_of: date) -> PackageView:
    """The package as at the end of ``as_of`` (London): status, its evidence and the alerts it raises."""
    person = scope.person(person_ref)
    same_budget, version = _versions(person, as_of)
    plans = [(v.effective_from, version_to_domain(v)) for v in same_budget]
    plan = dict(plans)[version.effective_from]
    budget = plan.budget
    if as_of < budget.start_date:
        raise InvalidInput(f"{as_of.isoformat()} is before the budget starts ({budget.start_date.isoformat()})")
    upto = min(as_of, budget.end_date)
    rules = _rules(version)
    now = end_of_day(upto)

    slots = [p.visit for p in versioned_priced_visits(plans, budget.start_date, upto)]
    window_start = end_of_day(budget.start_date - timedelta(days=1)) - timedelta(minutes=rules.match_window_minutes)
    rows = list(
        Visit.objects.filter(person=person, planned_start__gte=window_start, planned_start__lt=now)
        .order_by("planned_start", "ref")
        .values_list("ref", "service_ref", "carer_ref", "planned_start", "planned_minutes", "actual_start", "actual_end", "status", "provider_id")
    )
    visits = [DeliveredVisit(r[0], person.ref, r[1], r[2] or None, r[3], r[4], r[5], r[6], r[7]) for r in rows]
    genders = _carer_genders({(r[8], r[2]) for r in rows if r[2]})
    preferred = plan.person.preferences.carer_gender
    reconciliation = classify(match(slots, visits, rules), now=now, rules=rules, carer_genders=genders, preferred_gender=preferred)

    transactions = _transactions(person, budget.start_date, upto)
    is_dp = budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT
    # A direct payment's spending is the money out of its account (the visits are the person's own
    # assistants, paid from it); otherwise it is each completed visit at its payable minutes and rate.
    if is_dp:
        ledger = _ledger(plans, budget, [], rules, transactions)
        spend = lambda first, last: spent(ledger, first, last)  # noqa: E731
    else:
        ledger = ()
        spend = _visit_spend(plans, visits, rules)
    first_last = recent_window(budget.start_date, upto)
    aff = affordability(
        budget=budget.annual_amount,
        period_start=budget.start_date,
        period_end=budget.end_date,
        as_of=upto,
        spent=spend(budget.start_date, upto),
        future_cost=period_cost(versioned_priced_visits(plans, upto + timedelta(days=1), budget.end_date)) if upto < budget.end_date else Decimal(0),
        recent_spent=spend(*first_last) if first_last else Decimal(0),
        dp_balance=_dp_balance(transactions) if is_dp and transactions else None,
        dp_surplus_weeks=rules.dp_surplus_weeks,
    )
    due = next_review_due(start=budget.start_date, review_every_weeks=plan.review_every_weeks)
    review = ReviewState(outcomes=len(plan.outcomes), same=len(plan.outcomes), next_review_due=due)
    status = package_status(person_ref=person.ref, as_of=as_of, reconciliation=reconciliation, affordability=aff, review=review)
    snapshot = PackageSnapshot(
        person_ref=person.ref,
        as_of=upto,
        mechanism=budget.delivery_mechanism,
        reconciliation=reconciliation,
        affordability=aff,
        transactions=tuple(DomainTransaction(t.ref, t.date, t.amount, t.counterparty or None, t.description or None) for t in transactions),
        next_review_due=due,
        preferred_gender=preferred,
        recent_carers=carers_seen(visits, now),
    )
    return PackageView(person, as_of, plan, status, reconciliation, aff, tuple(evaluate(snapshot)), ledger)


def _carer_genders(wanted: set[tuple[int, str]]) -> dict[str, str]:
    """Gender by carer ref, for the (provider, carer) pairs seen in the visits."""
    if not wanted:
        return {}
    carers = Carer.objects.filter(provider_id__in={p for p, _ in wanted}, ref__in={r for _, r in wanted}).values_list("provider_id", "ref", "gender")
    return {ref: gender for provider_id, ref, gender in carers if (provider_id, ref) in wanted}


def _transactions(person: Person, first: date, last: date) -> list[Transaction]:
    return list(Transaction.objects.filter(person=person, date__gte=first, date__lte=last).order_by("date", "ref"))


def _dp_balance(transactions: list[Transaction]) -> Decimal:
    return sum((Decimal(t.amount) for t in transactions), Decimal(0))


def _ledger(plans: list[tuple[date, Plan]], budget, visits: list[DeliveredVisit], rules: MonitoringRules, transactions: list[Transaction]) -> tuple[Entry, ...]:
    """The budget's ledger: its allocation, each payable visit at its rate, and a direct payment's money out."""
    ordered = sorted(plans, key=lambda pair: pair[0])
    entries: list[Entry] = [Entry("allocation", budget.start_date, EntryKind.ALLOCATION, amount=budget.annual_amount)]
    for visit in visits:
        minutes = payable_minutes(planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status, rules=rules)
        if not minutes:
            continue
        day = visit.planned_start.astimezone(LONDON).date()
        in_force = [plan for start, plan in ordered if start <= day] or [ordered[0][1]]
        service = next((s for s in in_force[-1].services if s.ref == visit.service_ref), None)
        if service is None:
            continue  # a service the plan does not have: not priced (it shows as unplanned)
        entries.append(visit_entry(f"visit:{visit.visit_ref}", day, minutes=minutes, rate=service.rates.rate_for(day)))
    for t in transactions:
        if t.amount < 0:
            entries.append(Entry(f"txn:{t.ref}", t.date, EntryKind.PAYMENT_OUT, amount=t.amount, account="dp"))
    return tuple(entries)


def _visit_spend(plans: list[tuple[date, Plan]], visits: list[DeliveredVisit], rules: MonitoringRules):
    """Spend on visits between two dates: payable minutes x rate, summed as rate-minutes by day, divided once.

    The same exact arithmetic as posting each visit to the ledger (``ledger.visit_entry``) and taking
    ``ledger.spent``, without an entry object per visit (a year of visits is several hundred).
    """
    ordered = sorted(plans, key=lambda pair: pair[0])
    by_day: dict[date, Decimal] = {}
    rates: dict[tuple[int, str], object] = {}
    for visit in visits:
        minutes = payable_minutes(planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status, rules=rules)
        if not minutes:
            continue
        day = visit.planned_start.astimezone(LONDON).date()
        index = max((i for i, (start, _) in enumerate(ordered) if start <= day), default=0)
        key = (index, visit.service_ref)
        if key not in rates:
            rates[key] = next((s.rates for s in ordered[index][1].services if s.ref == visit.service_ref), None)
        card = rates[key]
        if card is None:
            continue  # a service the plan does not have: not priced (it shows as unplanned)
        by_day[day] = _EXACT.add(by_day.get(day, Decimal(0)), _EXACT.multiply(minutes, card.rate_for(day)))

    def spend(first: date, last: date) -> Decimal:
        total = Decimal(0)
        for day, value in by_day.items():
            if first <= day <= last:
                total = _EXACT.add(total, value)
        return rate_minutes_to_money(total)

    return spend


def alerts_raise(view: PackageView) -> list[Alert]:
    """Store the view's alerts whose cause was never raised for this person; returns the new ones."""
    known = set(Alert.objects.filter(person=view.person).values_list("cause", flat=True))
    made = []
    for alert in view.alerts:
        if alert.cause in known:
            continue
        try:
            with transaction.atomic():
                made.append(
                    Alert.objects.create(
                        council_id=view.person.council_id, person=view.person, code=alert.code, severity=alert.severity,
                        cause=alert.cause, message=alert.message, evidence=list(alert.evidence), as_of=view.as_of,
                    )  # fmt: skip
                )
        except IntegrityError:
            continue  # raised meanwhile by another process: once is enough
        known.add(alert.cause)
    return made


def _alert(scope: Scope, alert_id: int) -> Alert:
    alert = Alert.objects.filter(council=scope.council, person__in=scope.people(), pk=alert_id).first()
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


ALERT_HANDLERS = frozenset({"council_admin", "commissioner", "finance"})


def alert_acknowledge(*, scope: Scope, alert_id: int, note: str) -> Alert:
    """Say the alert has been seen and what is being done (council administrators, commissioners, finance)."""
    scope.require(bool(scope.roles & ALERT_HANDLERS) or scope.actor == "cli")
    alert = _alert(scope, alert_id)
    if not note.strip():
        raise InvalidInput("say what is being done about it (a note is required)")
    if alert.status == Alert.Status.RESOLVED:
        raise InvalidInput("the alert is already resolved")
    alert.status, alert.note = Alert.Status.ACKNOWLEDGED, note.strip()
    alert.acknowledged_at, alert.acknowledged_by = timezone.now(), scope.actor
    alert.save()
    return alert


def alert_resolve(*, scope: Scope, alert_id: int, note: str = "") -> Alert:
    scope.require(bool(scope.roles & ALERT_HANDLERS) or scope.actor == "cli")
    alert = _alert(scope, alert_id)
    alert.status = Alert.Status.RESOLVED
    if note.strip():
        alert.note = (alert.note + "\n" if alert.note else "") + note.strip()
    alert.resolved_at, alert.resolved_by = timezone.now(), scope.actor
    alert.save()
    return alert


# -- stored statuses: refresh one, recompute a council ------------------------------------------


def status_refresh(*, scope: Scope, person_ref: str, as_of: date) -> PackageView:
    """Compute a package's status, raise its new alerts and store it for the portfolio."""
    view = package_view(scope=scope, person_ref=person_ref, as_of=as_of)
    alerts_raise(view)
    _store(view)
    return view


def _store(view: PackageView) -> PackageStatus:
    s = view.status
    rags = (s["followed"]["rag"], s["affordable"]["rag"], s["working"]["rag"])
    order = PackageStatus.RAG_ORDER
    first_service = view.plan.services[0] if view.plan.services else None
    row, _ = PackageStatus.objects.update_or_create(
        person=view.person,
        defaults={
            "council_id": view.person.council_id,
            "as_of": view.as_of,
            "computed_at": timezone.now(),
            "mechanism": view.plan.budget.delivery_mechanism.value,
            "provider_ref": first_service.provider_ref if first_service else "",
            "followed": rags[0],
            "affordable": rags[1],
            "working": rags[2],
            "worst": min(order[r] for r in rags),
            "reds": sum(1 for r in rags if r == "red"),
            "budget": Decimal(s["affordable"]["budget"]),
            "spent": Decimal(s["affordable"]["spent"]),
            "forecast_variance": Decimal(s["affordable"]["forecast_variance"]),
            "open_alerts": Alert.objects.filter(person=view.person).exclude(status=Alert.Status.RESOLVED).count(),
            "status": s,
        },
    )
    return row


@dataclass(frozen=True)
class RecomputeResult:
    packages: int
    failed: dict[str, str]  # person ref -> why (no plan in force, budget not started)


def recompute_statuses(*, scope: Scope, as_of: date, only_stale: bool = False) -> RecomputeResult:
    """Recompute (and store) the status of every package in the scope, or only the stale ones."""
    people = scope.people().filter(care_plan__isnull=False).order_by("ref")
    if only_stale:
        people = people.filter(id__in=stale_people(scope=scope))
    done, failed = 0, {}
    for ref in people.values_list("ref", flat=True):
        try:
            with transaction.atomic():
                status_refresh(scope=scope, person_ref=ref, as_of=as_of)
            done += 1
        except (NotFound, InvalidInput) as error:
            failed[ref] = str(error)
    return RecomputeResult(done, failed)


def stale_people(*, scope: Scope):
    """People whose stored status is older than their delivery data or plan, or who have none."""
    from django.db.models import Exists, F, OuterRef, Q

    from careledger.ingest.models import DeliveryFigures

    newer_data = DeliveryFigures.objects.filter(person=OuterRef("pk"), updated_at__gt=OuterRef("package_status__computed_at"))
    newer_plan = PlanVersion.objects.filter(plan__person=OuterRef("pk"), created_at__gt=OuterRef("package_status__computed_at"))
    return (
        scope.people()
        .filter(care_plan__isnull=False)
        .filter(Q(package_status__isnull=True) | Exists(newer_data) | Exists(newer_plan))
        .values("id")
    )
