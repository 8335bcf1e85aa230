"""One agent scope and one `agent_required` for chats, tickets and both consoles."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from chat.access import access_conversation_for_agent
from chat.actions.conversations import start_conversation
from chat.actions.visitors import create_visitor
from chat.errors import Forbidden
from queues.agent_scope import AgentScope, agent_scope
from tests.factories import make_agent, make_department
from tickets.access import agent_scope as tickets_agent_scope

pytestmark = pytest.mark.django_db


def test_an_agent_works_on_its_departments_and_a_supervisor_on_all():
    support, sales = make_department("support"), make_department("sales")
    scope = agent_scope(make_agent("boris", ["support"]))
    assert scope == AgentScope(is_supervisor=False, department_ids=frozenset({support.pk}))
    assert scope.serves(support.pk) and not scope.serves(sales.pk)
    assert agent_scope(make_agent("sofia", [], is_supervisor=True)).serves(sales.pk)


def test_tickets_use_the_same_scope():
    assert tickets_agent_scope is agent_scope


def test_nobody_without_an_active_agent_profile_has_a_scope():
    stranger = get_user_model().objects.create_user("stranger", password="x-pass-123")
    gone = make_agent("gone", ["support"])
    gone.is_active = False
    gone.save()
    assert agent_scope(None) is None
    assert agent_scope(stranger) is None
    assert agent_scope(gone) is None


def test_a_deactivated_agent_no_longer_reaches_its_departments_chats():
    support = make_department("support")
    gone = make_agent("gone", [support])
    visitor, _token = create_visitor()
    conversation, _created = start_conversation(visitor, support)
    assert access_conversation_for_agent(gone, conversation.public_id) == conversation
    gone.is_active = False
    gone.save()
    with pytest.raises(Forbidden):
        access_conversation_for_agent(gone, conversation.public_id)


# A fixed panel id: test ids must be the same in every pytest-xdist worker.
@pytest.mark.parametrize(
    "url",
    ["/console/", "/console/tickets/", "/console/panel/0b9e7c1d-2f43-4a8e-9c6d-5e4f3a2b1c0d/"],
)
def test_every_console_page_refuses_a_signed_in_non_agent_with_the_same_page(url):
    client = Client()
    client.force_login(get_user_model().objects.create_user("intruder", password="x-pass-123"))
    response = client.get(url)
    assert response.status_code == 403
    assert b"This account is not an agent" in response.content


@pytest.mark.parametrize("url", ["/console/", "/console/tickets/"])
def test_every_console_page_sends_the_anonymous_to_sign_in(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
