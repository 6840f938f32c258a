"""The service navigation: the links each signed-in user's roles open, in the council they are in.

``NAV`` lists every link once: a label, a URL name in the ``web`` namespace and the roles it is
for. A link whose URL does not exist (yet) is left out, so a page can be listed before it is built.
The council is the one in the URL (``code``), else the user's first council.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from careledger.access.models import Membership
from careledger.access.scope import councils_for

from .pages import PEOPLE, PROVIDER, STAFF


@dataclass(frozen=True)
class Link:
    label: str
    url_name: str
    roles: frozenset[str]
    person: bool = False  # the URL names the user's own person (the person and their representative)


NAV: tuple[Link, ...] = (
    Link("Packages", "web:portfolio", STAFF),
    Link("Your packages", "web:provider", PROVIDER),
    Link("Finance", "web:finance", frozenset({"council_admin", "commissioner", "finance", "auditor"})),
    Link("Audit trail", "web:audit", frozenset({"council_admin", "auditor"})),
    Link("Your budget", "web:person", PEOPLE, person=True),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    active: bool


def _items(request) -> tuple[object | None, list[NavItem]]:
    user = request.user
    match = getattr(request, "resolver_match", None)
    code = (match.kwargs.get("code") if match else None) or None
    councils = councils_for(user)
    council = councils.filter(code=code).first() if code else None
    if council is None:
        council = councils.order_by("name").first()
    if council is None:
        return None, []
    memberships = list(Membership.objects.filter(user=user, council=council).values_list("role", "person__ref"))
    roles = {role for role, _ in memberships}
    person_ref = next((ref for role, ref in memberships if ref), None)
    items = []
    here = request.path
    for link in NAV:
        if not (user.is_superuser or roles & link.roles):
            continue
        kwargs = {"code": council.code}
        if link.person:
            if not person_ref:
                continue
            kwargs["person_ref"] = person_ref
        try:
            href = reverse(link.url_name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        items.append(NavItem(link.label, href, here.startswith(href)))
    return council, items


def navigation(request) -> dict:
    """Context processor: ``nav_council`` and ``nav_items`` (empty when signed out)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"nav_council": None, "nav_items": []}
    council, items = _items(request)
    return {"nav_council": council, "nav_items": items}
