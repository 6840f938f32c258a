"""Tables for delivered visits, carers, account transactions, their history, and import runs.

The current version of each item is one row (``Visit``, ``Carer``,
``Transaction``); every version it replaced is kept in the matching ``*Revision``
table, so an amendment never loses what was first reported. Rows are written
set-based by :mod:`careledger.ingest.merge` (raw SQL over a staging table), which
is why the tables keep their indexes to the few that reads need.

``DeliveryFigures`` holds each person's running totals, updated in the same
transaction as the rows that change them; ``recompute_figures`` rebuilds them
from the rows and must always agree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from careledger.formats.delivery_csv import CARER_GENDERS, VISIT_STATUSES
from careledger.records.models import MONEY, Council, PaymentAccount, Person, Provider


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ").capitalize()) for v in values]


class ImportRun(models.Model):
    """One file imported or one batch pushed: what came in, from whom, and what became of each row."""

    class Kind(models.TextChoices):
        VISITS = "visits"
        CARERS = "carers"
        TRANSACTIONS = "transactions"

    class Status(models.TextChoices):
        RUNNING = "running"  # still going, or the process died (its committed chunks stand; see ImportRun.state)
        APPLIED = "applied"  # every good row applied (rejected rows, if any, are kept below)
        REFUSED = "refused"  # all-or-nothing and some row was bad: nothing applied

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="import_runs")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="import_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=[("file", "File"), ("api", "API")])
    source = models.CharField(max_length=255, help_text="The file's name, or 'api'")
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_bytes = models.BigIntegerField(default=0)
    all_or_nothing = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(default=timezone.now, help_text="When the run began or last committed a chunk")
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.IntegerField(default=0)
    added = models.IntegerField(default=0)
    amended = models.IntegerField(default=0)
    duplicates = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0, help_text="Rows with at least one rejection")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["council", "-started_at"], name="importrun_council_recent")]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source} ({self.status})"

    INTERRUPTED = "interrupted"

    @property
    def state(self) -> str:
        """The status as a reader should take it: a run still "running" that has committed nothing for
        ``settings.IMPORT_STALE_AFTER`` is "interrupted" (its process died or was killed: what it
        committed stands, and sending the file again completes it without counting anything twice).

        Worked out when read, not swept, so nothing has to run for it to be true, and a run that
        was only slow goes back to "running" with its next chunk. A file imported all or nothing
        commits once, at its end, so its heartbeat does not move until then."""
        if self.status == self.Status.RUNNING and self.heartbeat_at is not None and timezone.now() - self.heartbeat_at > settings.IMPORT_STALE_AFTER:
            return self.INTERRUPTED
        return self.status

    @property
    def state_display(self) -> str:
        return "Interrupted" if self.state == self.INTERRUPTED else self.get_status_display()


class RejectedRow(models.Model):
    """A row kept in quarantine: where it was, which field, why, and the raw text."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    line = models.IntegerField(help_text="Line in the file (0: the file as a whole); item index for a push")
    field = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "line", "id"]


class Carer(models.Model):
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+", db_index=False)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="carers", db_index=False)
    ref = models.CharField(max_length=64)
    gender = models.CharField(max_length=12, choices=_choices(CARER_GENDERS))
    content_hash = models.CharField(max_length=64)
    version = models.IntegerField(default=1)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "ref"], name="carer_ref_unique_per_provider")]


class CarerRevision(models.Model):
    carer = models.ForeignKey(Carer, on_delete=models.CASCADE, related_name="revisions")
    version = models.IntegerField()
    gender = models.CharField(max_length=12)
    content_hash = models.CharField(max_length=64)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()
    replaced_at = models.DateTimeField()


class Visit(models.Model):
    """The latest report of one visit (``formats.md`` section 3); times are stored in UTC.

    The busiest table (millions of rows a council-year), so its foreign keys are
    not database constraints: on PostgreSQL each would fire a trigger per row at
    commit, and together they took two thirds of an import's time. Integrity holds
    by construction: every id is looked up in the same council by the import, and
    deleting a council, provider, person or run with visits is refused by Django
    (``PROTECT``).
    """

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="visits", db_index=False, db_constraint=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="visits", db_index=False, db_constraint=False)
    ref = models.CharField(max_length=64)
    service_ref = models.CharField(max_length=64)
    carer_ref = models.CharField(max_length=64, blank=True)
    planned_start = models.DateTimeField()
    planned_minutes = models.IntegerField()
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    actual_seconds = models.IntegerField(null=True, blank=True, help_text="Check-out minus check-in, in whole seconds")
    start_offset_seconds = models.IntegerField(
        null=True, blank=True,
        help_text="Check-in minus planned start, in seconds (negative when early); set only when the planned start, check-in "
        "and check-out are all whole seconds, so that the recompute's query judges lateness by integers",
    )  # fmt: skip
    status = models.CharField(max_length=24, choices=_choices(VISIT_STATUSES))
    content_hash = models.CharField(max_length=64)
    version = models.IntegerField(default=1)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "ref"], name="visit_ref_unique_per_provider")]
        indexes = [models.Index(fields=["person", "planned_start"], name="visit_person_planned")]


class VisitRevision(models.Model):
    """An earlier version of a visit, replaced by an amendment."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="revisions")
    version = models.IntegerField()
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    service_ref = models.CharField(max_length=64)
    carer_ref = models.CharField(max_length=64, blank=True)
    planned_start = models.DateTimeField()
    planned_minutes = models.IntegerField()
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    actual_seconds = models.IntegerField(null=True, blank=True)
    start_offset_seconds = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=24)
    content_hash = models.CharField(max_length=64)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()
    replaced_at = models.DateTimeField()


class Transaction(models.Model):
    """Money into (positive) or out of (negative) a direct payment account or prepaid card."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+", db_index=False)
    account = models.ForeignKey(PaymentAccount, on_delete=models.PROTECT, related_name="transactions", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="transactions", db_index=False)
    ref = models.CharField(max_length=64)
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    amount_pence = models.BigIntegerField(help_text="The amount in pence, so sums are exact integers on every database")
    counterparty = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    content_hash = models.CharField(max_length=64)
    version = models.IntegerField(default=1)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "ref"], name="txn_ref_unique_per_account")]
        indexes = [models.Index(fields=["person", "date"], name="txn_person_date")]


class TransactionRevision(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="revisions")
    version = models.IntegerField()
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    amount_pence = models.BigIntegerField(help_text="The amount in pence, so sums are exact integers on every database")
    counterparty = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    content_hash = models.CharField(max_length=64)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()
    replaced_at = models.DateTimeField()


class DeliveryFigures(models.Model):
    """One person's running totals of what has been reported, kept in step with every write."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="delivery_figures")
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+", db_index=False)
    visits = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    missed = models.IntegerField(default=0, help_text="Reported missed or cancelled by the provider")
    cancelled_by_person = models.IntegerField(default=0)
    in_progress = models.IntegerField(default=0)
    delivered_seconds = models.BigIntegerField(default=0, help_text="Clocked time of completed visits")
    amendments = models.IntegerField(default=0)
    transactions = models.IntegerField(default=0)
    money_in_pence = models.BigIntegerField(default=0)
    money_out_pence = models.BigIntegerField(default=0, help_text="As a positive number of pence")
    updated_at = models.DateTimeField(auto_now=True)

    FIELDS = ("visits", "completed", "missed", "cancelled_by_person", "in_progress", "delivered_seconds", "amendments", "transactions", "money_in_pence", "money_out_pence")
