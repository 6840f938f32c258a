"""Memberships (a user's role in a council) and API tokens (a system's key to one council or provider)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from careledger.records.models import Council, Person, Provider


class Role(models.TextChoices):
    COUNCIL_ADMIN = "council_admin", "Council administrator"
    COMMISSIONER = "commissioner", "Commissioner / care manager"
    FINANCE = "finance", "Finance officer"
    AUDITOR = "auditor", "Auditor (read-only)"
    PROVIDER = "provider", "Provider manager"
    PERSON = "person", "Person drawing on care"
    REPRESENTATIVE = "representative", "Representative of a person"


class Membership(models.Model):
    """A user's role in one council; provider managers name their provider, people and representatives their person."""

    Role = Role

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "council", "role", "provider", "person"], name="membership_unique"),
            models.CheckConstraint(
                condition=(Q(role="provider", provider__isnull=False, person__isnull=True))
                | (Q(role__in=["person", "representative"], person__isnull=False, provider__isnull=True))
                | (Q(role__in=["council_admin", "commissioner", "finance", "auditor"], provider__isnull=True, person__isnull=True)),
                name="membership_role_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} as {self.get_role_display()} in {self.council.code}"


TOKEN_PREFIX = "cl_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A key for a provider's or council's system. Only its SHA-256 is stored; the secret is shown once."""

    class Access(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="api_tokens")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens", help_text="Empty: a council-wide token")
    name = models.CharField(max_length=100, help_text="What system uses it, e.g. 'Rostering export'")
    access = models.CharField(max_length=5, choices=Access.choices, default=Access.READ)
    prefix = models.CharField(max_length=12, help_text="The first characters of the secret, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    require_signature = models.BooleanField(default=False, help_text="Refuse pushes not signed with the token's signing key (HMAC-SHA256)")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_secret() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class PasswordResetRequest(models.Model):
    """One request for a password reset email, by a keyed digest of the address asked for (never the
    address itself), kept for as long as it counts against ``PASSWORD_RESET_LIMIT`` and then deleted.

    A reset form that sends an email on every request lets anyone fill someone's inbox, or make the
    council's mail server a nuisance; the limit bounds both, and the page looks the same either way."""

    address_digest = models.CharField(max_length=64)
    requested_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["address_digest", "requested_at"], name="reset_request_by_address")]

    @staticmethod
    def digest_of(address: str) -> str:
        """HMAC-SHA256 of the address (trimmed, lower case) under the SECRET_KEY: equal for one address, unreadable."""
        key = hashlib.sha256(b"careledger password reset request|" + settings.SECRET_KEY.encode()).digest()
        return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()
