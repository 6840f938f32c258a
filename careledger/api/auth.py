"""How the API knows who is calling: an API token (``Authorization: Bearer cl_…``) or a signed-in session."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth
from ninja.throttling import SimpleRateThrottle

from careledger.access.services import token_authenticate


class TokenAuth(HttpBearer):
    openapi_description = "An API token made by a council administrator (shown once when made)."

    def authenticate(self, request: HttpRequest, token: str):
        return token_authenticate(token)


class PerCallerThrottle(SimpleRateThrottle):
    """Requests per token (or per signed-in user), from ``CARELEDGER_API_RATE`` (default 1200/m)."""

    scope = "api"

    def __init__(self) -> None:
        super().__init__(settings.CARELEDGER_API_RATE)

    def allow_request(self, request: HttpRequest) -> bool:
        # Read the rate per request, so a changed setting takes effect without a restart.
        self.rate = settings.CARELEDGER_API_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        caller = getattr(request, "auth", None)
        if caller is None:
            return None  # unauthenticated requests are refused before this matters
        return self.cache_format % {"scope": self.scope, "ident": f"{type(caller).__name__}:{caller.pk}"}


api_auth = [TokenAuth(), django_auth]
