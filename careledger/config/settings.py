"""Django settings for careledger, read from the environment.

Configuration (all optional):

``DATABASE_URL``           default ``sqlite:///<CARELEDGER_DATA_DIR>/careledger.sqlite3``;
                           production: ``postgres://user@host:5432/careledger``
``CARELEDGER_DATA_DIR``    where the SQLite file and the generated secret key live (default ``./var``)
``CARELEDGER_SECRET_KEY``  required in production; generated once and kept in the data dir otherwise
``CARELEDGER_PUSH_SIGNING_SECRET`` what push signing keys are derived from (default: the secret key)
``CARELEDGER_DEBUG``       ``1`` for Django's debug pages (never in production)
``CARELEDGER_ALLOWED_HOSTS`` comma-separated host names (default ``127.0.0.1,localhost``)
``CARELEDGER_ENV``         ``development`` (default) or ``production``: HTTPS only, secure cookies, HSTS,
                           and CARELEDGER_SECRET_KEY required, CARELEDGER_DEBUG refused
``CARELEDGER_TRUST_X_FORWARDED_PROTO`` ``1`` behind a TLS proxy that sets (overwrites) X-Forwarded-Proto
``CARELEDGER_BEHIND_TLS_PROXY`` ``1`` when that proxy also redirects http to https (Django then does not)
``CARELEDGER_LOCKOUT_MINUTES`` how long an account stays locked after 5 wrong passwords in a row (default 15)
``CARELEDGER_RESET_LIMIT``     password reset emails to one address within the window (default 3)
``CARELEDGER_RESET_WINDOW_MINUTES`` that window (default 60)
``CARELEDGER_IMPORT_STALE_MINUTES`` an import that has committed nothing for this long shows as interrupted (default 30)
``CARELEDGER_CACHE_URL``    a cache shared by every process: ``redis://host:port/db`` or ``database`` (default: in memory)
``CARELEDGER_EMAIL_HOST``/``_PORT``/``_USER``/``_PASSWORD``/``_TLS`` the SMTP server for password reset
                           emails (default ``localhost``, 25, no login, no TLS); ``CARELEDGER_EMAIL_FROM``
                           the sender (default ``careledger@localhost``)
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CARELEDGER_DATA_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


ENVIRONMENT = os.environ.get("CARELEDGER_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured(f"CARELEDGER_ENV must be 'development' or 'production', not {ENVIRONMENT!r}")
PRODUCTION = ENVIRONMENT == "production"


def _secret_key() -> str:
    key = os.environ.get("CARELEDGER_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "CARELEDGER_ENV=production needs CARELEDGER_SECRET_KEY: set it to a long random value, e.g. the output of "
            "`python -c \"import secrets; print(secrets.token_urlsafe(64))\"`, and keep it secret and stable "
            "(changing it signs everyone out). careledger does not make one up in production."
        )
    # A fresh clone or the demo: make one key and keep it, so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        try:  # owner-only from the first byte, and never overwritten by a second process starting at once
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# The secret the push signing keys are derived from (access.signing): its own, so that SECRET_KEY can be
# rotated (after a leak, say: signing everyone out) without every provider's system having to be given a
# new signing key at the same moment. Unset, it is SECRET_KEY, and rotating that changes every signing key.
PUSH_SIGNING_SECRET = os.environ.get("CARELEDGER_PUSH_SIGNING_SECRET", "").strip() or SECRET_KEY
DEBUG = _env_bool("CARELEDGER_DEBUG")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("CARELEDGER_DEBUG must be off when CARELEDGER_ENV=production: debug pages show settings and data")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("CARELEDGER_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # Swagger UI from our own static files (no CDN, no inline script, so the CSP can stay strict)
    "axes",  # counts failed sign-ins and locks the account
    "careledger.records",
    "careledger.access",
    "careledger.ingest",
    "careledger.ledger",
    "careledger.outcomes",
    "careledger.monitoring",
    "careledger.audit",
    "careledger.web",
    "govuk_frontend_django",  # GOV.UK Design System components as template tags (the CSS and JS are in careledger/web/static)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "careledger.access.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "careledger.audit.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the 429 sign-in page
]

ROOT_URLCONF = "careledger.config.urls"
WSGI_APPLICATION = "careledger.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "careledger.web.navigation.navigation",  # the service navigation for the signed-in user's roles
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'careledger.sqlite3'}"),
        conn_max_age=int(os.environ.get("CARELEDGER_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server read while an import writes; a busy timeout instead of "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768;", "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account before any password is checked
    "django.contrib.auth.backends.ModelBackend",
]
# Argon2id for new and changed passwords; the others only verify older hashes (upgraded at the next sign-in).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps, so `careledger serve` needs no collectstatic

LOGIN_URL = "/sign-in/"
LOGIN_REDIRECT_URL = "/"
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link works once, for an hour

SESSION_COOKIE_AGE = 8 * 60 * 60  # a working day; then sign in again
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "careledger.access.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy: careledger.access.middleware (strict; looser only for the API docs page).

if _env_bool("CARELEDGER_TRUST_X_FORWARDED_PROTO"):
    # Only behind a proxy that always sets or overwrites this header; otherwise a client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = not _env_bool("CARELEDGER_BEHIND_TLS_PROXY")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Sign-in lockout (django-axes): the 5th wrong password in a row locks the account, whatever the
# address it comes from, for CARELEDGER_LOCKOUT_MINUTES; a right password before then clears the count.
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = ["username"]  # not the IP: a council's staff share a few addresses
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CARELEDGER_LOCKOUT_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # tries while locked do not extend the wait
AXES_LOCKOUT_CALLABLE = "careledger.access.views.locked_out"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "user_agent"]  # masked in axes' log lines
SILENCED_SYSTEM_CHECKS = [
    # axes.W006 wants the IP address in AXES_LOCKOUT_PARAMETERS. Locking by address would let five typos
    # lock out everyone behind a council's shared address; rotating user agents or cookies does not get
    # round a lockout by username.
    "axes.W006",
]
if PRODUCTION and _env_bool("CARELEDGER_BEHIND_TLS_PROXY"):
    SILENCED_SYSTEM_CHECKS.append("security.W008")  # the proxy redirects http to https

# Password reset emails go out through an SMTP server; at most CARELEDGER_RESET_LIMIT of them to one
# address within CARELEDGER_RESET_WINDOW_MINUTES (more requests show the same page and send nothing).
PASSWORD_RESET_LIMIT = int(os.environ.get("CARELEDGER_RESET_LIMIT", "3"))
PASSWORD_RESET_WINDOW = timedelta(minutes=int(os.environ.get("CARELEDGER_RESET_WINDOW_MINUTES", "60")))
# An import still "running" that has committed no chunk for this long shows as interrupted (ImportRun.state).
IMPORT_STALE_AFTER = timedelta(minutes=int(os.environ.get("CARELEDGER_IMPORT_STALE_MINUTES", "30")))

# The cache: what the signed-push replay check remembers (access.signing) and the provider and audit pages
# keep for a few minutes. In one process (careledger serve: one process, many threads) the default, in
# memory, is enough; behind several processes or machines a replay could reach a process that has not
# seen the request, so set CARELEDGER_CACHE_URL to share one: redis://host:port/db (Django's Redis cache,
# `pip install careledger[redis]`) or "database" (a table in the database, made by careledger migrate).
CACHE_URL = os.environ.get("CARELEDGER_CACHE_URL", "").strip()
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "careledger"}}
elif CACHE_URL == "database":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "careledger_cache"}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CARELEDGER_CACHE_URL must be redis://..., rediss://..., unix://... or 'database', not {CACHE_URL.split('://')[0]!r}...")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("CARELEDGER_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CARELEDGER_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CARELEDGER_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CARELEDGER_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("CARELEDGER_EMAIL_TLS")
EMAIL_TIMEOUT = 10  # seconds: a dead mail server must not hang the page
DEFAULT_FROM_EMAIL = os.environ.get("CARELEDGER_EMAIL_FROM", "careledger@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Logs carry what happened to which record id, never names, dates of birth or notes.
# django.request logs the path only (no query string, no body); axes logs no username or address
# (AXES_VERBOSE off, AXES_SENSITIVE_PARAMETERS masked); a failed reset email is logged by user id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CARELEDGER_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# API requests allowed per token (or signed-in user): "N/s", "N/m" or "N/h".
CARELEDGER_API_RATE = os.environ.get("CARELEDGER_API_RATE", "1200/m")
