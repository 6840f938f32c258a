"""The home page: what careledger is, and for a signed-in user where to go in each council."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from careledger.access.models import Membership
from careledger.access.scope import councils_for

from ..navigation import NAV
from ..pages import page


def _destinations(user) -> list[dict]:
    """For each council: its name and the user's roles' main pages (by label and URL name)."""
    out = []
    memberships: dict[int, list[tuple[str, str | None]]] = {}
    for council_id, role, person_ref in Membership.objects.filter(user=user).values_list("council_id", "role", "person__ref"):
        memberships.setdefault(council_id, []).append((role, person_ref))
    for council in councils_for(user).order_by("name"):
        held = memberships.get(council.pk, [])
        roles = {role for role, _ in held}
        person_ref = next((ref for _, ref in held if ref), None)
        links = []
        for link in NAV:
            if not (user.is_superuser or roles & link.roles):
                continue
            kwargs = {"code": council.code}
            if link.person:
                if not person_ref:
                    continue
                kwargs["person_ref"] = person_ref
            try:
                links.append({"label": link.label, "href": reverse(link.url_name, kwargs=kwargs)})
            except NoReverseMatch:
                continue
        labels = sorted(Membership.Role(role).label for role in roles) if roles else (["Operator"] if user.is_superuser else [])
        out.append({"council": council, "roles": labels, "links": links})
    return out


@page(council=False, public=True)
def home(request):
    """Public: anyone may open it; it names no record except the signed-in user's own councils."""
    councils = _destinations(request.user) if request.user.is_authenticated else []
    return render(request, "web/home.html", {"destinations": councils})

