"""Routing applied to chats: the visitor's language and the contact's product routes."""

from __future__ import annotations

import uuid

import pytest

from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from crm.models import Asset, Product
from queues.models import AgentProfile, ProductRoute
from tests.chat.test_routing import go_online, state_of
from tests.factories import make_agent, make_contact, make_department

pytestmark = pytest.mark.django_db


def chat_in(department, *, locale="", contact=None):
    visitor, _token = create_visitor()
    if contact is not None:
        visitor.contact = contact
        visitor.save(update_fields=["contact"])
    conversation, _ = start_conversation(visitor, department, locale=locale)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Bună ziua",
    )
    return conversation


def speaks(user, languages: str) -> None:
    AgentProfile.objects.filter(user=user).update(languages=languages)


def test_a_romanian_chat_goes_to_the_agent_who_speaks_romanian(support, published_events):
    boris, chen = make_agent("boris", [support]), make_agent("chen", [support])
    speaks(boris, "en"), speaks(chen, "ro,ru,en")
    go_online(boris), go_online(chen)
    # Equally idle: without language, the tie would go to Boris (the lower id).
    first = chat_in(support, locale="ro-RO")
    list(published_events)
    # Now Chen is busier than Boris, and still gets it: he speaks the visitor's language.
    second = chat_in(support, locale="ro_MD")
    list(published_events)
    english = chat_in(support, locale="en")
    list(published_events)
    assert state_of(first)[1] == chen.pk
    assert state_of(second)[1] == chen.pk
    assert state_of(english)[1] == boris.pk


def test_without_a_speaker_the_least_loaded_agent_takes_it(support, published_events):
    boris = make_agent("boris", [support])
    speaks(boris, "en")
    go_online(boris)
    chat = chat_in(support, locale="de")
    list(published_events)
    assert state_of(chat) == ("active", boris.pk)


def test_a_known_contacts_chat_goes_to_their_products_department(support, published_events):
    metering = make_department("metering", name="Metering")
    product = Product.objects.create(name="RZA Smart Meter")
    ProductRoute.objects.create(product=product, department=metering)
    maria = make_contact("Maria Popescu")
    Asset.objects.create(contact=maria, product=product, serial_number="RZA-2024-0001")
    conversation = chat_in(support, contact=maria)
    conversation.refresh_from_db()
    assert conversation.department == metering
    anonymous = chat_in(support)
    anonymous.refresh_from_db()
    assert anonymous.department == support
