"""What every page shares: the signed-in user's scope, refusals as 404, and the server time.

A page view is decorated with :func:`page`::

    @page(roles=STAFF)
    def portfolio(request, scope, **kwargs): ...

* the user must be signed in (else 302 to the sign-in page, with ``?next=``);
* ``code`` in the URL is the council: the view gets the user's :class:`Scope` there
  (``careledger.access.scope.scope_for``) instead of ``code``; a council the user has no
  role in is 404, exactly like one that does not exist;
* ``roles``: the roles that may open the page; anyone else gets 404 too;
* :class:`~careledger.records.errors.NotFound` raised by a selector or service is 404,
  :class:`~careledger.records.errors.InvalidInput` is a 400 page saying what was wrong;
* every response carries ``Server-Timing: app;dur=<ms>`` (the view and its template),
  which the browser tests read to report each page's server time.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from careledger.access.scope import STAFF_ROLES, scope_for
from careledger.records.errors import InvalidInput, NotFound
from careledger.records.scoping import Scope

log = logging.getLogger("careledger.web")

STAFF = frozenset(STAFF_ROLES)  # council administrator, commissioner, finance officer, auditor
ALERT_HANDLERS = frozenset({"council_admin", "commissioner", "finance"})  # may acknowledge and resolve alerts
PROVIDER = frozenset({"provider"})
PEOPLE = frozenset({"person", "representative"})
EVERYONE = STAFF | PROVIDER | PEOPLE

TIMING_HEADER = "Server-Timing"


def is_operator(scope: Scope) -> bool:
    """A superuser's scope (``Scope.system``): every role's reach, though it holds no role."""
    return not scope.roles and scope.whole_council and scope.can_manage


def has_role(scope: Scope, roles: Iterable[str]) -> bool:
    return is_operator(scope) or bool(scope.roles & frozenset(roles))


def require_role(scope: Scope, roles: Iterable[str]) -> None:
    """404 (as if there were nothing there) unless the scope holds one of ``roles``."""
    if not has_role(scope, roles):
        raise Http404("not found")


def page_scope(request: HttpRequest, code: str) -> Scope:
    """The signed-in user's scope in council ``code``; 404 if they hold no role there."""
    try:
        return scope_for(request.user, code)
    except NotFound as error:
        raise Http404(str(error)) from None


def page(view: Callable | None = None, *, roles: Iterable[str] | None = None, council: bool = True, public: bool = False):
    """Decorate a page view (see the module's doc). ``council=False`` for pages with no ``code``;
    ``public=True`` for a page anyone may open signed out (it must show nothing private then)."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            started = time.perf_counter()
            if not public and not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                if council:
                    scope = page_scope(request, kwargs.pop("code"))
                    if allowed is not None:
                        require_role(scope, allowed)
                    request.scope = scope  # for the navigation
                    response = func(request, scope, *args, **kwargs)
                else:
                    response = func(request, *args, **kwargs)
            except NotFound as error:
                raise Http404(str(error)) from None
            except InvalidInput as error:
                response = render(request, "web/invalid_input.html", {"message": str(error)}, status=400)
            elapsed = (time.perf_counter() - started) * 1000
            response.headers[TIMING_HEADER] = f"app;dur={elapsed:.1f}"
            match = getattr(request, "resolver_match", None)
            log.debug("page %s %s in %.1f ms", match.view_name if match else "?", response.status_code, elapsed)
            return response

        wrapper.is_page = True
        return wrapper

    return decorate(view) if view is not None else decorate
