"""The reports page's filters: a GET form that becomes `reports.kpis.KpiFilters`.

An agent who is no supervisor reports on their own departments only: the
department and agent choices are limited to them, and with no department
chosen the filters still name them all (never the whole company).
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from queues.agent_scope import AgentScope
from queues.models import Department
from reports.kpis import KpiFilters
from tickets.models import Ticket

DEFAULT_DAYS = 30
MAX_DAYS = 92


def with_default_period(query: QueryDict) -> QueryDict:
    """`query` with the default period (the last DEFAULT_DAYS days) where it names none,
    so that the form shows the dates it reports on."""
    data = query.copy()
    if not data.get("date_from") and not data.get("date_to"):
        today = timezone.localdate()
        data["date_from"] = (today - datetime.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        data["date_to"] = today.isoformat()
    return data


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("All"),
    )
    agent = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("All"),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)

    def __init__(self, *args: Any, scope: AgentScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        departments = Department.objects.order_by("name")
        agents = get_user_model().objects.filter(agent_profile__isnull=False, is_active=True)
        if not scope.is_supervisor:
            departments = departments.filter(pk__in=scope.department_ids)
            agents = agents.filter(agent_profile__departments__in=scope.department_ids)
        self.fields["department"].queryset = departments
        self.fields["agent"].queryset = agents.distinct().order_by("first_name", "username")
        self.fields["agent"].label_from_instance = lambda user: (
            user.get_full_name() or user.get_username()
        )
        self.fields["channel"].choices = [("", _("All")), *Ticket.Channel.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.localdate()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if date_to < date_from:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def kpi_filters(self, **overrides: Any) -> KpiFilters:
        data = self.cleaned_data
        departments: tuple[int, ...] = ()
        if data.get("department"):
            departments = (data["department"].pk,)
        elif not self.scope.is_supervisor:
            # Own departments only (an agent with none reports on nothing).
            departments = tuple(sorted(self.scope.department_ids)) or (0,)
        values: dict[str, Any] = {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "tz": settings.TIME_ZONE,
            "department_ids": departments,
            "agent_ids": (data["agent"].pk,) if data.get("agent") else (),
            "channels": (data["channel"],) if data.get("channel") else (),
        }
        values.update(overrides)
        return KpiFilters(**values)

    def query(self, **changes: Any) -> str:
        """The form's query string (for links: drill-down, a day), with `changes`."""
        data = self.cleaned_data
        params = {
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
            "department": data["department"].pk if data.get("department") else "",
            "agent": data["agent"].pk if data.get("agent") else "",
            "channel": data.get("channel") or "",
        }
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})
