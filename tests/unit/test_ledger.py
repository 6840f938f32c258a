"""The append-only budget ledger: exact totals, reversals, balances and balance assertions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.domain.costing import cost_plan, priced_visits
from careledger.domain.ledger import (
    BUDGET_ACCOUNT,
    BalanceAssertion,
    Entry,
    EntryKind,
    LedgerError,
    balance,
    check_assertion,
    post,
    reversal_of,
    spent,
    total,
    total_sixtieths,
    totals_by_kind,
    transaction_entry,
    validate,
    visit_entry,
)
from careledger.domain.money import round_money
from careledger.domain.rules import payable_minutes
from careledger.formats.plan_file import parse_plan

D = Decimal
MARY = Path(__file__).resolve().parents[2] / "examples" / "mary.json"
START = date(2026, 4, 6)
RATE = D("12.50")


def exact_penny(value: Fraction) -> Decimal:
    """Half-up to the penny in exact fractions (away from zero for negatives, as ROUND_HALF_UP)."""
    sign = -1 if value < 0 else 1
    pence = (abs(value) * 100 + Fraction(1, 2)).__floor__()
    return D(sign * pence) / 100


def oracle(entries) -> Fraction:
    """The exact sum, in fractions: amounts plus rate-minutes / 60."""
    return sum((Fraction(e.amount) + Fraction(e.rate_minutes) / 60 for e in entries), Fraction(0))


# --- exactness, by hand --------------------------------------------------------------------------


def test_three_twenty_minute_visits_at_12_50_are_exactly_12_50() -> None:
    visits = [visit_entry(f"V{i}", START, minutes=20, rate=RATE) for i in range(3)]
    # One visit is 20 x 12.50 / 60 = 250 / 60 = £4.1666..., which rounds to £4.17;
    # adding rounded visits would give £12.51. Summed in sixtieths: 750 / 60 = 12.5 exactly.
    assert visits[0].rate_minutes == D("-250.00")
    assert round_money(-visits[0].value) == D("4.17")
    assert total_sixtieths(visits) == D("-750")
    assert total(visits) == D("-12.5")
    assert spent(visits) == D("12.5")
    assert round_money(spent(visits)) == D("12.50")


def test_one_twenty_minute_visit_is_not_a_finite_decimal_but_rounds_correctly() -> None:
    entries = [visit_entry("V1", START, minutes=20, rate=RATE)]
    assert Fraction(spent(entries)) != Fraction(25, 6)  # 4.1666... cannot be held exactly
    assert abs(Fraction(spent(entries)) - Fraction(25, 6)) < Fraction(1, 10**50)
    assert round_money(spent(entries)) == D("4.17")


def test_mary_delivered_perfectly_for_a_year_spends_exactly_her_budget() -> None:
    plan = parse_plan(MARY.read_bytes())
    budget = plan.budget
    ledger: tuple[Entry, ...] = (Entry("ALLOC-2026", START, EntryKind.ALLOCATION, amount=budget.annual_amount),)
    for index, priced in enumerate(priced_visits(plan)):
        minutes = payable_minutes(
            planned_minutes=priced.visit.minutes, actual_minutes=D(priced.visit.minutes), status="completed"
        )
        ledger = post(ledger, visit_entry(f"V{index:04d}", priced.visit.local_date, minutes=minutes, rate=priced.rate))
    assert len(ledger) == 1 + 728
    # 52 weeks x 405 minutes x £12.50 / 60 = 52 x £84.375 = £4,387.50, the plan's period cost.
    assert spent(ledger, budget.start_date, budget.end_date) == D("4387.50")
    assert spent(ledger) == cost_plan(plan).period_cost
    assert balance(ledger, budget.end_date) == 0
    assert balance(ledger, budget.end_date, account=BUDGET_ACCOUNT) == 0
    # Half way: 26 weeks = £2,193.75 spent, the same left.
    assert spent(ledger, START, START + timedelta(weeks=26, days=-1)) == D("2193.75")
    assert balance(ledger, START + timedelta(weeks=26, days=-1)) == D("2193.75")
    assert validate(ledger) == []


def test_totals_by_kind() -> None:
    ledger = (
        Entry("A", START, EntryKind.ALLOCATION, amount=D("1000.00")),
        visit_entry("V1", START, minutes=20, rate=RATE),
        visit_entry("V2", START, minutes=40, rate=RATE),
        Entry("R1", START, EntryKind.REFUND, amount=D("2.50"), description="overcharge refunded"),
        Entry("ADJ", START, EntryKind.ADJUSTMENT, amount=D("-100.00"), description="clawback"),
    )
    by_kind = totals_by_kind(ledger)
    assert by_kind[EntryKind.ALLOCATION] == D("1000.00")
    assert by_kind[EntryKind.VISIT] == D("-12.5")  # 60 minutes at £12.50
    assert by_kind[EntryKind.REFUND] == D("2.50")
    assert by_kind[EntryKind.ADJUSTMENT] == D("-100.00")
    assert by_kind[EntryKind.MONEY_IN] == 0
    # Spend: 12.50 - 2.50 refunded = 10.00; the clawback is not spend but moves the balance.
    assert spent(ledger) == D("10.00")
    assert balance(ledger, START) == D("1000") - D("12.5") + D("2.5") - D("100")


# --- signs and validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (EntryKind.ALLOCATION, "-1.00"),
        (EntryKind.CONTRIBUTION, "-1.00"),
        (EntryKind.MONEY_IN, "-1.00"),
        (EntryKind.REFUND, "-1.00"),
        (EntryKind.PAYMENT_OUT, "1.00"),
    ],
)
def test_an_entry_must_move_money_its_kinds_way(kind: EntryKind, amount: str) -> None:
    with pytest.raises(LedgerError, match="money"):
        Entry("X", START, kind, amount=D(amount))


def test_entries_refuse_values_that_cannot_be_right() -> None:
    with pytest.raises(LedgerError, match="more than 2 decimal places"):
        Entry("X", START, EntryKind.MONEY_IN, amount=D("1.005"))
    with pytest.raises(LedgerError, match="not float"):
        Entry("X", START, EntryKind.MONEY_IN, amount=1.5)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="only a visit"):
        Entry("X", START, EntryKind.MONEY_IN, rate_minutes=D("10"))
    with pytest.raises(LedgerError, match="not an amount"):
        Entry("X", START, EntryKind.VISIT, amount=D("-1.00"))
    with pytest.raises(LedgerError, match="unknown kind"):
        Entry("X", START, "gift")  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="needs a ref"):
        Entry(" ", START, EntryKind.MONEY_IN)
    with pytest.raises(LedgerError, match="cannot be negative"):
        visit_entry("V", START, minutes=-5, rate=RATE)
    assert Entry("X", START, "money_in", amount=D("1.00")).kind is EntryKind.MONEY_IN  # type: ignore[arg-type]
    # Adjustments go either way.
    assert Entry("ADJ1", START, EntryKind.ADJUSTMENT, amount=D("-5.00")).value == D("-5.00")
    assert Entry("ADJ2", START, EntryKind.ADJUSTMENT, amount=D("5.00")).value == D("5.00")


def test_transaction_entry_follows_the_statement_sign() -> None:
    out = transaction_entry(ref="T1", account="DP-1", posted_on=START, amount=D("-20.00"), description="PA wages")
    into = transaction_entry(ref="T2", account="DP-1", posted_on=START, amount=D("300.00"))
    refund = transaction_entry(ref="T3", account="DP-1", posted_on=START, amount=D("5.00"), kind=EntryKind.REFUND)
    assert (out.kind, into.kind, refund.kind) == (EntryKind.PAYMENT_OUT, EntryKind.MONEY_IN, EntryKind.REFUND)
    assert spent([out, into, refund]) == D("15.00")
    assert balance([out, into, refund], START, account="DP-1") == D("285.00")


# --- reversals and the append-only rule ----------------------------------------------------------


def test_a_reversal_nets_to_exactly_zero() -> None:
    visit = visit_entry("V1", START, minutes=20, rate=RATE)
    reversal = reversal_of(visit, ref="V1-REV", posted_on=START + timedelta(days=3), reason="visit did not happen")
    assert reversal.kind is EntryKind.VISIT
    assert reversal.reverses == "V1"
    assert reversal.rate_minutes == D("250.00")
    assert reversal.description == "Reversal of V1: visit did not happen"
    assert total([visit, reversal]) == 0
    ledger = post(post((), visit), reversal)
    assert round_money(spent(ledger, START, START)) == D("4.17")  # the day of the visit alone
    assert spent(ledger) == 0
    assert balance(ledger, START + timedelta(days=2)) == visit.value
    assert balance(ledger, START + timedelta(days=3)) == 0


def test_a_money_reversal_on_a_dp_account() -> None:
    pay = transaction_entry(ref="T1", account="DP-1", posted_on=START, amount=D("-49.99"))
    rev = reversal_of(pay, ref="T1-REV", posted_on=START, reason="duplicate line")
    assert rev.amount == D("49.99")
    assert rev.account == "DP-1"
    assert total([pay, rev]) == 0


def test_post_keeps_the_ledger_append_only() -> None:
    visit = visit_entry("V1", START, minutes=30, rate=RATE)
    ledger = post((), visit)
    with pytest.raises(LedgerError, match="already in the ledger"):
        post(ledger, visit_entry("V1", START, minutes=15, rate=RATE))
    reversal = reversal_of(visit, ref="V1-REV", posted_on=START, reason="wrong person")
    ledger = post(ledger, reversal)
    with pytest.raises(LedgerError, match="already been reversed"):
        post(ledger, reversal_of(visit, ref="V1-REV2", posted_on=START, reason="again"))
    with pytest.raises(LedgerError, match="is a reversal"):
        reversal_of(reversal, ref="V1-REV-REV", posted_on=START, reason="undo")
    with pytest.raises(LedgerError, match="not in the ledger"):
        post(ledger, Entry("R9", START, EntryKind.VISIT, rate_minutes=D("10"), reverses="NOPE"))
    with pytest.raises(LedgerError, match="before it"):
        reversal_of(visit, ref="EARLY", posted_on=START - timedelta(days=1), reason="x")
    with pytest.raises(LedgerError, match="needs a reason"):
        reversal_of(visit, ref="R", posted_on=START, reason=" ")
    forged = Entry("R2", START, EntryKind.VISIT, rate_minutes=D("100"), reverses="V1")
    with pytest.raises(LedgerError, match="opposite sign"):
        Entry("R3", START, EntryKind.VISIT, rate_minutes=D("-100"), reverses="V1")
    assert validate([visit, forged]) == ["entry R2 must carry exactly the opposite value of V1"]
    assert len(ledger) == 2  # nothing was added by the refused posts
    assert validate(ledger) == []


def test_validate_finds_every_problem() -> None:
    a = Entry("A", START, EntryKind.MONEY_IN, amount=D("10.00"), account="DP-1")
    problems = validate(
        [
            a,
            Entry("A", START, EntryKind.MONEY_IN, amount=D("11.00"), account="DP-1"),
            Entry("B", START, EntryKind.MONEY_IN, amount=D("-10.00"), account="DP-2", reverses="A"),
            Entry("C", START - timedelta(days=1), EntryKind.MONEY_IN, amount=D("-10.00"), account="DP-1", reverses="A"),
        ]
    )
    assert problems == [
        "entry A is already in the ledger; entries are never replaced",
        "entry B must have the kind and account of A",
        "entry C is posted before A, which it reverses",
    ]


# --- balance assertions --------------------------------------------------------------------------


def dp_account() -> tuple[Entry, ...]:
    return (
        transaction_entry(ref="T1", account="DP-1", posted_on=date(2026, 6, 1), amount=D("1200.00")),
        transaction_entry(ref="T2", account="DP-1", posted_on=date(2026, 6, 5), amount=D("-150.00")),
        transaction_entry(ref="T3", account="DP-1", posted_on=date(2026, 6, 12), amount=D("-150.00")),
        Entry("C1", date(2026, 6, 12), EntryKind.CONTRIBUTION, amount=D("20.00"), account="DP-1"),
        # Another account of the same budget, not part of the statement.
        Entry("ALLOC", date(2026, 4, 6), EntryKind.ALLOCATION, amount=D("15600.00")),
    )


def test_balance_assertion_that_agrees() -> None:
    # 1200 - 150 - 150 + 20 = 920.00 at the end of 12 June.
    result = check_assertion(dp_account(), BalanceAssertion("DP-1", date(2026, 6, 12), D("920.00")))
    assert result.ok
    assert result.actual == D("920.00")
    assert result.difference == 0
    assert result.message == "Account DP-1 agrees with the statement on 12 June 2026: £920.00."


def test_balance_assertion_reports_its_own_difference() -> None:
    # The bank took a £5.00 charge the ledger has not seen: statement 915.00, ledger 920.00.
    assertion = BalanceAssertion("DP-1", date(2026, 6, 30), "915.00")  # type: ignore[arg-type]
    result = check_assertion(dp_account(), assertion)
    assert not result.ok
    assert result.expected == D("915.00")
    assert result.actual == D("920.00")
    assert result.difference == D("5.00")
    assert result.message == (
        "Account DP-1 does not agree with the statement on 30 June 2026: the ledger shows £920.00, "
        "the statement £915.00, £5.00 more than the statement."
    )
    # A statement dated before the second wage payment: closing 1050.00 on 5 June; ledger 1050.00.
    assert check_assertion(dp_account(), BalanceAssertion("DP-1", date(2026, 6, 5), D("1050.00"))).ok
    # The ledger short of the statement: a negative difference.
    short = check_assertion(dp_account(), BalanceAssertion("DP-1", date(2026, 6, 12), D("1000.00")))
    assert short.difference == D("-80.00")
    assert short.message.endswith("£80.00 less than the statement.")


def test_balance_assertion_refuses_an_inexact_amount() -> None:
    with pytest.raises(LedgerError):
        BalanceAssertion("DP-1", START, D("1.001"))


# --- properties ----------------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=60).map(lambda n: START + timedelta(days=n))
CENTS = st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c) / 100)
RATES = st.integers(min_value=0, max_value=1_000_000).map(lambda r: D(r) / 10_000)  # up to 4 places
MINUTES = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def entry_values(draw) -> tuple:
    kind = draw(st.sampled_from(list(EntryKind)))
    day = draw(DAYS)
    account = draw(st.sampled_from([BUDGET_ACCOUNT, "DP-1"]))
    if kind is EntryKind.VISIT:
        return (kind, day, account, draw(MINUTES), draw(RATES))
    amount = draw(CENTS)
    if kind.direction < 0 or (kind.direction == 0 and draw(st.booleans())):
        amount = -amount
    return (kind, day, account, amount, None)


def build(values, prefix: str = "E") -> list[Entry]:
    entries = []
    for index, (kind, day, account, first, second) in enumerate(values):
        ref = f"{prefix}{index}"
        if kind is EntryKind.VISIT:
            entries.append(visit_entry(ref, day, minutes=first, rate=second, account=account))
        else:
            entries.append(Entry(ref, day, kind, amount=first, account=account))
    return entries


LEDGERS = st.lists(entry_values(), max_size=40).map(build)


@settings(max_examples=200, deadline=None)
@given(LEDGERS)
def test_totals_are_the_exact_sum_rounded_once(entries: list[Entry]) -> None:
    exact = oracle(entries)
    assert Fraction(total_sixtieths(entries)) == exact * 60  # no loss at all in sixtieths
    assert round_money(total(entries)) == exact_penny(exact)
    assert abs(Fraction(total(entries)) - exact) < Fraction(1, 10**45)
    spend = oracle(e for e in entries if e.kind.is_spend)
    assert round_money(spent(entries)) == exact_penny(-spend)


@settings(max_examples=150, deadline=None)
@given(LEDGERS, st.randoms(use_true_random=False), DAYS)
def test_order_of_entries_never_matters(entries: list[Entry], random, at: date) -> None:
    shuffled = list(entries)
    random.shuffle(shuffled)
    assert total(shuffled) == total(entries)
    assert balance(shuffled, at) == balance(entries, at)
    assert balance(shuffled, at, account="DP-1") == balance(entries, at, account="DP-1")
    assert spent(shuffled, START, at) == spent(entries, START, at)
    assert totals_by_kind(shuffled) == totals_by_kind(entries)


@settings(max_examples=150, deadline=None)
@given(LEDGERS, DAYS, DAYS)
def test_balance_at_a_date_is_the_entries_up_to_it(entries: list[Entry], first: date, second: date) -> None:
    d1, d2 = sorted((first, second))
    assert balance(entries, d2) == total(e for e in entries if e.posted_on <= d2)
    # What the balance moved by between two dates is exactly the entries between them.
    before = total_sixtieths(e for e in entries if e.posted_on <= d1)
    after = total_sixtieths(e for e in entries if e.posted_on <= d2)
    between = total_sixtieths(e for e in entries if d1 < e.posted_on <= d2)
    assert after - before == between
    assert abs(Fraction(balance(entries, d2)) - Fraction(balance(entries, d1)) - Fraction(between) / 60) < Fraction(
        1, 10**45
    )
    # And spend over a span is the spend of its two halves, exactly in sixtieths.
    whole = total_sixtieths(e for e in entries if e.kind.is_spend and START <= e.posted_on <= d2)
    parts = total_sixtieths(e for e in entries if e.kind.is_spend and START <= e.posted_on <= d1) + total_sixtieths(
        e for e in entries if e.kind.is_spend and d1 < e.posted_on <= d2
    )
    assert whole == parts


@settings(max_examples=150, deadline=None)
@given(MINUTES, MINUTES, RATES, DAYS, DAYS, LEDGERS)
def test_splitting_a_visit_across_dates_never_changes_totals(m1, m2, rate, d1, d2, others) -> None:
    whole = visit_entry("W", min(d1, d2), minutes=m1 + m2, rate=rate)
    split = [visit_entry("S1", d1, minutes=m1, rate=rate), visit_entry("S2", d2, minutes=m2, rate=rate)]
    end = max(d1, d2)
    assert total([*others, whole]) == total([*others, *split])
    assert spent([*others, whole]) == spent([*others, *split])
    assert balance([*others, whole], end) == balance([*others, *split], end)


@settings(max_examples=150, deadline=None)
@given(LEDGERS, st.data())
def test_a_reversal_always_nets_to_exactly_zero(entries: list[Entry], data) -> None:
    if not entries:
        return
    target = data.draw(st.sampled_from(entries))
    later = target.posted_on + timedelta(days=data.draw(st.integers(min_value=0, max_value=10)))
    reversal = reversal_of(target, ref="REV", posted_on=later, reason="posted in error")
    assert total([target, reversal]) == 0
    assert total_sixtieths([*entries, reversal]) == total_sixtieths(e for e in entries if e is not target)
    at = later + timedelta(days=1)
    without = [e for e in entries if e is not target]
    assert balance([*entries, reversal], at) == balance(without, at)
    assert spent([*entries, reversal]) == spent(without)
    ledger: tuple[Entry, ...] = ()
    for entry in entries:
        ledger = post(ledger, entry)
    assert validate(post(ledger, reversal)) == []


# --- reconcile: keeping a stored ledger in step, by appending only ---------------------------------

from careledger.domain.ledger import reconcile  # noqa: E402


def test_reconcile_appends_new_reverses_changed_and_vanished_and_leaves_the_rest() -> None:
    a = visit_entry("visit:A", START, minutes=60, rate=RATE)
    b = visit_entry("visit:B", START, minutes=30, rate=RATE)
    c = visit_entry("visit:C", START + timedelta(days=1), minutes=15, rate=RATE)
    late = visit_entry("visit:LATE", START + timedelta(days=20), minutes=15, rate=RATE)
    stored = {"A": Entry("1", a.posted_on, a.kind, rate_minutes=a.rate_minutes), "B": Entry("2", b.posted_on, b.kind, rate_minutes=b.rate_minutes),
              "C": Entry("3", c.posted_on, c.kind, rate_minutes=c.rate_minutes), "LATE": Entry("4", late.posted_on, late.kind, rate_minutes=late.rate_minutes)}  # fmt: skip
    # A unchanged; B now paid 20 minutes; C no longer payable; D new; LATE is after the date brought up to.
    b20 = visit_entry("visit:B", START, minutes=20, rate=RATE)
    d = visit_entry("visit:D", START + timedelta(days=2), minutes=30, rate=RATE)
    fix = reconcile(stored, {"A": a, "B": b20, "D": d}, upto=START + timedelta(days=6))
    assert fix.unchanged == 1 and fix.appended == 4
    assert [(e.ref, e.reverses, e.posted_on, e.rate_minutes) for e in fix.reversals] == [
        ("2/reversed", "2", START, D("375")),  # dated as the entry it cancels
        ("3/reversed", "3", START + timedelta(days=1), D("187.5")),
    ]
    assert [e.ref for e in fix.new] == ["visit:B", "visit:D"]
    ledger = [*stored.values(), *fix.reversals, *fix.new]
    assert validate(ledger) == []
    # 12.50 (A) + 4.1666... (B at 20 minutes) + 6.25 (D) + 3.125 (LATE, untouched)
    assert spent(ledger) == total([a, b20, d, late]).copy_negate()


@settings(max_examples=150, deadline=None)
@given(st.lists(entry_values(), max_size=25), st.lists(entry_values(), max_size=25), st.data())
def test_reconcile_then_the_ledger_holds_what_is_wanted_and_again_appends_nothing(old_values, new_values, data) -> None:
    # Sources 0..n: some stored, some wanted (values drawn independently), so every case occurs.
    stored_entries = build(old_values, prefix="S")
    wanted_entries = build(new_values, prefix="W")
    keys = list(range(max(len(stored_entries), len(wanted_entries))))
    stored = {k: e for k, e in zip(keys, stored_entries, strict=False) if data.draw(st.booleans())}
    wanted = {k: e for k, e in zip(keys, wanted_entries, strict=False) if data.draw(st.booleans())}
    fix = reconcile(stored, wanted)
    ledger = [*stored.values(), *fix.reversals, *fix.new]
    assert validate(ledger) == []  # only appends, every reversal sound
    # Per source, what stands is exactly the wanted entry; the ledger totals those, on every date.
    for day in (START, START + timedelta(days=30), START + timedelta(days=61)):
        assert balance(ledger, day) == balance(wanted.values(), day)
    assert spent(ledger) == spent(wanted.values())
    # What now stands for each source, reconciled again: nothing to append.
    reversed_refs = {e.reverses for e in fix.reversals}
    standing = {k: e for k, e in stored.items() if e.ref not in reversed_refs}
    standing.update({k: e for k, e in wanted.items() if e in fix.new})
    again = reconcile(standing, wanted)
    assert (again.appended, again.unchanged) == (0, len(wanted))
