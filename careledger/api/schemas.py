"""Response shapes. Money leaves as a decimal string rounded half-up to the penny."""

from __future__ import annotations

from typing import Any

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
    require_signature: bool = False


class TokenOut(Schema):
    id: int
    name: str
    access: str
    provider_ref: str | None
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    require_signature: bool = False
    secret: str | None = None
    signing_key: str | None = None

    @classmethod
    def from_token(cls, token, *, secret: str | None = None, signing_key: str | None = None) -> "TokenOut":
        return cls(
            id=token.pk,
            name=token.name,
            access=token.access,
            provider_ref=token.provider.ref if token.provider_id else None,
            prefix=token.prefix,
            created_at=token.created_at.isoformat(),
            last_used_at=token.last_used_at.isoformat() if token.last_used_at else None,
            revoked_at=token.revoked_at.isoformat() if token.revoked_at else None,
            require_signature=token.require_signature,
            secret=secret,
            signing_key=signing_key,
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


# -- delivery data ------------------------------------------------------------------------------


class PushIn(Schema):
    """A batch of up to 1,000 items, each an object with the columns of docs/formats.md sections 3 and 4."""

    items: list[Any]


class ItemError(Schema):
    field: str
    reason: str


class ItemOut(Schema):
    index: int
    ref: str | None
    outcome: str  # accepted, duplicate, amended, rejected
    errors: list[ItemError] = []


class PushOut(Schema):
    run: int
    counts: dict[str, int]
    items: list[ItemOut]

    @classmethod
    def from_result(cls, result) -> "PushOut":
        return cls(
            run=result.run.pk,
            counts=result.counts,
            items=[
                ItemOut(index=i.index, ref=i.ref, outcome=i.outcome, errors=[ItemError(field=e.field, reason=e.reason) for e in i.errors])
                for i in result.items
            ],
        )


class RejectionOut(Schema):
    line: int
    field: str
    reason: str
    raw: str


class ImportRunOut(Schema):
    id: int
    kind: str
    channel: str
    source: str
    provider_ref: str | None
    status: str
    started_at: str
    finished_at: str | None
    rows: int
    added: int
    amended: int
    duplicates: int
    rejected: int
    file_sha256: str
    rejections: list[RejectionOut] | None = None

    @classmethod
    def from_run(cls, run, *, rejections=None) -> "ImportRunOut":
        return cls(
            id=run.pk,
            kind=run.kind,
            channel=run.channel,
            source=run.source,
            provider_ref=run.provider.ref if run.provider_id else None,
            status=run.state,  # running, applied, refused, or interrupted (ImportRun.state)
            started_at=run.started_at.isoformat(),
            finished_at=run.finished_at.isoformat() if run.finished_at else None,
            rows=run.rows,
            added=run.added,
            amended=run.amended,
            duplicates=run.duplicates,
            rejected=run.rejected,
            file_sha256=run.file_sha256,
            rejections=None if rejections is None else [RejectionOut(line=r.line, field=r.field, reason=r.reason, raw=r.raw) for r in rejections],
        )


class DeliveryFiguresOut(Schema):
    """What has been reported for one person so far, updated with every accepted item."""

    person_ref: str
    visits: int
    completed: int
    missed: int
    cancelled_by_person: int
    in_progress: int
    delivered_hours: str
    amendments: int
    transactions: int
    money_in: str
    money_out: str


# -- monitoring ---------------------------------------------------------------------------------


class AlertOut(Schema):
    id: int
    person_ref: str
    code: str
    severity: str
    cause: str
    message: str
    evidence: list[str]
    status: str
    raised_at: str
    as_of: str
    note: str

    @classmethod
    def from_alert(cls, alert) -> "AlertOut":
        return cls(
            id=alert.pk, person_ref=alert.person.ref, code=alert.code, severity=alert.severity, cause=alert.cause, message=alert.message,
            evidence=list(alert.evidence), status=alert.status, raised_at=alert.raised_at.isoformat(), as_of=alert.as_of.isoformat(), note=alert.note,
        )  # fmt: skip


class AlertNoteIn(Schema):
    note: str = ""
