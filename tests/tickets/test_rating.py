"""The customer's rating of a solved ticket: the mail's links, the page, the action."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.test import Client

from tests.factories import make_agent, make_contact, make_department
from tickets import rating
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.actions.rating import check_rate_ticket
from tickets.errors import TicketConflict, TicketError
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    settings.CHATPORTAL_PUBLIC_URL = "https://help.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def department():
    return make_department("support")


@pytest.fixture
def agent(department):
    return make_agent("ana", [department], first_name="Ana")


@pytest.fixture
def ticket(department):
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    maria.locale = "ro"
    maria.save()
    return create_ticket(
        subject="Contorul nu pornește",
        body="x",
        contact=maria,
        channel="email",
        department=department,
        author_role="customer",
        author_contact=maria,
    )


def committed(action, *args, **kwargs):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return action(*args, **kwargs)


def solved(ticket, agent):
    committed(change_status, ticket, Ticket.Status.SOLVED, by=agent)
    return ticket


def test_the_solved_mail_carries_five_one_click_links_bound_to_the_ticket(ticket, agent):
    solved(ticket, agent)
    [sent] = [m for m in mail.outbox if "/rate/" in m.body]
    links = re.findall(r"https://help\.example\.com(/rate/[^/\s]+/)\?score=(\d)", sent.body)
    assert [score for _path, score in links] == ["1", "2", "3", "4", "5"]
    path = links[0][0]
    assert rating.ticket_public_id(path.split("/")[2]) == ticket.public_id
    html = sent.alternatives[0][0]
    assert html.count("/rate/") == 5
    # The rest of the mail is in the customer's language (Romanian), as before.
    assert "Tichetul" in sent.body or "tichetul" in sent.body


def test_only_the_solved_mail_asks_for_a_rating(ticket, agent):
    committed(change_status, ticket, Ticket.Status.PENDING, by=agent)
    assert mail.outbox and all("/rate/" not in m.body for m in mail.outbox)


def test_one_click_records_the_score_then_a_comment_and_rating_again_updates(ticket, agent):
    solved(ticket, agent)
    client = Client(enforce_csrf_checks=False)
    url = rating.rating_path(ticket)
    page = client.get(url + "?score=4")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('name="score"') >= 5 and 'aria-pressed="true"' in body
    assert '<html lang="ro"' in body
    assert client.post(url, {"score": "4"}).status_code == 200
    ticket.refresh_from_db()
    assert (ticket.rating_score, ticket.rating_comment) == (4, "")
    assert ticket.rated_at is not None
    answer = client.post(url, {"score": "2", "comment": "  Slow <b>but</b> fixed.  "})
    assert answer.status_code == 200
    assert "Slow &lt;b&gt;but&lt;/b&gt; fixed." in answer.content.decode()
    ticket.refresh_from_db()
    assert (ticket.rating_score, ticket.rating_comment) == (2, "Slow <b>but</b> fixed.")
    events = list(ticket.events.filter(kind=TicketEvent.Kind.RATED).order_by("seq"))
    assert [(e.payload["score"], e.payload["previous"], e.internal) for e in events] == [
        (4, None, True),
        (2, 4, True),
    ]
    assert events[-1].seq == ticket.last_seq
    assert events[-1].author_role == "customer"


def test_a_get_never_records_anything(ticket, agent):
    solved(ticket, agent)
    Client().get(rating.rating_path(ticket, 5))
    ticket.refresh_from_db()
    assert ticket.rating_score is None


def test_a_tampered_foreign_or_expired_link_gets_a_clear_page(ticket, agent, settings):
    solved(ticket, agent)
    client = Client()
    token = rating.make_rating_token(ticket)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/rate/{tampered}/").status_code == 400
    assert client.post(f"/rate/{tampered}/", {"score": "5"}).status_code == 400
    # The same payload signed for something else (another salt) is no rating link.
    foreign = signing.dumps({"t": ticket.public_id.hex}, salt="chatportal.portal.login")
    assert client.get(f"/rate/{foreign}/").status_code == 400
    settings.CHATPORTAL_RATING_LINK_MAX_AGE_S = -1
    expired = client.post(f"/rate/{token}/", {"score": "5"})
    assert expired.status_code == 400 and "expired" in expired.content.decode()
    settings.CHATPORTAL_RATING_LINK_MAX_AGE_S = 3600
    ticket.delete()
    assert client.get(f"/rate/{token}/").status_code == 404


def test_the_action_validates_and_wants_a_solved_ticket(ticket, agent):
    with pytest.raises(TicketConflict):
        check_rate_ticket(ticket, 5)
    solved(ticket, agent)
    for score, comment in ((0, ""), (6, ""), ("x", ""), (5, "y" * 2001), (5, "bell\x07")):
        with pytest.raises(TicketError):
            check_rate_ticket(ticket, score, comment)
    event = check_rate_ticket(ticket, "5", "Great")
    assert event.kind == "rated" and event.internal
    ticket.refresh_from_db()
    assert (ticket.rating_score, ticket.rating_comment) == (5, "Great")


def test_the_agent_sees_the_rating_on_the_ticket_page_and_the_crm_timeline(ticket, agent):
    solved(ticket, agent)
    check_rate_ticket(ticket, 3, "Took <i>two</i> days")
    client = Client()
    client.force_login(agent)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert 'data-rating="3"' in page and "Customer rating: 3 of 5" in page
    assert "Took &lt;i&gt;two&lt;/i&gt; days" in page
    assert 'data-kind="rated"' in page
    from crm.timeline import TimelineScope
    from tickets.crm_sources import timeline_entries

    [entry] = timeline_entries(TimelineScope(contact=ticket.contact), 10)
    assert "rated 3 of 5" in entry.summary and "Took <i>two</i> days" in entry.summary


def test_the_rating_is_in_the_gdpr_export_and_its_comment_is_erased(ticket, agent):
    from tickets.gdpr import erase_tickets, export_tickets

    solved(ticket, agent)
    check_rate_ticket(ticket, 4, "Call me on +40 721 000 000")
    [exported] = export_tickets(ticket.contact)
    assert (exported["rating_score"], exported["rating_comment"]) == (
        4,
        "Call me on +40 721 000 000",
    )
    erase_tickets(ticket.contact)
    ticket.refresh_from_db()
    assert (ticket.rating_score, ticket.rating_comment) == (4, "")
    event = ticket.events.get(kind=TicketEvent.Kind.RATED)
    assert "+40" not in str(event.payload) and event.payload["score"] == 4
