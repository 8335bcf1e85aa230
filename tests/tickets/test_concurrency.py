"""Many writers at once: ticket numbers and event seqs stay unique and gapless."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from tests.chat.test_concurrency import require_shared_database
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 8
PER_WRITER = 10


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return run


def test_concurrent_creations_take_sequential_unique_numbers():
    require_shared_database()
    support = make_department("support")
    contact = make_contact("Maria Popescu")

    @_in_thread
    def create(n: int) -> str:
        return create_ticket(
            subject=f"S{n}",
            body="B",
            contact=contact,
            channel="web",
            department=support,
            author_role="customer",
            author_contact=contact,
        ).number

    with ThreadPoolExecutor(WRITERS) as pool:
        numbers = list(pool.map(create, range(WRITERS * PER_WRITER)))
    expected = {f"T-{1001 + i}" for i in range(WRITERS * PER_WRITER)}
    assert set(numbers) == expected and Ticket.objects.count() == len(expected)


def test_concurrent_replies_get_gapless_seqs():
    require_shared_database()
    support = make_department("support")
    contact = make_contact("Maria Popescu")
    agent = make_agent("boris", [support])
    ticket = create_ticket(
        subject="S",
        body="B",
        contact=contact,
        channel="web",
        department=support,
        author_role="customer",
        author_contact=contact,
    )

    @_in_thread
    def reply(n: int) -> int:
        if n % 2:
            return add_reply(ticket, body=f"a{n}", author_role="agent", author_user=agent).seq
        return add_reply(ticket, body=f"c{n}", author_role="customer", author_contact=contact).seq

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(reply, range(WRITERS * PER_WRITER)))
    seqs = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
    ticket.refresh_from_db()
    assert ticket.last_seq == seqs[-1]
