"""A chat names the unit it is about, from the contact's units only; its ticket keeps it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Asset, Product
from tests.factories import make_contact
from tests.frontend.test_console_views import conversation_in, maria  # noqa: F401
from tickets.actions.conversion import convert_for_chat
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def unit_url(conversation) -> str:
    return reverse("console_panel_asset", args=[str(conversation.public_id)])


def test_an_agent_names_the_chats_unit_and_the_ticket_keeps_it(
    client,
    support,
    support_agent,
    maria,  # noqa: F811
):
    conversation = conversation_in(support, contact=maria)
    client.force_login(support_agent)
    panel = client.get(reverse("console_panel", args=[str(conversation.public_id)]))
    assert b"data-chat-unit" in panel.content
    # An organization's unit counts as the contact's too.
    answer = client.post(unit_url(conversation), {"asset": "MRU-2019-0042"})
    assert answer.status_code == 200
    assert b'value="MRU-2019-0042" selected' in answer.content
    conversation.refresh_from_db()
    assert conversation.asset.serial_number == "MRU-2019-0042"
    convert_for_chat(conversation, subject="Relay", priority="normal", by=support_agent)
    ticket = Ticket.objects.get(conversation=conversation)
    assert ticket.asset.serial_number == "MRU-2019-0042"


def test_a_unit_that_is_not_the_contacts_is_refused(
    client,
    support,
    support_agent,
    maria,  # noqa: F811
):
    stranger = make_contact("Somebody Else")
    Asset.objects.create(
        contact=stranger, product=Product.objects.create(name="GW-4"), serial_number="GW4-X"
    )
    conversation = conversation_in(support, contact=maria)
    client.force_login(support_agent)
    answer = client.post(unit_url(conversation), {"asset": "GW4-X"})
    assert answer.status_code == 400
    conversation.refresh_from_db()
    assert conversation.asset is None


def test_another_departments_agent_cannot_name_a_unit(
    client,
    support,
    sales_agent,
    maria,  # noqa: F811
):
    conversation = conversation_in(support, contact=maria)
    client.force_login(sales_agent)
    assert client.post(unit_url(conversation), {"asset": "RZA-2024-0001"}).status_code in (403, 404)
    conversation.refresh_from_db()
    assert conversation.asset is None
