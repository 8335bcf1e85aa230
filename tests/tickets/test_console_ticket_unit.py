"""The console's ticket page names the unit: only the customer's units are offered and accepted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Asset, Product
from tests.factories import make_contact
from tests.tickets.test_console_views import open_ticket, signed_in
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(customer):
    relay = Product.objects.create(name="RZA-500", line="Relay protection")
    Asset.objects.create(contact=customer, product=relay, serial_number="RZA-2024-0001")
    stranger = make_contact("Somebody Else")
    Asset.objects.create(contact=stranger, product=relay, serial_number="RZA-OTHER-9")


def update(client, ticket, **fields):
    body = {
        "status": ticket.status,
        "priority": ticket.priority,
        "department": ticket.department.slug,
        "was_status": ticket.status,
        "was_priority": ticket.priority,
        "was_department": ticket.department.slug,
        "was_assignee": "",
        "was_asset": "",
        **fields,
    }
    return client.post(reverse("console_ticket_update", args=[ticket.number]), body)


def test_the_ticket_page_offers_the_customers_units_and_names_one(
    support, support_agent, customer, units
):
    ticket = open_ticket(support, customer)
    client = signed_in(support_agent)
    page = client.get(reverse("console_ticket", args=[ticket.number])).content.decode()
    assert 'value="RZA-2024-0001"' in page
    assert "RZA-OTHER-9" not in page
    update(client, ticket, asset="RZA-2024-0001")
    ticket.refresh_from_db()
    assert ticket.asset.serial_number == "RZA-2024-0001"
    event = TicketEvent.objects.filter(ticket=ticket).latest("seq")
    assert event.kind == "asset"
    assert event.payload["asset"]["product_line"] == "Relay protection"
    page = client.get(reverse("console_ticket", args=[ticket.number])).content.decode()
    assert "Unit: RZA-2024-0001 (RZA-500)" in page


def test_the_ticket_page_refuses_someone_elses_unit(support, support_agent, customer, units):
    ticket = open_ticket(support, customer)
    answer = update(signed_in(support_agent), ticket, asset="RZA-OTHER-9")
    assert answer.status_code == 400
    ticket.refresh_from_db()
    assert ticket.asset is None
