"""Names the signed-in user as the actor of everything a request writes to the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import reset_actor, set_actor_lazy


def request_actor(request: HttpRequest) -> str:
    """``user:ID`` for a signed-in session user, else ``anonymous`` (API tokens set their own)."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return "anonymous"


class ActorMiddleware:
    """Sets the current actor for the duration of the request, and restores it after.

    Goes right after ``AuthenticationMiddleware``. The user is looked up lazily,
    when the first entry is written, so requests that write nothing cost no query,
    and a request that signs someone in writes what follows as that user. An API
    token request calls :func:`~careledger.audit.context.set_actor` itself, which
    overrides this until the request ends.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_actor_lazy(lambda: request_actor(request))
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)
