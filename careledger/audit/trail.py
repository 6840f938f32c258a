"""Writing to the audit trail: :func:`record` appends one hash-chained entry.

An entry's hash is the SHA-256 of a canonical JSON text (sorted keys, no spaces,
ASCII only) of its fields and the previous entry's hash (:func:`entry_hash`);
:mod:`careledger.audit.verify` recomputes it the same way.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .context import current_actor
from .models import GENESIS_HASH, AuditEntry, ChainHead

# Never copied into the trail: passwords, token digests and anything called a secret.
SECRET_FIELD_NAMES = frozenset({"password", "digest"})
# What an update shows instead of a secret that changed (a password reset, say).
SECRET_MARK = "[secret]"
SECRET_CHANGED_MARK = "[secret changed]"


def is_secret_field(name: str) -> bool:
    name = name.lower()
    return name in SECRET_FIELD_NAMES or "secret" in name


def _json_value(value: Any) -> Any:
    """One field value as JSON: exact decimals and times as text, ids as numbers or text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(v) for v in value]
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """A record's stored fields as JSON-safe values, secrets left out.

    Keys are column attribute names, so a foreign key appears as its id
    (``council_id``). Many-to-many relations are not included.
    """
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if is_secret_field(field.name) or is_secret_field(field.attname):
            continue
        data[field.attname] = _json_value(_as_column(field, getattr(instance, field.attname)))
    return data


def _as_column(field: models.Field, value: Any) -> Any:
    """A value as the database gives it back (``"12.5"`` assigned to a money field reads as 12.50)."""
    if value is None or field.is_relation:
        return value
    try:
        value = field.to_python(value)
    except Exception:  # an invalid value the save itself will deal with
        return value
    if isinstance(field, models.DecimalField) and isinstance(value, Decimal) and value.is_finite():
        try:
            value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
        except Exception:
            pass
    return value


def _canonical(value: Any) -> Any:
    """Values as any database returns them from JSON: PostgreSQL's jsonb gives 1e20 back as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def canonical_json(data: Any) -> str:
    return json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def format_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    model: str,
    object_id: str,
    council_id: int | None,
    before: Any,
    after: Any,
    prev_hash: str,
) -> str:
    text = canonical_json(
        {
            "seq": seq,
            "at": format_at(at),
            "actor": actor,
            "action": action,
            "model": model,
            "object_id": str(object_id),
            "council_id": council_id,
            "before": before,
            "after": after,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """The hash an entry's stored contents should have."""
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        model=entry.model,
        object_id=entry.object_id,
        council_id=entry.council_id,
        before=entry.before,
        after=entry.after,
        prev_hash=entry.prev_hash,
    )


def as_stored(value: dict | None) -> dict | None:
    """What the JSON column will give back: plain JSON types, integral floats as integers."""
    if value is None:
        return None
    return _canonical(json.loads(json.dumps(_json_value(value), allow_nan=False)))


def record(
    action: str,
    *,
    model: str = "",
    object_id: str | int = "",
    council_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail, chained to the one before; returns it.

    ``actor`` defaults to the current actor (:func:`~careledger.audit.context.current_actor`).
    Runs in the caller's transaction (a savepoint if there is one), so a change
    that rolls back takes its entry with it. Appends are serialised on the
    :class:`~careledger.audit.models.ChainHead` row.
    """
    before = as_stored(before)
    after = as_stored(after)
    actor = (actor or current_actor())[:64]
    action = action[:32]
    model = model[:100]
    object_id = ("" if object_id is None else str(object_id))[:64]
    council_id = int(council_id) if council_id is not None else None
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        seq = head.last_seq + 1
        prev_hash = head.last_hash if head.last_seq else GENESIS_HASH
        at = timezone.now().astimezone(dt.UTC)
        digest = entry_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            model=model,
            object_id=object_id,
            council_id=council_id,
            before=before,
            after=after,
            prev_hash=prev_hash,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            model=model,
            object_id=object_id,
            council_id=council_id,
            before=before,
            after=after,
            prev_hash=prev_hash,
            hash=digest,
        )
        ChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=digest)
    return entry


def record_many(changes: list[dict], *, actor: str | None = None) -> list[AuditEntry]:
    """Append several entries at once, chained in the order given (one lock of the head, one insert).

    Each change is a dict of :func:`record`'s keyword arguments (``action``, ``model``,
    ``object_id``, ``council_id``, ``before``, ``after``). For writes made in bulk (alerts raised
    by a recompute), which send no signals: the trail says the same as one :func:`record` each.
    """
    if not changes:
        return []
    actor = (actor or current_actor())[:64]
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        seq, prev_hash = head.last_seq, head.last_hash if head.last_seq else GENESIS_HASH
        at = timezone.now().astimezone(dt.UTC)
        entries = []
        for change in changes:
            seq += 1
            fields = {
                "seq": seq, "at": at, "actor": actor, "action": change["action"][:32], "model": change.get("model", "")[:100],
                "object_id": str(change.get("object_id", ""))[:64],
                "council_id": int(change["council_id"]) if change.get("council_id") is not None else None,
                "before": as_stored(change.get("before")), "after": as_stored(change.get("after")), "prev_hash": prev_hash,
            }  # fmt: skip
            digest = entry_hash(**fields)
            entries.append(AuditEntry(**fields, hash=digest))
            prev_hash = digest
        AuditEntry.objects.bulk_create(entries)
        ChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev_hash)
    return entries


__all__ = ["record", "record_many", "snapshot", "entry_hash", "hash_of", "canonical_json", "is_secret_field"]
