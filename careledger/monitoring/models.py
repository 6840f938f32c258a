"""Alerts raised on packages, with their lifecycle (open, acknowledged with a note, resolved)."""

from __future__ import annotations

from django.db import models

from careledger.records.models import Council, Person


class Alert(models.Model):
    """One alert of :mod:`careledger.domain.alerts`; a cause is raised once per person, ever."""

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    class Severity(models.TextChoices):
        HIGH = "high"
        MEDIUM = "medium"
        LOW = "low"

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="alerts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="alerts")
    code = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    cause = models.CharField(max_length=128, help_text="What it is about; the same cause is never raised twice")
    message = models.TextField()
    evidence = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    as_of = models.DateField(help_text="The date the package was judged at when this was raised")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["person", "cause"], name="alert_cause_once_per_person")]
        indexes = [models.Index(fields=["council", "status"], name="alert_council_status")]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity}) {self.cause}"


class PackageStatus(models.Model):
    """The last computed status of one person's package, for the portfolio (worst first).

    It is stale when delivery data arrived after it was computed
    (``DeliveryFigures.updated_at`` later than ``computed_at``), or the plan changed;
    :func:`~careledger.monitoring.services.status_refresh` brings it up to date.
    """

    RAG_ORDER = {"red": 0, "amber": 1, "green": 2}

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="package_status")
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    computed_at = models.DateTimeField()
    mechanism = models.CharField(max_length=20)
    provider_ref = models.CharField(max_length=64, blank=True, help_text="The main provider (of the plan's first service)")
    followed = models.CharField(max_length=5)
    affordable = models.CharField(max_length=5)
    working = models.CharField(max_length=5)
    worst = models.SmallIntegerField(help_text="0 red, 1 amber, 2 green: the worst of the three")
    reds = models.SmallIntegerField(default=0)
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    spent = models.DecimalField(max_digits=12, decimal_places=2)
    forecast_variance = models.DecimalField(max_digits=12, decimal_places=2)
    open_alerts = models.IntegerField(default=0)
    status = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["council", "worst", "-reds"], name="packagestatus_worst")]
