"""The console's search box and contact page: agents only, one timeline, escaped output."""

from __future__ import annotations

import datetime
import html
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from chat.actions.visitors import create_visitor
from chat.models import Conversation
from crm.actions import record_call
from crm.models import Asset, ContactPhone, Organization, Product, SlaPlan, SupportContract
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


@pytest.fixture
def support():
    return make_department("support", name="Support")


@pytest.fixture
def boris(support):
    return make_agent("boris", [support], first_name="Boris")


@pytest.fixture
def organization():
    return Organization.objects.create(name="Electrica Nord SRL")


@pytest.fixture
def maria(organization, boris):
    contact = make_contact("Maria Popescu", external_id="crm-1", email="customer1@example.com")
    contact.organization = organization
    contact.account_owner = boris
    contact.save()
    ContactPhone.objects.create(contact=contact, number="+40 721 234 567", label="mobile")
    today = timezone.localdate()
    Asset.objects.create(
        contact=contact,
        product=Product.objects.create(name="RZA-500", line="Relay protection"),
        serial_number="RZA-2024-0001",
        warranty_end=today + datetime.timedelta(days=3000),
    )
    Asset.objects.create(
        organization=organization,
        product=Product.objects.create(name="MRU-200"),
        serial_number="MRU-2019-0042",
        warranty_end=today - datetime.timedelta(days=10),
    )
    SupportContract.objects.create(
        organization=organization,
        plan=SlaPlan.objects.create(
            name="Gold 24x7", first_response_minutes=60, resolution_minutes=480, is_24x7=True
        ),
        starts_on=today - datetime.timedelta(days=100),
        ends_on=today + datetime.timedelta(days=200),
        renewal_date=today + datetime.timedelta(days=45),
    )
    return contact


@pytest.fixture
def andrei(organization):
    # Maria's colleague: his tickets and calls belong on her page too.
    contact = make_contact("Andrei Dumitrescu", email="customer2@example.com")
    contact.organization = organization
    contact.save()
    return contact


def page_url(contact) -> str:
    return reverse("console_contact", args=[str(contact.public_id)])


def open_ticket(department, contact, subject):
    return create_ticket(
        subject=subject,
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=department,
        priority="normal",
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


def signed_in(client, user):
    client.force_login(user)
    return client


# --- who may open it ------------------------------------------------------------------


def test_it_sends_anonymous_users_to_sign_in(client, maria):
    for url in (page_url(maria), reverse("console_search") + "?q=maria"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_customer_goes_to_the_portal(client, maria):
    maria.portal_user = get_user_model().objects.create_user("customer1", password="x-pass-123")
    maria.save()
    signed_in(client, maria.portal_user)
    for url in (page_url(maria), reverse("console_search") + "?q=maria"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("portal")


def test_a_user_who_is_no_agent_gets_403_without_the_search_box(client, maria):
    signed_in(client, get_user_model().objects.create_user("stranger", password="x-pass-123"))
    response = client.get(page_url(maria))
    assert response.status_code == 403
    assert "Maria" not in response.content.decode()
    assert 'role="search"' not in response.content.decode()


def test_an_unknown_contact_is_404(client, boris):
    signed_in(client, boris)
    assert client.get(f"/console/contacts/{uuid.uuid4()}/").status_code == 404
    assert client.get("/console/contacts/1/").status_code == 404


# --- what it shows --------------------------------------------------------------------


def test_it_shows_the_record_assets_and_contracts(client, boris, maria):
    signed_in(client, boris)
    response = client.get(page_url(maria))
    assert response.status_code == 200
    text = response.content.decode()
    assert '<h1 class="contact-name">Maria Popescu</h1>' in text
    assert "Electrica Nord SRL" in text
    assert "+40 721 234 567" in text
    assert "customer1@example.com" in text
    assert '<dd class="contact-owner">boris</dd>' in text
    # Her own unit in warranty, the organization's out of it.
    assert "RZA-2024-0001" in text and "MRU-2019-0042" in text
    assert "In warranty" in text and "Out of warranty" in text
    assert "Gold 24x7" in text
    renewal = (timezone.localdate() + datetime.timedelta(days=45)).isoformat()
    assert f"Renewal {renewal}" in text
    # The header carries the search box with its shortcut.
    assert 'aria-keyshortcuts="/ Control+K"' in text


def test_one_timeline_of_the_contact_and_the_organization_newest_first(
    client, boris, support, maria, andrei
):
    hers = open_ticket(support, maria, "Relay trips at night")
    his = open_ticket(support, andrei, "Colleague's ticket")
    record_call(phone="+40 721 234 567", direction="inbound", agent="boris", note="Firmware 3.2")
    ContactPhone.objects.create(contact=andrei, number="+40 744 555 123")
    record_call(phone="+40 744 555 123", direction="outbound", note="Called Andrei back")
    visitor, _token = create_visitor(name="Maria", email="typed@example.com")
    Conversation.objects.create(department=support, visitor=visitor, contact=andrei)
    stranger = make_contact("Someone Else")
    open_ticket(support, stranger, "Not theirs")

    signed_in(client, boris)
    text = client.get(page_url(maria)).content.decode()
    assert f'href="/console/tickets/{hers.number}/"' in text
    assert f'href="/console/tickets/{his.number}/"' in text
    assert "Firmware 3.2" in text and "Called Andrei back" in text
    assert "Chat with Support" in text
    assert "Not theirs" not in text
    times = [chunk.split('"', 1)[0] for chunk in text.split('<time class="muted" datetime="')[1:]]
    assert len(times) == 5
    assert times == sorted(times, reverse=True)


def test_the_timeline_pages_with_an_older_link(client, boris, support, maria, monkeypatch):
    import frontend.views_contacts

    monkeypatch.setattr(frontend.views_contacts, "TIMELINE_PAGE_SIZE", 2)
    numbers = [open_ticket(support, maria, f"Ticket {i}").number for i in range(3)]
    signed_in(client, boris)
    text = client.get(page_url(maria)).content.decode()
    assert numbers[2] in text and numbers[1] in text and numbers[0] not in text
    more = text.split('class="timeline-more"', 1)[1]
    older = html.unescape(more.split('hx-get="', 1)[1].split('"', 1)[0])
    assert older.startswith("?before=")
    fragment = client.get(page_url(maria) + older, HTTP_HX_REQUEST="true").content.decode()
    assert numbers[0] in fragment and numbers[1] not in fragment
    assert "<html" not in fragment and "Older entries" not in fragment
    assert client.get(page_url(maria) + "?before=yesterday").status_code == 404


def test_it_escapes_everything_it_shows(client, boris, support, maria):
    maria.name = XSS
    maria.save()
    maria.organization.name = XSS + " SRL"
    maria.organization.save()
    open_ticket(support, maria, XSS)
    record_call(phone="+40 721 234 567", direction="inbound", note=XSS)
    signed_in(client, boris)
    text = client.get(page_url(maria)).content.decode()
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text


# --- the search view ------------------------------------------------------------------


def test_the_search_fragment_lists_hits_as_options(client, boris, maria):
    signed_in(client, boris)
    response = client.get(reverse("console_search"), {"q": "0721 234 567"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert 'role="listbox"' in text and 'role="option"' in text
    assert f'href="{page_url(maria)}"' in text
    assert "<html" not in text


def test_the_search_options_hold_no_link_but_the_search_page_is_a_list_of_links(
    client, boris, maria
):
    # A link inside a listbox option is a control inside a control (axe: nested-interactive).
    signed_in(client, boris)
    fragment = client.get(reverse("console_search"), {"q": "maria"}, HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert f'data-href="{page_url(maria)}"' in text and "<a " not in text
    page = client.get(reverse("console_search"), {"q": "maria"}).content.decode()
    results = page[page.index("console-search-list") :]
    assert 'role="option"' not in results and 'role="listbox"' not in results
    assert f'<a class="console-search-link" href="{page_url(maria)}">' in results


def test_the_search_page_works_without_javascript(client, boris, maria):
    signed_in(client, boris)
    text = client.get(reverse("console_search"), {"q": "rza-2024"}).content.decode()
    assert "<html" in text and f'href="{page_url(maria)}"' in text
    too_long = client.get(reverse("console_search"), {"q": "x" * 101})
    assert too_long.status_code == 400
    assert "at most 100 characters" in too_long.content.decode()


def test_the_search_says_so_when_nothing_matches_and_escapes_the_query(client, boris, maria):
    signed_in(client, boris)
    text = client.get(reverse("console_search"), {"q": XSS[:90]}, HTTP_HX_REQUEST="true")
    text = text.content.decode()
    assert "Nothing found" in text
    assert "<img src=x" not in text and "&lt;img src=x" in text
    # One character: no error, no list.
    one = client.get(reverse("console_search"), {"q": "m"}, HTTP_HX_REQUEST="true")
    assert one.status_code == 200 and one.content.decode().strip() == ""
