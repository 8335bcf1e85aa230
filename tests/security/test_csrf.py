"""CSRF on every form: a cross-site POST rides the victim's cookies but has no token.

The sweep walks every URL the project routes (the API excepted: bearer
tokens, no cookies; its session-authenticated attachment upload checks CSRF
itself, see tests/chat/test_attachments.py::test_a_session_upload_needs_the_csrf_token),
so a console or portal form added later is covered the day it lands.
tests/tickets/test_portal_views.py::test_it_requires_csrf_tokens_on_portal_forms
checks the portal sign-in alone.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from chat.actions.conversations import start_conversation
from chat.actions.visitors import create_visitor
from tests.security.conftest import open_ticket, signed_in
from tickets.customers import make_login_token

pytestmark = pytest.mark.django_db

# anymail/: the mail providers' inbound webhooks, HTTP basic auth and no cookies (like the API).
SKIPPED_PREFIXES = ("api/", "admin/", "anymail/")


def routes(patterns=None, prefix: str = ""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def concrete(route: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), route)


@pytest.fixture
def world(customer, support, support_agent):
    ticket = open_ticket(customer[1], department=support)
    visitor, _ = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    return {
        "number": ticket.number,
        "conversation_id": str(conversation.public_id),
        "token": make_login_token(customer[0]),
        "uidb64": "MQ",
        # /kb/<locale>/…: only a real locale routes.
        "locale": "en",
        # <uuid:public_id> routes only a UUID (any: the CSRF check comes before the lookup).
        "public_id": "00000000-0000-0000-0000-000000000000",
    }


def with_csrf_cookie(client: Client) -> Client:
    # The victim's browser holds the CSRF cookie (it has visited us); the
    # attacker's page cannot read it, so its form carries no token.
    for page in ("/portal/login/", "/portal/tickets/new/", "/accounts/login/", "/console/"):
        client.get(page)
        if "csrftoken" in client.cookies:
            return client
    assert "csrftoken" in client.cookies
    return client


def project_routes() -> list[str]:
    return [r for r in routes() if not r.startswith(SKIPPED_PREFIXES) and "(?P" not in r]


@pytest.mark.parametrize("role", ["customer", "agent", "anonymous"])
def test_every_routed_url_refuses_a_post_without_a_csrf_token(world, customer, support_agent, role):
    user = {"customer": customer[0], "agent": support_agent, "anonymous": None}[role]
    client = signed_in(user, enforce_csrf_checks=True) if user else Client(enforce_csrf_checks=True)
    with_csrf_cookie(client)
    answered = {}
    for route in project_routes():
        path = concrete(route, world)
        response = client.post(
            path,
            {
                "body": "forged",
                "subject": "forged",
                "status": "closed",
                "email": "customer1@example.com",
                "password": "x",
            },
        )
        answered[path] = response.status_code
    # 403 is the CSRF refusal; 405 a view that takes no POST at all (nothing to forge).
    allowed = {path: status for path, status in answered.items() if status not in (403, 405)}
    assert allowed == {}, f"POST without a CSRF token was not refused: {allowed}"
    assert len(answered) >= 20


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/login/", {"username": "boris", "password": "demo-pass-123"}),
        ("/admin/logout/", {}),
    ],
)
def test_the_admin_forms_refuse_a_post_without_a_csrf_token(support_agent, path, data):
    client = with_csrf_cookie(Client(enforce_csrf_checks=True))
    assert client.post(path, data).status_code == 403


def test_a_token_from_another_session_does_not_pass(customer, other_customer, support):
    ticket = open_ticket(customer[1], department=support)
    attacker = with_csrf_cookie(signed_in(other_customer[0], enforce_csrf_checks=True))
    stolen = attacker.cookies["csrftoken"].value
    victim = with_csrf_cookie(signed_in(customer[0], enforce_csrf_checks=True))
    response = victim.post(
        f"/portal/tickets/{ticket.number}/reply/", {"body": "forged", "csrfmiddlewaretoken": stolen}
    )
    assert response.status_code == 403
    assert ticket.events.count() == 1


def test_an_htmx_post_needs_the_token_header_too(customer, support):
    ticket = open_ticket(customer[1], department=support)
    victim = with_csrf_cookie(signed_in(customer[0], enforce_csrf_checks=True))
    refused = victim.post(
        f"/portal/tickets/{ticket.number}/reply/", {"body": "forged"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403
    accepted = victim.post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "mine"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=victim.cookies["csrftoken"].value,
    )
    assert accepted.status_code == 200
    assert ticket.events.filter(kind="reply").count() == 1


def test_the_sweep_really_reaches_the_forms_it_names(world):
    swept = {concrete(r, world) for r in project_routes()}
    for form in (
        "/portal/login/",
        "/portal/login/link/",
        f"/portal/login/link/{world['token']}/",
        f"/portal/tickets/{world['number']}/reply/",
        "/portal/tickets/new/",
        "/portal/logout/",
        "/accounts/login/",
        f"/console/tickets/{world['number']}/reply/",
        f"/console/tickets/{world['number']}/update/",
        "/console/tickets/bulk/",
    ):
        assert form in swept, form
    assert uuid.UUID(world["conversation_id"])
