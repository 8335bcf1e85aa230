"""The portal's pages as the product shows them: the list with search and filter, the
progress tracker, the thread with the chat it came from, "My equipment", org admins."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import agent_author, visitor_author
from chat.models import Conversation, ConversationEvent
from crm.models import Asset, Contact, Organization, Product, SlaPlan, SupportContract
from foundation.timestamps import iso_timestamp
from tests.factories import make_agent, make_contact, make_department
from tickets.access import equipment_for_customer
from tickets.actions.conversion import convert_conversation
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-123"


def make_customer(name: str, email: str, *, organization=None, org_admin: bool = False):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    contact = make_contact(name, email=email)
    contact.portal_user = user
    contact.organization = organization
    contact.is_organization_admin = org_admin
    contact.save()
    return user, contact


def open_ticket(contact, subject: str = "Relay trips at night") -> Ticket:
    return create_ticket(
        subject=subject,
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=make_department(),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


def set_status(ticket: Ticket, status: str) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=status)


@pytest.fixture
def org():
    return Organization.objects.create(name="Electrica Nord")


@pytest.fixture
def maria(org):
    return make_customer("Maria Popescu", "customer1@example.com", organization=org)


@pytest.fixture
def signed_in_maria(client, maria):
    client.force_login(maria[0])
    return client


def ticket_numbers(html: str) -> list[str]:
    return re.findall(r'<tr id="ticket-(T-\d+)"', html)


# --- My tickets: search, status filter, badges ---------------------------------------


def test_the_list_finds_a_ticket_by_number_or_by_subject(signed_in_maria, maria):
    relay = open_ticket(maria[1], subject="Relay trips at night")
    meter = open_ticket(maria[1], subject="Meter shows E42")
    by_number = signed_in_maria.get(reverse("portal"), {"q": meter.number.lower()})
    assert ticket_numbers(by_number.content.decode()) == [meter.number]
    by_subject = signed_in_maria.get(reverse("portal"), {"q": "relay"})
    assert ticket_numbers(by_subject.content.decode()) == [relay.number]
    nothing = signed_in_maria.get(reverse("portal"), {"q": "boiler"}).content.decode()
    assert ticket_numbers(nothing) == [] and "No tickets match your search." in nothing


@pytest.mark.parametrize(
    ("step", "statuses"),
    [
        ("received", {"new"}),
        ("working", {"open", "on_hold"}),
        ("waiting", {"pending"}),
        ("solved", {"solved", "closed"}),
    ],
)
def test_the_status_filter_keeps_the_tickets_of_one_tracker_step(
    signed_in_maria, maria, step, statuses
):
    tickets = {}
    for status in ("new", "open", "on_hold", "pending", "solved", "closed"):
        tickets[status] = open_ticket(maria[1], subject=f"About {status}")
        set_status(tickets[status], status)
    html = signed_in_maria.get(reverse("portal"), {"status": step}).content.decode()
    assert set(ticket_numbers(html)) == {tickets[s].number for s in statuses}
    assert f'<option value="{step}" selected>' in html


def test_an_unknown_status_filter_shows_every_ticket(signed_in_maria, maria):
    first, second = open_ticket(maria[1]), open_ticket(maria[1])
    set_status(second, "solved")
    html = signed_in_maria.get(reverse("portal"), {"status": "bogus"}).content.decode()
    assert set(ticket_numbers(html)) == {first.number, second.number}


def test_each_row_carries_a_status_badge_and_its_last_update(signed_in_maria, maria):
    ticket = open_ticket(maria[1])
    set_status(ticket, "pending")
    ticket.refresh_from_db()
    html = signed_in_maria.get(reverse("portal")).content.decode()
    row = re.search(rf'<tr id="ticket-{ticket.number}".*?</tr>', html, re.S).group(0)
    assert 'data-status="pending"' in row
    assert '<span class="badge badge-waiting">Waiting for your reply</span>' in row
    assert f'<time datetime="{iso_timestamp(ticket.updated_at)}">' in row
    assert "Asked by" not in row  # her own ticket needs no name


def test_the_header_names_every_portal_page_and_marks_the_current_one(signed_in_maria):
    html = signed_in_maria.get(reverse("portal_equipment")).content.decode()
    nav = re.search(r"<nav .*?</nav>", html, re.S).group(0)
    assert f'<a href="{reverse("portal")}">My tickets</a>' in nav
    assert f'<a href="{reverse("portal_equipment")}" aria-current="page">My equipment</a>' in nav
    assert "New ticket" in nav and "Knowledge base" in nav
    assert 'class="portal-signout"' in nav and "Sign out" in nav
    assert "frontend/portal.css" in html


# --- the progress tracker -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "current", "done"),
    [
        ("new", "Received", []),
        ("open", "We're working on it", ["Received"]),
        ("on_hold", "We're working on it", ["Received"]),
        ("pending", "Waiting for you", ["Received", "We're working on it"]),
        ("solved", "Solved", ["Received", "We're working on it", "Waiting for you"]),
        ("closed", "Solved", ["Received", "We're working on it", "Waiting for you"]),
    ],
)
def test_the_tracker_marks_the_step_of_each_status(signed_in_maria, maria, status, current, done):
    ticket = open_ticket(maria[1])
    set_status(ticket, status)
    html = signed_in_maria.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    tracker = re.search(r'<ol class="progress" aria-label="Progress">(.*?)</ol>', html, re.S)
    assert tracker, "a list named Progress"
    steps = re.findall(
        r"<li ([^>]*)>.*?<span class=\"progress-label\">([^<]*)</span>", tracker.group(1)
    )
    assert [label for _attrs, label in steps] == [
        "Received",
        "We&#x27;re working on it",
        "Waiting for you",
        "Solved",
    ]
    marked = [label for attrs, label in steps if 'aria-current="step"' in attrs]
    assert marked == [current.replace("'", "&#x27;")]
    finished = [label for attrs, label in steps if "step-done" in attrs]
    assert finished == [label.replace("'", "&#x27;") for label in done]


def test_the_ticket_page_names_who_handles_it_by_first_name_and_the_promised_time(
    signed_in_maria, maria
):
    ticket = open_ticket(maria[1])
    agent = make_agent("ana.ionescu", ["support"], first_name="Ana")
    due = timezone.now() + datetime.timedelta(hours=4)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, first_response_due=due)
    html = signed_in_maria.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert "<dt>Handled by</dt><dd>Ana</dd>" in html
    assert "ana.ionescu" not in html
    assert "We aim to answer by" in html
    assert f'<time datetime="{iso_timestamp(due)}">' in html


def test_the_thread_is_a_live_region_not_a_numbered_list(signed_in_maria, maria):
    ticket = open_ticket(maria[1])
    html = signed_in_maria.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert re.search(r'<ul class="thread" aria-labelledby="thread-title" aria-live="polite"', html)
    assert 'class="timeline"' not in html
    assert 'id="portal-announcer"' in html and 'role="status"' in html


# --- the chat a ticket came from ------------------------------------------------------


def _chat_ticket(contact) -> Ticket:
    department = make_department()
    agent = make_agent("boris", [department], first_name="Boris")
    agent.last_name = "Ionescu"
    agent.save()
    visitor, _token = create_visitor(name="Maria", email="customer1@example.com")
    visitor.contact = contact
    visitor.save()
    conversation, _ = start_conversation(visitor, department)

    def say(author, body, internal=False):
        post_message(
            conversation.pk,
            conversation.public_id,
            author=author,
            client_id=uuid.uuid4(),
            body=body,
            internal=internal,
        )

    say(visitor_author(visitor), "My relay shows E42.")
    Conversation.objects.filter(pk=conversation.pk).update(state="active", assigned_agent=agent)
    say(agent_author(agent), "Which firmware do you run?")
    say(agent_author(agent), "Gold customer, be quick", internal=True)
    say(visitor_author(visitor), "Version 2.1")
    conversation.refresh_from_db()
    ConversationEvent.objects.create(
        conversation=conversation,
        seq=900,
        kind=ConversationEvent.Kind.MESSAGE,
        payload={"author": {"role": "system", "name": None}, "body": "Routed by rule 7"},
        author_role=ConversationEvent.Role.SYSTEM,
    )
    return convert_conversation(conversation, subject="E42 on RZA-500", by=agent, reason="agent")


def test_the_thread_shows_the_visible_part_of_the_chat_the_ticket_came_from(signed_in_maria, maria):
    ticket = _chat_ticket(maria[1])
    html = signed_in_maria.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    thread = re.search(r'<ul class="thread".*?</ul>', html, re.S).group(0)
    bodies = re.findall(r'<div class="body">(.*?)</div>', thread, re.S)
    assert bodies == ["My relay shows E42.", "Which firmware do you run?", "Version 2.1"]
    assert "Gold customer" not in html and "Routed by rule 7" not in html
    # The agent by first name only, the chat lines on the customer's and support's sides.
    assert '<span class="author">Boris</span>' in thread and "Ionescu" not in thread
    assert thread.count("event-chat from-customer") == 2
    assert thread.count("event-chat from-support") == 1


# --- My equipment ----------------------------------------------------------------------


@pytest.fixture
def equipment(org, maria):
    relay = Product.objects.create(name="RZA-500 relay")
    meter = Product.objects.create(name="MX-3 meter")
    today = timezone.localdate()
    mine = Asset.objects.create(
        contact=maria[1],
        organization=org,
        product=relay,
        serial_number="RZA-0001",
        warranty_end=today + datetime.timedelta(days=90),
    )
    expired = Asset.objects.create(
        contact=maria[1],
        product=meter,
        serial_number="MX-0002",
        warranty_end=today - datetime.timedelta(days=1),
    )
    colleague = make_contact("Radu", email="radu@example.com")
    colleague.organization = org
    colleague.save()
    colleagues = Asset.objects.create(
        contact=colleague, organization=org, product=relay, serial_number="RZA-0003"
    )
    outsider = Asset.objects.create(
        contact=make_contact("Ivan"), product=relay, serial_number="RZA-0004"
    )
    plan = SlaPlan.objects.create(name="Gold", first_response_minutes=60, resolution_minutes=480)
    contract = SupportContract.objects.create(
        organization=org,
        plan=plan,
        name="Gold 2026",
        starts_on=today - datetime.timedelta(days=200),
        ends_on=today + datetime.timedelta(days=165),
        renewal_date=today + datetime.timedelta(days=135),
    )
    other_org = Organization.objects.create(name="Other SRL")
    SupportContract.objects.create(
        organization=other_org,
        plan=plan,
        name="Not hers",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=30),
    )
    return {
        "mine": mine,
        "expired": expired,
        "colleagues": colleagues,
        "outsider": outsider,
        "contract": contract,
    }


def test_my_equipment_lists_my_units_with_warranty_badges_and_the_contract(
    signed_in_maria, equipment
):
    response = signed_in_maria.get(reverse("portal_equipment"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<section class="portal-page" aria-labelledby="equipment-title">', html)
    assert '<h1 id="equipment-title">My equipment</h1>' in html
    serials = re.findall(r'data-serial="([^"]+)"', html)
    assert serials == ["MX-0002", "RZA-0001"]
    mine = re.search(r'data-serial="RZA-0001".*?</li>', html, re.S).group(0)
    assert "RZA-500 relay" in mine and ">in warranty<" in mine and "owner" not in mine
    warranty_end = equipment["mine"].warranty_end.isoformat()
    assert f'<time datetime="{warranty_end}">' in mine
    assert ">expired<" in re.search(r'data-serial="MX-0002".*?</li>', html, re.S).group(0)
    assert "Gold 2026" in html and "Not hers" not in html
    renewal = equipment["contract"].renewal_date.isoformat()
    assert "Renewal date" in html and f'<time datetime="{renewal}">' in html


def test_an_organization_admin_sees_every_unit_of_the_organization(client, org, equipment):
    admin_user, _admin = make_customer(
        "Elena Admin", "elena@example.com", organization=org, org_admin=True
    )
    serials = {a.serial_number for a in equipment_for_customer(admin_user).assets}
    assert serials == {"RZA-0001", "RZA-0003"}
    client.force_login(admin_user)
    html = client.get(reverse("portal_equipment")).content.decode()
    colleagues = re.search(r'data-serial="RZA-0003".*?</li>', html, re.S).group(0)
    assert '<dd class="owner">Radu</dd>' in colleagues


def test_equipment_is_nothing_for_anyone_but_a_customer(equipment):
    agent = make_agent("ana", ["support"])
    assert list(equipment_for_customer(agent).assets) == []
    assert list(equipment_for_customer(agent).contracts) == []
    assert list(equipment_for_customer(None).assets) == []


def test_my_equipment_needs_a_signed_in_customer(client):
    response = client.get(reverse("portal_equipment"))
    assert response.status_code == 302 and reverse("portal_login") in response["Location"]


# --- organization admins --------------------------------------------------------------


def test_a_colleague_ticket_is_404_by_url_for_a_contact_and_open_for_an_org_admin(
    client, org, maria
):
    colleague_ticket = open_ticket(maria[1], subject="Maria's relay")
    radu_user, _radu = make_customer("Radu Ene", "radu@example.com", organization=org)
    elena_user, _elena = make_customer(
        "Elena Admin", "elena@example.com", organization=org, org_admin=True
    )
    url = reverse("portal_ticket", args=[colleague_ticket.number])
    client.force_login(radu_user)
    assert client.get(url).status_code == 404
    assert colleague_ticket.number not in client.get(reverse("portal")).content.decode()
    client.force_login(elena_user)
    assert client.get(url).status_code == 200
    listing = client.get(reverse("portal")).content.decode()
    assert colleague_ticket.number in listing
    assert "Asked by Maria Popescu" in listing


def test_the_org_admin_flag_is_labelled_and_editable_in_the_admin(admin_client, maria):
    contact = maria[1]
    field = Contact._meta.get_field("is_organization_admin")
    assert str(field.verbose_name) == "Organization admin in the portal"
    page = admin_client.get(reverse("admin:crm_contact_change", args=[contact.pk]))
    assert page.status_code == 200
    assert 'name="is_organization_admin"' in page.content.decode()


def test_an_erased_chat_message_reads_as_erased(signed_in_maria, maria):
    from crm.gdpr import REDACTED

    ticket = _chat_ticket(maria[1])
    first = ConversationEvent.objects.filter(
        conversation_id=ticket.conversation_id, author_role="visitor"
    ).order_by("seq")[0]
    first.payload = {**first.payload, "body": REDACTED}
    first.save()
    html = signed_in_maria.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert "My relay shows E42." not in html
    assert '<div class="body">[erased]</div>' in html
