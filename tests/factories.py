"""Shared factories: departments, agents, contacts. Plain functions, no magic."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from crm.models import Contact, ContactEmail
from queues.models import AgentProfile, Department

AGENT_PASSWORD = "demo-pass-123"


def make_department(
    slug: str = "support", *, name: str | None = None, is_24x7: bool = True
) -> Department:
    department, _ = Department.objects.get_or_create(
        slug=slug, defaults={"name": name or slug.title(), "is_24x7": is_24x7}
    )
    return department


def make_agent(
    username: str,
    departments: Iterable[Department | str] = (),
    *,
    max_chats: int = 3,
    is_supervisor: bool = False,
    first_name: str = "",
):
    user = get_user_model().objects.create_user(
        username=username, password=AGENT_PASSWORD, first_name=first_name or username.title()
    )
    profile = AgentProfile.objects.create(
        user=user, max_chats=max_chats, is_supervisor=is_supervisor
    )
    profile.departments.set(
        [d if isinstance(d, Department) else make_department(d) for d in departments]
    )
    return user


def make_contact(
    name: str = "Maria Popescu", *, external_id: str | None = None, email: str | None = None
) -> Contact:
    contact = Contact.objects.create(name=name, external_id=external_id)
    if email:
        ContactEmail.objects.create(contact=contact, email=email, is_primary=True)
    return contact
