"""Database tables for councils, providers, contracts, people, budgets and care plans.

Every row belongs to a council (the tenant), directly or through its parent, so
scoping a query to a council is always one filter. Money is stored as exact
decimals (``DecimalField``), never floats. A care plan is a series of versions:
a change makes a new version effective from a date, and earlier versions stay.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from careledger.domain.plans import AscotDomain, DeliveryMechanism, FundingSource

MONEY = {"max_digits": 12, "decimal_places": 2}
RATE = {"max_digits": 10, "decimal_places": 4}
ref_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$", "Use letters, digits, '.', '_', '-' or '/' (at most 64)")


def choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, getattr(member, "label", member.value.replace("_", " ").capitalize())) for member in enum]


class Council(models.Model):
    """A council with adult social care duties: the tenant every other record belongs to."""

    code = models.CharField(max_length=16, unique=True, validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9\-]{0,15}$", "Upper-case letters, digits and '-'")])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    spend_policy = models.JSONField(
        default=dict,
        blank=True,
        help_text='Possibly ineligible direct payment spend: {"categories": [{"code", "label", "keywords": [...], "severity", "advice"}, ...]}; '
        "empty for the defaults (domain.md). Checked by the domain's SpendPolicy.",
    )

    class Meta:
        ordering = ["name"]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .errors import InvalidInput
        from .mapping import spend_policy_from_json

        try:
            spend_policy_from_json(self.spend_policy)
        except InvalidInput as error:
            raise ValidationError({"spend_policy": str(error)}) from None

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Provider(models.Model):
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="providers")
    ref = models.CharField(max_length=64, validators=[ref_validator])
    name = models.CharField(max_length=200)
    cqc_location_id = models.CharField("CQC location ID", max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["council", "ref"], name="provider_ref_unique_in_council")]

    def __str__(self) -> str:
        return f"{self.name} ({self.ref})"


class Contract(models.Model):
    """What a council has agreed with a provider: default rates and the monitoring rules.

    The rules default to ``formats.md`` section 5; each is a setting a council can tune.
    """

    class PaymentBasis(models.TextChoices):
        PLANNED_WITHIN_TOLERANCE = "planned_within_tolerance", "Planned time when actual is within tolerance, else actual"
        PLANNED = "planned", "Planned time"
        ACTUAL = "actual", "Actual (clocked) time"

    class Rounding(models.TextChoices):
        NEAREST = "nearest", "Nearest"
        UP = "up", "Up"
        DOWN = "down", "Down"
        NONE = "none", "No rounding"

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="contracts")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="contracts")
    ref = models.CharField(max_length=64, validators=[ref_validator])
    name = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    standard_rate = models.DecimalField(**RATE, null=True, blank=True, validators=[MinValueValidator(0)])
    weekend_rate = models.DecimalField(**RATE, null=True, blank=True, validators=[MinValueValidator(0)])
    bank_holiday_rate = models.DecimalField(**RATE, null=True, blank=True, validators=[MinValueValidator(0)])
    # Monitoring rules (formats.md section 5).
    match_window_minutes = models.PositiveIntegerField(default=120, help_text="A visit matches a slot planned within this many minutes")
    missed_after_minutes = models.PositiveIntegerField(default=120, help_text="A slot with no visit is missed this long after its planned end")
    late_after_minutes = models.PositiveIntegerField(default=30)
    short_below_percent = models.PositiveIntegerField(default=80)
    minimum_visit_minutes = models.PositiveIntegerField(default=30, help_text="NICE QS123: visits shorter than this need the plan's agreement")
    payment_basis = models.CharField(max_length=32, choices=PaymentBasis.choices, default=PaymentBasis.PLANNED_WITHIN_TOLERANCE)
    payment_tolerance_minutes = models.PositiveIntegerField(default=5)
    rounding = models.CharField(max_length=10, choices=Rounding.choices, default=Rounding.NEAREST)
    rounding_step_minutes = models.PositiveIntegerField(default=5)
    dp_surplus_weeks = models.PositiveIntegerField("Direct payment surplus above (weeks)", default=8)
    alert_thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text='When alerts fire, only what differs from the defaults, e.g. {"missed_per_week": 1, "overspend_percent": "2.5"}; '
        "checked by the domain's AlertThresholds.",
    )

    class Meta:
        ordering = ["provider__name", "ref"]
        constraints = [
            models.UniqueConstraint(fields=["council", "ref"], name="contract_ref_unique_in_council"),
            models.CheckConstraint(condition=Q(short_below_percent__lte=100), name="contract_short_percent_max_100"),
            models.CheckConstraint(
                condition=Q(rounding_step_minutes__in=[1, 5, 10, 15, 30, 60]), name="contract_rounding_step_allowed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.provider.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .errors import InvalidInput
        from .mapping import alert_thresholds_from_json

        try:
            alert_thresholds_from_json(self.alert_thresholds)
        except InvalidInput as error:
            raise ValidationError({"alert_thresholds": str(error)}) from None


class Person(models.Model):
    """Someone who draws on care. Names and birth date are personal data: never logged."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="people")
    ref = models.CharField("Council reference", max_length=64, validators=[ref_validator])
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name_plural = "people"
        constraints = [models.UniqueConstraint(fields=["council", "ref"], name="person_ref_unique_in_council")]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.ref})"


class Representative(models.Model):
    """Family member, friend or advocate who may act for or see the person's records."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="representatives")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_nominated_person = models.BooleanField(default=False, help_text="Receives and manages a direct payment for the person")

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship or 'representative'})"


class Budget(models.Model):
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="budgets")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="budgets")
    annual_amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    start_date = models.DateField()
    end_date = models.DateField()
    delivery_mechanism = models.CharField(max_length=20, choices=choices(DeliveryMechanism))
    weekly_contribution = models.DecimalField(**MONEY, default=0, validators=[MinValueValidator(0)], help_text="The person's assessed weekly contribution")

    class Meta:
        ordering = ["person", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["person", "start_date"], name="budget_one_per_person_start"),
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="budget_end_not_before_start"),
            models.CheckConstraint(condition=Q(annual_amount__gte=0), name="budget_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person.ref} {self.start_date}–{self.end_date}: £{self.annual_amount}"


class BudgetFunding(models.Model):
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="funding")
    source = models.CharField(max_length=20, choices=choices(FundingSource))
    annual_amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])

    def __str__(self) -> str:
        return f"{self.get_source_display()}: £{self.annual_amount}"


class PaymentAccount(models.Model):
    """A direct payment bank account or prepaid card: the transactions sent for it are the person's.

    Named by the plan file's ``budget.account_ref``; the ref is unique in the council,
    and an account belongs to one person for good (its history is theirs).
    """

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="payment_accounts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="payment_accounts")
    ref = models.CharField("Account reference", max_length=64, validators=[ref_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["council", "ref"]
        constraints = [models.UniqueConstraint(fields=["council", "ref"], name="payment_account_ref_unique_in_council")]

    def __str__(self) -> str:
        return self.ref


class CarePlan(models.Model):
    """A person's care and support plan; what it says lives in its versions."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="care_plans")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="care_plan")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Care plan of {self.person.ref}"


class PlanVersion(models.Model):
    """One version of a plan, in force from ``effective_from`` until the next version's date."""

    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateField()
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="plan_versions")
    carer_gender = models.CharField("Preferred carer gender", max_length=10, blank=True, choices=[("female", "Female"), ("male", "Male")])
    known_carers_only = models.BooleanField(default=False)
    review_every_weeks = models.PositiveIntegerField(null=True, blank=True)
    contingency = models.TextField(blank=True)
    document = models.JSONField(help_text="The plan file as imported (careledger/plan@1)")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=40, blank=True, help_text="Who made it: user:ID, token:ID or cli")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        get_latest_by = "number"
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.plan.person.ref} v{self.number} from {self.effective_from}"


class PlannedService(models.Model):
    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="services")
    ref = models.CharField(max_length=64)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="planned_services")
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.PROTECT)
    service_component = models.CharField(max_length=100, blank=True)
    standard_rate = models.DecimalField(**RATE)
    weekend_rate = models.DecimalField(**RATE, null=True, blank=True)
    bank_holiday_rate = models.DecimalField(**RATE, null=True, blank=True)

    class Meta:
        ordering = ["version", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "ref"], name="planned_service_ref_unique")]

    def __str__(self) -> str:
        return f"{self.ref} by {self.provider.ref}"


class VisitPattern(models.Model):
    service = models.ForeignKey(PlannedService, on_delete=models.CASCADE, related_name="visit_patterns")
    position = models.PositiveIntegerField()
    days = models.CharField(max_length=20, blank=True, help_text="RFC 5545 weekday codes, comma-separated")
    rrule = models.CharField(max_length=200, blank=True)
    start_time = models.TimeField()
    minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["service", "position"]
        constraints = [models.CheckConstraint(condition=Q(minutes__gte=1), name="visit_pattern_minutes_positive")]

    def __str__(self) -> str:
        return f"{self.days or self.rrule} at {self.start_time:%H:%M} for {self.minutes} min"


class Outcome(models.Model):
    """An outcome in the person's own words, mapped to an ASCOT domain."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="outcomes")
    ref = models.CharField(max_length=64)
    text = models.TextField()
    domain = models.CharField(max_length=30, choices=choices(AscotDomain))

    class Meta:
        ordering = ["version", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "ref"], name="outcome_ref_unique")]

    def __str__(self) -> str:
        return self.text
