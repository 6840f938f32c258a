"""Writing the stored ledger: keeping it in step with the rows, adjustments, and balance assertions.

:func:`ledger_sync` works out, with the domain, the entries a package *should*
have as at a date (its allocation, the person's contributions, each payable visit
at the contract's payment rule and the plan's rate, a direct payment account's
money in and out) and appends only the difference from what is stored:

* a source not yet in the ledger gets its entry;
* a source whose value or date changed (an amended visit: completed -> missed,
  other minutes) gets a reversal of its old entry and a new one;
* a derived source that is no longer there (a visit now missed or cancelled, a
  transaction moved) gets a reversal.

The difference is ``domain.ledger.reconcile``. A reversal is dated the day of the entry it cancels (``posted_at`` says when it was
made), so the balance on any date shows the corrected figures, exactly as the
status computed afresh from the rows does. Nothing is ever updated or deleted.
Entries after ``as_of`` are left alone: syncing an earlier date never undoes a
later one. Running it twice appends nothing.

Manual entries (:func:`post_adjustment`) are never touched by the sync.
"""

from __future__ import annotations

import decimal
import functools
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from careledger.domain import ledger as d
from careledger.domain.delivery import DeliveredVisit
from careledger.domain.localtime import LONDON
from careledger.domain.money import MoneyError, parse_money, round_money
from careledger.domain.plans import DeliveryMechanism, Plan
from careledger.domain.rules import DEFAULT_RULES, MonitoringRules, payable_minutes
from careledger.domain.status import end_of_day
from careledger.ingest.models import ImportRun, Transaction, Visit
from careledger.records.errors import Conflict, InvalidInput, NotFound
from careledger.records.mapping import contract_rules, version_contract, version_to_domain
from careledger.records.models import Budget, PaymentAccount, Person, PlanVersion
from careledger.records.scoping import Scope
from careledger.records.selectors import _in_force, plan_versions

from .models import DERIVED_PREFIXES, MANUAL_KINDS, RATE_MINUTES, BalanceAssertion, LedgerDigest, LedgerEntry

log = logging.getLogger(__name__)

__all__ = ["SyncResult", "ledger_sync", "post_adjustment", "assert_balance", "LEDGER_WRITERS", "SYNC_ACTOR"]

SYNC_ACTOR = "sync"
LEDGER_WRITERS = frozenset({"council_admin", "commissioner", "finance"})
_STORED_PLACES = Decimal(1).scaleb(-RATE_MINUTES["decimal_places"])
_WIDE = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


# -- what the package should hold ----------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """The budget a date falls in, its plan versions (for rates) and the contract's rules."""

    person: Person
    version: PlanVersion
    budget_row: Budget
    plans: list[tuple[date, Plan]]
    plan: Plan
    rules: MonitoringRules

    @property
    def is_direct_payment(self) -> bool:
        return self.plan.budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT


def package_at(person: Person, as_of: date) -> Package:
    """The package in force on ``as_of`` (NotFound without a plan then), as ``monitoring.package_view`` finds it."""
    versions = _in_force(plan_versions(person=person))
    current = [v for v in versions if v.effective_from <= as_of]
    if not current:
        raise NotFound(f"person {person.ref!r} has no care plan in force on {as_of.isoformat()}")
    version = current[-1]
    plans = [(v.effective_from, version_to_domain(v)) for v in versions if v.budget_id == version.budget_id]
    contract = version_contract(version)
    rules = contract_rules(contract) if contract is not None else DEFAULT_RULES
    return Package(person, version, version.budget, plans, dict(plans)[version.effective_from], rules)


@dataclass(frozen=True)
class Wanted:
    """An entry the package should have: its source, its value, and how to make the domain entry.

    The domain entry (which checks itself) is only made for a source that is new or changed,
    so that a sync with nothing to do compares plain values.
    """

    source_ref: str
    account: str
    kind: str
    day: date
    amount: Decimal
    rate_minutes: Decimal
    make: Callable[[], d.Entry]

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.source_ref)

    @property
    def value(self) -> tuple:
        return (self.kind, self.day, self.amount, self.rate_minutes)

    @property
    def entry(self) -> d.Entry:
        return self.make()

    @classmethod
    def of(cls, entry: d.Entry) -> "Wanted":
        return cls(entry.ref, entry.account, entry.kind.value, entry.posted_on, entry.amount, entry.rate_minutes, lambda: entry)


def _contributions(budget, upto: date) -> tuple[list[Wanted], Decimal]:
    """One entry a week from the start (a last short week pro rata, to the penny), and the whole period's total."""
    weekly = budget.weekly_contribution
    if not weekly:
        return [], Decimal(0)
    wanted, total = [], Decimal(0)
    week = budget.start_date
    while week <= budget.end_date:
        days = min(7, (budget.end_date - week).days + 1)
        amount = weekly if days == 7 else round_money(_WIDE.divide(weekly * days, Decimal(7)))
        total += amount
        if week <= upto:
            source = f"contribution:{week.isoformat()}"
            wanted.append(Wanted.of(d.Entry(source, week, d.EntryKind.CONTRIBUTION, amount=amount, description=f"Weekly contribution ({days} days)")))
        week += timedelta(days=7)
    return wanted, total


def _stored_rate_minutes(value: Decimal) -> Decimal:
    """A visit's rate-minutes as stored: exact unless the clocked minutes are a repeating decimal
    (payment on actual time without rounding, seconds not a multiple of 3), then to 6 places."""
    if value == value.quantize(_STORED_PLACES, context=_WIDE):
        return value
    return value.quantize(_STORED_PLACES, rounding=ROUND_HALF_UP, context=_WIDE)


def _visit_entries(package: Package, visits: Iterable[DeliveredVisit], first: date, last: date, days: frozenset[date] | None = None) -> list[Wanted]:
    """Each completed visit from ``first`` to ``last`` at its payable minutes and the rate of the plan in force that day."""
    ordered = sorted(package.plans, key=lambda pair: pair[0])
    wanted: list[Wanted] = []
    seen: dict[str, int] = {}
    rates: dict[tuple[date, str], Decimal | None] = {}
    for visit in sorted(visits, key=lambda v: (v.planned_start, v.visit_ref)):
        day = visit.planned_start.astimezone(LONDON).date()
        if not first <= day <= last or (days is not None and day not in days):
            continue
        minutes = payable_minutes(
            planned_minutes=visit.planned_minutes, actual_minutes=visit.actual_minutes, status=visit.status, rules=package.rules
        )
        if not minutes:
            continue
        key = (day, visit.service_ref)
        if key not in rates:  # the rate of the version in force that day (a year has a few hundred days)
            index = max((i for i, (start, _) in enumerate(ordered) if start <= day), default=0)
            service = next((s for s in ordered[index][1].services if s.ref == visit.service_ref), None)
            rates[key] = service.rates.rate_for(day) if service is not None else None
        rate = rates[key]
        if rate is None:
            continue  # a service the plan does not have: not priced (it shows as unplanned)
        source = f"visit:{visit.visit_ref}"
        seen[source] = seen.get(source, 0) + 1
        if seen[source] > 1:  # the same ref from two providers
            source = f"{source}#{seen[source]}"
        rate_minutes = _stored_rate_minutes(_EXACT.multiply(minutes, rate).copy_negate())
        wanted.append(Wanted(source, d.BUDGET_ACCOUNT, "visit", day, Decimal(0), rate_minutes, functools.partial(_visit, source, day, minutes, rate, rate_minutes)))
    return wanted


def _visit(source: str, day: date, minutes: Decimal, rate: Decimal, rate_minutes: Decimal) -> d.Entry:
    entry = d.visit_entry(source, day, minutes=minutes, rate=rate)
    if entry.rate_minutes != rate_minutes:  # kept to 6 places (see _stored_rate_minutes)
        entry = d.Entry(source, day, d.EntryKind.VISIT, rate_minutes=rate_minutes, description=entry.description)
    return entry


def _completed_visits(person: Person, first: date, last: date, rules: MonitoringRules) -> list[DeliveredVisit]:
    """The person's completed visits planned on ``first`` to ``last`` (and the match window before), read as
    naive UTC text and parsed here: the ORM's converter per value is most of a first sync's reading."""
    from careledger.ingest.merge import sql_datetime

    window_start = end_of_day(first - timedelta(days=1)) - timedelta(minutes=rules.match_window_minutes)
    table = Visit._meta.db_table
    text = "CAST({} AS TEXT)" if connection.vendor == "sqlite" else "CAST({} AT TIME ZONE 'UTC' AS TEXT)"
    columns = ", ".join(("ref", "service_ref", "carer_ref", text.format("planned_start"), "planned_minutes", text.format("actual_start"), text.format("actual_end")))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE person_id = %s AND status = 'completed' AND planned_start >= %s AND planned_start < %s",
            [person.pk, sql_datetime(window_start), sql_datetime(end_of_day(last))],
        )
        rows = cursor.fetchall()
    seen: dict[str, datetime] = {}

    def moment(value: str | None) -> datetime | None:
        if value is None:
            return None
        found = seen.get(value)
        if found is None:
            found = seen[value] = datetime.fromisoformat(value + "+00:00")
        return found

    make = DeliveredVisit.stored  # rows the import checked
    return [make(r[0], person.ref, r[1], r[2] or None, moment(r[3]), r[4], moment(r[5]), moment(r[6]), "completed") for r in rows]


def _refs_repeat(person: Person) -> bool:
    """Whether two of the person's visits share a ref (from two providers)."""
    from django.db.models import Count

    return Visit.objects.filter(person=person).values("ref").annotate(n=Count("id")).filter(n__gt=1).exists()


def _transaction_entries(person: Person, first: date, last: date) -> list[Wanted]:
    rows = Transaction.objects.filter(person=person, date__gte=first, date__lte=last).select_related("account").order_by("date", "ref")
    wanted = []
    for t in rows:
        source = f"txn:{t.ref}"
        text = "; ".join(part for part in (t.counterparty, t.description) if part)[:300]
        wanted.append(Wanted.of(d.transaction_entry(ref=source, account=t.account.ref, posted_on=t.date, amount=Decimal(t.amount), description=text)))
    return wanted


def wanted_entries(package: Package, as_of: date, visits: Iterable[DeliveredVisit] | None = None, days: Collection[date] | None = None) -> list[Wanted]:
    """Every derived entry the package should hold at the end of ``as_of`` (London); with ``days``, those dated on them."""
    budget = package.plan.budget
    if as_of < budget.start_date:
        raise InvalidInput(f"{as_of.isoformat()} is before the budget starts ({budget.start_date.isoformat()})")
    upto = min(as_of, budget.end_date)
    wanted = _fixed_entries(budget, upto)
    if package.is_direct_payment:
        # A direct payment's spending is the money out of its account (the person's own assistants are paid from it).
        wanted += _transaction_entries(package.person, budget.start_date, upto)
    elif days is None:
        if visits is None:
            visits = _completed_visits(package.person, budget.start_date, upto, package.rules)
        wanted += _visit_entries(package, visits, budget.start_date, upto)
    elif days:
        first, last = max(min(days), budget.start_date), min(max(days), upto)
        if first <= last:
            if visits is None:
                visits = _completed_visits(package.person, first, last, package.rules)
            wanted += _visit_entries(package, visits, first, last, days=frozenset(days))
    if days is not None:
        wanted = [item for item in wanted if item.day in days]
    return wanted


def _fixed_entries(budget, upto: date) -> list[Wanted]:
    """The allocation (less the person's contributions over the period) and the contributions up to ``upto``."""
    contributions, contributed = _contributions(budget, upto)
    allocation = budget.annual_amount - contributed
    source = f"allocation:{budget.start_date.isoformat()}"
    funded = ", ".join(f"{f.source.value} {f.annual_amount}" for f in budget.funding)
    text = f"Budget {budget.start_date.isoformat()} to {budget.end_date.isoformat()}" + (f" ({funded})" if funded else "")
    if contributed:
        text += f", less the person's contributions of {contributed}"
    wanted = [Wanted.of(d.Entry(source, budget.start_date, d.EntryKind.ALLOCATION, amount=max(allocation, Decimal(0)), description=text[:300]))]
    return wanted + contributions


# -- the sync ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    person_ref: str
    as_of: date
    added: int  # new entries for new or changed sources
    reversed: int  # reversals of changed or vanished sources
    unchanged: int

    @property
    def appended(self) -> int:
        return self.added + self.reversed


def _stored_entry(row: tuple) -> d.Entry:
    """A stored entry (id, account, source_ref, kind, day, amount, rate_minutes, reverses_id) as the domain's."""
    return d.Entry(str(row[0]), row[4], d.EntryKind(row[3]), amount=row[5], rate_minutes=row[6], account=row[1], reverses=str(row[7]) if row[7] else None)


_COLUMNS = ("council_id", "person_id", "budget_id", "account", "kind", "day", "amount", "rate_minutes", "source_ref", "reverses_id", "memo", "posted_at", "actor")


def _row(package: Package, source_ref: str, entry: d.Entry, *, actor: str, now, reverses_id: int | None = None) -> tuple:
    """One entry's column values (in ``_COLUMNS`` order), checked by the domain already."""
    person = package.person
    return (
        person.council_id, person.pk, package.budget_row.pk, entry.account, entry.kind.value, entry.posted_on, entry.amount,
        entry.rate_minutes, source_ref, reverses_id, entry.description[:300], now, actor,
    )  # fmt: skip


def _insert(rows: list[tuple]) -> None:
    """Append the rows with one statement run for each (a year of visits is several hundred rows).

    Values go through the backend's own adapters, as the ORM's would; like ``bulk_create``, this
    sends no signals (the sync's entries are derived from rows that carry their own history).
    """
    if not rows:
        return
    ops = connection.ops
    money, rate_minutes = LedgerEntry._meta.get_field("amount"), LedgerEntry._meta.get_field("rate_minutes")
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    values = [
        (
            *row[:5], ops.adapt_datefield_value(row[5]), ops.adapt_decimalfield_value(row[6], money.max_digits, money.decimal_places),
            ops.adapt_decimalfield_value(row[7], rate_minutes.max_digits, rate_minutes.decimal_places), *row[8:11],
            ops.adapt_datetimefield_value(row[11]), row[12],
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
    _count_in(rows)


def _count_in(rows: list[tuple]) -> None:
    """Add appended derived entries (``_COLUMNS`` order) to their budgets' digests, in the same transaction."""
    by_budget: dict[int, tuple[int, dict, date]] = {}
    for council_id, _, budget_id, account, kind, day, amount, rate_minutes, _, reverses_id, *_ in rows:
        if kind in MANUAL_KINDS:
            continue
        council, sums, last = by_budget.setdefault(budget_id, (council_id, {}, day))
        micro = _micro(Decimal(rate_minutes if kind == d.EntryKind.VISIT.value else amount))
        _add_to(sums, (account, kind), day, 1 if reverses_id is None else -1, micro)
        if day > last:
            by_budget[budget_id] = (council, sums, day)
    for budget_id, (council_id, sums, last) in by_budget.items():
        digest = LedgerDigest.objects.select_for_update().filter(budget_id=budget_id).first()
        if digest is None:
            digest = LedgerDigest(budget_id=budget_id, council_id=council_id, sums={}, last_day=None)
        stored = {tuple(key.split("|", 1)): tuple(value) for key, value in digest.sums.items()}
        for key, (n, micro, weighted) in sums.items():
            had = stored.get(key, (0, 0, 0))
            stored[key] = (had[0] + n, had[1] + micro, had[2] + weighted)
        digest.sums = {f"{a}|{k}": list(v) for (a, k), v in sorted(stored.items()) if v[0] or v[1] or v[2]}
        digest.last_day = max(last, digest.last_day) if digest.last_day else last
        digest.save()


def ledger_sync(view_or_person, as_of: date | None = None, *, days: Collection[date] | None = None, package: Package | None = None) -> SyncResult:
    """Append to the stored ledger what the package's rows say it should hold at the end of ``as_of``.

    ``view_or_person`` is a ``monitoring.services.PackageView`` (its completed visits are used, so
    nothing is read twice) or a :class:`Person` (everything is read here). With ``days``, only the
    entries dated on those days are compared (:func:`digests_differ` finds the days that differ).
    Raises NotFound without a plan in force on ``as_of`` and InvalidInput before the budget starts.
    """
    if hasattr(view_or_person, "reconciliation"):
        view = view_or_person
        person, as_of = view.person, as_of or view.as_of
        visits = [line.visit for line in view.reconciliation.delivered if line.visit is not None]
    else:
        person, visits = view_or_person, None
        if as_of is None:
            raise InvalidInput("say as at which date to bring the ledger up to")
    package = package or package_at(person, as_of)  # (the recompute passes the package its status was judged with)
    if days is not None and not package.is_direct_payment and _refs_repeat(person):
        days = None  # "visit:REF#2" numbers a repeated ref by its place among all the person's visits: compare them all
    wanted = wanted_entries(package, as_of, visits, days)
    upto = min(as_of, package.plan.budget.end_date)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one sync of a person at a time
        fields = ("id", "account", "source_ref", "kind", "day", "amount", "rate_minutes", "reverses_id")
        stored = LedgerEntry.objects.filter(budget=package.budget_row)
        if days is not None:
            stored = stored.filter(day__in=sorted(days))
        stored = list(stored.values_list(*fields))
        reversed_ids = {row[7] for row in stored if row[7]}
        live = {(row[1], row[2]): row for row in stored if row[7] is None and row[0] not in reversed_ids and row[2].startswith(DERIVED_PREFIXES)}
        by_key = {item.key: item for item in wanted}
        # Only what differs goes through the domain (most syncs find nothing to do).
        differ = [key for key, item in by_key.items() if key not in live or live[key][3:7] != item.value]
        differ += [key for key in live if key not in by_key]
        fix = d.reconcile(
            {key: _stored_entry(live[key]) for key in differ if key in live}, {key: by_key[key].entry for key in differ if key in by_key}, upto=upto
        )
        by_ref = {str(row[0]): row for row in live.values()}
        now = timezone.now()
        reversals = [_row(package, by_ref[e.reverses][2], e, actor=SYNC_ACTOR, now=now, reverses_id=by_ref[e.reverses][0]) for e in fix.reversals]
        new_rows = [_row(package, e.ref, e, actor=SYNC_ACTOR, now=now) for e in fix.new]
        unchanged = fix.unchanged + len(by_key) - sum(1 for key in differ if key in by_key)
        _insert(reversals + new_rows)
    if new_rows or reversals:
        log.info("ledger sync person=%s added=%s reversed=%s", person.pk, len(new_rows), len(reversals))
    return SyncResult(person.ref, as_of, len(new_rows), len(reversals), unchanged)


# -- digests: is the stored ledger in step, without reading every entry? ------------------------
#
# A digest sums a ledger's derived entries (reversals net off what they cancel) by account and
# kind: how many stand, their value in millionths (a visit's rate-minutes, else its amount; both
# are stored to at most 6 places), and that value weighted by the day's number. The recompute
# compares the stored digest (one grouped query for many budgets) with the one the package's
# figures give; only when they differ are the days compared, and only differing days synced.
# Every balance on every date is a sum of those days' values, so a ledger whose digests agree
# has every balance right; which visit each entry names is the sync's own construction.

_EPOCH_DAY = date(1970, 1, 1)
_MILLION = Decimal(1_000_000)
Digest = dict[tuple[str, str], tuple[int, int, int]]


def _micro(value: Decimal) -> int:
    scaled = value * _MILLION
    whole = int(scaled)
    if whole != scaled:
        raise ValueError(f"{value} has more than 6 decimal places")
    return whole


def _add_to(digest: dict, key: tuple[str, str], day: date, count: int, micro: int) -> None:
    n, total, weighted = digest.get(key, (0, 0, 0))
    digest[key] = (n + count, total + micro, weighted + micro * (day - _EPOCH_DAY).days)


def wanted_digests(plan: Plan, as_of: date, *, priced=None, transactions: Iterable[tuple] = (), by_day: bool = True) -> tuple[Digest, dict[date, Digest]]:
    """The digest of the derived entries ``plan``'s budget should hold at the end of ``as_of``, in all and (``by_day``) by day.

    ``priced``: payable visits and rate-minutes by day (a ``domain.tally.PricedDays``, or a mapping
    of day to (count, rate-minutes)) for a budget paid by visit; ``transactions``: a direct payment
    account's ``(ref, date, amount, account ref)``.
    """
    budget = plan.budget
    upto = min(as_of, budget.end_date)
    total: dict = {}
    days: dict[date, dict] = {}

    def add(key, day, count, micro):
        _add_to(total, key, day, count, micro)
        if by_day:
            _add_to(days.setdefault(day, {}), key, day, count, micro)

    for item in _fixed_entries(budget, upto):
        add((item.account, item.kind), item.day, 1, _micro(item.amount))
    visit = (d.BUDGET_ACCOUNT, d.EntryKind.VISIT.value)
    if budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT:
        for _, day, amount, account in transactions:
            if budget.start_date <= day <= upto:
                add((account, d.EntryKind.PAYMENT_OUT.value if amount < 0 else d.EntryKind.MONEY_IN.value), day, 1, _micro(Decimal(amount)))
    elif priced is not None and not by_day and hasattr(priced, "totals"):
        count, value, weighted = priced.totals(budget.start_date, upto)  # one sum over the running totals
        if count:
            n, micro, w = total.get(visit, (0, 0, 0))
            total[visit] = (n + count, micro - _micro(value), w - _micro(weighted))
    elif priced is not None:
        for day, (count, rate_minutes) in priced.items():
            if budget.start_date <= day <= upto and count:
                add(visit, day, count, -_micro(rate_minutes))
    return total, days


def _digest_sql(by_day: bool) -> str:
    table = LedgerEntry._meta.db_table
    if connection.vendor == "sqlite":
        micro = "CAST(ROUND((CASE WHEN kind = 'visit' THEN rate_minutes ELSE amount END) * 1000000) AS INTEGER)"
        number = "CAST(julianday(day) - 2440587.5 AS INTEGER)"
    else:
        micro = "CAST(ROUND((CASE WHEN kind = 'visit' THEN rate_minutes ELSE amount END) * 1000000) AS BIGINT)"
        number = "(day - DATE '1970-01-01')"
    manual = ", ".join(f"'{k}'" for k in MANUAL_KINDS)
    group = "budget_id, day, account, kind" if by_day else "budget_id, account, kind"
    return (
        f"SELECT {group}, SUM(CASE WHEN reverses_id IS NULL THEN 1 ELSE -1 END), SUM({micro}), SUM({micro} * {number}) "
        # By budget, through its index: the council's own index would have the database read every entry of the
        # council (budget ids come from the council's own packages, and the council is checked as well).
        f"FROM {table} WHERE budget_id IN ({{budgets}}) AND +council_id = %s AND kind NOT IN ({manual}) AND day <= %s GROUP BY {group}"
    )


def stored_digests(*, council_id: int, budget_ids: Collection[int], as_of: date) -> dict[int, Digest]:
    """The stored ledgers' digests (entries up to ``as_of``), by budget; a budget with none is left out.

    Read from each budget's :class:`LedgerDigest`; counted from the entries for a budget that has
    entries dated after ``as_of`` (the digest counts them all).
    """
    found: dict[int, dict] = {}
    later = []
    for budget_id, sums, last_day in LedgerDigest.objects.filter(council_id=council_id, budget_id__in=list(budget_ids)).values_list("budget_id", "sums", "last_day"):
        if last_day is not None and last_day > as_of:
            later.append(budget_id)
        elif sums:
            found[budget_id] = {tuple(key.split("|", 1)): tuple(int(x) for x in value) for key, value in sums.items()}
    return found | counted_digests(council_id=council_id, budget_ids=later, as_of=as_of)


def counted_digests(*, council_id: int, budget_ids: Collection[int], as_of: date | None = None) -> dict[int, Digest]:
    """The digests of the budgets' entries (up to ``as_of``, or all), counted from the entries themselves."""
    found: dict[int, dict] = {}
    ids = sorted(set(budget_ids))
    as_of = as_of or date.max
    with connection.cursor() as cursor:
        for at in range(0, len(ids), 500):
            part = ids[at : at + 500]
            cursor.execute(_digest_sql(False).format(budgets=", ".join(["%s"] * len(part))), [*part, council_id, as_of])
            for budget_id, account, kind, n, micro, weighted in cursor.fetchall():
                if n or micro:
                    found.setdefault(budget_id, {})[(account, kind)] = (int(n), int(micro), int(weighted))
    return found


def stored_day_digests(*, council_id: int, budget_id: int, as_of: date) -> dict[date, Digest]:
    found: dict[date, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(_digest_sql(True).format(budgets="%s"), [budget_id, council_id, as_of])
        for _, day, account, kind, n, micro, weighted in cursor.fetchall():
            if n or micro:
                day = day if isinstance(day, date) else date.fromisoformat(day)
                found.setdefault(day, {})[(account, kind)] = (int(n), int(micro), int(weighted))
    return found


def _no_zeros(digest: Mapping) -> dict:
    return {key: value for key, value in digest.items() if value[0] or value[1]}


def days_out_of_step(*, council_id: int, budget_id: int, as_of: date, wanted: Mapping[date, Digest]) -> set[date]:
    """The days whose stored entries differ from what is wanted (:func:`wanted_digests`)."""
    stored = stored_day_digests(council_id=council_id, budget_id=budget_id, as_of=as_of)
    return {day for day in set(stored) | set(wanted) if _no_zeros(stored.get(day, {})) != _no_zeros(wanted.get(day, {}))}


def digests_agree(stored: Mapping | None, wanted: Mapping) -> bool:
    return _no_zeros(stored or {}) == _no_zeros(wanted)


def recount_digest(*, council_id: int, budget_id: int) -> None:
    """Set a budget's kept digest to what its entries count (after a sync found it out of step)."""
    counted = counted_digests(council_id=council_id, budget_ids=[budget_id]).get(budget_id, {})
    last = LedgerEntry.objects.filter(budget_id=budget_id).exclude(kind__in=MANUAL_KINDS).order_by("-day").values_list("day", flat=True).first()
    LedgerDigest.objects.update_or_create(
        budget_id=budget_id, defaults={"council_id": council_id, "sums": {f"{a}|{k}": list(v) for (a, k), v in sorted(counted.items())}, "last_day": last}
    )


def digests_check(*, council_id: int) -> list[int]:
    """The budgets whose kept digest differs from their entries counted afresh (none, unless rows were
    written around the sync); ``careledger ledger check`` prints them."""
    kept = {b: {tuple(k.split("|", 1)): tuple(int(x) for x in v) for k, v in sums.items()}
            for b, sums in LedgerDigest.objects.filter(council_id=council_id).values_list("budget_id", "sums")}  # fmt: skip
    budgets = set(kept) | set(LedgerEntry.objects.filter(council_id=council_id).values_list("budget_id", flat=True).distinct())
    counted = counted_digests(council_id=council_id, budget_ids=budgets)
    return sorted(b for b in budgets if _no_zeros(kept.get(b, {})) != _no_zeros(counted.get(b, {})))


# -- manual entries ----------------------------------------------------------------------------


def _may_write(scope: Scope) -> None:
    scope.require(bool(scope.roles & LEDGER_WRITERS) or scope.actor == "cli")


def _budget_on(person: Person, day: date) -> Budget:
    budget = Budget.objects.filter(person=person, start_date__lte=day, end_date__gte=day).order_by("-start_date").first()
    if budget is None:
        raise InvalidInput(f"person {person.ref!r} has no budget on {day.isoformat()}")
    return budget


def _exact_amount(amount: object, what: str = "amount") -> Decimal:
    if not isinstance(amount, Decimal) or isinstance(amount, bool):
        raise InvalidInput(f"{what} must be an exact Decimal amount in pounds, not {type(amount).__name__}")
    try:
        return parse_money(amount, what=what)
    except MoneyError as error:
        raise InvalidInput(str(error)) from None


def post_adjustment(
    *, scope: Scope, person_ref: str, day: date, amount: Decimal, kind: str, memo: str, source_ref: str, account: str = d.BUDGET_ACCOUNT
) -> LedgerEntry:
    """Post an agreed credit or correction to a person's budget ledger, once per ``source_ref``.

    * ``kind``: ``refund`` (money given back: positive, and it reduces spend) or ``adjustment``
      (either sign, never spend: a clawback, a write-off);
    * ``amount``: exact to the penny (a Decimal such as ``Decimal("12.50")``);
    * ``source_ref``: what it is for (``dispute:12``), unique in the council: the same call again
      returns the entry already posted (``entry.newly_posted`` is False); the same source with
      other values is a Conflict.

    Council administrators, commissioners and finance officers (``scope.roles``) and the CLI may
    post; anyone else is answered NotFound. ``account`` defaults to the budget itself (the CLI can
    name a direct payment account, e.g. its opening balance).
    """
    _may_write(scope)
    person = scope.person(person_ref)
    if kind not in MANUAL_KINDS:
        raise InvalidInput(f"kind must be refund or adjustment, not {kind!r}")
    value = _exact_amount(amount)
    if not value:
        raise InvalidInput("an adjustment of £0.00 changes nothing")
    if kind == "refund" and value < 0:
        raise InvalidInput("a refund is money given back: a positive amount (use an adjustment for money taken back)")
    memo = (memo or "").strip()
    if not memo:
        raise InvalidInput("say why in the memo (it is shown with the entry)")
    if len(memo) > 300:
        raise InvalidInput("the memo is longer than 300 characters")
    source_ref = (source_ref or "").strip()
    if not source_ref or len(source_ref) > 200:
        raise InvalidInput("a source_ref of 1 to 200 characters is needed (what the entry is for, e.g. dispute:12)")
    if source_ref.startswith(DERIVED_PREFIXES):
        raise InvalidInput(f"source_ref may not start with {', '.join(DERIVED_PREFIXES)}: those are kept by the ledger itself")
    if isinstance(day, bool) or not isinstance(day, date):
        raise InvalidInput("day must be a date")
    account = (account or "").strip() or d.BUDGET_ACCOUNT
    if account != d.BUDGET_ACCOUNT and not PaymentAccount.objects.filter(council=scope.council, person=person, ref=account).exists():
        raise InvalidInput(f"{account!r} is not the budget nor one of the person's direct payment accounts")
    budget = _budget_on(person, day)
    try:
        entry = d.Entry(source_ref, day, d.EntryKind(kind), amount=value, description=memo, account=account)
    except d.LedgerError as error:
        raise InvalidInput(str(error)) from None

    def existing() -> LedgerEntry | None:
        found = LedgerEntry.objects.filter(council=scope.council, source_ref=source_ref, kind__in=MANUAL_KINDS, reverses__isnull=True).first()
        if found is None:
            return None
        if (found.person_id, found.kind, found.day, found.amount, found.account) != (person.pk, kind, day, value, account):
            raise Conflict(f"{source_ref!r} was already posted with other values (entry {found.pk}); post a new source to correct it")
        found.newly_posted = False
        return found

    found = existing()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            row = LedgerEntry.objects.create(
                council=scope.council, person=person, budget=budget, account=account, kind=kind, day=day, amount=value,
                source_ref=source_ref, memo=memo, actor=scope.actor,
            )  # fmt: skip
    except IntegrityError:
        found = existing()  # posted meanwhile by another request
        if found is None:
            raise
        return found
    row.newly_posted = True
    log.info("ledger %s posted entry=%s person=%s", kind, row.pk, person.pk)
    return row


# -- balance assertions ------------------------------------------------------------------------


def _record_assertion(
    *, person: Person, account: str, day: date, statement: Decimal, source: str, actor: str, import_run: ImportRun | None = None
) -> BalanceAssertion:
    from .selectors import domain_entries

    try:
        ledger_sync(person, day)  # bring the ledger up to the statement's date first
    except (NotFound, InvalidInput):
        pass  # no plan in force then: the ledger holds what it holds
    assertion = d.BalanceAssertion(account, day, statement)
    result = d.check_assertion(domain_entries(person, account, day), assertion)
    return BalanceAssertion.objects.create(
        council_id=person.council_id, person=person, account=account, day=day, statement_balance=assertion.expected,
        ledger_balance=round_money(result.actual), difference=round_money(result.difference), source=source[:200],
        import_run=import_run, actor=actor,
    )  # fmt: skip


def assert_balance(*, scope: Scope, person_ref: str, account: str, day: date, balance: Decimal, source: str = "") -> BalanceAssertion:
    """Check a statement's closing ``balance`` of ``account`` at the end of ``day`` against the ledger and keep the result."""
    _may_write(scope)
    person = scope.person(person_ref)
    account = (account or "").strip()
    if account != d.BUDGET_ACCOUNT and not PaymentAccount.objects.filter(council=scope.council, person=person, ref=account).exists():
        raise InvalidInput(f"{account!r} is not the budget nor one of the person's direct payment accounts")
    statement = _exact_amount(balance, "balance")
    return _record_assertion(person=person, account=account, day=day, statement=statement, source=source or scope.actor, actor=scope.actor)


def statement_balances_received(sender, *, run: ImportRun, scope: Scope, balances, **kwargs) -> list[BalanceAssertion]:
    """An OFX statement's closing balances (``ingest.services.statement_balances``): one assertion each.

    A balance for an account the council does not know is skipped (its transactions were refused too).
    """
    made = []
    for closing in balances:
        account = PaymentAccount.objects.filter(council=scope.council, ref=closing.account_ref).select_related("person").first()
        if account is None:
            continue
        made.append(
            _record_assertion(
                person=account.person, account=account.ref, day=closing.as_of, statement=Decimal(closing.amount),
                source=f"ofx:{run.file_sha256}" if run.file_sha256 else f"import:{run.pk}", actor=scope.actor, import_run=run,
            )  # fmt: skip
        )
    return made
