"""Outcomes agreed with the person, reviews that rate them, and incidents (complaints, concerns, disputes).

Every table belongs to a council (the tenant) and is audited (``outcomes`` is in
``audit.receivers.AUDITED_APPS``): each create and change is in the trail with who
did it. Ratings and scores are on ASCOT's four levels (``domain.outcomes.Level``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from careledger.domain.outcomes import Level
from careledger.domain.plans import AscotDomain
from careledger.ingest.models import Visit
from careledger.records.models import MONEY, Council, Person, PlanVersion, Provider, choices, ref_validator

LEVELS = [(level.value, level.label) for level in Level]
CHANGES = [("improving", "Improving"), ("same", "Same"), ("worse", "Worse")]


class Outcome(models.Model):
    """An outcome in the person's own words, in one ASCOT domain, with who agreed it and when.

    A plan's ``outcomes`` become these rows when first rated or recorded (agreed on
    the plan version's date); others are recorded directly, at a review or between them.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Working towards it"
        ACHIEVED = "achieved", "Achieved"
        ENDED = "ended", "No longer wanted"

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="outcome_records")
    ref = models.CharField(max_length=64, validators=[ref_validator])
    text = models.TextField(help_text="In the person's own words")
    domain = models.CharField(max_length=30, choices=choices(AscotDomain))
    agreed_on = models.DateField()
    agreed_by = models.CharField(max_length=300, help_text="Who agreed it: the person, family, worker (no need for full names)")
    baseline = models.CharField(max_length=16, choices=LEVELS, blank=True, help_text="How things were when it was agreed")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    ended_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, help_text="plan:v<number> when it came from the care plan")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["person", "agreed_on", "id"]
        constraints = [models.UniqueConstraint(fields=["person", "ref"], name="outcome_record_ref_unique_per_person")]

    def __str__(self) -> str:
        return f"{self.person.ref}/{self.ref}"


class Review(models.Model):
    """A review of a person's package: who took part, how, each outcome rated, their words, what was decided."""

    class Method(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        PHONE = "phone", "By phone"
        VIDEO = "video", "By video call"
        PAPER = "paper", "Paper or self-review"

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reviews")
    held_on = models.DateField()
    due_on = models.DateField(null=True, blank=True, help_text="When it was due (on the plan's cadence)")
    method = models.CharField(max_length=10, choices=Method.choices)
    participants = models.JSONField(default=list, help_text="Who took part, e.g. the person, their son, the social worker")
    comments = models.TextField(blank=True, help_text="The person's own comments")
    decisions = models.TextField(blank=True)
    domain_ratings = models.JSONField(default=dict, help_text="ASCOT domain -> level, as rated or from the outcomes")
    quality_of_life = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Out of 24 (3/2/1/0 per domain)")
    plan_version = models.OneToOneField(PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="review",
                                        help_text="The plan version this review made")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["person", "held_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "held_on"], name="review_one_per_person_day"),
            models.CheckConstraint(condition=Q(quality_of_life__lte=24), name="review_quality_of_life_max_24"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.person.ref} on {self.held_on}"


class Rating(models.Model):
    """One outcome as rated at one review, with the rating before it and the change."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="ratings")
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="ratings")
    level = models.CharField(max_length=16, choices=LEVELS)
    previous_level = models.CharField(max_length=16, choices=LEVELS, blank=True)
    change = models.CharField(max_length=10, choices=CHANGES, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "id"]
        constraints = [models.UniqueConstraint(fields=["review", "outcome"], name="rating_one_per_outcome_per_review")]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.review.held_on}: {self.level}"


class Incident(models.Model):
    """A complaint, service failure, safeguarding concern or dispute about a person's care.

    A safeguarding concern is a flag and a link to the council's case record only: the
    case work happens there. A dispute names its parties; when settled with an agreed
    payment adjustment, that is posted to the ledger once (``ledger_source``).
    """

    class Kind(models.TextChoices):
        MISSED_VISIT = "missed_visit", "Missed visit complaint"
        LATE_VISIT = "late_visit", "Late or short visit complaint"
        SERVICE_FAILURE = "service_failure", "Service failure"
        SAFEGUARDING = "safeguarding", "Safeguarding concern (flag only)"
        DISPUTE = "dispute", "Dispute"
        OTHER = "other", "Other complaint"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Being looked into"
        SETTLED = "settled", "Settled"
        CLOSED = "closed", "Closed without settlement"

    OPEN_STATUSES = ("open", "investigating")

    class Owner(models.TextChoices):
        COUNCIL = "council", "The council"
        PROVIDER = "provider", "The provider"

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="incidents")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    summary = models.TextField()
    happened_on = models.DateField()
    raised_by = models.CharField(max_length=40, help_text="user:ID, token:ID or cli")
    raised_as = models.CharField(max_length=20, blank=True, help_text="The role it was raised in: person, representative, provider, council")
    parties = models.JSONField(default=list, help_text="For a dispute: council, person, provider")
    safeguarding_link = models.URLField(max_length=500, blank=True, help_text="The council's safeguarding record (no case work here)")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.COUNCIL)
    notes = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    settled_on = models.DateField(null=True, blank=True)
    settled_by = models.CharField(max_length=40, blank=True)
    adjustment_amount = models.DecimalField(**MONEY, null=True, blank=True, help_text="Agreed payment adjustment, signed: positive credits the budget")
    adjustment_kind = models.CharField(max_length=12, blank=True, choices=[("refund", "Refund"), ("adjustment", "Adjustment")])
    ledger_source = models.CharField(max_length=200, blank=True, help_text="The ledger entry's source_ref")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-happened_on", "-id"]
        indexes = [models.Index(fields=["council", "status"], name="incident_council_status")]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="safeguarding") | ~Q(safeguarding_link=""), name="incident_safeguarding_has_link"),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk} ({self.kind}) for {self.person.ref}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class IncidentVisit(models.Model):
    """A visit an incident is about (a missed visit complained of, say)."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="visit_links")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["incident", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "visit"], name="incident_visit_once")]

    def __str__(self) -> str:
        return f"{self.incident_id}: visit {self.visit_id}"
