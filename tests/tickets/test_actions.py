from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from tickets import events
from tickets.actions.assignment import assign_ticket
from tickets.actions.escalation import sweep_sla
from tickets.actions.lifecycle import change_priority, change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.errors import TicketConflict, TicketError
from tickets.models import Ticket, TicketEvent, customer_status_label

pytestmark = pytest.mark.django_db


def _ticket(customer, support, **kwargs):
    defaults = {
        "subject": "Relay clicks",
        "body": "The relay clicks twice.",
        "contact": customer,
        "channel": "portal",
        "department": support,
        "author_role": "customer",
        "author_contact": customer,
    }
    defaults.update(kwargs)
    return create_ticket(**defaults)


def test_it_numbers_tickets_sequentially_from_1001(customer, support):
    first = _ticket(customer, support)
    second = _ticket(customer, support)
    assert (first.number, second.number) == ("T-1001", "T-1002")
    assert first.public_id != second.public_id
    assert first.reply_token != second.reply_token and len(first.reply_token) >= 20


def test_it_writes_a_created_event_with_the_first_message(customer, support):
    ticket = _ticket(customer, support)
    event = ticket.events.get()
    assert (event.seq, event.kind, event.author_role) == (1, "created", "customer")
    assert event.payload["body"] == "The relay clicks twice."
    assert ticket.organization == customer.organization
    assert ticket.last_seq == 1


def test_it_rings_the_customer_organization_and_agent_groups(customer, support, published_events):
    ticket = _ticket(customer, support)
    doorbell = {"type": "ticket.changed", "ticket": ticket.number, "seq": 1}
    groups = {group for group, event in published_events if event == doorbell}
    assert groups == {
        events.customer_group(customer),
        events.organization_group(customer.organization),
        events.ticket_group(ticket.public_id),
        events.department_tickets_group(support.slug),
    }
    assert events.customer_group(customer) == f"customer.{customer.public_id.hex}"


def test_it_keeps_seqs_gapless_across_actions(customer, support, support_agent):
    ticket = _ticket(customer, support)
    add_reply(ticket, body="Which model?", author_role="agent", author_user=support_agent)
    add_reply(
        ticket,
        body="Check the wiring",
        internal=True,
        author_role="agent",
        author_user=support_agent,
    )
    change_priority(ticket, "high", by=support_agent)
    assign_ticket(ticket, support_agent, by=support_agent)
    change_status(ticket, "pending", by=support_agent)
    seqs = list(ticket.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    ticket.refresh_from_db()
    assert ticket.last_seq == seqs[-1]
    assert (
        ticket.status == "pending"
        and ticket.priority == "high"
        and ticket.assignee == support_agent
    )


def test_it_meets_first_response_with_the_first_public_agent_reply_only(
    customer, support, support_agent
):
    ticket = _ticket(customer, support)
    add_reply(ticket, body="note", internal=True, author_role="agent", author_user=support_agent)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None and ticket.status == "new"
    add_reply(ticket, body="Hello Maria", author_role="agent", author_user=support_agent)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert ticket.status == "open"


def test_it_reopens_a_pending_ticket_when_the_customer_replies(customer, support, support_agent):
    ticket = _ticket(customer, support)
    change_status(ticket, "pending", by=support_agent)
    add_reply(ticket, body="Here it is", author_role="customer", author_contact=customer)
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.paused_since is None
    assert ticket.events.filter(kind="status").last().payload["cause"] == "reply"


def test_it_refuses_replies_to_a_closed_ticket(customer, support, support_agent):
    ticket = _ticket(customer, support)
    change_status(ticket, "closed", by=support_agent)
    with pytest.raises(TicketConflict):
        add_reply(ticket, body="again", author_role="customer", author_contact=customer)
    with pytest.raises(TicketConflict):
        change_status(ticket, "open", by=support_agent)


def test_it_refuses_internal_notes_from_customers_and_empty_bodies(customer, support):
    ticket = _ticket(customer, support)
    with pytest.raises(TicketError):
        add_reply(ticket, body="x", internal=True, author_role="customer", author_contact=customer)
    with pytest.raises(TicketError):
        add_reply(ticket, body="   ", author_role="customer", author_contact=customer)
    with pytest.raises(TicketError):
        _ticket(customer, support, channel="fax")


def test_it_sets_and_clears_solved_at(customer, support, support_agent):
    ticket = _ticket(customer, support)
    change_status(ticket, "solved", by=support_agent)
    ticket.refresh_from_db()
    assert ticket.solved_at is not None
    change_status(ticket, "open", by=support_agent)
    ticket.refresh_from_db()
    assert ticket.solved_at is None


def test_it_changes_nothing_when_the_value_is_the_same(customer, support, support_agent):
    ticket = _ticket(customer, support)
    assert change_priority(ticket, "normal", by=support_agent) is None
    assert change_status(ticket, "new", by=support_agent) is None
    assert ticket.events.count() == 1


def test_it_refuses_a_non_agent_assignee(customer, support, support_agent):
    ticket = _ticket(customer, support)
    with pytest.raises(TicketError):
        assign_ticket(ticket, customer.portal_user, by=support_agent)


def test_it_labels_statuses_for_customers():
    assert customer_status_label("new") == "We're working on it"
    assert customer_status_label("open") == "We're working on it"
    assert customer_status_label("pending") == "Waiting for your reply"
    assert customer_status_label("on_hold") == "Waiting on a third party"
    assert customer_status_label("solved") == "Solved"
    assert customer_status_label("closed") == "Closed"


def test_it_takes_the_sla_from_the_active_contract(customer, support, gold_contract, standard_plan):
    ticket = _ticket(customer, support)
    assert ticket.sla_plan == gold_contract.plan
    assert ticket.first_response_due - ticket.created_at < datetime.timedelta(minutes=61)


def test_it_falls_back_to_the_default_plan(other_customer, support, standard_plan):
    ticket = _ticket(other_customer, support, author_contact=other_customer)
    assert ticket.sla_plan == standard_plan
    assert ticket.organization is None


def test_it_warns_then_breaches_and_escalates_once(
    customer, support, support_agent, standard_plan, published_events
):
    support.lead = support_agent
    support.save()
    ticket = _ticket(customer, support)
    assign_ticket(ticket, support_agent, by=support_agent)
    due = ticket.first_response_due
    assert sweep_sla(due - datetime.timedelta(hours=2)) == {"warnings": 0, "breaches": 0}
    assert sweep_sla(due - datetime.timedelta(minutes=10)) == {"warnings": 1, "breaches": 0}
    assert sweep_sla(due - datetime.timedelta(minutes=5)) == {"warnings": 0, "breaches": 0}
    len(published_events)  # run the on-commit callbacks (mail)
    assert len(mail.outbox) == 1 and "SLA warning" in mail.outbox[0].subject
    assert sweep_sla(due + datetime.timedelta(minutes=1)) == {"warnings": 0, "breaches": 1}
    assert sweep_sla(due + datetime.timedelta(minutes=2)) == {"warnings": 0, "breaches": 0}
    len(published_events)
    ticket.refresh_from_db()
    assert ticket.priority == "high"
    breach = ticket.events.get(kind="sla_breach")
    assert breach.internal and breach.payload["clock"] == "first_response"
    assert mail.outbox[-1].to == ["boris@example.com"] and "breached" in mail.outbox[-1].subject


def test_it_skips_paused_and_answered_clocks(customer, support, support_agent, standard_plan):
    ticket = _ticket(customer, support)
    change_status(ticket, "pending", by=support_agent)
    assert sweep_sla(ticket.resolution_due + datetime.timedelta(hours=1))["breaches"] == 0
    other = _ticket(customer, support)
    add_reply(other, body="Hi", author_role="agent", author_user=support_agent)
    later = other.first_response_due + datetime.timedelta(minutes=1)
    assert sweep_sla(later)["breaches"] == 0
    assert not TicketEvent.objects.filter(kind="sla_breach").exists()


def test_it_moves_the_resolution_due_later_by_the_time_spent_pending(
    customer, support, support_agent, standard_plan, monkeypatch
):
    ticket = _ticket(customer, support)
    due = ticket.resolution_due
    start = ticket.created_at
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(hours=1))
    change_status(ticket, "pending", by=support_agent)
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(hours=4))
    change_status(ticket, "open", by=support_agent)
    ticket.refresh_from_db()
    # support is open 24x7: three hours pending move the due three hours later.
    assert ticket.resolution_due - due == datetime.timedelta(hours=3)
    assert Ticket.objects.get(pk=ticket.pk).paused_since is None


def test_a_reopened_ticket_does_not_count_the_time_it_was_solved(
    customer, support, support_agent, standard_plan, monkeypatch
):
    from django.utils import timezone

    ticket = _ticket(customer, support)
    due, start = ticket.resolution_due, ticket.created_at
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(hours=1))
    change_status(ticket, "pending", by=support_agent)
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(hours=2))
    change_status(ticket, "solved", by=support_agent)
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(hours=5))
    add_reply(ticket, body="Still broken", author_role="customer", author_contact=customer)
    ticket.refresh_from_db()
    # Pending then solved: one pause of four hours, from 1 h to 5 h.
    assert ticket.status == "open" and ticket.solved_at is None
    assert ticket.resolution_due - due == datetime.timedelta(hours=4)


def test_the_sweep_leaves_solved_tickets_alone(customer, support, support_agent, standard_plan):
    ticket = _ticket(customer, support)
    change_status(ticket, "solved", by=support_agent)
    later = ticket.resolution_due + datetime.timedelta(days=1)
    assert sweep_sla(later) == {"warnings": 0, "breaches": 0}


def test_due_times_count_the_departments_business_hours_unless_the_plan_is_24x7(
    customer, other_customer, gold_contract, standard_plan, monkeypatch
):
    from django.utils import timezone

    from queues.models import Department, Holiday, WeeklyHours

    gold_contract.starts_on, gold_contract.ends_on = (
        datetime.date(2020, 1, 1),
        datetime.date(2099, 1, 1),
    )
    gold_contract.save()
    billing = Department.objects.create(slug="billing", name="Billing", time_zone="Europe/Moscow")
    for day in range(5):
        WeeklyHours.objects.create(
            department=billing, weekday=day, opens=datetime.time(9), closes=datetime.time(17)
        )
    Holiday.objects.create(department=billing, date=datetime.date(2026, 11, 24))
    # Monday 2026-11-23 16:00 in Moscow (13:00 UTC).
    monkeypatch.setattr(
        timezone, "now", lambda: datetime.datetime(2026, 11, 23, 13, 0, tzinfo=datetime.UTC)
    )
    standard = _ticket(other_customer, billing, author_contact=other_customer)
    # 240 business minutes: 1 h on Monday, Tuesday is a holiday, 3 h on Wednesday.
    assert standard.first_response_due == datetime.datetime(2026, 11, 25, 9, 0, tzinfo=datetime.UTC)
    gold = _ticket(customer, billing)
    # Gold is 24x7: one hour of real time, whatever the hours.
    assert gold.first_response_due == datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)


def test_the_customer_is_mailed_a_public_reply_but_never_a_note(
    customer, support, support_agent, published_events
):
    ticket = _ticket(customer, support)
    list(published_events)  # commit the creation
    mail.outbox.clear()
    add_reply(
        ticket,
        body="Check the wiring",
        internal=True,
        author_role="agent",
        author_user=support_agent,
    )
    list(published_events)
    assert mail.outbox == []
    add_reply(ticket, body="Firmware 3.2 fixes it.", author_role="agent", author_user=support_agent)
    list(published_events)
    [message] = mail.outbox
    assert ticket.number in message.subject
    assert "Firmware 3.2 fixes it." in message.body
    assert "Check the wiring" not in message.body
    # The link signs Maria in on this ticket (tickets/links.py).
    assert f"/portal/t/{ticket.number}/" in message.body


def test_a_staff_user_without_an_agent_profile_acts_for_the_team(customer, support):
    operator = get_user_model().objects.create_user("ops", password="x-pass-123", is_staff=True)
    ticket = _ticket(customer, support)
    event = change_priority(ticket, "high", by=operator)
    assert (event.author_role, event.author_user, event.author_contact) == ("agent", operator, None)
