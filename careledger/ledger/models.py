"""The stored ledger of each personal budget, and the balance assertions made against it.

``LedgerEntry`` is ``domain.ledger.Entry`` in a table: one immutable line per
movement (allocation, contribution, payable visit, money into or out of a direct
payment account, adjustment, refund), signed from the account's point of view
(positive in, negative out). A visit carries ``rate_minutes`` (minutes x hourly
rate, exact), every other kind ``amount`` in pounds to the penny, exactly as the
domain does, so totals are summed in sixtieths of a pound and divided once.

Rows are never updated or deleted: the database refuses it (triggers on SQLite
and PostgreSQL, migration 0002). A correction is a *reversing* entry: the same
kind, account and source with the opposite value, pointing at the entry it
cancels in ``reverses`` (at most one reversal per entry: a one-to-one link).

``source_ref`` says where an entry came from: ``allocation:<budget start>``,
``contribution:<week start>``, ``visit:<visit ref>``, ``txn:<txn ref>`` (in the
account of its transaction) for what :func:`services.ledger_sync` derives from
the plan, visits and transactions; anything else (``dispute:12``, ``cli:…``) is a
manual adjustment or refund, posted once per source.

``BalanceAssertion`` (think beancount's ``balance``): on ``day`` the statement
said the account held ``statement_balance``; the ledger held ``ledger_balance``;
``difference`` is ledger minus statement (zero when they agree). Also append-only.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from careledger.domain.ledger import BUDGET_ACCOUNT, EntryKind
from careledger.ingest.models import ImportRun
from careledger.records.models import MONEY, Budget, Council, Person

# minutes x rate: a rate has at most 4 decimal places and payable minutes at most 2 (whole
# seconds that are a multiple of 3); 15 digits are what SQLite keeps exactly.
RATE_MINUTES = {"max_digits": 15, "decimal_places": 6}
MANUAL_KINDS = (EntryKind.ADJUSTMENT.value, EntryKind.REFUND.value)
DERIVED_PREFIXES = ("allocation:", "contribution:", "visit:", "txn:")


class LedgerEntry(models.Model):
    """One immutable line of a budget's ledger (see the module docstring)."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="ledger_entries")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="ledger_entries")
    account = models.CharField(max_length=64, default=BUDGET_ACCOUNT, help_text='"budget", or a direct payment account\'s ref')
    kind = models.CharField(max_length=16, choices=[(k.value, k.value.replace("_", " ").capitalize()) for k in EntryKind])
    day = models.DateField(help_text="The local date the money moved or the care was given")
    amount = models.DecimalField(**MONEY, default=0, help_text="Pounds, signed: positive is money in")
    rate_minutes = models.DecimalField(**RATE_MINUTES, default=0, help_text="A visit's minutes x hourly rate, signed (negative)")
    source_ref = models.CharField(max_length=200, help_text="visit:…, txn:…, allocation:…, contribution:…, or a manual source")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    memo = models.CharField(max_length=300, blank=True)
    posted_at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=64, help_text="user:ID, token:ID, cli or sync")

    class Meta:
        ordering = ["day", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["person", "account", "day"], name="ledger_person_account_day"),
            models.Index(fields=["budget", "source_ref"], name="ledger_budget_source"),
            # Refunds of many people at once (the recompute reads every refund of a council): few rows of many.
            models.Index(fields=["kind", "person"], name="ledger_kind_person"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["council", "source_ref"],
                condition=Q(kind__in=MANUAL_KINDS, reverses__isnull=True),
                name="ledger_manual_source_once",
            ),
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in EntryKind]), name="ledger_kind_known"),
            models.CheckConstraint(
                condition=(Q(kind="visit") & Q(amount=0)) | (~Q(kind="visit") & Q(rate_minutes=0)),
                name="ledger_visit_has_rate_minutes_only",
            ),
        ]

    def __str__(self) -> str:
        value = self.rate_minutes if self.kind == EntryKind.VISIT else self.amount
        return f"{self.day} {self.kind} {self.account} {value} ({self.source_ref})"

    @property
    def is_derived(self) -> bool:
        return self.source_ref.startswith(DERIVED_PREFIXES)


class LedgerDigest(models.Model):
    """Running sums of one budget's derived entries, kept in the same transaction as every sync's append.

    ``sums`` maps ``"<account>|<kind>"`` to ``[entries standing, value in millionths, value in
    millionths x day number]`` (reversals net off what they cancel; manual adjustments and refunds
    are not in it). The recompute compares it with what a package's figures say
    (``services.wanted_digests``) instead of reading every entry; when they differ, or an entry
    is dated after the day being judged, it counts from the entries themselves. Like the audit
    trail's chain head it is derived bookkeeping, not a record: ``careledger ledger check``
    recounts every budget's from its entries and says which differ.
    """

    budget = models.OneToOneField(Budget, primary_key=True, on_delete=models.PROTECT, related_name="+")
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    sums = models.JSONField(default=dict)
    last_day = models.DateField(null=True, blank=True, help_text="The latest day of any entry counted")
    updated_at = models.DateTimeField(auto_now=True)


class BalanceAssertion(models.Model):
    """A statement's closing balance checked against the ledger: each reports its own difference."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="balance_assertions")
    account = models.CharField(max_length=64)
    day = models.DateField(help_text="The balance at the end of this local date")
    statement_balance = models.DecimalField(**MONEY)
    ledger_balance = models.DecimalField(**MONEY, help_text="The ledger's balance found, to the penny")
    difference = models.DecimalField(**MONEY, help_text="Ledger minus statement: zero when they agree")
    source = models.CharField(max_length=200, help_text="ofx:<file sha256>, cli, api")
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    asserted_at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=64)

    class Meta:
        ordering = ["person", "account", "day", "id"]
        indexes = [models.Index(fields=["person", "account", "day"], name="assertion_person_account_day")]

    def __str__(self) -> str:
        return f"{self.account} on {self.day}: statement {self.statement_balance}, ledger {self.ledger_balance}"

    @property
    def ok(self) -> bool:
        return self.difference == 0
