"""Webhook endpoints are configured here; deliveries and their attempts are the log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from foundation.view_only_admin import ViewOnlyAdminMixin
from foundation.webhooks import WEBHOOK_EVENTS
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.sending import kick_delivery


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "secret", "event_types", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "is_active", "event_list"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]

    @admin.display(description=_("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)


class WebhookAttemptInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["state", "event_type", "endpoint"]
    search_fields = ["event_id"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "body",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["retry_now"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrations.change_webhookdelivery")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        # A given-up delivery gets a fresh round of attempts (the receiver was fixed).
        count = queryset.exclude(state=WebhookDelivery.State.DELIVERED).update(
            state=WebhookDelivery.State.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        kick_delivery()
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", count) % count,
            messages.SUCCESS,
        )
