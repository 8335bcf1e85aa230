"""Departments, their hours, agents and their API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    class RoutingMode(models.TextChoices):
        AUTO = "auto", _("automatic")
        MANUAL = "manual", _("manual (agents pick)")

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    is_24x7 = models.BooleanField(_("open 24x7"), default=False)
    routing_mode = models.CharField(
        max_length=8, choices=RoutingMode.choices, default=RoutingMode.AUTO
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WeeklyHours(models.Model):
    """One opening interval on one weekday, in the department's time zone."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
                 (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))]
    )
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["department", "weekday", "opens"]
        verbose_name_plural = "weekly hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["department", "date"], name="queues_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    departments = models.ManyToManyField(Department, blank=True, related_name="agents")
    max_chats = models.PositiveSmallIntegerField(_("max chats"), default=3)
    is_supervisor = models.BooleanField(_("supervisor"), default=False)
    languages = models.CharField(_("languages"), max_length=50, blank=True, default="en")

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class AgentApiToken(models.Model):
    """An integration's credential.

    The secret is derived (HMAC of `public_id` under SECRET_KEY), never stored,
    so `chatportal agent-token` can print it again; deleting the row revokes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="default")
    public_id = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"
