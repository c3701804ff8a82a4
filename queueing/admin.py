from django.contrib import admin

from center.admin import ReadOnlyAdmin
from queueing import models


@admin.register(models.Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "code", "center")


@admin.register(models.Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ("number", "center", "status", "operator")
    filter_horizontal = ("services",)


@admin.register(models.Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("code", "service_date", "status", "priority", "desk", "issued_at")
    list_filter = ("status", "service_date")
    exclude = ("token_hash",)


@admin.register(models.TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "kind", "ticket", "desk", "at")
    list_filter = ("kind",)


@admin.register(models.TextMessage)
class TextMessageAdmin(ReadOnlyAdmin):
    """The outbox of texts to visitors: what the default sender "sent"."""

    list_display = ("created_at", "ticket", "kind", "phone", "status", "body")
    list_filter = ("kind", "status")
    search_fields = ("ticket__code", "phone")


@admin.register(models.TextConsent)
class TextConsentAdmin(ReadOnlyAdmin):
    list_display = ("case", "phone", "given_at", "assisted_by_staff")


@admin.register(models.Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("given_at", "ticket", "rating", "comment")
    list_filter = ("rating",)
