"""The console's ticket list: which filters exist, what they mean, how it sorts.

The filters live in the URL (a GET form), so a filtered list is a bookmark.
Everything starts from `tickets_for_agent`: an agent never sees another
department's tickets, whatever the query string says.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from queues.agent_scope import AgentScope
from queues.models import Department
from tickets.access import tickets_for_agent
from tickets.models import Ticket

PAGE_SIZE = 25
MAX_QUERY_CHARS = 100
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "unassigned"
DEFAULT_SORT = "-updated"

# Sort key in the URL -> (label, database order). Due times put tickets
# without a clock last either way; ties break on the number, newest first.
SORTS: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "-updated": (_("Recently updated"), (F("updated_at").desc(),)),
    "updated": (_("Least recently updated"), (F("updated_at").asc(),)),
    "-created": (_("Newest"), (F("created_at").desc(),)),
    "created": (_("Oldest"), (F("created_at").asc(),)),
    "-priority": (
        _("Priority, highest first"),
        (F("priority_rank").desc(), F("updated_at").desc()),
    ),
    "priority": (_("Priority, lowest first"), (F("priority_rank").asc(), F("updated_at").desc())),
    "first_response_due": (
        _("First response due, soonest first"),
        (F("first_response_due").asc(nulls_last=True),),
    ),
    "-first_response_due": (
        _("First response due, latest first"),
        (F("first_response_due").desc(nulls_last=True),),
    ),
    "resolution_due": (
        _("Resolution due, soonest first"),
        (F("resolution_due").asc(nulls_last=True),),
    ),
    "-resolution_due": (
        _("Resolution due, latest first"),
        (F("resolution_due").desc(nulls_last=True),),
    ),
}


def departments_of(scope: AgentScope) -> QuerySet[Department]:
    departments = Department.objects.order_by("name")
    return departments if scope.is_supervisor else departments.filter(pk__in=scope.department_ids)


def agents_serving(department_ids: Collection[int] | None) -> QuerySet:
    """Active agents who serve any of the departments (supervisors serve all); None: every agent."""
    agents = get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
    if department_ids is not None:
        agents = agents.filter(
            Q(agent_profile__is_supervisor=True) | Q(agent_profile__departments__in=department_ids)
        )
    return agents.distinct().order_by("first_name", "username")


def agent_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


class TicketFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=MAX_QUERY_CHARS, strip=True)
    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=Ticket.Status.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    priority = forms.MultipleChoiceField(
        label=_("Priority"),
        required=False,
        choices=Ticket.Priority.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    department = forms.ChoiceField(label=_("Department"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)
    page = forms.IntegerField(
        required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, scope: AgentScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = list(departments_of(scope))
        agents = agents_serving(None if scope.is_supervisor else scope.department_ids)
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            (ASSIGNEE_ME, _("Me")),
            (ASSIGNEE_NONE, _("Unassigned")),
            *[(agent.get_username(), agent_label(agent)) for agent in agents],
        ]
        self.fields["department"].choices = [
            ("", _("All my departments")),
            *[(d.slug, d.name) for d in self.departments],
        ]
        self.fields["channel"].choices = [("", _("Any channel")), *Ticket.Channel.choices]
        self.fields["sort"].choices = [(key, label) for key, (label, _order) in SORTS.items()]

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or DEFAULT_SORT

    def clean_page(self) -> int:
        return self.cleaned_data.get("page") or 1


def filtered_tickets(
    user: AbstractBaseUser, scope: AgentScope, filters: dict[str, Any]
) -> QuerySet[Ticket]:
    """The agent's tickets narrowed by the cleaned filters, in the chosen order."""
    tickets = tickets_for_agent(user, scope=scope)
    if filters.get("status"):
        tickets = tickets.filter(status__in=filters["status"])
    if filters.get("priority"):
        tickets = tickets.filter(priority__in=filters["priority"])
    assignee = filters.get("assignee") or ""
    if assignee == ASSIGNEE_ME:
        tickets = tickets.filter(assignee=user)
    elif assignee == ASSIGNEE_NONE:
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee:
        tickets = tickets.filter(assignee__username=assignee)
    if filters.get("department"):
        tickets = tickets.filter(department__slug=filters["department"])
    if filters.get("channel"):
        tickets = tickets.filter(channel=filters["channel"])
    query = (filters.get("q") or "").strip()
    if query:
        tickets = tickets.filter(
            Q(number__iexact=query)
            | Q(number__iexact=f"T-{query}")
            | Q(subject__icontains=query)
            | Q(contact__name__icontains=query)
            | Q(requester_name__icontains=query)
            | Q(requester_email__icontains=query)
            | Q(contact__emails__email__iexact=query)
        ).distinct()
    order = SORTS.get(filters.get("sort") or DEFAULT_SORT, SORTS[DEFAULT_SORT])[1]
    return tickets.select_related("contact", "department", "assignee").order_by(*order, "-pk")
