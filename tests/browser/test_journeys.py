"""Each role's main journey in Chromium on the demo council, with axe on every page and screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import check_axe, login, screenshot


def test_a_commissioner_finds_a_red_package_opens_it_and_acknowledges_an_alert(page):
    login(page, "demo-commissioner")
    page.get_by_role("link", name="Packages").first.click()
    page.wait_for_url(re.compile(r"/councils/DEMO/portfolio/"))
    expect(page.get_by_role("heading", name="Packages", level=1)).to_be_visible()
    check_axe(page, "portfolio")
    screenshot(page, "portfolio")

    # The count of red packages for "Is the plan followed?" is a link to them.
    followed = page.locator(".app-rag-card", has_text="Is the plan followed?")
    followed.get_by_role("link", name=re.compile("needs action now")).click()
    page.wait_for_url(re.compile(r"question=followed&rag=red"))
    first_row = page.locator("table.govuk-table tbody tr").first
    assert first_row.locator(".govuk-tag").first.inner_text() == "Red"
    name = first_row.locator("th a").inner_text()
    first_row.locator("th a").click()
    page.wait_for_url(re.compile(r"/councils/DEMO/people/[^/]+/$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.locator("svg.app-chart")).to_be_visible()
    expect(page.locator("table.app-chart-table")).to_be_visible()
    check_axe(page, "package")
    screenshot(page, "package")

    # The first alert: open its evidence, try without a note (refused), then say what is being done.
    alert = page.locator("#alerts ~ ul .app-alert").first
    message = alert.locator("p.govuk-body").first.inner_text()
    alert.locator("summary").click()
    alert.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert "Say what is being done" in page.locator(".govuk-error-summary").inner_text()
    check_axe(page, "alert-error")
    page.get_by_label("What is being done about it").fill("Called the provider; a review visit is booked for Friday.")
    page.get_by_role("button", name=re.compile("^Acknowledge")).click()
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_be_visible()
    assert "Alert acknowledged" in banner.inner_text() and message in banner.inner_text()
    screenshot(page, "package-acknowledged")


def test_an_alert_can_be_resolved_without_javascript(browser, live_server_url):
    context = browser.new_context(base_url=live_server_url, java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        login(page, "demo-admin")
        page.goto("/councils/DEMO/portfolio/#alerts")
        first = page.locator(".app-alert").first
        first.get_by_role("link", name=re.compile("^Evidence")).click()
        page.wait_for_url(re.compile(r"/councils/DEMO/alerts/\d+/$"))
        screenshot(page, "alert")  # (axe needs JavaScript: the alert page is checked with it in the journey above)
        page.get_by_label("What is being done about it").fill("Dealt with at the review.")
        page.get_by_role("button", name=re.compile("^Resolve")).click()
        assert "Alert resolved" in page.locator(".govuk-notification-banner").inner_text()
        expect(page.locator(".govuk-summary-list").get_by_text("Resolved").first).to_be_visible()
    finally:
        context.close()


def test_mary_sees_her_budget_this_month_and_who_is_coming_next_on_her_phone(phone):
    login(phone, "demo-mary")
    phone.get_by_role("link", name="Your budget").last.click()
    phone.wait_for_url(re.compile(r"/councils/DEMO/people/MARY-86/budget/$"))
    expect(phone.get_by_role("heading", name="Your care budget", level=1)).to_be_visible()
    panel = phone.locator("section.app-panel")
    assert "Money for your care this month" in panel.inner_text() and "£" in panel.locator(".app-big-number").first.inner_text()
    coming = phone.locator(".app-next-visits li")
    assert coming.count() >= 1 and "Acme Care Ltd" in coming.first.inner_text()
    body = phone.locator("main").inner_text()
    for jargon in ("RAG", "ISF", "Amber"):
        assert jargon not in body
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    check_axe(phone, "person-phone")
    screenshot(phone, "person-phone")


def test_marys_son_sees_her_budget_and_nobody_elses(page):
    login(page, "demo-family")
    page.goto("/councils/DEMO/people/MARY-86/budget/")
    expect(page.get_by_role("heading", name="Mary’s care budget", level=1)).to_be_visible()
    check_axe(page, "person-family")
    screenshot(page, "person-family")
    response = page.goto("/councils/DEMO/people/P000002/budget/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    check_axe(page, "not-found")
