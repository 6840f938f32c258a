"""Finance opens a budget's ledger; the auditor filters the audit trail. In a real browser, on the demo,
with axe-core on every page and screenshots saved as test artefacts. Nothing here writes to the demo
(apart from the export entries the CSV downloads add to the trail)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import check_axe, login, screenshot


def test_finance_opens_a_budgets_ledger(page):
    login(page, "demo-finance")
    page.get_by_role("link", name="Finance").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Finance"
    check_axe(page, "finance")
    screenshot(page, "finance")
    page.get_by_label("Person or provider reference").fill("MARY-86")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="MARY-86 ledger").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "MARY-86"
    rows = page.locator("#ledger-table tbody tr")
    assert rows.count() > 10  # the allocation and a year's visits so far, 100 to a page
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[1] == "Allocation" and first[4] == "£4,387.50" and first[5] == "£4,387.50"
    balances = rows.locator("td:nth-child(6)").all_inner_texts()
    assert all(re.fullmatch(r"−?£[\d,]+\.\d\d", b) for b in balances)
    assert page.locator("[data-balance-at]").inner_text().startswith("£")
    check_axe(page, "finance-ledger")
    screenshot(page, "finance-ledger")
    page.get_by_label("Balance at").fill("2026-04-06")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "at=2026-04-06" in page.url
    assert page.get_by_text("At the end of 6 April 2026").count() == 1


def test_auditor_filters_the_audit_trail(page):
    login(page, "demo-auditor")
    page.get_by_role("link", name="Audit trail").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Audit trail"
    assert page.get_by_text("The chain of entries is unbroken").count() == 1
    check_axe(page, "audit-trail")
    screenshot(page, "audit-trail")
    page.get_by_label("Action").select_option("create")
    page.get_by_label("Record type").select_option("records.person")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert "action=create" in page.url and "model=records.person" in page.url
    heading = page.locator("h2#entries").inner_text()
    assert re.fullmatch(r"\d+ entries match", heading), heading
    matched = int(heading.split()[0])
    rows = page.locator("#audit-table tbody tr")
    assert matched >= 40 and rows.count() == min(50, matched)  # every demo person's creation, 50 to a page
    assert set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"create"}
    page.locator("#audit-table details summary").first.click()
    expect(page.locator("#audit-table details[open] pre").first).to_be_visible()
    check_axe(page, "audit-trail-filtered")
    screenshot(page, "audit-trail-filtered")
    page.get_by_label("Record type").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Next page").click()
    page.wait_for_load_state()
    assert "page=2" in page.url and "action=create" in page.url
    assert set(page.locator("#audit-table tbody tr td:nth-child(4)").all_inner_texts()) == {"create"}
    response = page.goto("/councils/DEMO/finance/people/MARY-86/")
    assert response.status == 200  # auditors read the ledgers too
    page.goto("/councils/DEMO/audit/?from=2099-01-01")
    assert page.locator("h2#entries").inner_text() == "0 entries match"
