from __future__ import annotations

import pytest

from chatportal.demo_data import seed_demo
from crm.models import Contact, SlaPlan
from tests.factories import make_contact
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_demo_seed_adds_past_tickets_once():
    seed_demo()
    count = Ticket.objects.count()
    seed_demo()
    assert Ticket.objects.count() == count >= 4
    maria = Contact.objects.get(external_id="crm-1")
    assert set(maria.tickets.values_list("status", flat=True)) == {"solved", "closed"}
    assert SlaPlan.objects.filter(name="Standard").exists()
    seqs = list(Ticket.objects.values_list("last_seq", flat=True))
    assert all(seq >= 3 for seq in seqs)


def test_a_reply_costs_a_fixed_number_of_queries(
    support, support_agent, django_assert_max_num_queries
):
    contact = make_contact("Maria Popescu")
    ticket = create_ticket(
        subject="S",
        body="B",
        contact=contact,
        channel="web",
        department=support,
        author_role="customer",
        author_contact=contact,
    )
    add_reply(ticket, body="first", author_role="agent", author_user=support_agent)
    # savepoint, lock+read, seq UPDATE, seq read, INSERT, release.
    with django_assert_max_num_queries(7):
        add_reply(ticket, body="second", author_role="customer", author_contact=contact)


def test_creating_a_ticket_costs_a_fixed_number_of_queries(
    support, standard_plan, django_assert_max_num_queries
):
    contact = make_contact("Maria Popescu")
    # plan lookup (contract, default), department hours, number, INSERT, seq, event.
    with django_assert_max_num_queries(12):
        create_ticket(
            subject="S",
            body="B",
            contact=contact,
            channel="web",
            department=support,
            author_role="customer",
            author_contact=contact,
        )
