"""The shared layout in a real browser: the sign-in page and the home page."""

from __future__ import annotations

from tests.browser.conftest import check_axe, login, screenshot


def test_sign_in_then_home(page):
    page.goto("/sign-in/")
    assert page.title() == "Sign in – careledger"
    check_axe(page, "sign-in")
    screenshot(page, "sign-in")
    login(page, "demo-commissioner")
    page.goto("/")
    check_axe(page, "home-commissioner")
    screenshot(page, "home-commissioner")
