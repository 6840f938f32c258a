"""The reach of one actor (a signed-in user or an API token) within one council.

:mod:`careledger.access` builds a :class:`Scope` from memberships and tokens; the
selectors and services here take one and trust nothing else. A record outside it
is reported as :class:`~careledger.records.errors.NotFound`, exactly like one that
does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from .errors import NotFound
from .models import Council, Person, Provider


@dataclass(frozen=True)
class Scope:
    council: Council
    actor: str  # "user:12", "token:3", "cli": for the audit trail; never a name
    whole_council: bool = False  # council staff and council-wide tokens see every person
    provider_ids: frozenset[int] = field(default_factory=frozenset)  # provider managers and provider tokens
    person_ids: frozenset[int] = field(default_factory=frozenset)  # the person and their representatives
    can_write_plans: bool = False
    can_manage: bool = False  # API tokens and memberships of the council
    can_read_audit: bool = False
    can_write_delivery: bool = False  # visits, carers, transactions (providers and council systems)
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls, council: Council, actor: str = "cli") -> "Scope":
        """Everything in one council: for the operator's CLI and the demo builder, never for a request."""
        return cls(council, actor, whole_council=True, can_write_plans=True, can_manage=True, can_read_audit=True, can_write_delivery=True)

    def people(self) -> QuerySet[Person]:
        people = Person.objects.filter(council=self.council)
        if self.whole_council:
            return people
        reach = Q(id__in=self.person_ids)
        if self.provider_ids:
            reach |= Q(id__in=Person.objects.filter(council=self.council, care_plan__versions__services__provider_id__in=self.provider_ids).values("id"))
        return people.filter(reach)

    def providers(self) -> QuerySet[Provider]:
        providers = Provider.objects.filter(council=self.council)
        if self.whole_council:
            return providers
        return providers.filter(id__in=self.provider_ids)

    def person(self, ref: str) -> Person:
        person = self.people().filter(ref=ref).first()
        if person is None:
            raise NotFound(f"no person {ref!r}")
        return person

    def require(self, allowed: bool) -> None:
        """Refuse an action the scope does not allow, as not found (the caller learns nothing)."""
        if not allowed:
            raise NotFound("not found")
