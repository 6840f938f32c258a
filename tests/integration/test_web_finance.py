"""The finance and audit pages through Django's client: ledgers with running balances, statement checks,
the audit trail's filters and its verification, CSV downloads, and who may open them.

NOR: Mary (an ISF with ACME-CARE) and Bob (a direct payment, account DP-BOB, with BETA-CARE);
SOU: Sue. Finance pages are for council staff; the audit trail for administrators and auditors.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from careledger.access.models import Membership, Role
from careledger.audit.models import AuditEntry
from careledger.domain.money import round_money
from careledger.ingest.services import import_file
from careledger.ledger import selectors as ledger
from careledger.ledger.services import assert_balance
from careledger.monitoring.services import status_refresh
from careledger.records import services
from careledger.records.scoping import Scope
from tests.conftest import MARY_FILE

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 5, 17)
VISITS = (
    "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
    "V1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:00,2026-04-06 10:00,completed\n"
    "V2,MARY-86,ACME-CARE,homecare,C1,2026-04-13 09:00,60,2026-04-13 09:00,2026-04-13 10:00,completed\n"
)
TRANSACTIONS = (
    "txn_ref,account_ref,date,amount,counterparty,description\n"
    "T1,DP-BOB,2026-04-06,1000.00,Northshire Council,first payment\n"
    "T2,DP-BOB,2026-04-10,-84.38,Beta Care,week 1\n"
)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def world(db, django_user_model):
    cache.clear()  # the audit page keeps its last verification in the cache
    nor = services.council_create(code="NOR", name="Northshire")
    sou = services.council_create(code="SOU", name="Southshire")
    system = Scope.system(nor)
    services.provider_create(scope=system, ref="ACME-CARE", name="Acme Care")
    services.provider_create(scope=system, ref="BETA-CARE", name="Beta Care")
    services.provider_create(scope=Scope.system(sou), ref="ACME-CARE", name="Acme South")
    services.plan_import(scope=system, raw=json.loads(MARY_FILE.read_text()))
    bob = json.loads(MARY_FILE.read_text())
    bob["person"].update(ref="BOB-1", given_name="Robert", family_name="Otherperson")
    bob["services"][0]["provider"] = "BETA-CARE"
    bob["budget"].update(delivery_mechanism="direct_payment", account_ref="DP-BOB")
    services.plan_import(scope=system, raw=bob)
    sue = json.loads(MARY_FILE.read_text())
    sue["person"].update(ref="SUE-9", given_name="Susan", family_name="Southerner")
    services.plan_import(scope=Scope.system(sou), raw=sue)
    import_file(scope=system, kind="visits", stream=io.BytesIO(VISITS.encode()), source="acme.csv")
    import_file(scope=system, kind="transactions", stream=io.BytesIO(TRANSACTIONS.encode()), source="bob-april.csv")
    for ref in ("MARY-86", "BOB-1"):
        status_refresh(scope=system, person_ref=ref, as_of=AS_OF)
    status_refresh(scope=Scope.system(sou), person_ref="SUE-9", as_of=AS_OF)
    clients = {}
    for role in (Role.COUNCIL_ADMIN, Role.COMMISSIONER, Role.FINANCE, Role.AUDITOR, Role.PROVIDER, Role.PERSON):
        user = django_user_model.objects.create_user(username=f"u-{role}")  # no password: force_login, no slow hashing
        Membership.objects.create(user=user, council=nor, role=role, provider=nor.providers.get(ref="ACME-CARE") if role == Role.PROVIDER else None,
                                  person=nor.people.get(ref="MARY-86") if role == Role.PERSON else None)  # fmt: skip
        client = Client()
        client.force_login(user)
        clients[str(role)] = client
    return {"council": nor, "sou": sou, "system": system, "clients": clients}


def test_finance_lists_the_councils_budgets_and_statements_only(world):
    page = world["clients"]["finance"].get("/councils/NOR/finance/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "MARY-86" in text and "BOB-1" in text and "SUE-9" not in text
    assert "bob-april.csv" in text and "acme.csv" not in text  # statements: transaction imports only
    rows = _csv(world["clients"]["finance"].get("/councils/NOR/finance/?format=csv"))
    assert rows[0][:5] == ["Person", "Mechanism", "Main provider", "Budget", "Spent"]
    assert sorted(r[0] for r in rows[1:]) == ["BOB-1", "MARY-86"]
    assert dict((r[0], r[3]) for r in rows[1:])["MARY-86"] == "4387.50"
    searched = world["clients"]["finance"].get("/councils/NOR/finance/?q=BOB")
    assert b"BOB-1" in searched.content and b"MARY-86" not in searched.content
    assert AuditEntry.objects.filter(action="export", object_id="budgets").exists()


def test_a_budgets_ledger_has_a_running_balance_a_balance_at_a_date_and_its_statement_checks(world):
    client = world["clients"]["finance"]
    mary = world["council"].people.get(ref="MARY-86")
    expected_close = ledger.balance(mary, "budget", AS_OF)
    page = client.get("/councils/NOR/finance/people/MARY-86/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "£4,387.50" in text  # the allocation
    rows = _csv(client.get("/councils/NOR/finance/people/MARY-86/?format=csv"))
    assert rows[0][:7] == ["Date", "Account", "Kind", "Source", "Memo", "Amount", "Balance"]
    kinds = [r[2] for r in rows[1:]]
    assert kinds[0] == "allocation" and kinds.count("visit") == 2
    running = Decimal(0)
    for r in rows[1:]:  # each balance is the one before plus the amount (all to the penny here)
        running += Decimal(r[5])
        assert Decimal(r[6]) == running
    assert Decimal(rows[-1][6]) == expected_close
    # 2 visits of an hour at Mary's £12.50 an hour: £4,387.50 - £25.00 = £4,362.50.
    assert expected_close == Decimal("4362.50")

    at_first = client.get("/councils/NOR/finance/people/MARY-86/?at=2026-04-07")
    assert "data-balance-at>£4,375.00<" in at_first.content.decode()  # after the first visit only
    for day in ("2026-04-05", "2026-04-06", "2026-04-12", "2026-04-13", "2026-05-17", "2027-06-01"):  # read off the statement or not
        for query in ("", "&from=2026-04-10", "&to=2026-04-10"):
            shown = client.get(f"/councils/NOR/finance/people/MARY-86/?at={day}{query}").content.decode()
            exact = ledger.balance(mary, "budget", date.fromisoformat(day))
            assert f"data-balance-at>£{round_money(exact):,}<" in shown, (day, query)
    narrowed = _csv(client.get("/councils/NOR/finance/people/MARY-86/?format=csv&from=2026-04-10&to=2026-04-30"))
    assert [r[2] for r in narrowed[1:]] == ["visit"] and narrowed[1][6] == "4362.50"

    assert_balance(scope=world["system"], person_ref="MARY-86", account="budget", day=date(2026, 4, 30), balance=Decimal("4362.00"), source="test")
    checked = client.get("/councils/NOR/finance/people/MARY-86/").content.decode()
    assert "£4,362.00" in checked and "£0.50" in checked and 'govuk-tag--red">No<' in checked
    home = client.get("/councils/NOR/finance/").content.decode()
    assert "Statements that disagree" in home and "£0.50" in home
    assertions = _csv(client.get("/councils/NOR/finance/people/MARY-86/?format=csv&table=assertions"))
    assert assertions[1][:6] == ["MARY-86", "budget", "2026-04-30", "4362.00", "4362.50", "0.50"]


def test_a_direct_payment_accounts_ledger_mirrors_its_statement(world):
    client = world["clients"]["commissioner"]
    page = client.get("/councils/NOR/finance/people/BOB-1/?account=DP-BOB")
    assert page.status_code == 200
    rows = _csv(client.get("/councils/NOR/finance/people/BOB-1/?account=DP-BOB&format=csv"))
    assert [(r[3], r[5], r[6]) for r in rows[1:]] == [("txn:T1", "1000.00", "1000.00"), ("txn:T2", "-84.38", "915.62")]
    assert client.get("/councils/NOR/finance/people/BOB-1/?account=DP-MARY").status_code == 400
    assert client.get("/councils/NOR/finance/people/MARY-86/?account=DP-BOB").status_code == 400


def test_finance_pages_are_for_council_staff_of_that_council(world):
    for role in ("council_admin", "commissioner", "finance", "auditor"):
        assert world["clients"][role].get("/councils/NOR/finance/people/MARY-86/").status_code == 200
        assert world["clients"][role].get("/councils/NOR/finance/people/SUE-9/").status_code == 404
        assert world["clients"][role].get("/councils/SOU/finance/").status_code == 404
    for role in ("provider", "person"):
        assert world["clients"][role].get("/councils/NOR/finance/").status_code == 404
        assert world["clients"][role].get("/councils/NOR/finance/people/MARY-86/").status_code == 404
        assert world["clients"][role].get("/councils/NOR/finance/people/MARY-86/?format=csv").status_code == 404
    bad = world["clients"]["finance"].get("/councils/NOR/finance/people/MARY-86/?from=30/04/2026")
    assert bad.status_code == 400 and b"From must be a date like 2026-04-30" in bad.content


def test_auditor_filters_the_councils_trail(world):
    client = world["clients"]["auditor"]
    page = client.get("/councils/NOR/audit/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "The chain of entries is unbroken" in text
    assert "Southerner" not in text and "SUE-9" not in text
    people = client.get("/councils/NOR/audit/?action=create&model=records.person").content.decode()
    nor_people = AuditEntry.objects.filter(council_id=world["council"].pk, action="create", model="records.person").count()
    assert nor_people == 2 and f"{nor_people} entries match" in people
    assert "Robert" in people and "Southerner" not in people
    rows = _csv(client.get("/councils/NOR/audit/?action=create&model=records.person&format=csv"))
    assert len(rows) == 1 + nor_people and {r[3] for r in rows[1:]} == {"create"}
    assert sorted(json.loads(r[7])["ref"] for r in rows[1:]) == ["BOB-1", "MARY-86"]
    none_tomorrow = client.get("/councils/NOR/audit/?from=2099-01-01").content.decode()
    assert "0 entries match" in none_tomorrow
    exported = client.get("/councils/NOR/audit/?action=export").content.decode()
    assert "1 entry matches" in exported  # the CSV download above, recorded as an export
    assert client.get("/councils/NOR/audit/?action=nonsense").status_code == 400
    assert client.get("/councils/NOR/audit/?from=2026-05-02&to=2026-05-01").status_code == 400
    assert client.get("/councils/NOR/audit/?page=9999").status_code == 200  # the last page


def test_the_trail_page_says_when_the_chain_is_broken(world):
    client = world["clients"]["council_admin"]
    assert b"unbroken" in client.get("/councils/NOR/audit/").content
    last = AuditEntry.objects.order_by("-seq").first()
    # An entry slipped in behind the trail's back (not through careledger.audit.trail): the head does not anchor it.
    AuditEntry.objects.create(seq=last.seq + 1, at=last.at, actor="intruder", action="update", model="records.person", object_id="1",
                              council_id=world["council"].pk, prev_hash=last.hash, hash="0" * 64)  # fmt: skip
    cached = client.get("/councils/NOR/audit/").content.decode()
    assert "unbroken" in cached  # the result this server worked out a moment ago, with when
    fresh = client.get("/councils/NOR/audit/?verify=now").content.decode()
    assert "The audit trail has been tampered with" in fresh and f"entry #{last.seq + 1}" in fresh


def test_only_administrators_and_auditors_read_the_trail(world):
    for role in ("commissioner", "finance", "provider", "person"):
        assert world["clients"][role].get("/councils/NOR/audit/").status_code == 404
        assert world["clients"][role].get("/councils/NOR/audit/?format=csv").status_code == 404
    assert world["clients"]["auditor"].get("/councils/SOU/audit/").status_code == 404
