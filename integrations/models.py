"""Outgoing webhooks: where to send (endpoints), what is owed (deliveries), what happened (attempts)."""

from __future__ import annotations

import secrets
import uuid

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from foundation.webhooks import WEBHOOK_EVENTS


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL of the company's that hears of the events it subscribes to, signed with its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        default=new_secret,
        help_text=_("Signs every delivery (HMAC-SHA256); the receiver checks it."),
    )
    event_types = models.JSONField(
        _("event types"),
        default=list,
        help_text=_("The events sent to this URL."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event: str) -> bool:
        return event in self.event_types and event in WEBHOOK_EVENTS


class WebhookDelivery(models.Model):
    """One event owed to one endpoint: written in the change's transaction, sent after it.

    `body` is the exact JSON sent on every attempt; each attempt signs it
    with a fresh timestamp.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("given up")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The same for every endpoint the event went to: receivers drop repeats by it.
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event_type = models.CharField(_("event"), max_length=40)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the row is next due; a claim moves it past the send timeout (a lease).
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="integrations_webhook_due_idx",
                condition=Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One try at a delivery: the delivery log the admin shows."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    attempted_at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    # The start of the receiver's answer, for whoever debugs the integration.
    response_excerpt = models.CharField(_("response"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        # "Retry now" in the admin starts the count again: time orders the log.
        ordering = ["delivery", "attempted_at", "pk"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
