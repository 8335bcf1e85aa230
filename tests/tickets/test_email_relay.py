"""Mail through a real SMTP relay (aiosmtpd) that works, is down, is slow or hangs.

Requests are real requests (the test client, committing for real); the
after-commit sender thread runs as in production. Whatever the relay does,
requests answer at once, the sign-in answer does not tell whether an
address has an account, nothing is lost, and every mail arrives once the
relay recovers (a slow relay that took a mail too late may get it twice,
with the same Message-ID).
"""

from __future__ import annotations

import email.utils
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import make_agent, make_contact, make_department
from tests.smtp_relay import SmtpRelay
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.email.sending import deliver_due_emails, wait_for_sender
from tickets.models import OutboundEmail, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# The relay's slowness and our patience, scaled down: a relay that takes
# 20 s against a 10 s timeout behaves like one that takes 5 s against 2 s.
TIMEOUT_S = 2.0
SLOW_RELAY_S = 5.0
# A request that waited for the relay would take at least TIMEOUT_S; a
# loaded CI machine may take a few hundred ms for a console reply.
AT_ONCE_S = TIMEOUT_S * 0.75


@pytest.fixture
def relay(settings):
    relay = SmtpRelay()
    relay.up()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = relay.host
    settings.EMAIL_PORT = relay.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = TIMEOUT_S
    settings.DEFAULT_FROM_EMAIL = "Electrica Support <support@help.example.com>"
    settings.CHATPORTAL_PUBLIC_URL = "https://help.example.com"
    settings.CHATPORTAL_EMAIL_AFTER_COMMIT = "thread"  # as in production
    settings.CHATPORTAL_EMAIL_RETRY_BASE_S = 0.05
    cache.clear()  # the sign-in rate limits
    yield relay
    wait_for_sender()
    relay.down()


@pytest.fixture
def world():
    department = make_department("support")
    agent = make_agent("ana", [department], first_name="Ana")
    maria = make_contact("Maria Popescu", email="maria@electrica.example")
    maria.locale = "ro"
    maria.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    maria.save()
    ivan = make_contact("Иван Петров", email="ivan@example.ru")
    ivan.locale = "ru"
    ivan.save()
    return {"department": department, "agent": agent, "maria": maria, "ivan": ivan}


def open_ticket(world, contact, subject: str) -> Ticket:
    return create_ticket(
        subject=subject,
        body="…",
        contact=contact,
        channel="email",
        department=world["department"],
        author_role="customer",
        author_contact=contact,
    )


def agent_client(world) -> Client:
    client = Client()
    client.force_login(world["agent"])
    # The first request of a process loads the middleware (whitenoise scans
    # the static files): not what the timed requests measure.
    client.get(reverse("console_tickets"))
    return client


def timed(call):
    # One writer at a time on the in-memory SQLite test database (it fails a
    # second writer at once instead of waiting): the previous mail's sender
    # thread finishes first. The request itself is what is timed.
    wait_for_sender()
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def reply_as_agent(client: Client, ticket: Ticket, body: str):
    return timed(
        lambda: client.post(reverse("console_ticket_reply", args=[ticket.number]), {"body": body})
    )


def ask_for_link(address: str):
    return timed(lambda: Client().post(reverse("portal_link_request"), {"email": address}))


def tick() -> None:
    """What the periodic maintenance tick does."""
    wait_for_sender()
    deliver_due_emails()


def tick_until_sent(timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while OutboundEmail.objects.filter(state=OutboundEmail.State.PENDING).exists():
        assert time.monotonic() < deadline, "mail still pending"
        time.sleep(0.1)  # the retry delays are scaled down too
        tick()


# --- the normal flows ----------------------------------------------------------------


def test_replies_arrive_as_multipart_mail_with_encoded_subjects_and_escaped_html(relay, world):
    client = agent_client(world)
    romanian = open_ticket(world, world["maria"], "Contorul nu pornește după pană")
    russian = open_ticket(world, world["ivan"], "Счётчик не работает")
    for ticket in (romanian, russian):
        response, _ = reply_as_agent(client, ticket, "Am verificat <b>releul</b> & siguranța.")
        assert response.status_code == 302
    messages = relay.wait_for(2)
    by_to = {str(m["To"]): m for m in messages}
    ro, ru = by_to["maria@electrica.example"], by_to["ivan@example.ru"]

    # RFC 2047 encoded words on the wire, the exact subject once decoded.
    wire_subjects = [
        header
        for raw in relay.raw
        for header in re.findall(rb"^Subject:(.*(?:\r?\n[ \t].*)*)", raw, re.M)
    ]
    assert all(b"=?utf-8?" in line for line in wire_subjects) and len(wire_subjects) == 2, (
        wire_subjects
    )
    assert str(ro["Subject"]).strip() == f"[{romanian.number}] Contorul nu pornește după pană"
    assert str(ru["Subject"]).strip() == f"[{russian.number}] Счётчик не работает"
    assert email.utils.parseaddr(str(ro["From"]))[1] == "support@help.example.com"
    assert str(ro["Reply-To"]) == f"support+{romanian.reply_token}@help.example.com"
    assert ro.get_content_type() == "multipart/alternative"
    text = ro.get_body(("plain",)).get_content()
    html = ro.get_body(("html",)).get_content()
    assert "Am verificat <b>releul</b> & siguranța." in text
    assert "&lt;b&gt;releul&lt;/b&gt; &amp; siguranța" in html
    assert "Există un răspuns nou" in text  # Romanian for Maria
    assert "появился новый ответ" in ru.get_body(("plain",)).get_content()  # Russian for Ivan
    for message in (ro, ru):
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
        assert message["Precedence"] == "bulk"
        assert str(message["Message-ID"]).endswith("@help.example.com>")
        assert not str(message["Date"]).endswith("-0000")


def test_internal_notes_never_reach_the_relay(relay, world):
    ticket = open_ticket(world, world["maria"], "Contor")
    client = agent_client(world)
    timed(
        lambda: client.post(
            reverse("console_ticket_reply", args=[ticket.number]),
            {"body": "only for us", "internal": "on"},
        )
    )
    reply_as_agent(client, ticket, "Public answer.")
    [message] = relay.wait_for(1)
    assert "Public answer." in message.get_body(("plain",)).get_content()
    tick()
    assert len(relay.messages) == 1


def test_one_ticket_five_mails_thread_as_one_conversation(relay, world):
    ticket = open_ticket(world, world["maria"], "Contorul nu pornește")
    agent = world["agent"]
    client = agent_client(world)
    reply_as_agent(client, ticket, "Ați încercat o repornire?")
    timed(lambda: change_status(ticket, Ticket.Status.PENDING, by=agent))
    reply_as_agent(client, ticket, "Încercați acum, vă rog.")
    timed(lambda: change_status(ticket, Ticket.Status.SOLVED, by=agent))
    timed(lambda: change_status(ticket, Ticket.Status.CLOSED, by=agent))
    tick()
    messages = sorted(
        relay.wait_for(5), key=lambda m: email.utils.parsedate_to_datetime(str(m["Date"]))
    )
    assert len(messages) == 5
    assert {str(m["Subject"]).strip() for m in messages} == {
        f"[{ticket.number}] Contorul nu pornește"
    }
    root = f"<ticket-{ticket.public_id.hex}@help.example.com>"
    assert {str(m["References"]) for m in messages} == {root}
    assert {str(m["In-Reply-To"]) for m in messages} == {root}
    assert len({str(m["Message-ID"]) for m in messages}) == 5
    bodies = [m.get_body(("plain",)).get_content() for m in messages]
    # What each mail says is what its event did: the last two say solved, then closed.
    assert sum("Rezolvat" in body and "Închis" not in body for body in bodies) == 1
    assert sum("Închis" in body for body in bodies) == 1


# --- a relay that is down, slow or hanging -------------------------------------------


@pytest.mark.parametrize("trouble", ["down", "slow", "hanging"])
def test_requests_answer_at_once_and_every_mail_arrives_after_the_relay_recovers(
    relay, world, trouble
):
    {"down": relay.down, "slow": lambda: relay.slow(SLOW_RELAY_S), "hanging": relay.hang}[trouble]()
    client = agent_client(world)
    tickets = [open_ticket(world, world["maria"], f"Contor {n}") for n in range(3)]
    for ticket in tickets:
        response, took = reply_as_agent(client, ticket, "Gata.")
        assert response.status_code == 302
        assert took < AT_ONCE_S, f"a reply waited {took:.2f} s for a {trouble} relay"
    response, took = ask_for_link("maria@electrica.example")
    assert response.status_code == 200 and took < AT_ONCE_S
    wait_for_sender(timeout_s=10)
    tick()  # a tick while the relay is still in trouble: retried, not lost
    wait_for_sender(timeout_s=10)
    rows = OutboundEmail.objects.all()
    assert rows.count() == 4
    assert all(row.state == OutboundEmail.State.PENDING for row in rows) or trouble == "slow"

    relay.up()
    tick_until_sent()
    expected = set(OutboundEmail.objects.values_list("message_id", flat=True))
    relay.wait_for(4)
    assert relay.message_ids() == expected
    assert set(OutboundEmail.objects.values_list("state", flat=True)) == {OutboundEmail.State.SENT}
    sign_in = [
        m for m in relay.messages if "/portal/login/link/" in m.get_body(("plain",)).get_content()
    ]
    assert sign_in and str(sign_in[0]["Reply-To"]) == "support@help.example.com"


def test_the_periodic_sweep_never_waits_for_a_hanging_relay(relay, world):
    from chat.sweeper import run_sweeps

    relay.hang()
    ticket = open_ticket(world, world["maria"], "Contor")
    reply_as_agent(agent_client(world), ticket, "Gata.")
    wait_for_sender(timeout_s=10)
    time.sleep(0.1)  # the scaled-down retry delay
    # The sweep runs on the worker's one database thread: it only wakes the sender.
    counts, took = timed(run_sweeps)
    assert counts["mail_due"] == 1 and took < AT_ONCE_S, took
    relay.up()
    tick_until_sent()
    assert len(relay.wait_for(1)) >= 1


@pytest.mark.parametrize("trouble", ["up", "down", "slow", "hanging"])
def test_the_sign_in_answer_does_not_tell_whether_the_address_has_an_account(relay, world, trouble):
    {
        "up": relay.up,
        "down": relay.down,
        "slow": lambda: relay.slow(SLOW_RELAY_S),
        "hanging": relay.hang,
    }[trouble]()
    known, known_took = ask_for_link("maria@electrica.example")
    wait_for_sender(timeout_s=10)
    unknown, unknown_took = ask_for_link("stranger@electrica.example")
    wait_for_sender(timeout_s=10)
    assert known.status_code == unknown.status_code == 200

    def page(r):
        return (
            r.content.decode()
            .replace("maria@electrica.example", "X")
            .replace("stranger@electrica.example", "X")
        )  # noqa: E731

    def strip_tokens(text):
        return "".join(line for line in text.splitlines() if "csrfmiddlewaretoken" not in line)  # noqa: E731

    assert strip_tokens(page(known)) == strip_tokens(page(unknown))
    assert known_took < AT_ONCE_S and unknown_took < AT_ONCE_S, (known_took, unknown_took)
    relay.up()
    tick_until_sent()
    [message] = relay.wait_for(1)
    assert str(message["To"]) == "maria@electrica.example"
    assert len(relay.message_ids()) == 1  # the stranger got nothing
