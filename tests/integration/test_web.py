"""The web pages through Django's test client: scope (another council's or person's record is 404),
roles, forms without JavaScript, CSV downloads, and the figures the pages show."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.test import Client

from careledger.access.models import Membership, Role
from careledger.audit.models import AuditEntry
from careledger.ingest.services import import_file
from careledger.monitoring.models import Alert, PackageStatus
from careledger.monitoring.services import status_refresh
from careledger.records import services
from careledger.records.scoping import Scope
from careledger.records.selectors import today_in_london
from careledger.web.csv import safe_cell
from tests.conftest import MARY_FILE
from tests.integration.test_authorisation_matrix import MATRIX

pytestmark = pytest.mark.django_db

PAGES = sorted(route.split(" ", 1)[1] for route, rule in MATRIX.items() if route.startswith("GET /") and not route.startswith("GET /api/") and not rule.public)
VISITS = (
    "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
    "V1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:00,2026-04-06 10:00,completed\n"
    "V2,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,30,,,missed\n"
    "V3,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,2026-04-08 09:50,2026-04-08 10:50,completed\n"
)


def _plan(ref, given, family, provider):
    data = json.loads(MARY_FILE.read_text())
    data["person"].update(ref=ref, given_name=given, family_name=family)
    data["services"][0]["provider"] = provider
    return data


@pytest.fixture
def world(db, django_user_model):
    nor = services.council_create(code="NOR", name="Northshire")
    sou = services.council_create(code="SOU", name="Southshire")
    nor_system, sou_system = Scope.system(nor), Scope.system(sou)
    services.provider_create(scope=nor_system, ref="ACME-CARE", name="Acme Care Ltd")
    services.provider_create(scope=nor_system, ref="BETA-CARE", name="Beta Care")
    services.provider_create(scope=sou_system, ref="ACME-CARE", name="Acme South")
    services.plan_import(scope=nor_system, raw=json.loads(MARY_FILE.read_text()))
    services.plan_import(scope=nor_system, raw=_plan("BOB-1", "Robert", "Otherperson", "BETA-CARE"))
    services.plan_import(scope=sou_system, raw=_plan("SUE-9", "Susan", "Southerner", "ACME-CARE"))
    import_file(scope=nor_system, kind="visits", stream=io.BytesIO(VISITS.encode()), source="acme.csv")
    as_of = max(today_in_london() - timedelta(days=1), nor.people.get(ref="MARY-86").budgets.get().start_date)
    for scope, ref in ((nor_system, "MARY-86"), (nor_system, "BOB-1"), (sou_system, "SUE-9")):
        status_refresh(scope=scope, person_ref=ref, as_of=as_of)

    def client_for(role, council=nor, **extra):
        user = django_user_model.objects.create_user(username=f"{role}-{council.code}-{len(extra)}", password="a-long-test-password")
        Membership.objects.create(user=user, council=council, role=role, **extra)
        client = Client()
        client.force_login(user)
        return client

    mary = nor.people.get(ref="MARY-86")
    clients = {
        "commissioner": client_for(Role.COMMISSIONER),
        "finance": client_for(Role.FINANCE),
        "auditor": client_for(Role.AUDITOR),
        "provider": client_for(Role.PROVIDER, provider=nor.providers.get(ref="ACME-CARE")),
        "person": client_for(Role.PERSON, person=mary),
        "representative": client_for(Role.REPRESENTATIVE, person=mary),
        "south": client_for(Role.COMMISSIONER, council=sou),
    }
    mary_alert = Alert.objects.get(person=mary, code="review_overdue")  # the most serious and newest: first on the pages
    sue_alert = Alert.objects.filter(person__ref="SUE-9").order_by("id").first()
    return {"nor": nor, "sou": sou, "clients": clients, "mary_alert": mary_alert, "sue_alert": sue_alert}


def test_every_page_sends_a_visitor_who_is_not_signed_in_to_sign_in(world):
    assert len(PAGES) >= 4
    values = {"code": "NOR", "person_ref": "MARY-86", "alert_id": str(world["mary_alert"].pk)}
    for page in PAGES:
        url = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), page)
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/?next="), page
        assert b"Example" not in response.content


def test_the_portfolio_counts_and_lists_the_councils_packages_only(world):
    client = world["clients"]["commissioner"]
    response = client.get("/councils/NOR/portfolio/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mary Example" in html and "Robert Otherperson" in html and "Susan" not in html
    assert re.search(r"app-timing|Server-Timing", str(response.headers)) and float(response["Server-Timing"].split("dur=")[1]) > 0
    followed = PackageStatus.objects.get(person__ref="MARY-86").followed
    assert f">{followed.capitalize()}</strong>" in html  # the rating in words, not colour alone
    assert client.get("/councils/SOU/portfolio/").status_code == 404
    assert world["clients"]["south"].get("/councils/NOR/portfolio/").status_code == 404


def test_the_portfolio_is_for_council_staff(world):
    for role in ("provider", "person", "representative"):
        assert world["clients"][role].get("/councils/NOR/portfolio/").status_code == 404, role
    for role in ("finance", "auditor"):
        assert world["clients"][role].get("/councils/NOR/portfolio/").status_code == 200, role


def test_the_portfolio_filters_sorts_pages_and_refuses_nonsense(world):
    client = world["clients"]["commissioner"]
    html = client.get("/councils/NOR/portfolio/?provider=BETA-CARE").content.decode()
    assert "Robert Otherperson" in html and "Mary Example" not in html
    html = client.get("/councils/NOR/portfolio/?sort=person&dir=desc").content.decode()
    assert html.index("Robert Otherperson") < html.index("Mary Example") or html.index("Otherperson") < html.index("Example")
    assert 'aria-sort="descending"' in html
    bad = client.get("/councils/NOR/portfolio/?rag=purple")
    assert bad.status_code == 400 and "rating must be red, amber or green" in bad.content.decode()
    assert client.get("/councils/NOR/portfolio/?page=999&sort=nonsense").status_code == 200


def test_the_portfolio_downloads_as_csv_and_the_export_is_audited(world):
    client = world["clients"]["commissioner"]
    before = AuditEntry.objects.filter(action="export").count()
    response = client.get("/councils/NOR/portfolio/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["person_ref", "given_name", "family_name"]
    assert sorted(r[0] for r in rows[1:]) == ["BOB-1", "MARY-86"]
    mary = next(r for r in rows if r[0] == "MARY-86")
    status = PackageStatus.objects.get(person__ref="MARY-86")
    assert mary[8] == str(status.budget) and mary[9] == str(status.spent)  # exact, not rounded twice
    assert AuditEntry.objects.filter(action="export").count() == before + 1


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("+1+1") == "'+1+1"
    assert safe_cell("-27.08") == "-27.08" and safe_cell(None) == "" and safe_cell("Mary") == "Mary"


def test_the_package_page_shows_the_plan_spending_visits_and_alerts(world):
    client = world["clients"]["commissioner"]
    response = client.get("/councils/NOR/people/MARY-86/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mary Example" in html and "Acme Care Ltd" in html
    assert "<svg" in html and "The chart&#x27;s figures" in html or "The chart's figures" in html  # the chart has its table
    assert "Keep going to church on Sundays" in html  # the plan's outcome
    assert world["mary_alert"].message in html
    assert "<script" not in html.split("</footer>")[0].split("<body")[1].replace('<script src="/static/web/js-enabled.js"></script>', "")
    assert "style=" not in html


def test_the_package_page_is_404_outside_the_scope(world):
    clients = world["clients"]
    assert clients["commissioner"].get("/councils/NOR/people/SUE-9/").status_code == 404  # another council's person
    assert clients["commissioner"].get("/councils/SOU/people/SUE-9/").status_code == 404
    assert clients["provider"].get("/councils/NOR/people/MARY-86/").status_code == 200  # ACME's client
    assert clients["provider"].get("/councils/NOR/people/BOB-1/").status_code == 404  # BETA's client
    assert clients["person"].get("/councils/NOR/people/MARY-86/").status_code == 404  # the staff page; Mary has her own
    assert clients["south"].get("/councils/NOR/people/MARY-86/").status_code == 404


def test_acknowledging_an_alert_needs_a_note_and_goes_back_where_it_came_from(world):
    client = world["clients"]["commissioner"]
    alert = world["mary_alert"]
    url = f"/councils/NOR/alerts/{alert.pk}/"
    empty = client.post(url, {"action": "acknowledge", "note": "  ", "next": "/councils/NOR/portfolio/"})
    assert empty.status_code == 200 and "There is a problem" in empty.content.decode() and "<title>Error:" in empty.content.decode()
    alert.refresh_from_db()
    assert alert.status == "open"
    done = client.post(url, {"action": "acknowledge", "note": "Called the agency", "next": "/councils/NOR/portfolio/"})
    assert done.status_code == 302 and done["Location"] == "/councils/NOR/portfolio/"
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.note == "Called the agency" and alert.acknowledged_by.startswith("user:")
    assert "Alert acknowledged" in client.get("/councils/NOR/portfolio/").content.decode()
    elsewhere = client.post(url, {"action": "resolve", "note": "", "next": "https://evil.example/"})
    assert elsewhere.status_code == 302 and elsewhere["Location"] == url  # never off this site
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_alert_forms_are_scoped_and_only_for_those_who_handle_alerts(world):
    clients, alert = world["clients"], world["mary_alert"]
    url = f"/councils/NOR/alerts/{alert.pk}/"
    assert clients["auditor"].get(url).status_code == 200
    assert clients["auditor"].post(url, {"action": "acknowledge", "note": "x"}).status_code == 404  # reads, never writes
    assert clients["provider"].post(url, {"action": "acknowledge", "note": "x"}).status_code == 404
    assert clients["person"].get(url).status_code == 404
    sue = world["sue_alert"]
    assert clients["commissioner"].post(f"/councils/NOR/alerts/{sue.pk}/", {"action": "resolve"}).status_code == 404
    assert clients["commissioner"].post(f"/councils/SOU/alerts/{sue.pk}/", {"action": "resolve"}).status_code == 404
    alert.refresh_from_db()
    sue.refresh_from_db()
    assert alert.status == "open" and sue.status == "open"


def test_the_person_sees_their_own_budget_in_plain_words(world):
    clients = world["clients"]
    html = clients["person"].get("/councils/NOR/people/MARY-86/budget/").content.decode()
    assert "Your care budget" in html and "This month" in html and "Who is coming next" in html
    assert "individual service fund" in html  # explained, not just named
    for jargon in ("RAG", "ISF", "amber", "Amber"):
        assert jargon not in html, jargon
    assert "Mary’s care budget" in clients["representative"].get("/councils/NOR/people/MARY-86/budget/").content.decode()
    assert clients["person"].get("/councils/NOR/people/BOB-1/budget/").status_code == 404
    assert clients["representative"].get("/councils/SOU/people/SUE-9/budget/").status_code == 404
    assert clients["provider"].get("/councils/NOR/people/BOB-1/budget/").status_code == 404
    assert clients["commissioner"].get("/councils/NOR/people/MARY-86/budget/").status_code == 200


def test_the_home_page_links_each_role_to_its_pages(world):
    html = world["clients"]["commissioner"].get("/").content.decode()
    assert 'href="/councils/NOR/portfolio/"' in html
    html = world["clients"]["person"].get("/").content.decode()
    assert 'href="/councils/NOR/people/MARY-86/budget/"' in html and "portfolio" not in html
    assert "Sign in" in Client().get("/").content.decode()


def test_the_pages_spending_is_the_ledgers_to_the_penny(world):
    from careledger.ledger import selectors as ledger_selectors
    from careledger.web.spending import ledger_spend_rows, rows_of

    mary = world["nor"].people.get(ref="MARY-86")
    budget = mary.budgets.get()
    as_of = max(today_in_london() - timedelta(days=1), budget.start_date)
    rows = ledger_spend_rows(mary, budget.start_date, as_of)
    assert rows, "the status refresh keeps the ledger in step"
    exact = ledger_selectors.spent(mary, budget.start_date, as_of)
    entries = [e for account in ledger_selectors.accounts_of(mary) for e in ledger_selectors.domain_entries(mary, account, as_of)]
    assert sorted(rows_of(entries)) == sorted(rows)
    from careledger.domain.money import rate_minutes_to_money

    assert -rate_minutes_to_money(sum((r[2] * 60 + r[3] for r in rows), 0)) == exact
