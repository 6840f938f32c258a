"""The stored ledger: append-only in the database, kept in step with the rows, adjustments, assertions.

Runs on SQLite (default) and PostgreSQL (``DATABASE_URL=postgres://…``).
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import DatabaseError, IntegrityError, connection, transaction

from careledger.ingest.services import import_file, push_items
from careledger.ledger import selectors
from careledger.ledger.models import BalanceAssertion, LedgerEntry
from careledger.ledger.services import assert_balance, ledger_sync, post_adjustment
from careledger.monitoring.services import package_view, status_refresh
from careledger.records.errors import Conflict, InvalidInput, NotFound
from careledger.records.scoping import Scope
from tests.integration.test_status import _item, mary_six_weeks  # noqa: F401 (a fixture)
from tests.unit.test_status import AS_OF, six_weeks_of_visits

pytestmark = pytest.mark.django_db
D = Decimal


def mary(scope):
    return scope.person("MARY-86")


def stored_spent(person, first=date(2026, 4, 6), last=AS_OF) -> str:
    return f"{selectors.spent(person, first, last).quantize(D('0.01'), rounding='ROUND_HALF_UP')}"


def staff(council, role: str) -> Scope:
    return Scope(council, f"user:{role}", whole_council=True, roles=frozenset({role}))


# -- append-only, in the database ------------------------------------------------------------------


def test_the_database_refuses_to_update_or_delete_an_entry_or_an_assertion(mary_six_weeks):
    ledger_sync(mary(mary_six_weeks), AS_OF)
    assert_balance(scope=mary_six_weeks, person_ref="MARY-86", account="budget", day=AS_OF, balance=D("3908.33"))
    entry = LedgerEntry.objects.order_by("id").first()
    assertion = BalanceAssertion.objects.get()
    for sql, params in [
        ("UPDATE ledger_ledgerentry SET amount = %s WHERE id = %s", (D("1.00"), entry.pk)),
        ("UPDATE ledger_ledgerentry SET memo = 'quietly' WHERE id = %s", (entry.pk,)),
        ("DELETE FROM ledger_ledgerentry WHERE id = %s", (entry.pk,)),
        ("DELETE FROM ledger_ledgerentry", ()),
        ("UPDATE ledger_balanceassertion SET difference = 0 WHERE id = %s", (assertion.pk,)),
        ("DELETE FROM ledger_balanceassertion WHERE id = %s", (assertion.pk,)),
    ]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    entry.memo = "through the ORM"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    fresh = LedgerEntry.objects.get(pk=entry.pk)
    assert (fresh.amount, fresh.memo) == (D("4387.50"), entry.memo.replace("through the ORM", fresh.memo))
    assert LedgerEntry.objects.count() == 82


# -- the sync ----------------------------------------------------------------------------------------


def test_sync_posts_mary_once_and_agrees_with_her_status(mary_six_weeks):
    person = mary(mary_six_weeks)
    first = ledger_sync(person, AS_OF)
    # The allocation and the 81 completed visits (83 reported: 1 missed, 1 cancelled by Mary).
    assert (first.added, first.reversed, first.unchanged) == (82, 0, 0)
    again = ledger_sync(person, AS_OF)
    assert (again.added, again.reversed, again.unchanged) == (0, 0, 82)
    assert LedgerEntry.objects.count() == 82
    view = package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert stored_spent(person) == view.status["affordable"]["spent"] == "479.17"
    # Budget balance: 4,387.50 - 479.1666... = 3,908.3333...
    assert f"{selectors.balance(person, 'budget', AS_OF):.2f}" == "3908.33"
    allocation = LedgerEntry.objects.get(kind="allocation")
    assert (allocation.source_ref, allocation.day, allocation.amount) == ("allocation:2026-04-06", date(2026, 4, 6), D("4387.50"))
    short = LedgerEntry.objects.get(source_ref="visit:V-0427-0900")  # 42 minutes of 60: paid 40 at £12.50
    assert (short.kind, short.rate_minutes, short.amount) == ("visit", D("-500"), 0)


def test_an_earlier_date_syncs_only_up_to_it_and_never_undoes_a_later_one(mary_six_weeks):
    person = mary(mary_six_weeks)
    ledger_sync(person, AS_OF)
    earlier = ledger_sync(person, date(2026, 4, 19))
    assert (earlier.added, earlier.reversed) == (0, 0)
    assert LedgerEntry.objects.count() == 82


def test_an_amended_visit_is_reversed_and_posted_again(mary_six_weeks):
    person = mary(mary_six_weeks)
    ledger_sync(person, AS_OF)
    visits = {v.visit_ref: v for v in six_weeks_of_visits()}
    # V-0406-0900 (Mon 60 minutes, paid £12.50) is now reported missed; V-0407-0900 (Tue 30) lasted 15.
    missed = _item(visits["V-0406-0900"]) | {"status": "missed", "actual_start": None, "actual_end": None}
    shorter = _item(visits["V-0407-0900"])
    shorter["actual_end"] = shorter["actual_end"].replace("T09:30", "T09:15")
    assert push_items(scope=mary_six_weeks, kind="visits", items=[missed, shorter]).counts["amended"] == 2
    result = ledger_sync(person, AS_OF)
    assert (result.added, result.reversed) == (1, 2)
    reversal = LedgerEntry.objects.get(source_ref="visit:V-0406-0900", reverses__isnull=False)
    assert (reversal.rate_minutes, reversal.day, reversal.reverses.rate_minutes) == (D("750"), date(2026, 4, 6), D("-750"))
    redone = LedgerEntry.objects.filter(source_ref="visit:V-0407-0900").order_by("id")
    assert [e.rate_minutes for e in redone] == [D("-375"), D("375"), D("-187.5")]  # 30 min, reversed, 15 min
    # 479.1666... - 12.50 - 3.125 = 463.5416...
    view = package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert stored_spent(person) == view.status["affordable"]["spent"] == "463.54"
    assert ledger_sync(person, AS_OF).appended == 0
    # Back to completed as first reported: reversed again and posted afresh.
    assert push_items(scope=mary_six_weeks, kind="visits", items=[_item(visits["V-0406-0900"])]).counts["amended"] == 1
    assert (ledger_sync(person, AS_OF).added, LedgerEntry.objects.filter(source_ref="visit:V-0406-0900").count()) == (1, 3)
    assert stored_spent(person) == "476.04"


def test_status_refresh_brings_the_ledger_up_to_date(mary_six_weeks):
    view = status_refresh(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert LedgerEntry.objects.count() == 82
    assert stored_spent(view.person) == view.status["affordable"]["spent"]
    status_refresh(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF)
    assert LedgerEntry.objects.count() == 82


DP_TRANSACTIONS = [
    {"txn_ref": "T1", "account_ref": "DP-ANN", "date": "2026-04-06", "amount": "1000.00", "counterparty": "Northshire Council", "description": "Direct payment"},
    {"txn_ref": "T2", "account_ref": "DP-ANN", "date": "2026-04-10", "amount": "-240.00", "counterparty": "J Smith PA", "description": "Wages"},
    {"txn_ref": "T3", "account_ref": "DP-ANN", "date": "2026-04-17", "amount": "-35.50", "counterparty": "Payroll bureau", "description": "Payroll"},
]


@pytest.fixture
def ann_dp(system, acme, mary_data):
    from careledger.records import services as records

    data = json.loads(json.dumps(mary_data))
    data["person"].update(ref="ANN-DP", given_name="Ann")
    data["budget"].update(delivery_mechanism="direct_payment", account_ref="DP-ANN")
    records.plan_import(scope=system, raw=json.dumps(data))
    assert push_items(scope=system, kind="transactions", items=DP_TRANSACTIONS).counts["accepted"] == 3
    return system


def test_a_direct_payment_accounts_money_in_and_out(ann_dp):
    person = ann_dp.person("ANN-DP")
    view = status_refresh(scope=ann_dp, person_ref="ANN-DP", as_of=date(2026, 4, 30))
    assert view.status["affordable"]["spent"] == "275.50" == stored_spent(person, last=date(2026, 4, 30))
    rows = list(LedgerEntry.objects.filter(account="DP-ANN").values_list("source_ref", "kind", "amount"))
    assert rows == [("txn:T1", "money_in", D("1000.00")), ("txn:T2", "payment_out", D("-240.00")), ("txn:T3", "payment_out", D("-35.50"))]
    assert selectors.balance(person, "DP-ANN", date(2026, 4, 30)) == D("724.50")
    assert selectors.balance(person, "DP-ANN", date(2026, 4, 12)) == D("760.00")
    assert selectors.balance(person, "budget", date(2026, 4, 30)) == D("4387.50")  # the allocation; spend is in the account
    # The bank corrects T3 to £53.50: one reversal, one new entry.
    push_items(scope=ann_dp, kind="transactions", items=[DP_TRANSACTIONS[2] | {"amount": "-53.50"}])
    result = ledger_sync(person, date(2026, 4, 30))
    assert (result.added, result.reversed) == (1, 1)
    assert selectors.balance(person, "DP-ANN", date(2026, 4, 30)) == D("706.50")


def test_weekly_contributions_are_posted_and_the_allocation_is_the_rest(system, acme, mary_data):
    from careledger.records import services as records

    mary_data["budget"]["weekly_contribution"] = "10.00"
    records.plan_import(scope=system, raw=json.dumps(mary_data))
    person = system.person("MARY-86")
    ledger_sync(person, date(2026, 4, 20))
    # 364 days: 52 weeks of £10.00; the council's allocation is 4,387.50 - 520.00 = 3,867.50.
    rows = list(LedgerEntry.objects.order_by("day", "id").values_list("kind", "day", "amount"))
    assert rows == [
        ("allocation", date(2026, 4, 6), D("3867.50")),
        ("contribution", date(2026, 4, 6), D("10.00")),
        ("contribution", date(2026, 4, 13), D("10.00")),
        ("contribution", date(2026, 4, 20), D("10.00")),
    ]


# -- adjustments -------------------------------------------------------------------------------------


def test_post_adjustment_is_for_council_staff_idempotent_and_exact(mary_six_weeks, council):
    person = mary(mary_six_weeks)
    ledger_sync(person, AS_OF)
    finance = staff(council, "finance")
    kwargs = dict(person_ref="MARY-86", day=date(2026, 4, 22), amount=D("12.50"), kind="refund", memo="Agreed credit: missed visit 22 April", source_ref="dispute:7")
    entry = post_adjustment(scope=finance, **kwargs)
    assert (entry.kind, entry.amount, entry.account, entry.actor, entry.newly_posted) == ("refund", D("12.50"), "budget", "user:finance", True)
    again = post_adjustment(scope=finance, **kwargs)
    assert (again.pk, again.newly_posted) == (entry.pk, False)
    assert LedgerEntry.objects.filter(source_ref="dispute:7").count() == 1
    with pytest.raises(Conflict):
        post_adjustment(scope=finance, **(kwargs | {"amount": D("13.00")}))
    for bad, why in [
        ({"amount": D("1.005")}, "more than 2 decimal places"),
        ({"amount": 12.5}, "exact Decimal"),
        ({"amount": D("-1.00")}, "positive"),
        ({"kind": "visit"}, "refund or adjustment"),
        ({"memo": " "}, "memo"),
        ({"source_ref": "visit:V1"}, "may not start with"),
        ({"day": date(2030, 1, 1)}, "no budget"),
    ]:
        with pytest.raises(InvalidInput, match=why):
            post_adjustment(scope=finance, **(kwargs | bad | {"source_ref": bad.get("source_ref", "dispute:new")}))
    for role in ("auditor", "provider", "person"):
        with pytest.raises(NotFound):
            post_adjustment(scope=staff(council, role), **(kwargs | {"source_ref": f"dispute:{role}"}))
    # A refund reduces spend: 479.1666... - 12.50 = 466.67; the budget's balance rises by as much.
    assert stored_spent(person) == "466.67"
    assert f"{selectors.balance(person, 'budget', AS_OF):.2f}" == "3920.83"
    clawback = post_adjustment(scope=staff(council, "commissioner"), **(kwargs | {"kind": "adjustment", "amount": D("-100.00"), "source_ref": "clawback:1"}))
    assert clawback.amount == D("-100.00") and stored_spent(person) == "466.67"  # an adjustment is never spend
    # The sync leaves manual entries alone.
    assert ledger_sync(person, AS_OF).appended == 0


def test_the_same_manual_source_twice_is_refused_by_the_database(mary_six_weeks):
    person = mary(mary_six_weeks)
    post_adjustment(scope=mary_six_weeks, person_ref="MARY-86", day=AS_OF, amount=D("5.00"), kind="adjustment", memo="x", source_ref="dup:1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(council_id=person.council_id, person=person, budget=person.budgets.get(), kind="adjustment",
                                   day=AS_OF, amount=D("5.00"), source_ref="dup:1", actor="cli")  # fmt: skip


# -- balance assertions ------------------------------------------------------------------------------


def test_an_assertion_reports_its_own_difference(mary_six_weeks):
    person = mary(mary_six_weeks)
    ok = assert_balance(scope=mary_six_weeks, person_ref="MARY-86", account="budget", day=AS_OF, balance=D("3908.33"))
    assert (ok.ledger_balance, ok.difference, ok.ok, ok.source) == (D("3908.33"), D("0.00"), True, "cli")
    off = assert_balance(scope=mary_six_weeks, person_ref="MARY-86", account="budget", day=AS_OF, balance=D("3900.00"))
    assert (off.ledger_balance, off.difference, off.ok) == (D("3908.33"), D("8.33"), False)
    assert [a.difference for a in selectors.assertions(scope=mary_six_weeks, person_ref="MARY-86")] == [D("0.00"), D("8.33")]
    assert LedgerEntry.objects.filter(person=person).count() == 82  # asserting synced the ledger first
    with pytest.raises(InvalidInput, match="not the budget"):
        assert_balance(scope=mary_six_weeks, person_ref="MARY-86", account="DP-NOPE", day=AS_OF, balance=D("1.00"))


OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260501120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>GBP<BANKACCTFROM><BANKID>400000<ACCTID>DP-ANN<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260406<DTEND>20260430
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260424<TRNAMT>-120.00<FITID>T4<NAME>Bet365<MEMO>Online bet</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>{balance}<DTASOF>20260430120000</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def test_an_ofx_statement_with_a_closing_balance_is_asserted(ann_dp):
    # T1..T3 give 724.50; T4 in this file takes 120.00: the ledger holds 604.50 on 30 April.
    summary = import_file(scope=ann_dp, kind="transactions", stream=io.BytesIO(OFX.format(balance="604.50").encode()), source="april.ofx")
    assert summary.run.added == 1
    (agreed,) = BalanceAssertion.objects.all()
    assert (agreed.account, agreed.day, agreed.statement_balance, agreed.ledger_balance, agreed.difference) == ("DP-ANN", date(2026, 4, 30), D("604.50"), D("604.50"), D("0.00"))
    assert agreed.import_run == summary.run and agreed.source == f"ofx:{summary.run.file_sha256}"
    # The next statement says 580.00: £24.50 went out that nobody sent (the ledger shows more).
    import_file(scope=ann_dp, kind="transactions", stream=io.BytesIO(OFX.format(balance="580.00").encode()), source="april-again.ofx")
    latest = BalanceAssertion.objects.order_by("id").last()
    assert (latest.ledger_balance, latest.difference) == (D("604.50"), D("24.50"))


# -- CLI -------------------------------------------------------------------------------------------


def run(*args: str):
    from careledger.cli.ledger import ledger_group

    return CliRunner().invoke(ledger_group, list(args), catch_exceptions=False)


def test_cli_show_adjust_and_assert(mary_six_weeks):
    ledger_sync(mary(mary_six_weeks), AS_OF)
    shown = run("show", "MARY-86", "--from", "2026-04-06", "--to", "2026-04-07", "--json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    # 6 April (Mon): 60 minutes (£12.50) and 15 (£3.125); 7 April (Tue): 30 (£6.25) and 15 (£3.125):
    # 4,387.50 - 25.00 = 4,362.50.
    assert body["opening_balance"] == "0.00" and body["closing_balance"] == "4362.50"
    assert [line["amount"] for line in body["entries"]] == ["4387.50", "-12.50", "-3.13", "-6.25", "-3.13"]
    assert [line["balance"] for line in body["entries"]] == ["4387.50", "4375.00", "4371.88", "4365.63", "4362.50"]
    text = run("show", "MARY-86", "--to", "2026-04-06")
    assert "allocation" in text.output and "4,387.50" in text.output
    adjusted = run("adjust", "MARY-86", "--date", "2026-04-22", "--amount", "12.50", "--kind", "refund", "--memo", "Missed visit credit", "--source", "dispute:cli-1")
    assert adjusted.exit_code == 0 and "posted" in adjusted.output
    asserted = run("assert", "MARY-86", "--account", "budget", "--date", "2026-05-17", "--balance", "3920.83")
    assert asserted.exit_code == 0 and "agrees" in asserted.output
    off = run("assert", "MARY-86", "--account", "budget", "--date", "2026-05-17", "--balance", "3920.00")
    assert off.exit_code == 1 and "£0.83 more than the statement" in off.output


# -- API ---------------------------------------------------------------------------------------------


def test_api_ledger_balance_assertions_and_adjustments(mary_six_weeks, staff_client):
    ledger_sync(mary(mary_six_weeks), AS_OF)
    base = "/api/v1/councils/NOR/people/MARY-86/ledger"
    listing = staff_client.get(f"{base}?end=2026-05-17")
    assert listing.status_code == 200
    body = listing.json()
    assert len(body["entries"]) == 82 and body["closing_balance"] == "3908.33"
    assert staff_client.get(f"{base}/balance?as_of=2026-05-17").json() == {"person_ref": "MARY-86", "account": "budget", "as_of": "2026-05-17", "balance": "3908.33"}
    assert staff_client.get(f"{base}/balance?as_of=2026-05-17&account=NOPE").status_code == 400
    assert staff_client.get(f"{base}?start=2026-05-17&end=2026-05-01").status_code == 400
    made = staff_client.post(f"{base}/adjustments", data={"day": "2026-04-22", "amount": "12.50", "kind": "refund", "memo": "credit", "source_ref": "dispute:api"}, content_type="application/json")
    assert made.status_code == 201, made.content
    again = staff_client.post(f"{base}/adjustments", data={"day": "2026-04-22", "amount": "12.50", "kind": "refund", "memo": "credit", "source_ref": "dispute:api"}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    bad = staff_client.post(f"{base}/adjustments", data={"day": "2026-04-22", "amount": "12.505", "kind": "refund", "memo": "credit", "source_ref": "dispute:x"}, content_type="application/json")
    assert bad.status_code in (400, 422)
    assert_balance(scope=mary_six_weeks, person_ref="MARY-86", account="budget", day=AS_OF, balance=D("3920.83"))
    assertions = staff_client.get(f"{base}/assertions").json()
    assert [(a["statement_balance"], a["ledger_balance"], a["difference"]) for a in assertions] == [("3920.83", "3920.83", "0.00")]


# -- thresholds and the spend policy -----------------------------------------------------------------


def test_a_tuned_threshold_changes_which_alerts_fire(mary_six_weeks, council):
    from careledger.records.models import Contract, PlannedService

    def causes():
        return sorted(a.cause for a in package_view(scope=mary_six_weeks, person_ref="MARY-86", as_of=AS_OF).alerts)

    assert causes() == ["late:2026-W18", "missed:2026-W17", "preference:2026-W19"]
    contract = Contract.objects.get(provider__ref="ACME-CARE")
    assert PlannedService.objects.filter(contract=contract).exists()
    # Three missed a week before an alert (W17 had two), and a single late visit is enough (W16 had one).
    result = run("thresholds", "ACME-CARE", "--set", "missed_per_week=3", "--set", "late_per_week=1")
    assert result.exit_code == 0, result.output
    assert causes() == ["late:2026-W16", "late:2026-W18", "preference:2026-W19"]
    refused = run("thresholds", "ACME-CARE", "--set", "missed_per_week=0")
    assert refused.exit_code == 1 and "missed_per_week must be a whole number of at least 1" in refused.output
    unknown = run("thresholds", "ACME-CARE", "--set", "missed=3")
    assert unknown.exit_code == 1 and "unknown alert threshold(s) missed" in unknown.output
    assert run("thresholds", "ACME-CARE", "--reset").exit_code == 0
    assert causes() == ["late:2026-W18", "missed:2026-W17", "preference:2026-W19"]


def test_a_councils_spend_policy_decides_what_looks_ineligible(ann_dp, council, tmp_path):
    def causes():
        ann_dp.council.refresh_from_db()  # the scope's council, as a new request would load it
        return [a.cause for a in package_view(scope=ann_dp, person_ref="ANN-DP", as_of=date(2026, 4, 30)).alerts if a.code == "ineligible_spend"]

    assert causes() == []  # wages and payroll: nothing ineligible by default
    policy = {"categories": [{"code": "payroll", "label": "a payroll bureau", "keywords": ["payroll bureau"], "severity": "low"}]}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    assert run("spend-policy", "--file", str(path)).exit_code == 0
    assert causes() == ["ineligible:T3"]
    path.write_text(json.dumps({"categories": [{"code": "x", "label": "x", "keywords": ["!!"]}]}))
    refused = run("spend-policy", "--file", str(path))
    assert refused.exit_code == 1 and "keyword '!!' has no letters or digits" in refused.output
    assert run("spend-policy", "--reset").exit_code == 0 and causes() == []


def test_stored_settings_are_checked_by_the_domain_with_clear_errors(acme, council):
    from django.core.exceptions import ValidationError

    from careledger.records.mapping import alert_thresholds_from_json, contract_thresholds, spend_policy_from_json

    contract = acme.contracts.get()
    assert contract_thresholds(contract).missed_per_week == 2  # no overrides: the defaults
    contract.alert_thresholds = {"overspend_percent": "2.5", "max_carers_4_weeks": 6}
    contract.full_clean()
    tuned = contract_thresholds(contract)
    assert (tuned.overspend_percent, tuned.max_carers_4_weeks, tuned.late_per_week) == (D("2.5"), 6, 3)
    for bad, why in [
        ({"overspend_percent": "lots"}, "overspend_percent: 'lots' is not a number"),
        ({"overspend_percent": "6", "overspend_high_percent": "5"}, "overspend_high_percent cannot be below overspend_percent"),
        ({"late_per_week": True}, "late_per_week must be a whole number of at least 1"),
        ([1, 2], "must be a JSON object"),
    ]:
        contract.alert_thresholds = bad
        with pytest.raises(ValidationError, match=why):
            contract.full_clean()
    with pytest.raises(InvalidInput, match="unknown alert threshold"):
        alert_thresholds_from_json({"missed": 1})
    council.spend_policy = {"categories": [{"code": "g", "label": "gambling", "keywords": ["bet"], "severity": "urgent"}]}
    with pytest.raises(ValidationError, match="severity must be one of high, medium, low"):
        council.full_clean()
    with pytest.raises(InvalidInput, match="the code 'g' is used twice"):
        spend_policy_from_json({"categories": [{"code": "g", "label": "a", "keywords": ["a"]}, {"code": "g", "label": "b", "keywords": ["b"]}]})
    with pytest.raises(InvalidInput, match='a JSON object {"categories"'):
        spend_policy_from_json({"gambling": ["bet"]})
