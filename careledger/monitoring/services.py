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
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from careledger.domain.affordability import Affordability, affordability, recent_window
from careledger.domain.alerts import Alert as DomainAlert
from careledger.domain.alerts import PackageSnapshot, Transaction as DomainTransaction, evaluate
from careledger.domain.delivery import DeliveredVisit, Reconciliation, classify
from careledger.domain.ledger import Entry, EntryKind, spent, visit_entry
from careledger.domain.localtime import LONDON
from careledger.domain.money import rate_minutes_to_money
from careledger.domain.plans import DeliveryMechanism, Plan
from careledger.domain.rules import DEFAULT_RULES, MonitoringRules, payable_minutes
from careledger.domain.status import carers_seen, end_of_day, package_status
from careledger.domain.schedules import ScheduledVisit
from careledger.domain.tally import match_exact_first, priced_by_day, spend_between
from careledger.ingest.merge import sql_datetime
from careledger.ingest.models import Carer, Transaction, Visit
from careledger.records.errors import InvalidInput, NotFound
from careledger.records.mapping import contract_rules, contract_thresholds, council_spend_policy, version_contract, version_to_domain
from careledger.records.models import Person, PlanVersion
from careledger.records.scoping import Scope
from careledger.outcomes import selectors as outcome_selectors
from careledger.records.selectors import _in_force, plan_versions

from .models import Alert

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
    contract = version_contract(version)
    return contract_rules(contract) if contract is not None else DEFAULT_RULES


def _thresholds(version: PlanVersion):
    """The contract's alert thresholds (``Contract.alert_thresholds`` over the domain's defaults)."""
    return contract_thresholds(version_contract(version))


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

    slots = _slots(plans, budget.start_date, upto)
    window_start = end_of_day(budget.start_date - timedelta(days=1)) - timedelta(minutes=rules.match_window_minutes)
    rows = _visit_rows(person.pk, window_start, now)
    visits = [DeliveredVisit(r[0], person.ref, r[1], r[2] or None, r[3], r[4], r[5], r[6], r[7]) for r in rows]
    genders = _carer_genders({(r[8], r[2]) for r in rows if r[2]})
    preferred = plan.person.preferences.carer_gender
    reconciliation = classify(match_exact_first(slots, visits, rules), now=now, rules=rules, carer_genders=genders, preferred_gender=preferred)

    transactions = _transactions(person, budget.start_date, upto)
    judged = judge(
        person_ref=person.ref, as_of=as_of, plan=plan, plans=plans, rules=rules, thresholds=_thresholds(version),
        spend_policy=council_spend_policy(scope.council), reconciliation=reconciliation, recent_carers=carers_seen(visits, now),
        priced=priced_by_day(plans, visits, rules), transactions=transactions, refunds=_refunds(person.pk, version.budget_id),
        review=outcome_selectors.review_state(person=person, plan=plan, as_of=as_of),
    )  # fmt: skip
    return PackageView(person, as_of, plan, judged.status, reconciliation, judged.affordability, judged.alerts, judged.ledger)


@dataclass(frozen=True)
class Judged:
    status: dict
    affordability: Affordability
    alerts: tuple[DomainAlert, ...]
    ledger: tuple[Entry, ...]  # a direct payment's ledger (allocation and money out); empty otherwise


def judge(
    *,
    person_ref: str,
    as_of: date,
    plan: Plan,
    plans: list[tuple[date, Plan]],
    rules: MonitoringRules,
    thresholds,
    spend_policy,
    reconciliation,
    recent_carers: tuple[str, ...],
    priced: dict,
    transactions,
    refunds: list[tuple[date, Decimal]],
    review,
    raised: frozenset[str] = frozenset(),
) -> Judged:
    """The status, affordability and alerts of a package from its reconciled visits, shared by
    :func:`package_view` (every visit judged) and ``monitoring.batch`` (``domain.tally``).

    ``priced``: each local day's payable visits and rate-minutes (``tally.priced_by_day``);
    ``transactions``: the direct payment account's lines up to as_of (objects with ``ref``,
    ``date``, ``amount``, ``counterparty`` and ``description``); ``refunds``: ``(day, amount)`` of
    the refunds posted to the budget's stored ledger; ``raised``: causes raised before, which the
    weekly visit rules may leave out.
    """
    budget = plan.budget
    upto = min(as_of, budget.end_date)
    is_dp = budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT
    # A direct payment's spending is the money out of its account (the visits are the person's own
    # assistants, paid from it); otherwise it is each completed visit at its payable minutes and rate.
    if is_dp:
        ledger = _ledger(plans, budget, [], rules, transactions)
        spend = lambda first, last: spent(ledger, first, last)  # noqa: E731
    else:
        ledger = ()
        spend = lambda first, last: rate_minutes_to_money(spend_between(priced, first, last))  # noqa: E731
    spend = _less_refunds(spend, refunds)
    first_last = recent_window(budget.start_date, upto)
    aff = affordability(
        budget=budget.annual_amount,
        period_start=budget.start_date,
        period_end=budget.end_date,
        as_of=upto,
        spent=spend(budget.start_date, upto),
        future_cost=_future_cost(plans, upto + timedelta(days=1), budget.end_date) if upto < budget.end_date else Decimal(0),
        recent_spent=spend(*first_last) if first_last else Decimal(0),
        dp_balance=_dp_balance(transactions) if is_dp and transactions else None,
        dp_surplus_weeks=rules.dp_surplus_weeks,
    )
    status = package_status(person_ref=person_ref, as_of=as_of, reconciliation=reconciliation, affordability=aff, review=review)
    snapshot = PackageSnapshot(
        person_ref=person_ref,
        as_of=upto,
        mechanism=budget.delivery_mechanism,
        reconciliation=reconciliation,
        affordability=aff,
        transactions=tuple(DomainTransaction(t.ref, t.date, t.amount, t.counterparty or None, t.description or None) for t in transactions),
        next_review_due=review.next_review_due,
        preferred_gender=plan.person.preferences.carer_gender,
        recent_carers=recent_carers,
        thresholds=thresholds,
        spend_policy=spend_policy,
        raised=raised,
    )
    return Judged(status, aff, tuple(evaluate(snapshot)), ledger)


# -- the status's heavy lifting, done once: a year of slots and visits per package ----------------
#
# Each mirrors a domain function exactly (the tests of the domain and of the status hold both to
# the same figures); they only avoid repeating work: a pattern's slots over a span are expanded
# once per process (people share patterns and budget dates), the visits are read without the
# ORM's per-value conversions, and a visit planned at exactly a slot's start is paired without
# the general closest-first search.


@functools.lru_cache(maxsize=512)  # a year of one pattern is up to ~400 slots: at most ~40 MB
def _occurrences(pattern, anchor: date, first: date, last: date, service_ref: str, index: int) -> tuple[ScheduledVisit, ...]:
    return tuple(pattern.occurrences(anchor, first, last, service_ref=service_ref, pattern_index=index))


def _spans(plans: list[tuple[date, Plan]], first: date, last: date, *, with_plan: bool = False):
    """(service, the arguments of its pattern's slots) in force from ``first`` to ``last``, as ``costing.versioned_priced_visits``
    takes them; with ``with_plan``, (plan version, service, arguments)."""
    ordered = sorted(plans, key=lambda pair: pair[0])
    for index, (effective_from, plan) in enumerate(ordered):
        span_first = max(effective_from, first)
        span_last = min(ordered[index + 1][0] - timedelta(days=1) if index + 1 < len(ordered) else plan.budget.end_date, last)
        if span_last < span_first:
            continue
        budget = plan.budget  # costing.scheduled_visits: within the plan's own budget period
        within_first, within_last = max(span_first, budget.start_date), min(span_last, budget.end_date)
        for service in plan.services:
            for position, pattern in enumerate(service.visits):
                span = (pattern, budget.start_date, within_first, within_last, service.ref, position)
                yield (plan, service, span) if with_plan else (service, span)


def _slots(plans: list[tuple[date, Plan]], first: date, last: date) -> list[ScheduledVisit]:
    return [slot for _, span in _spans(plans, first, last) for slot in _occurrences(*span)]


@functools.lru_cache(maxsize=8192)  # one Decimal each
def _rate_minutes(span: tuple, rates) -> Decimal:
    by_day: dict[date, int] = {}
    for slot in _occurrences(*span):
        day = slot.local_date
        by_day[day] = by_day.get(day, 0) + slot.minutes
    total = Decimal(0)
    for day, minutes in by_day.items():
        total = _EXACT.add(total, _EXACT.multiply(minutes, rates.rate_for(day)))
    return total


def _future_cost(plans: list[tuple[date, Plan]], first: date, last: date) -> Decimal:
    """``costing.period_cost(versioned_priced_visits(plans, first, last))``: minutes x rate summed, divided by 60 once."""
    total = Decimal(0)
    for service, span in _spans(plans, first, last):
        total = _EXACT.add(total, _rate_minutes(span, service.rates))
    return rate_minutes_to_money(total)


_MOMENTS: dict[object, datetime] = {}
def _moment(value):
    """A stored time as an aware UTC datetime (SQLite gives naive UTC, or text; times repeat a lot: converted once)."""
    if value is None:
        return None
    found = _MOMENTS.get(value)
    if found is None:
        if len(_MOMENTS) > 200_000:
            _MOMENTS.clear()
        found = _MOMENTS[value] = value.replace(tzinfo=UTC) if isinstance(value, datetime) else datetime.fromisoformat(value + "+00:00")
    return found


def _visit_rows(person_id: int, first: datetime, before: datetime) -> list[tuple]:
    """The person's visits planned from ``first`` to before ``before``: ref, service, carer, planned start and
    minutes, actual start and end, status, provider id (one query, times as aware datetimes)."""
    table = Visit._meta.db_table
    with connection.cursor() as cursor:
        # On SQLite the times are read as text (parsed once each by _moment), not through a converter per value.
        times = ("CAST(planned_start AS TEXT)", "CAST(actual_start AS TEXT)", "CAST(actual_end AS TEXT)") if connection.vendor == "sqlite" else ("planned_start", "actual_start", "actual_end")
        cursor.execute(
            f"SELECT ref, service_ref, carer_ref, {times[0]}, planned_minutes, {times[1]}, {times[2]}, status, provider_id FROM {table} "
            f"WHERE person_id = %s AND planned_start >= %s AND planned_start < %s ORDER BY planned_start, ref",
            [person_id, sql_datetime(first), sql_datetime(before)],
        )
        rows = cursor.fetchall()
    if rows and (not isinstance(rows[0][3], datetime) or rows[0][3].tzinfo is None):
        rows = [(r[0], r[1], r[2], _moment(r[3]), r[4], _moment(r[5]), _moment(r[6]), r[7], r[8]) for r in rows]
    return rows


def _carer_genders(wanted: set[tuple[int, str]]) -> dict[str, str]:
    """Gender by carer ref, for the (provider, carer) pairs seen in the visits."""
    if not wanted:
        return {}
    # In (provider, ref) order: a ref two providers use resolves the same way whichever visits are read.
    carers = (
        Carer.objects.filter(provider_id__in={p for p, _ in wanted}, ref__in={r for _, r in wanted})
        .order_by("provider_id", "ref").values_list("provider_id", "ref", "gender")
    )
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


def _refunds(person_id: int, budget_id: int) -> list[tuple[date, Decimal]]:
    """The refunds posted to a budget's stored ledger: ``(day, amount)``."""
    from careledger.ledger.models import LedgerEntry

    return list(LedgerEntry.objects.filter(person_id=person_id, budget_id=budget_id, kind=EntryKind.REFUND.value).values_list("day", "amount"))


def _less_refunds(spend, refunds: list[tuple[date, Decimal]]):
    """Spend less the refunds agreed and posted to the stored ledger (e.g. a settled dispute's credit).

    Refunds are the only spend that exists only in the ledger (they are posted by people, not
    derived from visits or transactions), and ``ledger.spent`` counts them, so the status must too.
    """
    if not refunds:
        return spend

    def net(first: date, last: date) -> Decimal:
        refunded = sum((Decimal(amount) for day, amount in refunds if first <= day <= last), Decimal(0))
        return spend(first, last) - refunded

    return net


def alerts_raise(view) -> list[Alert]:
    """Store the view's alerts whose cause was never raised for this person; returns the new ones.

    ``view``: a :class:`PackageView` or a ``monitoring.batch`` result (its ``person``, ``alerts`` and ``as_of``).
    """
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


def status_refresh(*, scope: Scope, person_ref: str, as_of: date):
    """Compute a package's status, bring its ledger in step, raise its new alerts and store it for the portfolio.

    The set-based path (``monitoring.batch.refresh``); returns its result (``status``,
    ``affordability``, ``alerts``, ``person``...).
    """
    from . import batch

    return batch.refresh(scope=scope, person_ref=person_ref, as_of=as_of)


@dataclass(frozen=True)
class RecomputeResult:
    packages: int
    failed: dict[str, str]  # person ref -> why (no plan in force, budget not started)
    counts: dict[str, int] | None = None  # ledgers synced, entries appended, alerts raised, statuses stored


def recompute_statuses(*, scope: Scope, as_of: date, only_stale: bool = False, workers: int | None = None, count_ledgers: bool = False) -> RecomputeResult:
    """Recompute (and store) the status of every package in the scope, or only the stale ones.

    Set-based (``monitoring.batch``): the statuses are computed over ``workers`` processes
    (default: one per core, up to 8), and as each chunk is judged, each of its packages' ledger
    is brought in step where its digest differs, new alerts are raised and the statuses stored,
    a chunk per transaction. Each
    ledger is judged by its kept digest (``ledger.LedgerDigest``), or with ``count_ledgers`` by
    counting its entries (slower; finds rows written around the sync).
    """
    from . import batch

    people = scope.people().filter(care_plan__isnull=False).order_by("ref")
    if only_stale:
        people = people.filter(id__in=stale_people(scope=scope))
    done = batch.recompute_all(scope.council.pk, dict(people.values_list("id", "ref")), as_of, workers, count_ledgers)
    from careledger.ledger.models import LedgerEntry
    from careledger.records.statistics import after_bulk_write

    after_bulk_write(LedgerEntry, done.counts["appended"])  # (the first recompute writes one entry per payable visit)
    return RecomputeResult(done.packages, done.failed, done.counts)


def stale_people(*, scope: Scope):
    """People whose stored status is older than their delivery data or plan, or who have none."""
    from django.db.models import Exists, OuterRef, Q

    from careledger.ingest.models import DeliveryFigures
    from careledger.ledger.models import LedgerEntry
    from careledger.outcomes.models import Incident, Outcome, Review

    newer_data = DeliveryFigures.objects.filter(person=OuterRef("pk"), updated_at__gt=OuterRef("package_status__computed_at"))
    newer_plan = PlanVersion.objects.filter(plan__person=OuterRef("pk"), created_at__gt=OuterRef("package_status__computed_at"))
    # "Working?" reads outcomes, reviews and incidents; "affordable?" reads refunds posted by people.
    computed = OuterRef("package_status__computed_at")
    newer_outcome = Outcome.objects.filter(person=OuterRef("pk"), created_at__gt=computed)
    newer_review = Review.objects.filter(person=OuterRef("pk"), created_at__gt=computed)
    newer_incident = Incident.objects.filter(person=OuterRef("pk"), updated_at__gt=computed)
    newer_refund = LedgerEntry.objects.filter(person=OuterRef("pk"), kind=EntryKind.REFUND.value, posted_at__gt=computed)
    return (
        scope.people()
        .filter(care_plan__isnull=False)
        .filter(
            Q(package_status__isnull=True) | Exists(newer_data) | Exists(newer_plan)
            | Exists(newer_outcome) | Exists(newer_review) | Exists(newer_incident) | Exists(newer_refund)
        )  # fmt: skip
        .values("id")
    )
