"""An append-only ledger of one personal budget: what it was given and what it paid for.

Entries
    Every movement is an immutable :class:`Entry`: the budget's allocation, the
    person's contributions, payable visits, money out of and into a direct
    payment account, adjustments and refunds. A ledger is just a sequence of
    entries; :func:`post` appends one after checking it, and nothing ever updates
    or deletes an entry. A mistake is corrected by a *reversing* entry
    (:func:`reversal_of`) that carries the original's value with the opposite
    sign and names it in ``reverses``; the two then net to exactly zero.

Accounts
    Each entry sits in an ``account``: :data:`BUDGET_ACCOUNT` (``"budget"``) for
    the personal budget itself (its allocation and the visits it pays for), or the
    reference of a real bank account or prepaid card (a direct payment account),
    whose entries mirror the statement line for line. Balances can be taken for
    one account (the usual case, and what a :class:`BalanceAssertion` checks) or
    over every entry given.

Sign convention
    ``amount`` and ``rate_minutes`` are signed from the account's point of view:
    **positive is money into the budget or account, negative is money out of it**,
    as on a bank statement (and as in the transaction CSV, ``formats.md``
    section 4). Each kind has a direction that an original entry must follow
    (zero is allowed) and that a reversal must oppose:

    ============  =========  ===================================================
    kind          direction  meaning
    ============  =========  ===================================================
    allocation    in (+)     the budget given for the period (or a top-up)
    contribution  in (+)     the person's own assessed contribution
    money_in      in (+)     money paid into a direct payment account
    refund        in (+)     money given back (an overcharge refunded)
    visit         out (-)    a payable visit (``rules.payable_minutes`` x rate)
    payment_out   out (-)    money paid out of a direct payment account
    adjustment    either     anything else that moves a balance (a clawback,
                             an agreed write-off); never counted as spend
    ============  =========  ===================================================

    *Spend* (:func:`spent`) is money out on care: visits and payments out, less
    refunds, each with its reversals. It is returned as a positive number.

Exactness
    A visit is paid ``minutes / 60 x rate``, which is often not a finite decimal
    (20 minutes at £12.50 is £4.1666...). So a visit entry does not store pounds:
    it stores ``rate_minutes`` (minutes x hourly rate, an exact decimal because a
    rate has at most 4 places), and every other entry stores ``amount``, an exact
    amount in pounds to the penny. Every total is taken in *sixtieths of a pound*
    (``amount x 60 + rate_minutes``, the :attr:`Entry.sixtieths` of each entry),
    summed in a context that raises rather than rounds, and divided by 60 once
    (:func:`money.rate_minutes_to_money`). Totals are therefore exact whenever
    they terminate (three 20-minute visits at £12.50 are exactly £12.50; Mary's
    728 planned visits are exactly £4,387.50) and otherwise correct to 60
    significant digits, which is never a half-penny tie; they are rounded half-up
    to the penny only when shown (:func:`money.round_money`). Because addition of
    sixtieths is exact, no total depends on the order of entries or on how they
    are split across dates. (The one approximation is upstream: under the
    ``actual`` payment basis with rounding ``none``, clocked seconds that are not
    a multiple of 3 make the payable minutes themselves a 60-digit decimal.)
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .money import ZERO, Decimal, MoneyError, format_gbp, parse_money, rate_minutes_to_money

__all__ = [
    "BUDGET_ACCOUNT",
    "LedgerError",
    "EntryKind",
    "Entry",
    "visit_entry",
    "transaction_entry",
    "reversal_of",
    "post",
    "validate",
    "total",
    "total_sixtieths",
    "balance",
    "spent",
    "totals_by_kind",
    "BalanceAssertion",
    "AssertionResult",
    "check_assertion",
    "Correction",
    "reconcile",
]

BUDGET_ACCOUNT = "budget"

# Sums of sixtieths: exact or an error, never silently rounded.
_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_SIXTY = Decimal(60)


class LedgerError(ValueError):
    """An entry that cannot be posted, or a ledger that breaks its own rules."""


class EntryKind(StrEnum):
    ALLOCATION = "allocation"
    CONTRIBUTION = "contribution"
    VISIT = "visit"
    PAYMENT_OUT = "payment_out"
    MONEY_IN = "money_in"
    ADJUSTMENT = "adjustment"
    REFUND = "refund"

    @property
    def direction(self) -> int:
        """+1 for money in, -1 for money out, 0 for either (adjustments)."""
        return _DIRECTION[self]

    @property
    def is_spend(self) -> bool:
        """Whether entries of this kind count in :func:`spent` (visits, payments out, refunds)."""
        return self in _SPEND


_DIRECTION = {
    EntryKind.ALLOCATION: 1,
    EntryKind.CONTRIBUTION: 1,
    EntryKind.MONEY_IN: 1,
    EntryKind.REFUND: 1,
    EntryKind.VISIT: -1,
    EntryKind.PAYMENT_OUT: -1,
    EntryKind.ADJUSTMENT: 0,
}
_SPEND = frozenset({EntryKind.VISIT, EntryKind.PAYMENT_OUT, EntryKind.REFUND})


def _exact_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise LedgerError(f"{what} must be a Decimal, not {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise LedgerError(f"{what} must be a finite number, not {result}")
    return result


@dataclass(frozen=True)
class Entry:
    """One immutable line of a budget's ledger (see the module docstring for signs).

    * ``ref``: unique within the ledger (a visit ref, a transaction ref, ...);
    * ``posted_on``: the local date the money moved or the care was given;
    * ``amount``: signed pounds to the penny, for every kind but ``visit``;
    * ``rate_minutes``: signed minutes x hourly rate, for ``visit`` entries only
      (build them with :func:`visit_entry`);
    * ``reverses``: the ref of the entry this one cancels, if it is a correction.
    """

    ref: str
    posted_on: date
    kind: EntryKind
    amount: Decimal = ZERO
    rate_minutes: Decimal = ZERO
    description: str = ""
    account: str = BUDGET_ACCOUNT
    reverses: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ref, str) or not self.ref.strip():
            raise LedgerError("an entry needs a ref")
        if not isinstance(self.account, str) or not self.account.strip():
            raise LedgerError(f"entry {self.ref}: an entry needs an account")
        if isinstance(self.posted_on, datetime) or not isinstance(self.posted_on, date):
            raise LedgerError(f"entry {self.ref}: posted_on must be a date")
        try:
            kind = EntryKind(self.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in EntryKind)
            raise LedgerError(f"entry {self.ref}: unknown kind {self.kind!r}; use one of {kinds}") from None
        object.__setattr__(self, "kind", kind)
        amount = _exact_decimal(self.amount, f"entry {self.ref}: amount")
        try:
            parse_money(amount, what=f"entry {self.ref}: amount")
        except MoneyError as error:
            raise LedgerError(str(error)) from None
        rate_minutes = _exact_decimal(self.rate_minutes, f"entry {self.ref}: rate_minutes")
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "rate_minutes", rate_minutes)
        if kind is EntryKind.VISIT and amount != 0:
            raise LedgerError(f"entry {self.ref}: a visit carries rate_minutes, not an amount")
        if kind is not EntryKind.VISIT and rate_minutes != 0:
            raise LedgerError(f"entry {self.ref}: only a visit carries rate_minutes")
        if self.reverses is not None and (not isinstance(self.reverses, str) or not self.reverses.strip()):
            raise LedgerError(f"entry {self.ref}: reverses must be the ref of another entry")
        if self.reverses == self.ref:
            raise LedgerError(f"entry {self.ref}: an entry cannot reverse itself")
        direction = kind.direction
        value = rate_minutes if kind is EntryKind.VISIT else amount
        # Decimal's sign test (not a product, which the default context might round).
        expected = direction * (-1 if self.reverses else 1)
        if direction and value != 0 and (value > 0) != (expected > 0):
            way = "in" if direction > 0 else "out"
            if self.reverses:
                raise LedgerError(f"entry {self.ref}: a reversal of {kind.value} must have the opposite sign")
            raise LedgerError(
                f"entry {self.ref}: {kind.value} is money {way}, so its value must be "
                f"{'positive' if direction > 0 else 'negative'} (or zero)"
            )

    @property
    def sixtieths(self) -> Decimal:
        """The entry's value in sixtieths of a pound (``amount x 60 + rate_minutes``), exact."""
        return _EXACT.add(_EXACT.multiply(self.amount, _SIXTY), self.rate_minutes)

    @property
    def value(self) -> Decimal:
        """The signed value in pounds (unrounded; a visit's may not terminate)."""
        if self.kind is EntryKind.VISIT:
            return rate_minutes_to_money(self.rate_minutes)
        return self.amount

    @property
    def is_reversal(self) -> bool:
        return self.reverses is not None


def visit_entry(
    ref: str,
    posted_on: date,
    *,
    minutes: Decimal | int,
    rate: Decimal,
    description: str = "",
    account: str = BUDGET_ACCOUNT,
) -> Entry:
    """A payable visit: ``minutes`` (from ``rules.payable_minutes``) at an hourly ``rate``.

    Stored as ``rate_minutes = -(minutes x rate)``, exactly; a visit that pays
    nothing (missed, cancelled) may be posted as zero or not at all.
    """
    minutes = _exact_decimal(minutes, f"visit {ref}: minutes")
    rate = _exact_decimal(rate, f"visit {ref}: rate")
    if minutes < 0 or rate < 0:
        raise LedgerError(f"visit {ref}: minutes and rate cannot be negative")
    text = description or f"{minutes.normalize():f} minutes at {format_gbp(rate)} an hour"
    return Entry(
        ref,
        posted_on,
        EntryKind.VISIT,
        rate_minutes=_EXACT.multiply(minutes, rate).copy_negate(),
        description=text,
        account=account,
    )


def transaction_entry(
    *,
    ref: str,
    account: str,
    posted_on: date,
    amount: Decimal,
    description: str = "",
    kind: EntryKind | None = None,
) -> Entry:
    """A line of an account statement (``formats.md`` section 4; money out is negative).

    The kind is ``payment_out`` for money out and ``money_in`` otherwise, unless
    given (``refund``, ``contribution`` or ``adjustment`` for a line known to be one).
    """
    if kind is None:
        kind = EntryKind.PAYMENT_OUT if amount < 0 else EntryKind.MONEY_IN
    return Entry(ref, posted_on, kind, amount=amount, description=description, account=account)


def reversal_of(entry: Entry, *, ref: str, posted_on: date, reason: str) -> Entry:
    """The entry that cancels ``entry`` exactly: same kind and account, opposite value.

    A reversal is posted on or after the entry it reverses; a reversal is not
    itself reversed (post a fresh entry instead).
    """
    if entry.is_reversal:
        raise LedgerError(f"entry {entry.ref} is a reversal; post a new entry instead of reversing it")
    if posted_on < entry.posted_on:
        raise LedgerError(f"a reversal of {entry.ref} cannot be posted before it ({entry.posted_on})")
    if not reason or not reason.strip():
        raise LedgerError("a reversal needs a reason")
    return Entry(
        ref,
        posted_on,
        entry.kind,
        amount=entry.amount.copy_negate(),
        rate_minutes=entry.rate_minutes.copy_negate(),
        description=f"Reversal of {entry.ref}: {reason.strip()}",
        account=entry.account,
        reverses=entry.ref,
    )


def _problems_with(entry: Entry, by_ref: dict[str, Entry], reversed_refs: set[str]) -> list[str]:
    problems = []
    if entry.ref in by_ref:
        problems.append(f"entry {entry.ref} is already in the ledger; entries are never replaced")
    if entry.reverses is not None:
        original = by_ref.get(entry.reverses)
        if original is None:
            problems.append(f"entry {entry.ref} reverses {entry.reverses}, which is not in the ledger")
        elif original.is_reversal:
            problems.append(f"entry {entry.ref} reverses {original.ref}, which is itself a reversal")
        elif entry.reverses in reversed_refs:
            problems.append(f"entry {entry.ref} reverses {original.ref}, which has already been reversed")
        elif (original.kind, original.account) != (entry.kind, entry.account):
            problems.append(f"entry {entry.ref} must have the kind and account of {original.ref}")
        elif (original.amount, original.rate_minutes) != (entry.amount.copy_negate(), entry.rate_minutes.copy_negate()):
            problems.append(f"entry {entry.ref} must carry exactly the opposite value of {original.ref}")
        elif entry.posted_on < original.posted_on:
            problems.append(f"entry {entry.ref} is posted before {original.ref}, which it reverses")
    return problems


def validate(entries: Iterable[Entry]) -> list[str]:
    """Every rule a ledger breaks, in plain English (an empty list for a sound ledger).

    Refs are unique; a reversal names an earlier-or-same-day entry of the same kind
    and account that is not itself a reversal, carries exactly its opposite value,
    and is the only reversal of it. Entries are checked in the order given, as
    :func:`post` would have appended them.
    """
    by_ref: dict[str, Entry] = {}
    reversed_refs: set[str] = set()
    problems: list[str] = []
    for entry in entries:
        found = _problems_with(entry, by_ref, reversed_refs)
        problems += found
        if entry.reverses is not None and not found:  # a refused reversal reverses nothing
            reversed_refs.add(entry.reverses)
        by_ref.setdefault(entry.ref, entry)
    return problems


def post(entries: Sequence[Entry], entry: Entry) -> tuple[Entry, ...]:
    """Append ``entry`` to a ledger, refusing a duplicate ref or an invalid reversal.

    Returns a new tuple; the ledger given is not changed (nor is any entry, ever).
    Each call indexes the ledger afresh; to load many stored entries, use
    :func:`validate` once instead.
    """
    by_ref = {e.ref: e for e in entries}
    reversed_refs = {e.reverses for e in entries if e.reverses is not None}
    problems = _problems_with(entry, by_ref, reversed_refs)
    if problems:
        raise LedgerError(problems[0])
    return (*entries, entry)


def total_sixtieths(entries: Iterable[Entry]) -> Decimal:
    """The exact sum of the entries' values, in sixtieths of a pound."""
    result = ZERO
    for entry in entries:
        result = _EXACT.add(result, entry.sixtieths)
    return result


def total(entries: Iterable[Entry]) -> Decimal:
    """The signed sum of the entries in pounds: summed in sixtieths, divided by 60 once."""
    return rate_minutes_to_money(total_sixtieths(entries))


def _within(entry: Entry, start: date | None, end: date | None) -> bool:
    return (start is None or entry.posted_on >= start) and (end is None or entry.posted_on <= end)


def balance(entries: Iterable[Entry], at: date, *, account: str | None = None) -> Decimal:
    """The balance at the end of ``at``: every entry posted on or before it, signed.

    With ``account``, only that account's entries count; without, all given. For
    a direct payment, take the bank account's balance with ``account=`` its ref,
    and the budget's with ``account=BUDGET_ACCOUNT``.
    """
    return total(e for e in entries if e.posted_on <= at and (account is None or e.account == account))


def spent(entries: Iterable[Entry], start: date | None = None, end: date | None = None) -> Decimal:
    """Money spent on care from ``start`` to ``end`` inclusive (either may be open).

    Visits and payments out, less refunds, reversals included, over every account;
    positive when money went out. Adjustments are not spend.
    """
    amount = total(e for e in entries if e.kind.is_spend and _within(e, start, end))
    return amount.copy_negate() if amount else ZERO  # never "-0"


def totals_by_kind(
    entries: Iterable[Entry], start: date | None = None, end: date | None = None
) -> dict[EntryKind, Decimal]:
    """The signed total of each kind from ``start`` to ``end`` inclusive (every kind present, zero if none)."""
    sums = {kind: ZERO for kind in EntryKind}
    for entry in entries:
        if _within(entry, start, end):
            sums[entry.kind] = _EXACT.add(sums[entry.kind], entry.sixtieths)
    return {kind: rate_minutes_to_money(value) for kind, value in sums.items()}


@dataclass(frozen=True)
class BalanceAssertion:
    """A statement's closing balance: ``account`` held ``expected`` at the end of ``on``."""

    account: str
    on: date
    expected: Decimal

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "expected", parse_money(self.expected, what="expected balance"))
        except MoneyError as error:
            raise LedgerError(str(error)) from None
        if isinstance(self.on, datetime) or not isinstance(self.on, date):
            raise LedgerError("a balance assertion's date must be a date")


@dataclass(frozen=True)
class AssertionResult:
    """The outcome of :func:`check_assertion`.

    ``difference`` is ``actual - expected`` (ledger minus statement): positive when
    the ledger shows more money than the statement (money went out that was not
    posted), negative when it shows less. It is exact; ``ok`` only when it is zero.
    """

    assertion: BalanceAssertion
    actual: Decimal
    difference: Decimal

    @property
    def expected(self) -> Decimal:
        return self.assertion.expected

    @property
    def ok(self) -> bool:
        return self.difference == 0

    @property
    def message(self) -> str:
        a = self.assertion
        on = f"{a.on.day} {a.on:%B %Y}"
        if self.ok:
            return f"Account {a.account} agrees with the statement on {on}: {format_gbp(a.expected)}."
        more_or_less = "more" if self.difference > 0 else "less"
        return (
            f"Account {a.account} does not agree with the statement on {on}: the ledger shows "
            f"{format_gbp(self.actual)}, the statement {format_gbp(a.expected)}, "
            f"{format_gbp(abs(self.difference))} {more_or_less} than the statement."
        )


def check_assertion(entries: Iterable[Entry], assertion: BalanceAssertion) -> AssertionResult:
    """Compare the ledger's balance of ``assertion.account`` at the end of ``assertion.on`` with the statement."""
    actual = balance(entries, assertion.on, account=assertion.account)
    return AssertionResult(assertion, actual, _EXACT.subtract(actual, assertion.expected))


# --- Keeping a stored ledger in step with what it should hold ---------------------------------------


@dataclass(frozen=True)
class Correction:
    """What :func:`reconcile` appends: reversals of stored entries, then new entries."""

    reversals: tuple[Entry, ...]
    new: tuple[Entry, ...]
    unchanged: int

    @property
    def appended(self) -> int:
        return len(self.reversals) + len(self.new)


def _same_value(a: Entry, b: Entry) -> bool:
    return (a.kind, a.account, a.posted_on, a.amount, a.rate_minutes) == (b.kind, b.account, b.posted_on, b.amount, b.rate_minutes)


def reconcile(live: Mapping[Hashable, Entry], wanted: Mapping[Hashable, Entry], *, upto: date | None = None) -> Correction:
    """The entries to append so that a ledger holds ``wanted``, without changing what it holds.

    ``live`` is the stored entry now standing for each source (an original entry that has not
    been reversed); ``wanted`` the entry each source should have. For each source:

    * wanted and not live: the wanted entry is new;
    * live with the same kind, account, date and value: nothing (``unchanged``);
    * live but different: a reversal of the live entry (dated as it is, so that the balance on
      every date shows the correction) and the wanted entry;
    * live and no longer wanted: a reversal, if the live entry is dated on or before ``upto``
      (later ones belong to dates not being brought up to date).

    Reversals are refs ``<live ref>/reversed``; new entries keep their own refs. Afterwards, the
    net value of each source's entries is its wanted entry's (or zero), and reconciling again
    appends nothing.
    """
    reversals: list[Entry] = []
    new: list[Entry] = []
    unchanged = 0
    for key, entry in wanted.items():
        current = live.get(key)
        if current is not None and _same_value(current, entry):
            unchanged += 1
            continue
        if current is not None:
            reversals.append(reversal_of(current, ref=f"{current.ref}/reversed", posted_on=current.posted_on, reason="changed"))
        new.append(entry)
    for key, current in live.items():
        if key not in wanted and (upto is None or current.posted_on <= upto):
            reversals.append(reversal_of(current, ref=f"{current.ref}/reversed", posted_on=current.posted_on, reason="no longer there"))
    return Correction(tuple(reversals), tuple(new), unchanged)
