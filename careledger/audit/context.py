"""Who is acting now: the label the audit trail writes in each entry's ``actor``.

Labels name an actor by id, never by name (no personal data): ``user:12``,
``token:3``, ``cli``, ``system:demo``, ``anonymous``. Outside any request or
command the actor is ``system``.

The value lives in a :class:`contextvars.ContextVar`, so each thread (and each
asyncio task) has its own. :class:`~careledger.audit.middleware.ActorMiddleware`
sets it for a web request; the CLI and the demo builder set it with
:func:`acting_as`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

DEFAULT_ACTOR = "system"

# A label, or a function that works it out when first needed (the middleware's lazy request.user).
_actor: ContextVar[str | Callable[[], str]] = ContextVar("careledger_audit_actor", default=DEFAULT_ACTOR)


def set_actor(label: str) -> Token:
    """Make ``label`` the current actor; pass the returned token to :func:`reset_actor` to undo."""
    if not isinstance(label, str) or not label:
        raise ValueError("an actor label is a non-empty string such as 'user:12'")
    return _actor.set(label)


def set_actor_lazy(resolve: Callable[[], str]) -> Token:
    """Like :func:`set_actor`, but ``resolve()`` is only called when an entry is written."""
    return _actor.set(resolve)


def reset_actor(token: Token) -> None:
    _actor.reset(token)


def current_actor() -> str:
    value = _actor.get()
    if callable(value):
        try:
            value = value()
        except Exception:  # never let working out who it is stop the write itself
            return "unknown"
    return value or DEFAULT_ACTOR


@contextmanager
def acting_as(label: str) -> Iterator[str]:
    """``with acting_as("cli"): ...``: everything written inside is by ``label``."""
    token = set_actor(label)
    try:
        yield label
    finally:
        reset_actor(token)


__all__ = ["DEFAULT_ACTOR", "acting_as", "current_actor", "reset_actor", "set_actor", "set_actor_lazy"]
