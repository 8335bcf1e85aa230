"""Stored and reflected XSS: hostile text in every field a page, an e-mail or a fragment shows.

One poisoned world: the department, the agent's name, the organization,
the contact, the product, the asset serial, the SLA plan and contract, the
visitor's name, phone and page, the ticket's subject, body and replies, a
call note and a canned response all carry every payload at once. Then every
HTML surface renders it and must show it as text.

The widget and the console draw messages in the browser with text nodes
(frontend/static: "user data never goes through innerHTML"); the browser
tests cover those, and the sockets here only carry JSON.
"""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor, update_visitor_profile
from chat.log import visitor_author
from chat.models import CannedResponse, Conversation
from crm.models import (
    Asset,
    CallRecord,
    ContactPhone,
    Organization,
    Product,
    SlaPlan,
    SupportContract,
)
from queues.tokens import issue_agent_token
from tests.factories import make_agent, make_contact, make_department
from tests.security.conftest import PASSWORD, XSS_PAYLOADS, assert_escaped, signed_in
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.email.sending import deliver_due_emails
from tickets.models import Ticket, TicketEvent
from tickets.notifications.outbound import build_notification
from tickets.portal.rendering import render_ticket_fragment

pytestmark = pytest.mark.django_db

EVIL = "".join(XSS_PAYLOADS)  # 73 characters: fits every name and serial field


@pytest.fixture
def poisoned(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    department = make_department("support", name=EVIL[:100])
    agent = make_agent("boris", [department], first_name=EVIL[:150])
    organization = Organization.objects.create(name=EVIL, notes=EVIL)
    contact = make_contact(EVIL, email="customer1@example.com", external_id="crm-1")
    contact.organization = organization
    contact.portal_user = get_user_model().objects.create_user(
        "customer1@example.com", email="customer1@example.com", password=PASSWORD
    )
    contact.save()
    ContactPhone.objects.create(contact=contact, number="+40721234567", label=EVIL[:40])
    product = Product.objects.create(name=EVIL, line=EVIL[:100], brand=EVIL[:100])
    Asset.objects.create(
        contact=contact,
        organization=organization,
        product=product,
        serial_number=EVIL,
        warranty_end=datetime.date.today() + datetime.timedelta(days=365),
    )
    plan = SlaPlan.objects.create(name=EVIL, first_response_minutes=60, resolution_minutes=480)
    SupportContract.objects.create(
        organization=organization,
        plan=plan,
        name=EVIL,
        starts_on=datetime.date.today(),
        ends_on=datetime.date.today() + datetime.timedelta(days=300),
    )
    CallRecord.objects.create(contact=contact, phone="+40721234567", direction="inbound", note=EVIL)
    CannedResponse.objects.create(department=department, shortcut="greet", title=EVIL, body=EVIL)

    visitor, _ = create_visitor(name=EVIL)
    update_visitor_profile(visitor, name=EVIL, email="", phone=EVIL[:40], locale="en")
    conversation, _ = start_conversation(visitor, department)
    Conversation.objects.filter(pk=conversation.pk).update(
        contact=contact, page_url="javascript:alert(1)", page_title=EVIL
    )
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body=EVIL,
    )
    anonymous, _ = create_visitor(name=EVIL)
    update_visitor_profile(anonymous, name=EVIL, email="", phone=EVIL[:40], locale="en")
    anonymous_chat, _ = start_conversation(anonymous, department)
    Conversation.objects.filter(pk=anonymous_chat.pk).update(
        page_url="javascript:alert(1)", page_title=EVIL
    )

    ticket = create_ticket(
        subject=EVIL,
        body=EVIL,
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=department,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )
    assign_ticket(ticket, agent, by=agent)
    reply = add_reply(ticket, body=EVIL, internal=False, author_role="agent", author_user=agent)
    add_reply(ticket, body=EVIL, internal=True, author_role="agent", author_user=agent)
    anonymous_ticket = create_ticket(
        subject=EVIL,
        body=EVIL,
        contact=None,
        channel=Ticket.Channel.EMAIL,
        department=department,
        author_role=TicketEvent.Role.CUSTOMER,
        requester_name=EVIL,
        requester_email="x@example.com",
    )
    ticket.refresh_from_db()
    return {
        "agent": agent,
        "customer": contact.portal_user,
        "ticket": ticket,
        "reply": reply,
        "conversation": conversation,
        "anonymous_chat": anonymous_chat,
        "anonymous_ticket": anonymous_ticket,
        "objects": [department, organization, contact, product, plan],
    }


def html_of(response) -> str:
    assert response.status_code < 500, response.status_code
    return response.content.decode()


def shows_as_text(html: str) -> bool:
    # Positive control: the payload is on the page, escaped (so the test looks
    # at the right output and would see it raw if escaping were off).
    return "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- the portal ---------------------------------------------------------------------


def test_the_portal_pages_show_every_payload_as_text(poisoned):
    client = signed_in(poisoned["customer"])
    number = poisoned["ticket"].number
    pages = {
        "list": client.get(reverse("portal")),
        "search": client.get(reverse("portal"), {"q": EVIL}),
        "ticket": client.get(reverse("portal_ticket", args=[number])),
        "new ticket": client.get(reverse("portal_new_ticket")),
        "htmx reply": client.post(
            reverse("portal_reply", args=[number]), {"body": EVIL}, HTTP_HX_REQUEST="true"
        ),
        "refused reply": client.post(reverse("portal_reply", args=[number]), {"body": ""}),
        "refused new ticket": client.post(
            reverse("portal_new_ticket"), {"subject": EVIL, "department": EVIL}
        ),
    }
    for name, response in pages.items():
        html = html_of(response)
        assert_escaped(html, where=f"portal {name}")
    assert shows_as_text(html_of(pages["ticket"]))
    assert shows_as_text(html_of(pages["new ticket"]))  # the department's name


def test_the_sign_in_pages_never_reflect_input_as_markup(db):
    client = Client()
    for response in (
        client.get(reverse("portal_login"), {"next": f"/portal/{EVIL}"}),
        client.get(reverse("portal_login"), {"next": "javascript:alert(1)"}),
        client.post(reverse("portal_login"), {"username": EVIL, "password": EVIL, "next": EVIL}),
        client.post(reverse("portal_link_request"), {"email": EVIL}),
        client.post(reverse("portal_link_request"), {"email": f'"{EVIL}"@example.com'}),
        client.get(reverse("portal_link_confirm", args=[EVIL.replace("/", "")])),
        client.get(reverse("login"), {"next": EVIL}),
        client.post(reverse("login"), {"username": EVIL, "password": EVIL}),
        client.get(reverse("widget_demo"), {"department": EVIL, "locale": EVIL}),
    ):
        assert_escaped(html_of(response), where=response.request["PATH_INFO"])


def test_portal_socket_fragments_show_every_payload_as_text(poisoned):
    # The exact HTML the portal socket pushes (tickets.portal.consumers renders through this).
    for view in ("list", "ticket"):
        fragment = render_ticket_fragment(poisoned["ticket"], view=view)
        assert_escaped(fragment, where=f"{view} fragment")
        assert shows_as_text(fragment)


# --- e-mails ------------------------------------------------------------------------


def test_the_html_part_of_every_customer_email_shows_payloads_as_text(poisoned):
    ticket = poisoned["ticket"]
    status = change_status(ticket, "pending", by=poisoned["agent"])
    for event in (poisoned["reply"], status):
        event = event if isinstance(event, TicketEvent) else ticket.events.order_by("-seq").first()
        message = build_notification(ticket, event)
        assert message is not None
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        assert_escaped(html, where=f"{event.kind} e-mail")
        assert shows_as_text(html)
        assert "\n" not in message.subject and "\r" not in message.subject
    anonymous = poisoned["anonymous_ticket"]
    reply = add_reply(
        anonymous, body=EVIL, internal=False, author_role="agent", author_user=poisoned["agent"]
    )
    message = build_notification(anonymous, reply)
    assert message is not None
    assert_escaped(message.alternatives[0][0], where="requester e-mail")


def test_the_login_link_email_carries_only_our_link(poisoned):
    Client().post(reverse("portal_link_request"), {"email": "customer1@example.com"})
    deliver_due_emails()  # with the fixture's queued notifications
    [message] = [m for m in mail.outbox if "sign-in link" in m.subject]
    html = message.alternatives[0][0]
    assert_escaped(html, where="login link e-mail")
    assert "javascript:" not in html


# --- the agent console ----------------------------------------------------------------


def test_the_console_pages_show_every_payload_as_text(poisoned):
    client = signed_in(poisoned["agent"])
    ticket = poisoned["ticket"]
    pages = {
        "console": client.get(reverse("console")),
        "panel of a contact": client.get(
            reverse("console_panel", args=[poisoned["conversation"].public_id])
        ),
        "panel of an anonymous visitor": client.get(
            reverse("console_panel", args=[poisoned["anonymous_chat"].public_id])
        ),
        "ticket list": client.get(reverse("console_tickets")),
        "ticket list searched": client.get(reverse("console_tickets"), {"q": EVIL, "status": EVIL}),
        "ticket": client.get(reverse("console_ticket", args=[ticket.number])),
        "anonymous ticket": client.get(
            reverse("console_ticket", args=[poisoned["anonymous_ticket"].number])
        ),
        "reply": client.post(
            reverse("console_ticket_reply", args=[ticket.number]),
            {"body": EVIL},
            HTTP_HX_REQUEST="true",
        ),
    }
    for name, response in pages.items():
        assert_escaped(html_of(response), where=f"console {name}")
    assert shows_as_text(html_of(pages["panel of a contact"]))
    assert shows_as_text(html_of(pages["ticket"]))


def test_json_answers_are_served_as_json_not_html(poisoned):
    client = signed_in(poisoned["agent"])
    canned = client.get(
        reverse("console_canned"),
        {"q": "greet", "conversation": str(poisoned["conversation"].public_id)},
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(poisoned['agent'])}")
    for response in (
        canned,
        api.get(f"/api/v1/tickets/{poisoned['ticket'].number}"),
        api.get("/api/v1/crm/lookup", {"email": "customer1@example.com"}),
        api.get("/api/v1/tickets", {"department": EVIL}),
    ):
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        assert response.get("X-Content-Type-Options") == "nosniff"
        json.loads(response.content)


def test_admin_lists_and_forms_show_every_payload_as_text(poisoned):
    superuser = get_user_model().objects.create_superuser("root", password="x-pass-123456")
    client = signed_in(superuser)
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert_escaped(html_of(client.get(url)), where=url)
        assert_escaped(html_of(client.get(url, {"q": EVIL})), where=f"{url}?q=")
    for obj in poisoned["objects"]:
        meta = obj._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert_escaped(html_of(client.get(url)), where=url)
