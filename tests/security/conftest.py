"""Personas and helpers for the security suite.

The socket helpers are the chat suite's (tests/chat/conftest.py); the
personas are our own so each attack names its attacker and its victim.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from chatportal.asgi import application
from crm.models import Organization
from tests.chat.conftest import HOST, ORIGIN
from tests.factories import make_contact, make_department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

PASSWORD = "demo-pass-123"

# What an attacker puts in every field a page may render.
XSS_PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
)
# The markup that must never appear as such: the raw payload, unescaped.
XSS_MARKERS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", 'href="javascript:')

# Strings that break naive query building or path handling.
HOSTILE_STRINGS = (
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE tickets_ticket; --",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "\x00",
    "a" * 5000,
    "Ţară şi ţărm — Жёлтый 🙂",
    "{'$gt': ''}",
    "__proto__",
    "T-1001' OR '1'='1",
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters (link requests, visitor messages) live in the cache.
    cache.clear()
    yield
    cache.clear()


def make_customer(name: str, email: str, *, organization=None):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    contact = make_contact(name, email=email)
    contact.portal_user = user
    contact.organization = organization
    contact.save()
    return user, contact


@pytest.fixture
def customer(db):
    """Maria: the victim whose tickets the attacker wants."""
    organization = Organization.objects.create(name="Electrica Nord SRL")
    return make_customer("Maria Popescu", "customer1@example.com", organization=organization)


@pytest.fixture
def other_customer(db):
    """Ivan: a signed-in customer trying to reach Maria's tickets."""
    return make_customer("Ivan Petrov", "customer2@example.com")


def open_ticket(
    contact, *, subject: str = "Relay trips at night", body: str = "It trips.", department=None
) -> Ticket:
    return create_ticket(
        subject=subject,
        body=body,
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=department or make_department("support", name="Support"),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


def signed_in(user, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def session_cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def portal_socket(user, path: str = "/ws/portal/", *, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin, HOST, *await database_sync_to_async(session_cookie)(user)]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


def assert_escaped(html: str, *, where: str = "") -> None:
    """No payload survives as markup (its escaped text may, and should, be there)."""
    for marker in XSS_MARKERS:
        assert marker not in html, f"unescaped {marker!r} in {where or 'output'}"
