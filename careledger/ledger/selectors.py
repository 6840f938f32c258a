"""Reading the stored ledger: entries with a running balance, balances at a date, assertions.

Every total goes through ``domain.ledger`` (summed in sixtieths of a pound, divided
once); figures are rounded to the penny only when shown.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from careledger.domain import ledger as d
from careledger.records.errors import InvalidInput
from careledger.records.models import Budget, PaymentAccount, Person
from careledger.records.scoping import Scope

from .models import BalanceAssertion, LedgerEntry

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])

__all__ = ["Line", "accounts_of", "balance", "entries", "ledger_lines", "assertions", "domain_entries", "spent"]


def _budget_at(person: Person, as_of: date) -> Budget | None:
    """The budget in force on ``as_of``, else the latest that had started by then."""
    budgets = Budget.objects.filter(person=person, start_date__lte=as_of).order_by("-start_date")
    return budgets.filter(end_date__gte=as_of).first() or budgets.first()


def _rows(person: Person, account: str, as_of: date | None = None) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.objects.filter(person=person, account=account)
    if account == d.BUDGET_ACCOUNT:
        # The budget account is per budget period; a bank account's history runs on across them.
        budget = _budget_at(person, as_of) if as_of else Budget.objects.filter(person=person).order_by("-start_date").first()
        rows = rows.filter(budget=budget)
    if as_of is not None:
        rows = rows.filter(day__lte=as_of)
    return rows.order_by("day", "id")


def _to_domain(row: LedgerEntry) -> d.Entry:
    return d.Entry(
        str(row.pk), row.day, d.EntryKind(row.kind), amount=row.amount, rate_minutes=row.rate_minutes,
        description=row.memo, account=row.account, reverses=str(row.reverses_id) if row.reverses_id else None,
    )  # fmt: skip


def domain_entries(person: Person, account: str, as_of: date) -> list[d.Entry]:
    """The account's entries to the end of ``as_of`` as the domain's values."""
    return [_to_domain(row) for row in _rows(person, account, as_of)]


def balance(person: Person, account: str, as_of: date) -> Decimal:
    """The account's balance at the end of ``as_of``, exact (round with ``money.round_money`` to show it).

    ``account`` is ``"budget"`` (the budget in force that day: its allocation and contributions
    less what it paid) or a direct payment account's ref (every entry of that account).
    """
    return d.balance(domain_entries(person, account, as_of), as_of, account=account)


def spent(person: Person, first: date, last: date) -> Decimal:
    """Money spent on care from ``first`` to ``last`` over every account (``domain.ledger.spent``)."""
    rows = LedgerEntry.objects.filter(person=person, day__gte=first, day__lte=last)
    return d.spent([_to_domain(row) for row in rows])


def accounts_of(person: Person) -> list[str]:
    return [d.BUDGET_ACCOUNT, *PaymentAccount.objects.filter(person=person).order_by("ref").values_list("ref", flat=True)]


def entries(*, scope: Scope, person_ref: str, account: str | None = None, start: date | None = None, end: date | None = None) -> QuerySet[LedgerEntry]:
    """The stored entries of a person the scope reaches (every account unless one is named), oldest first."""
    person = scope.person(person_ref)
    rows = LedgerEntry.objects.filter(person=person)
    if account:
        rows = rows.filter(account=account)
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    return rows.select_related("reverses").order_by("day", "id")


@dataclass(frozen=True)
class Line:
    """An entry with its exact value and the account's balance after it."""

    entry: LedgerEntry
    value: Decimal
    balance: Decimal

    def as_dict(self) -> dict:
        from careledger.domain.money import format_money

        e = self.entry
        return {
            "id": e.pk, "day": e.day.isoformat(), "account": e.account, "kind": e.kind, "source_ref": e.source_ref,
            "amount": format_money(self.value), "rate_minutes": f"{e.rate_minutes.normalize():f}" if e.kind == "visit" else None,
            "reverses": e.reverses_id, "memo": e.memo, "posted_at": e.posted_at.isoformat(), "actor": e.actor,
            "balance": format_money(self.balance),
        }  # fmt: skip


@dataclass(frozen=True)
class Statement:
    person_ref: str
    account: str
    start: date | None
    end: date | None
    opening: Decimal
    lines: list[Line]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening


def ledger_lines(*, scope: Scope, person_ref: str, account: str = d.BUDGET_ACCOUNT, start: date | None = None, end: date | None = None) -> Statement:
    """One account's entries from ``start`` to ``end`` with a running balance (from the balance before ``start``).

    The budget account is that of the budget in force on ``end`` (or the latest budget).
    """
    person = scope.person(person_ref)
    account = account or d.BUDGET_ACCOUNT
    if account not in accounts_of(person):
        raise InvalidInput(f"{account!r} is not the budget nor one of the person's direct payment accounts")
    if start and end and end < start:
        raise InvalidInput("the end date is before the start date")
    rows = list(_rows(person, account, end))
    opening_rows = [_to_domain(r) for r in rows if start and r.day < start]
    total = d.total_sixtieths(opening_rows)
    lines = []
    for row in rows:
        if start and row.day < start:
            continue
        entry = _to_domain(row)
        total = _EXACT.add(total, entry.sixtieths)
        lines.append(Line(row, entry.value, _pounds(total)))
    return Statement(person.ref, account, start, end, _pounds(d.total_sixtieths(opening_rows)), lines)


def _pounds(sixtieths: Decimal) -> Decimal:
    from careledger.domain.money import rate_minutes_to_money

    return rate_minutes_to_money(sixtieths)


def assertions(*, scope: Scope, person_ref: str, account: str | None = None) -> QuerySet[BalanceAssertion]:
    person = scope.person(person_ref)
    rows = BalanceAssertion.objects.filter(person=person)
    if account:
        rows = rows.filter(account=account)
    return rows.order_by("day", "id")
