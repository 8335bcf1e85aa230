"""The console's phone desk: a call's pop, a new contact from it, a ticket from it, Log a call."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chat.actions.calls import report_call
from chatportal.demo_data import seed_demo
from crm.models import CallRecord, Contact
from tests.factories import make_agent, make_department
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


@pytest.fixture
def boris_client():
    seed_demo()
    client = Client()
    client.force_login(get_user_model().objects.get(username="boris"))
    return client


def ring(phone="+40 721 234 567", **extra):
    return report_call(phone=phone, direction="inbound", state="ringing", **extra).recorded.call


def test_a_known_callers_pop_shows_the_record_with_serial_and_contract(boris_client):
    call = ring(call_id="c1", agent="boris")
    page = boris_client.get(f"/console/calls/{call.public_id}/", HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Maria Popescu" in html
    assert "RZA-2024-0001" in html
    assert "Gold 24x7" in html
    assert "data-new-contact" not in html
    assert 'value="RZA-2024-0001"' in html  # the ticket form's unit picker


def test_an_unknown_caller_becomes_a_new_contact_from_the_pop(boris_client):
    call = ring(phone="+40 722 000 111", agent="boris")
    pop = boris_client.get(f"/console/calls/{call.public_id}/", HTTP_HX_REQUEST="true")
    html = pop.content.decode()
    assert "data-new-contact" in html and 'value="+40722000111"' in html
    answer = boris_client.post(
        f"/console/calls/{call.public_id}/contact/",
        {
            "name": f"Ion {XSS}",
            "phone": "+40722000111",
            "email": "ion@example.com",
            "organization": "Hidro Sud SA",
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert XSS not in answer.content.decode()
    call.refresh_from_db()
    contact = Contact.objects.get(public_id=call.contact.public_id)
    assert contact.name == f"Ion {XSS}"
    assert contact.organization.name == "Hidro Sud SA"
    assert [p.number for p in contact.phones.all()] == ["+40722000111"]
    # The next call from that number is theirs.
    assert ring(phone="0722 000 111").contact == contact


def test_a_new_contact_needs_a_name_and_a_valid_email(boris_client):
    call = ring(phone="+40 722 000 111", agent="boris")
    answer = boris_client.post(
        f"/console/calls/{call.public_id}/contact/",
        {"name": "", "email": "nope"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400
    call.refresh_from_db()
    assert call.contact is None


def test_a_ticket_from_the_pop_names_the_unit_and_links_the_call(boris_client):
    call = ring(call_id="c1", agent="boris", department="support")
    answer = boris_client.post(
        f"/console/calls/{call.public_id}/ticket/",
        {
            "subject": "Relay alarm",
            "department": "support",
            "priority": "high",
            "asset": "RZA-2024-0001",
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200, answer.content
    ticket = Ticket.objects.get(call=call)
    assert ticket.asset.serial_number == "RZA-2024-0001"
    assert ticket.channel == "phone" and ticket.contact.name == "Maria Popescu"
    assert f'data-call-ticket="{ticket.number}"' in answer.content.decode()
    detail = boris_client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "data-call" in detail and 'data-asset="RZA-2024-0001"' in detail


def test_a_ticket_from_the_pop_refuses_another_customers_unit(boris_client):
    call = ring(call_id="c1", agent="boris", department="support")
    answer = boris_client.post(
        f"/console/calls/{call.public_id}/ticket/",
        {"department": "support", "priority": "normal", "asset": "GW4-2025-0310"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400
    assert not Ticket.objects.filter(call=call).exists()


def test_log_a_call_finds_the_contact_by_number_and_opens_its_page(boris_client):
    answer = boris_client.post(
        "/console/calls/",
        {"phone": "0721 234 567", "direction": "inbound", "duration_min": "3", "note": "Firmware"},
    )
    assert answer.status_code == 302
    call = CallRecord.objects.get(note="Firmware")
    assert call.contact.name == "Maria Popescu"
    assert call.duration_s == 180 and call.agent.username == "boris" and call.state == "ended"
    assert answer["Location"] == f"/console/calls/{call.public_id}/"
    page = boris_client.get(answer["Location"]).content.decode()
    assert "Create ticket from call" in page
    listing = boris_client.get("/console/calls/").content.decode()
    assert str(call.public_id) in listing


def test_another_departments_call_is_not_found(boris_client):
    make_department("billing-x", name="Billing X")
    dana = make_agent("outsider", ["billing-x"])
    call = ring(department="support")
    client = Client()
    client.force_login(dana)
    assert client.get(f"/console/calls/{call.public_id}/").status_code == 404
    assert client.post(f"/console/calls/{call.public_id}/ticket/", {}).status_code == 404
    assert client.get("/console/calls/not-a-uuid/").status_code == 404
