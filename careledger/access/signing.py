"""Signed pushes: HMAC-SHA256 of the request body with a key shared with the sending system.

A system that pushes delivery data may sign each request (and a token made with
``require_signature`` must)::

    X-Careledger-Timestamp: 1790000000            (Unix seconds, UTC)
    X-Careledger-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>

The request is refused if the timestamp is more than :data:`WINDOW_SECONDS` from
the server's clock, if the signature is wrong, or if the same signature was seen
within the window (a replay). The key is derived from the token's stored digest
and the server's push signing secret (``CARELEDGER_PUSH_SIGNING_SECRET``, else the
secret key), so nothing more is stored and a copy of the database alone does not give
it away; it is shown once, with the token. Changing that secret changes every signing
key: set it apart from ``CARELEDGER_SECRET_KEY`` to rotate the secret key alone.

Replays are remembered in Django's cache: with several server processes, set a
shared cache, or a replay could reach another process within the window (the
push itself is idempotent, so a replay can only repeat what was already done).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache

from .models import ApiToken

WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "X-Careledger-Timestamp"
SIGNATURE_HEADER = "X-Careledger-Signature"


class SignatureError(Exception):
    """Why a signed request was refused (said to the caller; never logged with the body)."""


def signing_key(token: ApiToken) -> str:
    return hmac.new(settings.PUSH_SIGNING_SECRET.encode(), f"careledger-push-signing:{token.digest}".encode(), hashlib.sha256).hexdigest()


def sign(key: str, body: bytes, timestamp: int) -> str:
    return "sha256=" + hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(token: ApiToken, headers, body: bytes, *, now: float | None = None) -> bool:
    """Check a request's signature; True if it was signed and valid, False if unsigned (and allowed)."""
    stamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if stamp is None and given is None:
        if token.require_signature:
            raise SignatureError(f"this token must sign its requests ({SIGNATURE_HEADER} and {TIMESTAMP_HEADER})")
        return False
    if stamp is None or given is None:
        raise SignatureError(f"a signed request needs both {SIGNATURE_HEADER} and {TIMESTAMP_HEADER}")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be whole Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > WINDOW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {WINDOW_SECONDS // 60} minutes from the server's clock")
    expected = sign(signing_key(token), body, timestamp)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureError("the signature does not match the body")
    if not cache.add(f"careledger:signature:{token.pk}:{expected}", 1, timeout=2 * WINDOW_SECONDS):
        raise SignatureError("this signed request was already received (replay)")
    return True
