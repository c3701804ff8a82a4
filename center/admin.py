from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from center import models


@admin.register(models.Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(models.StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "center")


@admin.register(models.CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "skill", "expected_service_s", "active")


@admin.register(models.PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    list_display = ("handle", "display_name", "kind", "status", "suspension_reason")
    list_filter = ("kind", "status")
    search_fields = ("handle", "display_name")


@admin.register(models.Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("at", "status", "purpose", "visitor", "turned_away_reason")
    list_filter = ("status", "purpose")


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("reference", "case_type", "status", "opened_at")
    list_filter = ("status", "case_type")
    search_fields = ("reference", "account_handle")


@admin.register(models.Resolution)
class ResolutionAdmin(admin.ModelAdmin):
    list_display = ("case", "outcome", "reason_code", "decided_by", "decided_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to staff with the permission; never editable or deletable from any page."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "subject")
    list_filter = ("action",)
    search_fields = ("subject",)
