"""Outbound mail: what a notification says and carries, and the outbox that sends it.

The relay here is Django's locmem backend (or one that refuses); the real
SMTP relay (up, down, slow, hanging) is in test_email_relay.py.
"""

from __future__ import annotations

import datetime
import email.utils
import re

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_agent, make_contact, make_department
from tickets.actions.escalation import sweep_sla
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.email.sending import deliver_due_emails, retry_delay_s
from tickets.locks import claim_due_email
from tickets.models import OutboundEmail, Ticket, TicketEvent
from tickets.notifications.outbound import build_notification

pytestmark = pytest.mark.django_db

State = OutboundEmail.State
REFUSING = "tests.tickets.test_email_out.RefusingBackend"


class RefusingBackend(BaseEmailBackend):
    """A relay that is down: every connection is refused."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


class MailboxFullBackend(BaseEmailBackend):
    """A relay that answers 552 for the recipient: retrying cannot help."""

    def send_messages(self, email_messages):
        import smtplib

        raise smtplib.SMTPRecipientsRefused({"maria@electrica.example": (552, b"mailbox full")})


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    settings.CHATPORTAL_PUBLIC_URL = "https://help.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CHATPORTAL_EMAIL_MAX_ATTEMPTS = 3
    settings.CHATPORTAL_EMAIL_RETRY_BASE_S = 60


@pytest.fixture
def department():
    return make_department("support")


@pytest.fixture
def maria(department):
    contact = make_contact("Maria Popescu", email="maria@electrica.example")
    contact.locale = "ro"
    contact.save()
    return contact


@pytest.fixture
def agent(department):
    return make_agent("ana", [department], first_name="Ana")


@pytest.fixture
def ticket(maria, department):
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
    """Run an action as a request would: its on-commit callbacks (the outbox kick) run."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return action(*args, **kwargs)


# --- what a notification says --------------------------------------------------------


def test_an_agent_reply_mails_the_customer_in_their_language_with_the_portal_link(ticket, agent):
    committed(
        add_reply,
        ticket,
        body="Am înlocuit releul <b>acum</b>.",
        author_role="agent",
        author_user=agent,
    )
    [sent] = mail.outbox
    assert sent.to == ["maria@electrica.example"]
    assert sent.reply_to == [f"support+{ticket.reply_token}@chatportal.example"]
    assert sent.subject == f"[{ticket.number}] Contorul nu pornește"
    assert f"https://help.example.com/portal/t/{ticket.number}/" in sent.body
    assert "Am înlocuit releul <b>acum</b>." in sent.body  # plain text stays as written
    assert "Există un răspuns nou" in sent.body  # the event goes in the body, in Romanian
    html = sent.alternatives[0][0]
    assert "&lt;b&gt;acum&lt;/b&gt;" in html


def test_every_mail_is_marked_automatic_for_outlook_exchange_and_list_software(ticket, agent):
    committed(add_reply, ticket, body="Gata.", author_role="agent", author_user=agent)
    headers = mail.outbox[0].message()
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert headers["Precedence"] == "bulk"


def test_message_ids_use_the_mail_domain_and_dates_carry_a_real_offset(ticket, agent, settings):
    settings.TIME_ZONE = "Europe/Bucharest"
    committed(add_reply, ticket, body="Gata.", author_role="agent", author_user=agent)
    message = mail.outbox[0].message()
    assert re.fullmatch(r"<[^@<>]+@chatportal\.example>", message["Message-ID"])
    assert "localhost" not in message["Message-ID"]
    date = message["Date"]
    assert not date.endswith("-0000")
    parsed = email.utils.parsedate_to_datetime(date)
    assert parsed.utcoffset() in {datetime.timedelta(hours=2), datetime.timedelta(hours=3)}


def test_one_ticket_keeps_one_subject_and_one_thread_whatever_happens(ticket, agent):
    committed(add_reply, ticket, body="Ați încercat?", author_role="agent", author_user=agent)
    committed(change_status, ticket, Ticket.Status.PENDING, by=agent)
    committed(add_reply, ticket, body="Încercați acum.", author_role="agent", author_user=agent)
    committed(change_status, ticket, Ticket.Status.SOLVED, by=agent)
    committed(change_status, ticket, Ticket.Status.CLOSED, by=agent)
    assert len(mail.outbox) == 5
    messages = [m.message() for m in mail.outbox]
    assert {m.subject for m in mail.outbox} == {f"[{ticket.number}] Contorul nu pornește"}
    roots = {(m["References"], m["In-Reply-To"]) for m in messages}
    assert len(roots) == 1 and next(iter(roots))[0].startswith(f"<ticket-{ticket.public_id.hex}@")
    assert len({m["Message-ID"] for m in messages}) == 5


def test_a_status_mail_names_the_status_of_its_own_event(ticket, agent, settings):
    # Seeding solved and then closed a ticket in one go: two "Closed" mails.
    with transaction.atomic():
        change_status(ticket, Ticket.Status.SOLVED, by=agent)
        change_status(ticket, Ticket.Status.CLOSED, by=agent)
    deliver_due_emails()
    solved, closed = mail.outbox
    assert "Rezolvat" in solved.body and "Închis" not in solved.body
    assert "Închis" in closed.body


def test_internal_notes_and_the_customer_own_replies_mail_nobody(ticket, agent, maria):
    committed(
        add_reply,
        ticket,
        body="secret",
        internal=True,
        author_role="agent",
        author_user=agent,
    )
    committed(add_reply, ticket, body="mine", author_role="customer", author_contact=maria)
    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_a_reopening_by_the_customer_own_reply_mails_nobody(ticket, agent, maria):
    change_status(ticket, Ticket.Status.SOLVED, by=agent)
    add_reply(ticket, body="Not fixed.", author_role="customer", author_contact=maria)
    reopened = ticket.events.filter(kind="status").order_by("-seq").first()
    assert reopened.payload["new"] == "open"
    assert build_notification(ticket, reopened) is None
    assert OutboundEmail.objects.count() == 1  # only the "solved" mail


# --- the outbox ----------------------------------------------------------------------


def test_the_mail_is_written_with_its_event_and_goes_when_the_transaction_rolls_back(ticket, agent):
    with pytest.raises(RuntimeError), transaction.atomic():
        add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
        assert OutboundEmail.objects.count() == 1  # in the same transaction
        raise RuntimeError("the request failed after the reply")
    assert not OutboundEmail.objects.exists()
    assert deliver_due_emails().sent == 0 and mail.outbox == []


def test_nothing_is_sent_before_the_commit(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.get().state == State.SENT


def test_a_relay_that_is_down_is_retried_with_doubling_delays(ticket, agent, settings):
    settings.EMAIL_BACKEND = REFUSING
    event = add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
    start = timezone.now()
    report = deliver_due_emails(now=start)
    assert (report.sent, report.retrying) == (0, 1)
    row = OutboundEmail.objects.get()
    assert row.state == State.PENDING and row.attempts == 1
    assert row.next_attempt_at == start + datetime.timedelta(seconds=60)
    assert "Connection refused" in row.last_error
    assert (
        deliver_due_emails(now=start + datetime.timedelta(seconds=59)).retrying == 0
    )  # not due yet
    deliver_due_emails(now=start + datetime.timedelta(seconds=60))
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == start + datetime.timedelta(seconds=60 + 120)
    assert [retry_delay_s(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    # The relay comes back: the mail goes, with the Message-ID it had from the start.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver_due_emails(now=start + datetime.timedelta(seconds=180)).sent == 1
    row.refresh_from_db()
    assert row.state == State.SENT and row.event_id == event.pk
    assert mail.outbox[0].extra_headers["Message-ID"] == row.message_id


def test_after_the_last_attempt_the_agent_sees_not_delivered_on_the_ticket(ticket, agent, settings):
    settings.EMAIL_BACKEND = REFUSING
    reply = add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
    moment = timezone.now()
    for _ in range(3):
        deliver_due_emails(now=moment)
        moment += datetime.timedelta(hours=1)
    row = OutboundEmail.objects.get()
    assert row.state == State.FAILED and row.attempts == 3
    failed = ticket.events.get(kind=TicketEvent.Kind.EMAIL_FAILED)
    assert failed.internal
    assert failed.payload["email"] == "maria@electrica.example"
    assert failed.payload["event_seq"] == reply.seq
    assert deliver_due_emails(now=moment + datetime.timedelta(days=1)).retrying == 0  # given up

    client = Client()
    client.force_login(agent)
    page = client.get(reverse("console_ticket", args=[ticket.number])).content.decode()
    assert "E-mail not delivered to maria@electrica.example after 3 attempts" in page
    # …and the reply itself carries the mark.
    reply_entry = re.search(rf'<li [^>]*data-seq="{reply.seq}".*?</li>', page, re.S).group(0)
    assert 'data-mail="undelivered"' in reply_entry
    # Customers never see it.
    assert build_notification(ticket, failed) is None


def test_a_permanent_refusal_is_given_up_at_once(ticket, agent, settings):
    settings.EMAIL_BACKEND = "tests.tickets.test_email_out.MailboxFullBackend"
    add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
    assert deliver_due_emails().failed == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.EMAIL_FAILED).count() == 1


def test_the_periodic_sweep_sends_what_is_due(ticket, agent, settings):
    from chat.sweeper import run_sweeps

    settings.CHATPORTAL_EMAIL_RETRY_BASE_S = 0
    settings.EMAIL_BACKEND = REFUSING
    add_reply(ticket, body="Gata.", author_role="agent", author_user=agent)
    assert deliver_due_emails().retrying == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert run_sweeps()["mail_due"] == 1
    assert len(mail.outbox) == 1
    assert run_sweeps()["mail_due"] == 0


def test_two_workers_never_claim_the_same_mail(ticket, agent):
    add_reply(ticket, body="One.", author_role="agent", author_user=agent)
    add_reply(ticket, body="Two.", author_role="agent", author_user=agent)
    now = timezone.now()
    lease = now + datetime.timedelta(minutes=2)
    first = claim_due_email(now=now, lease_until=lease)
    second = claim_due_email(now=now, lease_until=lease)
    assert first is not None and second is not None and first.pk != second.pk
    assert claim_due_email(now=now, lease_until=lease) is None
    # A worker that died mid-send: the row falls due again after the lease.
    again = claim_due_email(now=lease, lease_until=lease + datetime.timedelta(minutes=2))
    assert again is not None and again.attempts == 2


def test_agents_sla_alerts_go_through_the_outbox_too(ticket, agent, settings):
    ticket.assignee = agent
    agent.email = "ana@chatportal.example"
    agent.save()
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    settings.EMAIL_BACKEND = REFUSING
    due = ticket.first_response_due or timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due=due)
    sweep_sla(due + datetime.timedelta(minutes=1))
    row = OutboundEmail.objects.get(kind=OutboundEmail.Kind.AGENT_ALERT)
    assert row.to == ["ana@chatportal.example"] and "SLA breached" in row.subject
    deliver_due_emails()
    assert OutboundEmail.objects.get(pk=row.pk).state == State.PENDING  # kept for the retry


# --- sign-in links -------------------------------------------------------------------


@pytest.fixture
def portal_customer(maria):
    from django.contrib.auth import get_user_model

    maria.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    maria.save()
    return maria


def ask_for_link(address: str):
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        response = Client().post(reverse("portal_link_request"), {"email": address})
    return response, [re.split(" WHERE | VALUES ", q["sql"])[0] for q in queries.captured_queries]


def test_the_sign_in_answer_does_the_same_work_whether_or_not_the_address_exists(portal_customer):
    known, known_queries = ask_for_link("maria@electrica.example")
    unknown, unknown_queries = ask_for_link("nobody@electrica.example")
    assert known.status_code == unknown.status_code == 200
    # Not one query more for an address with an account: nothing to time.
    assert known_queries == unknown_queries
    assert mail.outbox == []  # the request never talks to the relay
    report = deliver_due_emails()
    assert (report.sent, report.dropped) == (1, 1)
    [sent] = mail.outbox
    assert sent.to == ["maria@electrica.example"]
    assert sent.reply_to == ["support@chatportal.example"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "/portal/login/link/" in sent.body
    # Neither the stranger's address nor, once sent, the customer's is kept.
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == [[], []]


def test_a_sign_in_link_the_relay_could_not_send_in_time_is_dropped(portal_customer, settings):
    settings.EMAIL_BACKEND = REFUSING
    ask_for_link("maria@electrica.example")
    deliver_due_emails()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + datetime.timedelta(hours=1)
    assert deliver_due_emails(now=later).dropped == 1
    assert mail.outbox == []
    assert OutboundEmail.objects.get().text_body == ""  # no link was ever stored


# --- the demo ------------------------------------------------------------------------


def test_seeding_the_demo_sends_nothing_through_the_configured_relay(settings, capsys):
    settings.EMAIL_BACKEND = REFUSING
    call_command("seed_demo", verbosity=0)
    rows = OutboundEmail.objects.all()
    assert rows.exists()
    assert {row.backend for row in rows} == {"django.core.mail.backends.console.EmailBackend"}
    report = deliver_due_emails(limit=10_000)
    assert report.retrying == report.failed == 0
    assert "Content-Type" in capsys.readouterr().out


def test_the_demo_server_mails_the_console_unless_told_otherwise(settings):
    from django.conf import settings as live_settings

    settings.EMAIL_BACKEND = REFUSING
    call_command("demo", no_serve=True, verbosity=0)
    assert live_settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    settings.EMAIL_BACKEND = REFUSING
    call_command("demo", no_serve=True, email_backend=REFUSING, verbosity=0)
    assert live_settings.EMAIL_BACKEND == REFUSING


# --- GDPR ----------------------------------------------------------------------------


def test_erasing_a_contact_erases_their_mail_and_the_failure_details(
    ticket, agent, maria, settings
):
    from crm.gdpr import erase_contact

    settings.EMAIL_BACKEND = REFUSING
    settings.CHATPORTAL_EMAIL_MAX_ATTEMPTS = 1
    add_reply(ticket, body="Secret diagnosis.", author_role="agent", author_user=agent)
    deliver_due_emails()
    add_reply(ticket, body="Another one.", author_role="agent", author_user=agent)  # pending
    failed = ticket.events.get(kind=TicketEvent.Kind.EMAIL_FAILED)
    assert "maria@electrica.example" in str(failed.payload)
    erase_contact(maria, by="dpo")
    assert not OutboundEmail.objects.exists()
    failed.refresh_from_db()
    assert "maria@electrica.example" not in str(failed.payload)
    assert "Contorul" not in str(failed.payload)


# --- settings ------------------------------------------------------------------------


def _settings_in_a_fresh_process(tmp_path, **env: str):
    import os
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'chatportal.settings'; django.setup();"
        "from django.conf import settings as s; print(s.EMAIL_TIMEOUT, s.EMAIL_USE_SSL, s.EMAIL_USE_TLS)"
    )
    environment = {**os.environ, "CHATPORTAL_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_smtp_timeout_and_implicit_tls_come_from_the_environment(tmp_path):
    default = _settings_in_a_fresh_process(tmp_path)
    assert default.stdout.split() == ["10.0", "False", "False"], default.stderr
    chosen = _settings_in_a_fresh_process(
        tmp_path, CHATPORTAL_EMAIL_TIMEOUT="2.5", CHATPORTAL_EMAIL_USE_SSL="true"
    )
    assert chosen.stdout.split() == ["2.5", "True", "False"], chosen.stderr
    both = _settings_in_a_fresh_process(
        tmp_path, CHATPORTAL_EMAIL_USE_SSL="1", CHATPORTAL_EMAIL_USE_TLS="1"
    )
    assert both.returncode != 0
    assert "CHATPORTAL_EMAIL_USE_TLS or CHATPORTAL_EMAIL_USE_SSL, not both" in both.stderr
