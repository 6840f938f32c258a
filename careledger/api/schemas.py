"""Response shapes. Money leaves as a decimal string rounded half-up to the penny."""

from __future__ import annotations


from ninja import Schema

from careledger.domain.money import format_money


class CouncilOut(Schema):
    code: str
    name: str


class PersonOut(Schema):
    ref: str
    given_name: str
    family_name: str
    delivery_mechanism: str | None
    annual_budget: str | None

    @classmethod
    def from_person(cls, person) -> "PersonOut":
        budget = next(iter(person.budgets.all()), None)
        return cls(
            ref=person.ref,
            given_name=person.given_name,
            family_name=person.family_name,
            delivery_mechanism=budget.delivery_mechanism if budget else None,
            annual_budget=format_money(budget.annual_amount) if budget else None,
        )


class PlanCostOut(Schema):
    weekly_hours: str
    weekly_cost: str
    annual_cost_52_weeks: str
    period_cost: str
    budget: str
    headroom: str
    fits_budget: bool
    visits_in_period: int
    visits_by_rate: dict[str, int]


class PlanImportOut(Schema):
    person_ref: str
    version: int
    effective_from: str
    outcome: str




class TokenIn(Schema):
    name: str
    access: str = "read"
    provider_ref: str | None = None


class TokenOut(Schema):
    id: int
    name: str
    access: str
    provider_ref: str | None
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    secret: str | None = None

    @classmethod
    def from_token(cls, token, *, secret: str | None = None) -> "TokenOut":
        return cls(
            id=token.pk,
            name=token.name,
            access=token.access,
            provider_ref=token.provider.ref if token.provider_id else None,
            prefix=token.prefix,
            created_at=token.created_at.isoformat(),
            last_used_at=token.last_used_at.isoformat() if token.last_used_at else None,
            revoked_at=token.revoked_at.isoformat() if token.revoked_at else None,
            secret=secret,
        )


class AuditEntryOut(Schema):
    seq: int
    at: str
    actor: str
    action: str
    model: str
    object_id: str
    before: dict | None
    after: dict | None
    hash: str

    @classmethod
    def from_entry(cls, entry) -> "AuditEntryOut":
        return cls(
            seq=entry.seq,
            at=entry.at.isoformat(),
            actor=entry.actor,
            action=entry.action,
            model=entry.model,
            object_id=entry.object_id,
            before=entry.before,
            after=entry.after,
            hash=entry.hash,
        )
