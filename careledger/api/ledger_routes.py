"""API v1: ledger routes (registered on the one ``api`` of :mod:`careledger.api.routes`).

Every read is for anyone whose scope reaches the person (a person and their
representatives see their own); adjustments are for council administrators,
commissioners and finance officers. Money is a decimal string in pounds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Schema, Status
from pydantic import field_validator

from careledger.access.scope import scope_for
from careledger.domain.ledger import BUDGET_ACCOUNT
from careledger.domain.money import MoneyError, format_money, parse_money
from careledger.ledger import selectors
from careledger.ledger import services as ledger_services
from careledger.ledger.models import BalanceAssertion, LedgerEntry
from careledger.records.errors import InvalidInput
from careledger.records.selectors import today_in_london

from .routes import ErrorOut, api


class EntryOut(Schema):
    id: int
    day: date
    account: str
    kind: str
    source_ref: str
    amount: str
    rate_minutes: str | None
    reverses: int | None
    memo: str
    posted_at: str
    actor: str
    balance: str | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry, value: Decimal, balance: Decimal | None = None) -> "EntryOut":
        return cls(
            id=entry.pk, day=entry.day, account=entry.account, kind=entry.kind, source_ref=entry.source_ref, amount=format_money(value),
            rate_minutes=f"{entry.rate_minutes.normalize():f}" if entry.kind == "visit" else None, reverses=entry.reverses_id,
            memo=entry.memo, posted_at=entry.posted_at.isoformat(), actor=entry.actor,
            balance=format_money(balance) if balance is not None else None,
        )  # fmt: skip


class LedgerOut(Schema):
    person_ref: str
    account: str
    start: date | None
    end: date | None
    opening_balance: str
    closing_balance: str
    entries: list[EntryOut]


class BalanceOut(Schema):
    person_ref: str
    account: str
    as_of: date
    balance: str


class AssertionOut(Schema):
    id: int
    account: str
    day: date
    statement_balance: str
    ledger_balance: str
    difference: str
    ok: bool
    source: str
    import_run: int | None
    asserted_at: str
    actor: str

    @classmethod
    def from_assertion(cls, a: BalanceAssertion) -> "AssertionOut":
        return cls(
            id=a.pk, account=a.account, day=a.day, statement_balance=format_money(a.statement_balance), ledger_balance=format_money(a.ledger_balance),
            difference=format_money(a.difference), ok=a.ok, source=a.source, import_run=a.import_run_id, asserted_at=a.asserted_at.isoformat(), actor=a.actor,
        )  # fmt: skip


class AdjustmentIn(Schema):
    day: date
    amount: str  # pounds to the penny, as a string: "12.50"
    kind: Literal["refund", "adjustment"]
    memo: str
    source_ref: str

    @field_validator("amount", mode="before")
    @classmethod
    def _exact(cls, value: object) -> str:
        try:
            return f"{parse_money(value):f}"
        except MoneyError as error:
            raise ValueError(str(error)) from None


@api.get("/councils/{code}/people/{person_ref}/ledger", response={200: LedgerOut, 400: ErrorOut, 404: ErrorOut}, tags=["ledger"])
def ledger_list(request: HttpRequest, code: str, person_ref: str, account: str = BUDGET_ACCOUNT, start: date | None = None, end: date | None = None):
    """One account's entries (``account``: "budget" or a direct payment account) from ``start`` to ``end``, with a running balance."""
    scope = scope_for(request.auth, code)
    statement = selectors.ledger_lines(scope=scope, person_ref=person_ref, account=account, start=start, end=end)
    return LedgerOut(
        person_ref=statement.person_ref, account=statement.account, start=start, end=end, opening_balance=format_money(statement.opening),
        closing_balance=format_money(statement.closing), entries=[EntryOut.from_entry(line.entry, line.value, line.balance) for line in statement.lines],
    )  # fmt: skip


@api.get("/councils/{code}/people/{person_ref}/ledger/balance", response={200: BalanceOut, 400: ErrorOut, 404: ErrorOut}, tags=["ledger"])
def ledger_balance(request: HttpRequest, code: str, person_ref: str, as_of: date | None = None, account: str = BUDGET_ACCOUNT):
    """The account's balance at the end of ``as_of`` (default today), to the penny."""
    scope = scope_for(request.auth, code)
    person = scope.person(person_ref)
    if account not in selectors.accounts_of(person):
        raise InvalidInput(f"{account!r} is not the budget nor one of the person's direct payment accounts")
    day = as_of or today_in_london()
    return BalanceOut(person_ref=person.ref, account=account, as_of=day, balance=format_money(selectors.balance(person, account, day)))


@api.get("/councils/{code}/people/{person_ref}/ledger/assertions", response={200: list[AssertionOut], 404: ErrorOut}, tags=["ledger"])
def ledger_assertions(request: HttpRequest, code: str, person_ref: str, account: str | None = None):
    """Balance assertions: each statement's closing balance, the ledger's, and their difference (ledger minus statement)."""
    scope = scope_for(request.auth, code)
    return [AssertionOut.from_assertion(a) for a in selectors.assertions(scope=scope, person_ref=person_ref, account=account)]


@api.post("/councils/{code}/people/{person_ref}/ledger/adjustments", response={200: EntryOut, 201: EntryOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}, tags=["ledger"])
def ledger_adjust(request: HttpRequest, code: str, person_ref: str, body: AdjustmentIn):
    """Post a refund or adjustment to the budget once per ``source_ref``: 201 when posted, 200 when it already was (council staff who handle money)."""
    scope = scope_for(request.auth, code)
    entry = ledger_services.post_adjustment(
        scope=scope, person_ref=person_ref, day=body.day, amount=Decimal(body.amount), kind=body.kind, memo=body.memo, source_ref=body.source_ref
    )
    return Status(201 if entry.newly_posted else 200, EntryOut.from_entry(entry, entry.amount))
