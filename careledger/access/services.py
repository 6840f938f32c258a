"""Writes for access: API tokens and memberships (each checks the caller's scope first), and the count of password reset requests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from careledger.audit import trail
from careledger.audit.context import set_actor
from careledger.records.errors import InvalidInput, NotFound
from careledger.records.models import Council
from careledger.records.scoping import Scope

from .models import ApiToken, Membership, PasswordResetRequest, Role, hash_token
from .scope import actor_label

log = logging.getLogger(__name__)
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the caller once; only its hash is kept

    @property
    def signing_key(self) -> str:
        """The key for signing pushes (derived, never stored; shown with the secret)."""
        from .signing import signing_key

        return signing_key(self.token)


def token_create(*, scope: Scope, name: str, access: str, provider_ref: str | None = None, created_by=None, require_signature: bool = False) -> NewToken:
    """Make a token for a council's or a provider's system. Only council administrators may."""
    scope.require(scope.can_manage)
    if access not in ApiToken.Access.values:
        raise InvalidInput(f"access must be one of {', '.join(ApiToken.Access.values)}")
    if not name.strip():
        raise InvalidInput("a token needs a name saying what system uses it")
    provider = None
    if provider_ref:
        provider = scope.providers().filter(ref=provider_ref).first()
        if provider is None:
            raise NotFound(f"no provider {provider_ref!r} in council {scope.council.code}")
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        council=scope.council,
        provider=provider,
        name=name.strip()[:100],
        access=access,
        prefix=secret[:10],
        digest=hash_token(secret),
        require_signature=require_signature,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    log.info("api token created id=%s council=%s", token.pk, scope.council.code)
    return NewToken(token, secret)


def token_revoke(*, scope: Scope, token_id: int) -> ApiToken:
    scope.require(scope.can_manage)
    token = ApiToken.objects.filter(council=scope.council, pk=token_id).first()
    if token is None:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        log.info("api token revoked id=%s council=%s", token.pk, scope.council.code)
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The active token with this secret, or None. Records its use in the audit trail."""
    if not secret or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("council").filter(digest=hash_token(secret), revoked_at__isnull=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A plain UPDATE: the last-used time is bookkeeping, not a change the trail should list.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    set_actor(actor_label(token))
    trail.record("token_use", model="access.apitoken", object_id=token.pk, council_id=token.council_id)
    return token


@transaction.atomic
def membership_grant(*, council: Council, username: str, role: str, provider_ref: str | None = None, person_ref: str | None = None) -> Membership:
    """Give a user a role in a council (operator command; the admin site does the same for council admins)."""
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    provider = person = None
    if role == Role.PROVIDER:
        if not provider_ref:
            raise InvalidInput("a provider manager needs --provider REF")
        provider = council.providers.filter(ref=provider_ref).first()
        if provider is None:
            raise NotFound(f"no provider {provider_ref!r} in council {council.code}")
    if role in (Role.PERSON, Role.REPRESENTATIVE):
        if not person_ref:
            raise InvalidInput(f"a {role} needs --person REF")
        person = council.people.filter(ref=person_ref).first()
        if person is None:
            raise NotFound(f"no person {person_ref!r} in council {council.code}")
    membership, _ = Membership.objects.get_or_create(user=user, council=council, role=role, provider=provider, person=person)
    return membership


def reset_allowed(address: str) -> bool:
    """Count a reset request for ``address``, and say whether it is within the limit (it is counted either way:
    asking again and again does not make the wait shorter). Requests older than the window are deleted."""
    now = timezone.now()
    since = now - settings.PASSWORD_RESET_WINDOW
    digest = PasswordResetRequest.digest_of(address)
    with transaction.atomic():
        _lock_address(digest)
        PasswordResetRequest.objects.filter(requested_at__lte=since).delete()
        earlier = PasswordResetRequest.objects.filter(address_digest=digest, requested_at__gt=since).count()
        PasswordResetRequest.objects.create(address_digest=digest, requested_at=now)
    return earlier < settings.PASSWORD_RESET_LIMIT


RESET_LOCK_SPACE = 0x5EE7  # the first key of the PostgreSQL advisory locks taken by reset_allowed


def _lock_address(digest: str) -> None:
    """Requests for one address are counted one at a time, so that two at once cannot both be under the limit.

    PostgreSQL: a transaction-scoped advisory lock on the digest (its first 32 bits; two addresses that
    share them only wait for each other). SQLite: careledger's transactions begin IMMEDIATE (settings),
    taking the database's one write lock until commit, so the count and insert are already serial there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RESET_LOCK_SPACE, int(digest[:8], 16) - 2**31])
