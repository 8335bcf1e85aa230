"""Canned responses: which ones an agent may use, found by shortcut, with variables filled.

Variables are `{name}` placeholders from a fixed list; anything else in
braces stays as written. They are replaced by a plain lookup, never by
`str.format`, so a body cannot reach attributes of the values.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Q

from chat.models import CannedResponse, Conversation
from chat.queries import agent_display_name

SEARCH_LIMIT = 8
MAX_QUERY_LENGTH = 40
VARIABLE = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class CannedMatch:
    shortcut: str
    title: str
    body: str  # with the variables filled
    department: str | None  # slug; None for a global response


def search_canned_responses(
    query: str, *, department_ids: Collection[int], limit: int = SEARCH_LIMIT
) -> list[CannedResponse]:
    """Responses of these departments or global, shortcut starting with `query` first.

    A department's own response hides a global one with the same shortcut.
    """
    query = (query or "").strip().lstrip("/")[:MAX_QUERY_LENGTH]
    rows = CannedResponse.objects.filter(
        Q(department__isnull=True) | Q(department_id__in=list(department_ids))
    ).select_related("department")
    if query:
        rows = rows.filter(Q(shortcut__istartswith=query) | Q(title__icontains=query))
    chosen: dict[str, CannedResponse] = {}
    for row in rows.order_by("shortcut", "department_id"):
        current = chosen.get(row.shortcut)
        if current is None or (current.department_id is None and row.department_id is not None):
            chosen[row.shortcut] = row
    lowered = query.lower()
    ordered = sorted(
        chosen.values(), key=lambda r: (not r.shortcut.lower().startswith(lowered), r.shortcut)
    )
    return ordered[:limit]


def canned_variables(conversation: Conversation, agent) -> dict[str, str]:
    """The values for a conversation: the CRM contact first, else what the visitor typed."""
    contact = conversation.contact
    name = (contact.name if contact is not None else "") or conversation.visitor.name or ""
    first, _sep, last = name.strip().partition(" ")
    organization = ""
    if contact is not None and contact.organization_id is not None:
        organization = contact.organization.name
    return {
        "first_name": first,
        "last_name": last.strip(),
        "name": name.strip(),
        "organization": organization,
        "agent_name": agent_display_name(agent),
        "department": conversation.department.name,
    }


def fill_variables(body: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return values[key] if key in values else match.group(0)

    return VARIABLE.sub(replace, body)


def canned_matches(
    query: str, *, conversation: Conversation, agent, department_ids: Collection[int]
) -> list[CannedMatch]:
    # The conversation's own department counts too (a supervisor, an assigned transfer).
    departments = {*department_ids, conversation.department_id}
    values = canned_variables(conversation, agent)
    return [
        CannedMatch(
            shortcut=row.shortcut,
            title=row.title,
            body=fill_variables(row.body, values),
            department=row.department.slug if row.department is not None else None,
        )
        for row in search_canned_responses(query, department_ids=departments)
    ]
