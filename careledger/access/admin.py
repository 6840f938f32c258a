from __future__ import annotations

from django.contrib import admin

from careledger.records.admin import CouncilScopedAdmin

from .models import ApiToken, Membership


@admin.register(Membership)
class MembershipAdmin(CouncilScopedAdmin):
    list_display = ["user", "council", "role", "provider", "person"]
    list_filter = ["role", "council"]
    raw_id_fields = ["user", "provider", "person"]


@admin.register(ApiToken)
class ApiTokenAdmin(CouncilScopedAdmin):
    """Tokens are made and revoked through the API or `careledger token`, which show the secret once."""

    list_display = ["name", "prefix", "council", "provider", "access", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["council", "access"]
    readonly_fields = ["council", "provider", "name", "access", "prefix", "digest", "created_at", "created_by", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False
