"""A linked ticket reaches the customer's portal and the agents' ticket page live."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.factories import make_agent, make_department
from tests.tickets.test_console_consumer import console_socket
from tests.tickets.test_portal_consumer import attrs, make_customer, portal_socket
from tickets.actions.contacts import link_ticket_to_contact
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


def unknown_ticket() -> Ticket:
    return create_ticket(
        subject="Meter is dark",
        body="Since yesterday.",
        contact=None,
        channel=Ticket.Channel.EMAIL,
        department=make_department(),
        author_role=TicketEvent.Role.SYSTEM,
        requester_email="maria.p@example.net",
        as_received=True,
    )


async def test_the_customer_sees_the_linked_ticket_appear_in_their_list():
    user, contact = await database_sync_to_async(make_customer)(
        "Maria Popescu", "customer1@example.com"
    )
    agent = await database_sync_to_async(make_agent)("ana", ["support"])
    ticket = await database_sync_to_async(unknown_ticket)()
    socket = await portal_socket(user)
    assert await socket.receive_nothing(0.2)
    await database_sync_to_async(link_ticket_to_contact)(ticket, contact, by=agent)
    fragment = await socket.receive_from(3)
    assert fragment.lstrip().startswith("<tr")
    assert attrs(fragment)["id"] == f"ticket-{ticket.number}"
    # The link itself is internal: the customer sees their ticket, not the event.
    assert "Linked to contact" not in fragment
    await socket.disconnect()


async def test_the_agents_ticket_page_gets_the_header_naming_the_contact():
    _user, contact = await database_sync_to_async(make_customer)(
        "Maria Popescu", "customer1@example.com"
    )
    agent = await database_sync_to_async(make_agent)("ana", ["support"])
    ticket = await database_sync_to_async(unknown_ticket)()
    socket = await console_socket(agent, ticket.number, ticket.last_seq)
    await database_sync_to_async(link_ticket_to_contact)(ticket, contact, by=agent)
    pushed = await socket.receive_from(3)
    assert f'data-contact="{contact.public_id}"' in pushed
    assert "Linked to contact Maria Popescu" in pushed
    await socket.disconnect()
