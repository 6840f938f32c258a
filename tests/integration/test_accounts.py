"""Accounts: sign in and out, lockout after repeated failures, password reset by email, security headers.

Django's ``client.login()`` cannot be used here: the lockout backend (django-axes) needs the
request, which ``login()`` does not pass. Tests sign in by posting to /sign-in/ or use ``force_login``.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.test import Client, override_settings
from django.utils import timezone

from careledger.access.middleware import DEFAULT_POLICY
from careledger.access.models import PasswordResetRequest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple-42"
LOCKED = "Too many failed attempts. Try again in 15 minutes."


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice", email="alice@example.org", password=PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(username="bob", email="bob@example.org", password=PASSWORD)


def sign_in(client, username: str, password: str, path: str = "/sign-in/"):
    return client.post(path, {"username": username, "password": password})


def signed_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


# -- signing in ---------------------------------------------------------------------------------


def test_the_sign_in_page_is_a_plain_accessible_form(client, db):
    assert settings.LOGIN_URL == "/sign-in/"
    page = client.get("/sign-in/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="en-GB"' in html
    assert '<label class="govuk-label" for="id_username">Username</label>' in html
    assert '<label class="govuk-label" for="id_password">Password</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'href="/password-reset/"' in html


def test_sign_in_with_the_right_password(client, alice):
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and response["Location"] == settings.LOGIN_REDIRECT_URL == "/"
    assert signed_in_as(client) == str(alice.pk)


def test_sign_in_returns_to_the_page_asked_for(client, alice):
    response = client.post("/sign-in/?next=/admin/", {"username": "alice", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_wrong_password_shows_an_error_summary_linked_to_the_field(client, alice):
    response = sign_in(client, "alice", "not-the-password")
    assert response.status_code == 200 and signed_in_as(client) is None
    html = response.content.decode()
    assert "<title>Error: Sign in – careledger</title>" in html
    assert 'class="govuk-error-summary"' in html
    assert '<a href="#id_username">Enter a correct username and password. Both are case-sensitive.</a>' in html


def test_empty_fields_are_named_in_the_error_summary(client, db):
    html = sign_in(client, "", "").content.decode()
    assert '<a href="#id_username">Enter your username</a>' in html
    assert '<a href="#id_password">Enter your password</a>' in html
    assert 'aria-describedby="id_username_error"' in html and 'id="id_username_error"' in html


def test_passwords_are_stored_with_argon2(alice):
    assert alice.password.startswith("argon2$argon2id$")
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_an_older_pbkdf2_hash_still_works_and_is_upgraded_at_sign_in(client, alice):
    alice.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    alice.save(update_fields=["password"])
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$")


def test_the_session_cookie_is_httponly_lax_and_ends_with_the_browser(client, alice):
    sign_in(client, "alice", PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60  # and the server forgets it after 8 hours anyway
    assert client.session.get_expiry_age() == 8 * 60 * 60


# -- lockout ------------------------------------------------------------------------------------


def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_when_right(client, alice):
    for _ in range(4):
        assert sign_in(client, "alice", "wrong-password").status_code == 200
    fifth = sign_in(client, "alice", "wrong-password")
    assert fifth.status_code == 429 and LOCKED in fifth.content.decode()  # the 5th failure locks, and says so

    sixth = sign_in(client, "alice", PASSWORD)
    assert sixth.status_code == 429
    html = sixth.content.decode()
    assert LOCKED in html and 'class="govuk-error-summary"' in html and "<title>Error: Sign in" in html
    assert signed_in_as(client) is None


def test_the_lockout_says_how_long_is_left_and_ends_after_the_cool_off(client, alice):
    from axes.models import AccessAttempt

    for _ in range(5):
        sign_in(client, "alice", "wrong-password")
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=10))
    still_locked = sign_in(client, "alice", PASSWORD)
    assert still_locked.status_code == 429
    assert "Too many failed attempts. Try again in 5 minutes." in still_locked.content.decode()

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=5, seconds=1))
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == str(alice.pk)


@override_settings(AXES_COOLOFF_TIME=timedelta(minutes=1))
def test_the_cool_off_comes_from_the_settings(client, alice):
    for _ in range(5):
        sign_in(client, "alice", "wrong-password")
    assert "Too many failed attempts. Try again in 1 minute." in sign_in(client, "alice", PASSWORD).content.decode()


def test_an_administrator_can_unlock_an_account(client, alice):
    from axes.utils import reset

    for _ in range(5):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    reset(username="alice")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_a_right_password_clears_the_count(client, alice):
    for _ in range(4):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    other = Client()
    for _ in range(4):
        assert sign_in(other, "alice", "wrong-password").status_code == 200


def test_wrong_passwords_for_one_account_do_not_lock_another(client, alice, bob):
    assert sign_in(client, "alice", "wrong-password").status_code == 200
    assert sign_in(Client(), "bob", PASSWORD).status_code == 302
    for _ in range(5):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    bobs = Client()
    assert sign_in(bobs, "bob", PASSWORD).status_code == 302 and signed_in_as(bobs) == str(bob.pk)


def test_the_lockout_is_by_account_not_by_address(alice):
    for n in range(5):
        sign_in(Client(REMOTE_ADDR=f"192.0.2.{n}"), "alice", "wrong-password")
    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "alice", PASSWORD).status_code == 429


def test_the_admin_sign_in_is_locked_out_too(client, django_user_model):
    django_user_model.objects.create_user(username="admin", password=PASSWORD, is_staff=True, is_superuser=True)
    for _ in range(5):
        client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "wrong-password"})
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_failed_sign_ins_log_neither_the_username_nor_the_address(client, alice, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(6):
        sign_in(Client(REMOTE_ADDR="203.0.113.99"), "alice", "wrong-password")
    sign_in(Client(REMOTE_ADDR="203.0.113.99"), "nobody-with-this-name", "wrong-password")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "AXES" in text  # axes did log, only without who
    assert "alice" not in text and "nobody-with-this-name" not in text and "203.0.113.99" not in text
    assert "wrong-password" not in text


# -- signing out --------------------------------------------------------------------------------


def test_sign_out_needs_a_post_and_ends_the_session(client, alice):
    client.force_login(alice)
    assert client.get("/sign-out/").status_code == 405
    assert signed_in_as(client) == str(alice.pk)

    response = client.post("/sign-out/")
    assert response.status_code == 200 and "You have signed out" in response.content.decode()
    assert signed_in_as(client) is None
    assert client.get("/admin/").status_code == 302


def test_sign_out_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/sign-out/").status_code == 403
    assert signed_in_as(client) == str(alice.pk)


# -- CSRF ---------------------------------------------------------------------------------------


def test_sign_in_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 403
    assert "Your form could not be sent" in response.content.decode()
    assert signed_in_as(client) is None


def test_sign_in_with_the_csrf_token_works(alice):
    client = Client(enforce_csrf_checks=True)
    client.get("/sign-in/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/sign-in/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and signed_in_as(client) == str(alice.pk)


# -- password reset by email --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives; Django sends to it over SMTP."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages: list[email.message.EmailMessage] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 Message accepted for delivery"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=controller.port,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_USE_TLS=False,
        ):
            yield handler
    finally:
        controller.stop()


def test_password_reset_by_email_end_to_end(client, alice, smtp_server):
    for _ in range(5):  # locked out first: a reset from the account's email also unlocks it
        sign_in(client, "alice", "wrong-password")

    assert client.get("/password-reset/").status_code == 200
    asked = client.post("/password-reset/", {"email": "Alice@Example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/password-reset/sent/"
    assert "Check your email" in client.get(asked["Location"]).content.decode()

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "alice@example.org" and mail["From"] == settings.DEFAULT_FROM_EMAIL
    assert mail["Subject"] == "Reset your careledger password"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://testserver(/password-reset/[^/\s]+/[^/\s]+/)", body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and "Set a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    assert set_password_url.endswith("/set-password/")  # the token left the address bar

    new_password = "a-brand-new-passphrase-77"
    mismatch = client.post(set_password_url, {"new_password1": new_password, "new_password2": "something-else-entirely"})
    assert mismatch.status_code == 200 and '<a href="#id_new_password2">The two passwords do not match</a>' in mismatch.content.decode()

    done = client.post(set_password_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    assert "Your password has been changed" in client.get(done["Location"]).content.decode()

    assert "This link does not work" in client.get(link, follow=True).content.decode()  # once only
    assert sign_in(Client(), "alice", PASSWORD).status_code == 200  # the old password is gone
    fresh = Client()
    assert sign_in(fresh, "alice", new_password).status_code == 302 and signed_in_as(fresh) == str(alice.pk)
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$")


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, alice, smtp_server):
    asked = client.post("/password-reset/", {"email": "nobody@example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/password-reset/sent/"
    assert smtp_server.messages == []


def test_a_malformed_address_is_explained(client, db):
    html = client.post("/password-reset/", {"email": "not an address"}).content.decode()
    assert '<a href="#id_email">Enter an email address in the correct format, like name@example.org</a>' in html


def test_reset_emails_to_one_address_are_limited_and_the_page_says_nothing_of_it(client, alice, bob, smtp_server, caplog):
    limit = settings.PASSWORD_RESET_LIMIT
    assert limit == 3  # the default
    with caplog.at_level(logging.INFO):
        answers = [client.post("/password-reset/", {"email": address}) for address in ["alice@example.org", "ALICE@example.org ", "alice@example.org", "Alice@Example.org"]]
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/password-reset/sent/")] * 4  # the fourth looks the same
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.org"] * limit  # and sends nothing
    ours = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))  # (not the test's own SMTP server)
    assert "not sent" in ours and "alice" not in ours.lower() and "example.org" not in ours
    client.post("/password-reset/", {"email": "bob@example.org"})  # another address is not held back by hers
    assert [m["To"] for m in smtp_server.messages][-1] == "bob@example.org"
    stored = list(PasswordResetRequest.objects.values_list("address_digest", flat=True))
    assert len(stored) == 5 and len(set(stored)) == 2 and not any("example" in d for d in stored)  # digests, not addresses


def test_the_reset_limit_ends_with_its_window_and_asking_again_does_not_shorten_it(client, alice, smtp_server):
    for _ in range(5):
        client.post("/password-reset/", {"email": "alice@example.org"})
    assert len(smtp_server.messages) == 3
    window = settings.PASSWORD_RESET_WINDOW
    PasswordResetRequest.objects.update(requested_at=timezone.now() - window + timedelta(minutes=1))  # all five a minute short of the window
    client.post("/password-reset/", {"email": "alice@example.org"})
    assert len(smtp_server.messages) == 3  # the refused ones count too
    PasswordResetRequest.objects.update(requested_at=timezone.now() - window)  # now outside it
    client.post("/password-reset/", {"email": "alice@example.org"})
    assert len(smtp_server.messages) == 4
    assert PasswordResetRequest.objects.count() == 1  # the old ones are gone


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers itself (transactions begin IMMEDIATE: see the next test), and its in-memory test "
    "database cannot be flushed after a transactional test (the audit trail's append-only triggers refuse DELETE)",
)
@pytest.mark.django_db(transaction=True)
def test_reset_requests_for_one_address_at_the_same_moment_are_counted_one_at_a_time():
    """Twelve requests at once (threads, each with its own connection): exactly the limit are allowed."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from careledger.access.services import reset_allowed

    n = 12
    together = threading.Barrier(n)

    def ask(_: int) -> bool:
        together.wait()
        try:
            return reset_allowed("carol@example.org")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(ask, range(n)))
    assert answers.count(True) == settings.PASSWORD_RESET_LIMIT
    assert PasswordResetRequest.objects.count() == n


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite's setting (PostgreSQL: the test above)")
def test_sqlite_transactions_begin_immediate_so_that_writers_take_turns():
    """What makes reset_allowed's count-then-insert serial on SQLite (and any other read-then-write)."""
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@override_settings(PASSWORD_RESET_LIMIT=1)
def test_the_reset_limit_comes_from_the_settings(client, alice, smtp_server):
    client.post("/password-reset/", {"email": "alice@example.org"})
    client.post("/password-reset/", {"email": "alice@example.org"})
    assert len(smtp_server.messages) == 1


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/sign-in/", "/admin/login/", "/password-reset/"])
def test_security_headers_on_pages(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == DEFAULT_POLICY
    assert "script-src 'self';" in DEFAULT_POLICY and "frame-ancestors 'none'" in DEFAULT_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_strict_policy_also_covers_errors_and_the_api(client, db):
    assert client.get("/no-such-page/")["Content-Security-Policy"] == DEFAULT_POLICY
    assert client.get("/api/v1/openapi.json")["Content-Security-Policy"] == DEFAULT_POLICY


def test_the_api_docs_load_swagger_from_this_site_with_inline_styles_only(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html and "django-ninja.dev" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html) == []  # no inline script
    policy = response["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline';" in policy and "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    for asset in re.findall(r'(?:src|href)="(/static/ninja/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


def test_the_account_pages_use_no_inline_style_or_script(client, db):
    for path in ("/sign-in/", "/password-reset/", "/password-reset/sent/", "/password-reset/done/"):
        html = client.get(path).content.decode()
        assert "<style" not in html and "style=" not in html, path
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path  # scripts only from files
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset


# -- deployment settings ------------------------------------------------------------------------


def _production_env(tmp_path, **changes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARELEDGER_", "DJANGO_"))}
    env.update(
        CARELEDGER_ENV="production",
        CARELEDGER_SECRET_KEY=secrets.token_urlsafe(64),
        CARELEDGER_ALLOWED_HOSTS="care.example.org",
        CARELEDGER_DATA_DIR=str(tmp_path),
    )
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def _manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "careledger.cli", "manage", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage(_production_env(tmp_path, CARELEDGER_SECRET_KEY=None), "check")
    assert result.returncode != 0
    assert "CARELEDGER_ENV=production needs CARELEDGER_SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()  # none was made up


def test_production_refuses_debug(tmp_path):
    result = _manage(_production_env(tmp_path, CARELEDGER_DEBUG="1"), "check")
    assert result.returncode != 0 and "CARELEDGER_DEBUG must be off" in result.stderr
