"""Linking an unidentified chat to a contact: action, console panel, API, live frames."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.actions.contacts import check_link_conversation, link_conversation_to_contact
from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.errors import ChatError, Forbidden
from chat.events import conversation_group
from chat.log import visitor_author
from chat.models import Conversation, ConversationEvent
from crm.models import Contact
from queues.tokens import issue_agent_token
from tests.chat.conftest import open_agent, open_widget, say
from tests.factories import make_contact


def unknown_chat(department, *, name="Ion Popescu", email="ion@example.com", phone=""):
    visitor, _token = create_visitor()
    visitor.name, visitor.email, visitor.phone = name, email, phone
    visitor.save()
    conversation, _ = start_conversation(visitor, department, locale="ro")
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="My meter is dark",
    )
    return Conversation.objects.select_related("visitor").get(pk=conversation.pk)


@pytest.mark.django_db
def test_linking_sets_the_contact_with_an_internal_event_and_a_doorbell(
    support, support_agent, published_events
):
    maria = make_contact("Maria Popescu", email="maria@example.com")
    conversation = unknown_chat(support)
    list(published_events)
    published_events.clear()
    appended = link_conversation_to_contact(conversation, maria, by=support_agent)
    conversation.refresh_from_db()
    assert conversation.contact == maria
    # The visitor is not linked: only a verified identity links a browser.
    assert conversation.visitor.contact is None
    event = ConversationEvent.objects.get(conversation=conversation, seq=appended.seq)
    assert (event.kind, event.internal, event.author_user) == ("contact", True, support_agent)
    assert event.payload["contact"] == {"id": str(maria.public_id), "name": "Maria Popescu"}
    groups = [g for g, e in published_events if e.get("seq") == appended.seq]
    assert groups == [conversation_group(conversation.public_id)]
    assert link_conversation_to_contact(conversation, maria, by=support_agent) is None


@pytest.mark.django_db
def test_a_contact_is_made_from_the_pre_chat_details(support, support_agent, settings):
    settings.CHATPORTAL_DEFAULT_REGION = "RO"
    conversation = unknown_chat(support, phone="0721 234 567")
    appended, contact, created = check_link_conversation(support_agent, str(conversation.public_id))
    assert created and appended is not None
    assert (contact.name, contact.locale) == ("Ion Popescu", "ro")
    assert list(contact.phones.values_list("number", flat=True)) == ["+40721234567"]
    assert list(contact.emails.values_list("email", flat=True)) == ["ion@example.com"]


@pytest.mark.django_db
def test_the_typed_email_reuses_the_contact_who_has_it(support, support_agent):
    maria = make_contact("Maria Popescu", email="maria@example.com")
    conversation = unknown_chat(support, name="M", email="Maria@Example.com")
    _appended, contact, created = check_link_conversation(
        support_agent, str(conversation.public_id), prefill={}
    )
    assert (contact, created) == (maria, False)
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_typed_email_is_refused(support, support_agent):
    conversation = unknown_chat(support, email="not-mail")
    with pytest.raises(ChatError):
        check_link_conversation(support_agent, str(conversation.public_id))
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_an_agent_of_another_department_cannot_link(support, sales_agent):
    maria = make_contact("Maria Popescu")
    conversation = unknown_chat(support)
    with pytest.raises(Forbidden):
        check_link_conversation(sales_agent, str(conversation.public_id), contact=maria)
    conversation.refresh_from_db()
    assert conversation.contact is None


# --- the console panel -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_panel_of_an_unknown_visitor_offers_link_and_create(client, support, support_agent):
    conversation = unknown_chat(support)
    client.force_login(support_agent)
    html = client.get(f"/console/panel/{conversation.public_id}/").content.decode()
    assert "Link to customer" in html and "Create contact from this chat" in html
    assert 'value="Ion Popescu"' in html and 'value="ion@example.com"' in html


@pytest.mark.django_db
def test_the_panel_lookup_and_link_answer_the_panel_with_the_record(client, support, support_agent):
    maria = make_contact("Maria Popescu", email="maria@example.com")
    conversation = unknown_chat(support)
    client.force_login(support_agent)
    found = client.get(
        "/console/link/contacts/", {"q": "popescu", "conversation": str(conversation.public_id)}
    ).content.decode()
    assert str(maria.public_id) in found
    assert f"/console/panel/{conversation.public_id}/link/" in found
    answer = client.post(
        f"/console/panel/{conversation.public_id}/link/", {"contact": str(maria.public_id)}
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Maria Popescu" in html and "Not linked to a CRM contact" not in html


@pytest.mark.django_db
def test_the_panel_refuses_other_departments(client, support, sales_agent):
    maria = make_contact("Maria Popescu")
    conversation = unknown_chat(support)
    client.force_login(sales_agent)
    assert (
        client.get(
            "/console/link/contacts/", {"q": "maria", "conversation": str(conversation.public_id)}
        ).status_code
        == 404
    )
    answer = client.post(
        f"/console/panel/{conversation.public_id}/link/", {"contact": str(maria.public_id)}
    )
    assert answer.status_code == 404
    conversation.refresh_from_db()
    assert conversation.contact is None


@pytest.mark.django_db
def test_the_lookup_needs_two_characters_and_finds_by_phone(client, support, support_agent):
    from crm.models import ContactPhone

    maria = make_contact("Maria Popescu")
    ContactPhone.objects.create(contact=maria, number="+40721234567")
    conversation = unknown_chat(support)
    client.force_login(support_agent)
    params = {"conversation": str(conversation.public_id)}
    short = client.get("/console/link/contacts/", {**params, "q": "m"}).content.decode()
    assert "at least two" in short
    by_phone = client.get(
        "/console/link/contacts/", {**params, "q": "+40 721 234 567"}
    ).content.decode()
    assert str(maria.public_id) in by_phone


# --- the API ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_links_a_conversation(support, support_agent):
    maria = make_contact("Maria Popescu")
    conversation = unknown_chat(support)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    response = api.post(
        f"/api/v1/conversations/{conversation.public_id}/contact",
        {"contact": str(maria.public_id)},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "contact": {"id": str(maria.public_id), "name": "Maria Popescu"},
        "created": False,
        "changed": True,
    }


@pytest.mark.django_db
def test_the_api_refuses_another_department_and_nonsense(support, sales_agent, support_agent):
    conversation = unknown_chat(support)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(sales_agent)}")
    refused = other.post(
        f"/api/v1/conversations/{conversation.public_id}/contact",
        {"new_contact": {}},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    missing = api.post(
        f"/api/v1/conversations/{uuid.uuid4()}/contact",
        {"new_contact": {}},
        content_type="application/json",
    )
    assert missing.status_code == 404
    both = api.post(
        f"/api/v1/conversations/{conversation.public_id}/contact",
        {},
        content_type="application/json",
    )
    assert both.status_code == 400 and both.json()["error"]["code"] == "invalid"


# --- live ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_agent_gets_the_contact_event_and_the_visitor_never_does(support_agent):
    visitor, _welcome = await open_widget(profile={"name": "Ion", "email": "ion@example.com"})
    ack = await say(visitor, "Hello")
    conversation = ack["conversation"]
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await visitor.expect("event", kind="assigned")
    _appended, contact, created = await database_sync_to_async(check_link_conversation)(
        support_agent, conversation
    )
    assert created and contact.name == "Ion"
    frame = await agent.expect("event", kind="contact")
    assert frame["internal"] is True
    assert frame["contact"] == {"id": str(contact.public_id), "name": "Ion"}
    assert frame["author"]["name"] == "Boris"
    assert await visitor.silent(0.3)
    assert not [f for f in visitor.events() if f["kind"] == "contact"]
    await agent.close()
    await visitor.close()
