"""Browser tests: the real server (waitress, `careledger serve`) on a demo council, driven by Chromium.

* The demo is built ONCE per test session, by the real command (`careledger demo --no-serve
  --people 40`, visits up to yesterday), into a database of its own: a SQLite file in a
  temporary folder, or, when DATABASE_URL names PostgreSQL, a database named after it with
  ``_browser`` added (made afresh and dropped at the end). pytest-django's test database is
  not touched, so these tests and the others never see each other's rows.
* Chromium is the system's (Debian's /usr/bin/chromium, or CARELEDGER_CHROMIUM): Playwright
  never downloads a browser. With no Chromium the tests are skipped with a loud reason,
  except under CI (CI=true), where that is a failure.
* ``login(page, username)`` signs a demo login in through the sign-in form;
  ``check_axe(page, name)`` fails on any serious or critical axe-core violation;
  ``screenshot(page, name)`` saves a full-page PNG to var/test/screenshots/;
  ``timings`` collects each page's server time (its Server-Timing header), written to
  var/test/screenshots/timings.json at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

# Playwright's sync API keeps an event loop running in the test thread for the whole session, so the
# Django tests that a pytest-xdist worker runs after a browser test would be refused as "async".
# The browser tests talk to a separate server process; in this process nothing is really async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "var" / "test" / "screenshots"
CARELEDGER_CMD = Path(sys.executable).with_name("careledger")
DEMO_PEOPLE = int(os.environ.get("CARELEDGER_BROWSER_PEOPLE", "40"))
PASSWORD = "careledger-demo"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def chromium_path() -> str | None:
    wanted = os.environ.get("CARELEDGER_CHROMIUM")
    for candidate in ([wanted] if wanted else []) + list(CHROMIUM_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def _no_browser(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"BROWSER TESTS CANNOT RUN IN CI: {reason}", pytrace=False)
    message = f"\n\n*** BROWSER TESTS SKIPPED: {reason} ***\n*** (scripts/test installs Debian's chromium when run as root with apt) ***\n"
    print(message, file=sys.stderr)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp: Path) -> tuple[str, callable]:
    """The browser tests' own database, and how to drop it afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp / 'browser.sqlite3'}", lambda: None
    import psycopg

    parsed = urlparse(url)
    # One database per pytest-xdist worker (gw0, gw1...), so parallel runs never share it.
    name = (parsed.path.lstrip("/") or "careledger") + "_browser" + os.environ.get("PYTEST_XDIST_WORKER", "")
    admin = urlunparse(parsed._replace(path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path="/" + name)), lambda: run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        _no_browser("no Chromium found (looked for /usr/bin/chromium; set CARELEDGER_CHROMIUM to another)")
    return path


@pytest.fixture(scope="session")
def live_server_url(chromium):
    """Build the demo once into its own database and serve it with `careledger serve`; yields the base URL."""
    tmp = Path(tempfile.mkdtemp(prefix="careledger-browser-"))
    url, drop = _database_url(tmp)
    env = {**os.environ, "DATABASE_URL": url, "CARELEDGER_DATA_DIR": str(tmp), "CARELEDGER_DEMO_PASSWORD": PASSWORD}
    env.pop("CARELEDGER_DEBUG", None)
    started = time.perf_counter()
    build = subprocess.run([str(CARELEDGER_CMD), "demo", "--no-serve", "--people", str(DEMO_PEOPLE)], env=env, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"the demo did not build:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}", pytrace=False)
    print(f"\n[browser] demo of {DEMO_PEOPLE} people built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    port = _free_port()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen([str(CARELEDGER_CMD), "serve", "--port", str(port), "--threads", "4"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/sign-in/", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"the server stopped:\n{(tmp / 'server.log').read_text()[-3000:]}", pytrace=False)
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a test extra
        _no_browser("the playwright package is not installed (pip install -e '.[test]')")
    from django.db import connections

    # Django keeps its connections per context, and while Playwright's sync API runs, this thread's code runs
    # in Playwright's: the Django tests after this one use a connection of that context. Close it before
    # Playwright stops, or it stays open, idle, and the test database cannot be dropped at the end ("is
    # being accessed by other users"); and close the one from before, which that context never sees.
    connections.close_all()
    with sync_playwright() as p:
        try:
            instance = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        except Exception as error:  # noqa: BLE001 - any launch failure means no browser here
            _no_browser(f"Chromium at {chromium} would not start: {error}")
        yield instance
        instance.close()
        connections.close_all()


@pytest.fixture
def page(browser, live_server_url, timings):
    """A fresh browser context (no cookies) per test, its base URL the live server; records server times."""
    context = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(15_000)

    def record(response):
        header = response.headers.get("server-timing", "")
        if response.request.resource_type == "document" and "dur=" in header:
            path = urlparse(response.url).path
            timings.setdefault(path, []).append(float(header.split("dur=")[1].split(";")[0].split(",")[0]))

    page.on("response", record)
    yield page
    context.close()


@pytest.fixture
def phone(browser, live_server_url):
    """A phone-sized page (390 x 844, touch), for the person's page."""
    context = browser.new_context(base_url=live_server_url, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="en-GB", timezone_id="Europe/London")  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def timings():
    collected: dict[str, list[float]] = {}
    yield collected
    if collected:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        (ARTEFACTS / "timings.json").write_text(json.dumps(collected, indent=2, sort_keys=True))


def login(page, username: str, password: str = PASSWORD) -> None:
    """Sign a demo login in through the sign-in form, as a person would."""
    page.goto("/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/sign-in/" not in page.url, f"{username} could not sign in"


def check_axe(page, name: str) -> None:
    """Run axe-core on the page as it is; fail on any serious or critical violation (all listed in the artefact)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / f"{name}.axe.json").write_text(json.dumps(violations, indent=2))
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    summary = "\n".join(f"  {v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})" for v in bad)
    assert not bad, f"axe found serious or critical problems on {name} ({page.url}):\n{summary}"


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page to var/test/screenshots/NAME.png (a test artefact) and return its path."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
