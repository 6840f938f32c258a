"""The audit trail's tables: an append-only, hash-chained log and the head that anchors it.

Each :class:`AuditEntry` carries the SHA-256 of its own contents and of the entry
before it (``prev_hash``), so changing any entry breaks its own hash and deleting
one breaks the sequence (``seq`` runs 1, 2, 3 … without gaps). :class:`ChainHead`
records the newest entry's number and hash, so deleting the newest entries is
seen too. Writing goes through :func:`careledger.audit.trail.record` only.

Append-only is enforced twice: here (the ORM refuses to change or delete an
entry) and in the database (migration 0002 adds triggers that refuse UPDATE
and DELETE on the table, on PostgreSQL and SQLite).
"""

from __future__ import annotations

from django.db import models

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only: they cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only: they cannot be deleted")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEntry(models.Model):
    """One thing that happened: who, when, what, and the record before and after."""

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"
        SIGN_IN = "sign_in"
        SIGN_IN_FAILED = "sign_in_failed"
        SIGN_OUT = "sign_out"
        EXPORT = "export"
        TOKEN_USE = "token_use"
        TOKEN_CREATE = "token_create"
        TOKEN_REVOKE = "token_revoke"

    seq = models.PositiveBigIntegerField(unique=True, help_text="1, 2, 3 … with no gaps")
    at = models.DateTimeField(help_text="When it happened (UTC)")
    actor = models.CharField(max_length=64, help_text="user:ID, token:ID, cli, system…: never a name")
    action = models.CharField(max_length=32, db_index=True)
    model = models.CharField(max_length=100, blank=True, help_text="app_label.model of the record, e.g. records.person")
    object_id = models.CharField(max_length=64, blank=True)
    # A plain number, not a foreign key: the trail outlives and sits below the records it describes.
    council_id = models.BigIntegerField(null=True, blank=True)  # indexed with seq (Meta.indexes)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["council_id", "-seq"], name="audit_council_seq"),
            models.Index(fields=["model", "object_id"], name="audit_model_object"),
        ]

    def __str__(self) -> str:
        what = f" {self.model} {self.object_id}" if self.model else ""
        return f"#{self.seq} {self.action}{what} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"audit entry #{self.seq} is append-only: it cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"audit entry #{self.seq} is append-only: it cannot be deleted")


class ChainHead(models.Model):
    """The single row (id 1) holding the newest entry's number and hash.

    Locked (``SELECT … FOR UPDATE``) by every append, so entries are numbered
    one at a time; compared with the newest entry by ``verify``.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_single_row")]

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"
