"""The customer portal over HTTP: sign-in, one-time links, my tickets, isolation."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from crm.models import Organization
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_department
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.customers import make_login_token, user_for_login_token
from tickets.email.sending import deliver_due_emails
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


def open_ticket(contact, subject: str = "Relay trips at night", body: str = "It trips.") -> Ticket:
    return create_ticket(
        subject=subject,
        body=body,
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=make_department(),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org():
    return Organization.objects.create(name="Electrica Nord")


@pytest.fixture
def customer(org):
    return make_customer("Maria Popescu", "customer1@example.com", organization=org)


@pytest.fixture
def other_customer():
    return make_customer("Ivan Petrov", "customer2@example.com")


@pytest.fixture
def support_agent():
    return make_agent("ana", ["support"], first_name="Ana")


def signed_in(client, user):
    client.force_login(user)
    return client


# --- sign-in ---------------------------------------------------------------------------


def test_it_signs_a_customer_in_with_their_email_and_password(client, customer):
    response = client.post(
        reverse("portal_login"), {"username": "Customer1@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal")
    assert client.get(reverse("portal")).status_code == 200


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(client, customer):
    wrong = client.post(
        reverse("portal_login"), {"username": "customer1@example.com", "password": "x"}
    )
    unknown = client.post(
        reverse("portal_login"), {"username": "nobody@example.com", "password": "x"}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_refuses_an_agent_at_the_portal_sign_in(client, support_agent):
    response = client.post(reverse("portal_login"), {"username": "ana", "password": AGENT_PASSWORD})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_sends_an_agent_session_away_from_portal_pages(client, support_agent):
    client.force_login(support_agent)
    response = client.get(reverse("portal"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal_login"))


def test_it_keeps_a_customer_out_of_the_agent_console(client, customer):
    signed_in(client, customer[0])
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal")


def test_it_sends_anonymous_visitors_to_the_portal_sign_in(client):
    response = client.get(reverse("portal"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal_login"))


def test_it_requires_csrf_tokens_on_portal_forms(customer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        reverse("portal_login"), {"username": "customer1@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_it_signs_out_only_by_post(client, customer):
    signed_in(client, customer[0])
    assert client.get(reverse("portal_logout")).status_code == 405
    assert client.post(reverse("portal_logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# --- one-time links --------------------------------------------------------------------


def _link_from_outbox() -> str:
    deliver_due_emails()  # the request only queued it
    assert len(mail.outbox) == 1
    match = re.search(r"http://\S+/portal/login/link/(\S+)/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def test_it_mails_a_one_time_link_that_signs_the_customer_in_once(client, customer):
    response = client.post(reverse("portal_link_request"), {"email": "customer1@example.com"})
    assert response.status_code == 200
    token = _link_from_outbox()
    assert mail.outbox[0].to == ["customer1@example.com"]

    confirm = client.get(reverse("portal_link_confirm", args=[token]))
    assert confirm.status_code == 200  # a click, not the fetch, spends the link
    assert "_auth_user_id" not in client.session
    signed = client.post(reverse("portal_link_confirm", args=[token]))
    assert signed.status_code == 302
    assert client.session["_auth_user_id"] == str(customer[0].pk)

    client.post(reverse("portal_logout"))
    again = client.post(reverse("portal_link_confirm", args=[token]))
    assert again.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_answers_the_same_for_an_unknown_address_and_mails_nothing(client, customer):
    known = client.post(reverse("portal_link_request"), {"email": "customer1@example.com"})
    unknown = client.post(reverse("portal_link_request"), {"email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 200

    def strip(r):
        return (
            r.content.decode()
            .replace("customer1@example.com", "X")
            .replace("stranger@example.com", "X")
        )  # noqa: E731

    assert re.sub(r'value="[^"]+"', "", strip(known)) == re.sub(
        r'value="[^"]+"', "", strip(unknown)
    )
    deliver_due_emails()
    assert len(mail.outbox) == 1


def test_it_never_mails_a_link_to_an_agent(client, support_agent):
    support_agent.email = "ana@chatportal.example"
    support_agent.save()
    client.post(reverse("portal_link_request"), {"email": "ana@chatportal.example"})
    deliver_due_emails()
    assert mail.outbox == []


def test_it_rate_limits_link_requests_per_address(client, customer):
    answers = [
        client.post(reverse("portal_link_request"), {"email": "customer1@example.com"}).status_code
        for _ in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]
    deliver_due_emails()
    assert len(mail.outbox) == 3


def test_it_refuses_an_expired_link(customer):
    token = make_login_token(customer[0])
    assert user_for_login_token(token) == customer[0]
    time.sleep(1.1)
    assert user_for_login_token(token, max_age_s=1) is None


def test_it_refuses_a_forged_or_mangled_link(client, customer):
    token = make_login_token(customer[0])
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.post(reverse("portal_link_confirm", args=[forged])).status_code == 400
    assert client.post(reverse("portal_link_confirm", args=["x" * 400])).status_code == 400


def test_it_voids_older_links_when_one_is_used(client, customer):
    first = make_login_token(customer[0])
    time.sleep(1.1)  # last_login is compared to the second
    second = make_login_token(customer[0])
    assert client.post(reverse("portal_link_confirm", args=[second])).status_code == 302
    client.post(reverse("portal_logout"))
    assert client.post(reverse("portal_link_confirm", args=[first])).status_code == 400


# --- my tickets and a ticket's page ---------------------------------------------------


def test_it_lists_my_tickets_in_a_table_named_my_tickets_with_linked_numbers(client, customer):
    ticket = open_ticket(customer[1], subject="Relay <b>trips</b>")
    html = signed_in(client, customer[0]).get(reverse("portal")).content.decode()
    assert 'aria-labelledby="my-tickets-title"' in html
    assert '<h1 id="my-tickets-title">My tickets</h1>' in html
    assert f'<a href="/portal/tickets/{ticket.number}/">{ticket.number}</a>' in html
    assert "Relay &lt;b&gt;trips&lt;/b&gt;" in html
    assert "We&#x27;re working on it" in html
    assert f'id="ticket-{ticket.number}"' in html and 'data-status="new"' in html


def test_it_shows_the_public_timeline_and_never_internal_notes(client, customer, support_agent):
    ticket = open_ticket(customer[1])
    add_reply(ticket, body="Please send the log.", author_role="agent", author_user=support_agent)
    add_reply(
        ticket,
        body="SECRET: customer is on an old firmware",
        internal=True,
        author_role="agent",
        author_user=support_agent,
    )
    html = (
        signed_in(client, customer[0])
        .get(reverse("portal_ticket", args=[ticket.number]))
        .content.decode()
    )
    assert "Please send the log." in html
    assert "SECRET" not in html
    assert "Ana" in html and "ana@" not in html


def test_a_customer_reply_lands_on_the_ticket_and_reopens_a_solved_one(
    client, customer, support_agent
):
    ticket = open_ticket(customer[1])
    change_status(ticket, Ticket.Status.SOLVED, by=support_agent)
    signed_in(client, customer[0])
    response = client.post(reverse("portal_reply", args=[ticket.number]), {"body": "Still broken."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    event = ticket.events.filter(kind="reply").get()
    assert event.payload["body"] == "Still broken."
    assert event.author_role == "customer" and event.author_contact == customer[1]


def test_an_htmx_reply_answers_the_form_and_the_ticket_section_out_of_band(client, customer):
    ticket = open_ticket(customer[1])
    signed_in(client, customer[0])
    response = client.post(
        reverse("portal_reply", args=[ticket.number]),
        {"body": "More <script>x</script>"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="reply-form"' in html
    assert f'id="ticket-{ticket.number}" hx-swap-oob="true"' in html
    assert "&lt;script&gt;" in html and "<script>x" not in html


def test_it_refuses_an_empty_reply(client, customer):
    ticket = open_ticket(customer[1])
    signed_in(client, customer[0])
    response = client.post(reverse("portal_reply", args=[ticket.number]), {"body": "   "})
    assert response.status_code == 400
    assert not ticket.events.filter(kind="reply").exists()


def test_it_opens_a_new_ticket_from_the_portal(client, customer):
    make_department()
    signed_in(client, customer[0])
    assert client.get(reverse("portal_new_ticket")).status_code == 200
    response = client.post(
        reverse("portal_new_ticket"),
        {
            "subject": "Contor defect în Cluj",
            "department": "support",
            "body": "Счётчик не работает",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal_ticket", args=[ticket.number])
    assert ticket.channel == "portal" and ticket.contact == customer[1]
    assert ticket.subject == "Contor defect în Cluj"
    page = client.get(response["Location"]).content.decode()
    assert "Счётчик не работает" in page


def test_it_refuses_a_new_ticket_for_an_unknown_department(client, customer):
    make_department()
    signed_in(client, customer[0])
    response = client.post(
        reverse("portal_new_ticket"), {"subject": "x", "department": "nope", "body": "y"}
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()


# --- isolation -------------------------------------------------------------------------


def test_customer_a_never_sees_customer_b_ticket_by_url(client, customer, other_customer):
    theirs = open_ticket(other_customer[1], subject="Ivan's private matter")
    signed_in(client, customer[0])
    page = client.get(reverse("portal_ticket", args=[theirs.number]))
    missing = client.get(reverse("portal_ticket", args=["T-999999"]))
    assert page.status_code == missing.status_code == 404
    assert "Ivan" not in page.content.decode()
    reply = client.post(reverse("portal_reply", args=[theirs.number]), {"body": "hijack"})
    assert reply.status_code == 404
    assert not theirs.events.filter(kind="reply").exists()


def test_customer_a_never_sees_customer_b_ticket_in_the_list_or_search(
    client, customer, other_customer
):
    mine = open_ticket(customer[1], subject="Meter question")
    theirs = open_ticket(other_customer[1], subject="Meter replacement for Ivan")
    signed_in(client, customer[0])
    for query in ("", "Meter", theirs.number, "Ivan"):
        html = client.get(reverse("portal"), {"q": query}).content.decode()
        assert f"ticket-{theirs.number}" not in html
        assert f"/portal/tickets/{theirs.number}/" not in html
        assert "replacement" not in html
    assert mine.number in client.get(reverse("portal"), {"q": "Meter"}).content.decode()


def test_an_organization_admin_sees_the_organization_tickets(client, org, customer):
    admin_user, _admin = make_customer(
        "Elena Admin", "elena@example.com", organization=org, org_admin=True
    )
    colleague_ticket = open_ticket(customer[1], subject="Colleague's ticket")
    outsider_user, outsider = make_customer("Outsider", "out@example.com")
    outsider_ticket = open_ticket(outsider, subject="Outsider's ticket")
    signed_in(client, admin_user)
    html = client.get(reverse("portal")).content.decode()
    assert colleague_ticket.number in html and outsider_ticket.number not in html
    assert client.get(reverse("portal_ticket", args=[colleague_ticket.number])).status_code == 200
    assert client.get(reverse("portal_ticket", args=[outsider_ticket.number])).status_code == 404


def test_an_ordinary_colleague_does_not_see_the_organization_tickets(client, org, customer):
    colleague_user, _colleague = make_customer("Radu", "radu@example.com", organization=org)
    ticket = open_ticket(customer[1])
    signed_in(client, colleague_user)
    assert client.get(reverse("portal_ticket", args=[ticket.number])).status_code == 404
