"""An identified widget visitor's chat becomes a ticket: "Follow it in the portal" goes straight in.

The chat's `ticket` event carries a short-lived signed link (tickets/links.py,
purpose `widget`) for the visitor alone: agents' frames never hold it, and an
anonymous visitor (even one an agent linked to a contact) never gets one.
"""

from __future__ import annotations

import time
import uuid
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.test import Client

from chat import queries
from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import Conversation
from tests.factories import make_contact, make_department
from tickets.actions.conversion import convert_conversation

pytestmark = pytest.mark.django_db


def _converted_chat(*, external_id=None, contact=None):
    department = make_department("support")
    visitor, _token = create_visitor(name="Maria", email="maria@electrica.example")
    visitor.external_id = external_id
    visitor.contact = contact
    visitor.save()
    conversation, _ = start_conversation(visitor, department)
    if contact is not None:
        Conversation.objects.filter(pk=conversation.pk).update(contact=contact)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Contorul arată E42.",
    )
    conversation = Conversation.objects.get(pk=conversation.pk)
    ticket = convert_conversation(conversation, reason="agent")
    return conversation, ticket


def _ticket_frame(conversation, *, for_agent):
    frames, _last = queries.events_after(
        conversation.pk, conversation.public_id, 0, for_agent=for_agent
    )
    [frame] = [f for f in frames if f["kind"] == "ticket"]
    return frame


def test_an_identified_visitor_gets_a_link_that_signs_them_in_on_that_ticket():
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    conversation, ticket = _converted_chat(external_id="crm-42", contact=maria)
    frame = _ticket_frame(conversation, for_agent=False)
    path = urlsplit(frame["portal_login_url"]).path
    assert path.startswith(f"/portal/t/{ticket.number}/")
    client = Client()
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"
    assert client.get(response["Location"]).status_code == 200


def test_agents_never_see_the_visitors_link():
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    conversation, _ticket = _converted_chat(external_id="crm-42", contact=maria)
    frame = _ticket_frame(conversation, for_agent=True)
    assert "portal_login_url" not in frame
    assert frame["portal_url"].endswith("/portal/tickets/T-1001/")


def test_the_widget_link_is_short_lived(settings):
    settings.CHATPORTAL_WIDGET_LINK_MAX_AGE_S = 600
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    conversation, _ticket = _converted_chat(external_id="crm-42", contact=maria)
    path = urlsplit(_ticket_frame(conversation, for_agent=False)["portal_login_url"]).path
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 601):
        assert Client().get(path).status_code == 400


def test_an_anonymous_visitor_gets_no_link_even_when_an_agent_linked_a_contact():
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    conversation, _ticket = _converted_chat(external_id=None, contact=maria)
    frame = _ticket_frame(conversation, for_agent=False)
    assert "portal_login_url" not in frame
    assert frame["portal_url"].endswith("/portal/tickets/T-1001/")
