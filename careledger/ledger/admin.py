"""Django admin: the ledger and its balance assertions, read-only (entries are never changed)."""

from __future__ import annotations

from django.contrib import admin

from careledger.records.admin import CouncilScopedAdmin

from .models import BalanceAssertion, LedgerEntry


class ReadOnly(CouncilScopedAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnly):
    list_display = ["day", "person", "account", "kind", "amount", "rate_minutes", "source_ref", "reverses", "actor", "posted_at"]
    list_filter = ["kind", "council"]
    search_fields = ["person__ref", "source_ref", "account"]
    list_select_related = ["person", "reverses"]
    date_hierarchy = "day"


@admin.register(BalanceAssertion)
class BalanceAssertionAdmin(ReadOnly):
    list_display = ["day", "person", "account", "statement_balance", "ledger_balance", "difference", "source", "asserted_at"]
    list_filter = ["council"]
    search_fields = ["person__ref", "account"]
    list_select_related = ["person"]
