"""From an actor (a signed-in user or an API token) to its :class:`Scope` in a council.

The one place that turns roles into reach:

=================  ============================  =======================================
role / token       sees                          may also
=================  ============================  =======================================
council admin      everything in the council     write plans, manage tokens, read audit
commissioner       everything in the council     write plans, send delivery data
finance officer    everything in the council     (payments, later)
auditor            everything, with history      read the audit trail; never write
provider manager   people its provider serves    send delivery data for them
person             their own records only
representative     the represented person's only
council token      everything in the council     write plans and delivery data if "write"
provider token     people its provider serves    send delivery data if "write"
=================  ============================  =======================================

A council the actor has no role in is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

from django.db.models import QuerySet

from careledger.records.errors import NotFound
from careledger.records.models import Council
from careledger.records.scoping import Scope

from .models import ApiToken, Membership, Role

STAFF_ROLES = frozenset({Role.COUNCIL_ADMIN, Role.COMMISSIONER, Role.FINANCE, Role.AUDITOR})


def actor_label(actor) -> str:
    """How the audit trail names an actor: by id, never by name."""
    if isinstance(actor, ApiToken):
        return f"token:{actor.pk}"
    if getattr(actor, "is_authenticated", False):
        return f"user:{actor.pk}"
    return "anonymous"


def councils_for(actor) -> QuerySet[Council]:
    """The councils an actor holds any role in."""
    if isinstance(actor, ApiToken):
        return Council.objects.filter(pk=actor.council_id) if actor.is_active else Council.objects.none()
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Council.objects.none()
    if actor.is_superuser:
        return Council.objects.all()
    return Council.objects.filter(pk__in=Membership.objects.filter(user=actor).values("council_id"))


def staff_councils_for(user) -> QuerySet[Council]:
    """The councils where a user holds a staff role (what the admin site shows)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Council.objects.none()
    if user.is_superuser:
        return Council.objects.all()
    return Council.objects.filter(pk__in=Membership.objects.filter(user=user, role__in=STAFF_ROLES).values("council_id"))


def scope_for(actor, council_code: str) -> Scope:
    council = councils_for(actor).filter(code=council_code).first()
    if council is None:
        raise NotFound(f"no council {council_code!r}")
    return scope_in(actor, council)


def scope_in(actor, council: Council) -> Scope:
    label = actor_label(actor)
    if isinstance(actor, ApiToken):
        write = actor.access == ApiToken.Access.WRITE
        if actor.provider_id is None:
            return Scope(council, label, whole_council=True, can_write_plans=write, can_write_delivery=write, roles=frozenset({"council_token"}))
        return Scope(council, label, provider_ids=frozenset({actor.provider_id}), can_write_delivery=write, roles=frozenset({"provider_token"}))
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return Scope.system(council, label)
    memberships = list(Membership.objects.filter(user=actor, council=council)) if getattr(actor, "is_authenticated", False) else []
    roles = frozenset(m.role for m in memberships)
    if not roles:
        raise NotFound(f"no council {council.code!r}")
    return Scope(
        council,
        label,
        whole_council=bool(roles & STAFF_ROLES),
        provider_ids=frozenset(m.provider_id for m in memberships if m.role == Role.PROVIDER),
        person_ids=frozenset(m.person_id for m in memberships if m.role in (Role.PERSON, Role.REPRESENTATIVE)),
        can_write_plans=bool(roles & {Role.COUNCIL_ADMIN, Role.COMMISSIONER}),
        can_manage=Role.COUNCIL_ADMIN in roles,
        can_read_audit=bool(roles & {Role.COUNCIL_ADMIN, Role.AUDITOR}),
        can_write_delivery=bool(roles & {Role.COUNCIL_ADMIN, Role.COMMISSIONER, Role.PROVIDER}),
        roles=roles,
    )
