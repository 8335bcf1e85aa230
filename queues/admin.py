"""Admin for departments (hours, holidays), agents, their tokens and presence.

An agent's profile is edited on the user's own page (`AgentUserAdmin`).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from foundation.view_only_admin import ViewOnlyAdminMixin
from queues.hours import describe_hours
from queues.models import (
    AgentApiToken,
    AgentPresence,
    AgentProfile,
    Department,
    Holiday,
    PresenceInterval,
    ProductRoute,
    WeeklyHours,
)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = [
            "name",
            "slug",
            "time_zone",
            "is_24x7",
            "routing_mode",
            "offer_timeout_s",
            "long_wait_s",
            "auto_ticket_after_s",
            "kb_search_box",
            "send_transcripts",
            "lead",
        ]

    def clean_time_zone(self) -> str:
        name = self.cleaned_data.get("time_zone", "").strip()
        if name not in _time_zones():
            raise forms.ValidationError(
                _("Unknown time zone %(name)s; use an IANA name such as Europe/Bucharest."),
                code="invalid",
                params={"name": name},
            )
        return name


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0
    verbose_name_plural = _(
        "weekly hours (local time; a closing time not after the opening runs past midnight)"
    )


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentForm
    list_display = ["name", "slug", "time_zone", "hours_summary", "routing_mode"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    autocomplete_fields = ["lead"]
    inlines = [WeeklyHoursInline, HolidayInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("hours", "holidays")

    @admin.display(description=_("business hours"))
    def hours_summary(self, department: Department) -> str:
        return describe_hours(department)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "max_chats", "is_supervisor", "languages", "skills"]
    list_filter = ["is_supervisor", "departments"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "skills"]
    filter_horizontal = ["departments"]
    autocomplete_fields = ["user"]


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    # A user without one is not an agent; "add" makes them one.
    extra = 0
    verbose_name = verbose_name_plural = _("agent profile")
    fields = ["departments", "max_chats", "is_supervisor", "languages", "skills"]
    filter_horizontal = ["departments"]


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class AgentUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, AgentProfileInline]


@admin.register(AgentApiToken)
class AgentApiTokenAdmin(admin.ModelAdmin):
    """Read-only: the secret is derived, never stored, and never shown here.

    `chatportal agent-token USER` prints a token; deleting the row revokes it.
    """

    list_display = ["user", "name", "token_prefix", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name"]
    fields = ["user", "name", "token_prefix", "created_at", "last_used_at"]
    readonly_fields = fields

    @admin.display(description=_("token starts with"))
    def token_prefix(self, token: AgentApiToken) -> str:
        # Enough to tell tokens apart in logs, useless to an attacker.
        return f"cpt_{token.public_id[:8]}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    """View only: presence changes go through queues.actions, which publish them."""

    list_display = [
        "user",
        "chosen_status",
        "published_status",
        "accepting",
        "set_by",
        "changed_at",
        "disconnected_since",
    ]
    list_filter = ["chosen_status", "published_status", "accepting"]
    list_select_related = ["user"]
    search_fields = ["user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(PresenceInterval)
class PresenceIntervalAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Presence history, written by queues.actions with each transition."""

    list_display = ["user", "status", "started_at", "ended_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    date_hierarchy = "started_at"


@admin.register(ProductRoute)
class ProductRouteAdmin(admin.ModelAdmin):
    list_display = ["product", "department", "required_skill"]
    list_select_related = ["product", "department"]
    search_fields = ["product__name", "department__name", "required_skill"]
    autocomplete_fields = ["product"]
