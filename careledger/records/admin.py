"""Django admin for council staff: browse and edit councils, providers, people, budgets and plans.

Non-superusers see only the councils where they hold a staff role. Plan versions
are read-only here: a plan changes by importing a new version, so history stays.
"""

from __future__ import annotations

from django.contrib import admin

from . import models as m
from careledger.access.scope import staff_councils_for as councils_for


class CouncilScopedAdmin(admin.ModelAdmin):
    council_path = "council"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.council_path}__in": councils_for(request.user)})

    def get_list_filter(self, request):
        # A plain "council" filter would list every council's name; offer only those in view.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if isinstance(name, str) and name.split("__")[-1] == "council" else name
            for name in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            related = db_field.related_model
            councils = councils_for(request.user)
            if related is m.Council:
                kwargs["queryset"] = councils
            elif any(f.name == "council" for f in related._meta.get_fields()):
                # Providers, people, budgets...: only those of the user's councils.
                kwargs["queryset"] = related._default_manager.filter(council__in=councils)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(m.Council)
class CouncilAdmin(CouncilScopedAdmin):
    council_path = "id"
    list_display = ["code", "name", "created_at"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if request.user.is_superuser else queryset.filter(id__in=councils_for(request.user))


class ContractInline(admin.StackedInline):
    model = m.Contract
    extra = 0
    fk_name = "provider"
    exclude = ["council"]


@admin.register(m.Provider)
class ProviderAdmin(CouncilScopedAdmin):
    list_display = ["ref", "name", "council", "cqc_location_id"]
    list_filter = ["council"]
    search_fields = ["ref", "name"]
    inlines = [ContractInline]

    def save_formset(self, request, form, formset, change):
        for contract in formset.save(commit=False):
            contract.council = form.instance.council
            contract.save()
        formset.save_m2m()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(m.Contract)
class ContractAdmin(CouncilScopedAdmin):
    list_display = ["ref", "provider", "standard_rate", "weekend_rate", "bank_holiday_rate", "payment_basis"]
    list_filter = ["council", "payment_basis"]
    search_fields = ["ref", "provider__name"]


class RepresentativeInline(admin.TabularInline):
    model = m.Representative
    extra = 0


class BudgetInline(admin.TabularInline):
    model = m.Budget
    extra = 0
    fields = ["start_date", "end_date", "annual_amount", "delivery_mechanism", "weekly_contribution"]
    show_change_link = True


@admin.register(m.Person)
class PersonAdmin(CouncilScopedAdmin):
    list_display = ["ref", "given_name", "family_name", "council"]
    list_filter = ["council", "budgets__delivery_mechanism"]
    search_fields = ["ref", "given_name", "family_name"]
    inlines = [RepresentativeInline, BudgetInline]


class FundingInline(admin.TabularInline):
    model = m.BudgetFunding
    extra = 0


@admin.register(m.Budget)
class BudgetAdmin(CouncilScopedAdmin):
    list_display = ["person", "annual_amount", "start_date", "end_date", "delivery_mechanism"]
    list_filter = ["council", "delivery_mechanism"]
    search_fields = ["person__ref", "person__family_name"]
    raw_id_fields = ["person"]
    inlines = [FundingInline]


class PlanVersionInline(admin.TabularInline):
    model = m.PlanVersion
    extra = 0
    fields = ["number", "effective_from", "budget", "review_every_weeks", "created_at", "created_by", "note"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(m.CarePlan)
class CarePlanAdmin(CouncilScopedAdmin):
    list_display = ["person", "council", "created_at"]
    list_filter = ["council"]
    search_fields = ["person__ref", "person__family_name"]
    raw_id_fields = ["person"]
    inlines = [PlanVersionInline]


class PlannedServiceInline(admin.TabularInline):
    model = m.PlannedService
    extra = 0
    fields = ["ref", "provider", "service_component", "standard_rate", "weekend_rate", "bank_holiday_rate"]
    readonly_fields = fields
    can_delete = False


class OutcomeInline(admin.TabularInline):
    model = m.Outcome
    extra = 0
    readonly_fields = ["ref", "text", "domain"]
    can_delete = False


@admin.register(m.PlanVersion)
class PlanVersionAdmin(CouncilScopedAdmin):
    council_path = "plan__council"
    list_display = ["plan", "number", "effective_from", "created_at"]
    list_filter = ["plan__council"]
    search_fields = ["plan__person__ref"]
    inlines = [PlannedServiceInline, OutcomeInline]
    readonly_fields = [f.name for f in m.PlanVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
