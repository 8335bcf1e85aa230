"""Knowledge-base test helpers and personas: articles, a publisher, portal customers, a solved ticket."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils.text import slugify

from kb.actions import create_article
from kb.models import Article
from tests.factories import make_contact
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket


def make_article(
    title: str,
    body: str,
    *,
    locale: str = "en",
    audience: str = Article.Audience.PUBLIC,
    status: str = Article.Status.PUBLISHED,
) -> Article:
    return Article.objects.create(
        title=title,
        slug=slugify(title, allow_unicode=True),
        body=body,
        locale=locale,
        audience=audience,
        status=status,
    )


@pytest.fixture
def e42_article(db) -> Article:
    return make_article(
        "RZA-500 shows error E42 after a firmware update",
        "Error **E42** means the relay lost its calibration.\n\nHold *Reset* for ten seconds.",
    )


@pytest.fixture
def portal_customer(db):
    contact = make_contact("Maria Popescu", email="maria@example.com")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def other_portal_customer(db):
    contact = make_contact("Ivan Petrov", email="ivan@example.com")
    contact.portal_user = get_user_model().objects.create_user("ivan", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def publisher(support):
    """An ordinary agent who was given kb.change_article: publishes without being a supervisor."""
    from tests.factories import make_agent

    user = make_agent("petra", [support], first_name="Petra")
    user.user_permissions.add(Permission.objects.get(codename="change_article"))
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def customer(db):
    contact = make_contact("Maria Popescu", email="maria@example.com")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def solved_ticket(customer, support, support_agent):
    ticket = create_ticket(
        subject="Error E99 after updating the relay",
        body="My relay shows error E99 since the firmware update yesterday. What now?",
        contact=customer,
        channel="portal",
        department=support,
        author_role="customer",
        author_contact=customer,
    )
    add_reply(
        ticket,
        body="Checking the logs.",
        internal=True,
        author_role="agent",
        author_user=support_agent,
    )
    add_reply(
        ticket,
        body="Reload the saved settings file and convert it to the new firmware; E99 clears.",
        author_role="agent",
        author_user=support_agent,
    )
    change_status(ticket, "solved", by=support_agent)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def draft(support_agent, support):
    return create_article(
        title="Resetting a GW-4 gateway",
        body="Hold **reset** for ten seconds.",
        by=support_agent,
        departments=[support],
    )


@pytest.fixture
def internal_article(supervisor):
    return create_article(
        title="Known solution: secret service PIN",
        body="The service PIN is 4242.",
        by=supervisor,
        audience=Article.Audience.INTERNAL,
        status=Article.Status.PUBLISHED,
    )


@pytest.fixture
def public_article(supervisor):
    return create_article(
        title="Warranty terms",
        body="Every relay has a 36-month warranty.",
        by=supervisor,
        status=Article.Status.PUBLISHED,
    )
