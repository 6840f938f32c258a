"""Which councils an account may reach, and with which roles.

This is the first, coarse layer of access control: a signed-in user reaches a
council only through a :class:`~careledger.records.models.Membership` there (or as
a superuser). A council the user may not reach is reported as not found, never
as forbidden, so its existence is not disclosed.
"""

from __future__ import annotations

from django.db.models import QuerySet

from .errors import NotFound
from .models import Council, Membership

STAFF_ROLES = {
    Membership.Role.COUNCIL_ADMIN,
    Membership.Role.COMMISSIONER,
    Membership.Role.FINANCE,
    Membership.Role.AUDITOR,
}
PLAN_WRITERS = {Membership.Role.COUNCIL_ADMIN, Membership.Role.COMMISSIONER}


def councils_for(user, roles: set[str] | None = None) -> QuerySet[Council]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Council.objects.none()
    if user.is_superuser:
        return Council.objects.all()
    memberships = Membership.objects.filter(user=user, role__in=roles or STAFF_ROLES)
    return Council.objects.filter(id__in=memberships.values("council_id"))


def council_for(user, code: str, *, write: bool = False) -> Council:
    """The council with this code, if ``user`` holds a staff role there (a plan-writing one for ``write``)."""
    council = councils_for(user, PLAN_WRITERS if write else STAFF_ROLES).filter(code=code).first()
    if council is None:
        raise NotFound(f"no council {code!r}")
    return council
