"""The periodic work runs from the moment a worker starts, with no socket ever connected.

At night nobody is connected: a Gold ticket must still warn before its first
response is due, breach and escalate on time (priority up, the department lead
mailed), a chat whose agent's console died must still go back to the queue, and
an unanswered chat must still become a ticket. Nothing here opens a WebSocket;
the work is set up with `chatportal shell` (as an operator or a crashed worker
would leave it) and read back from the database.

With two workers both sweep the same database: each warning, breach and
automatic ticket happens exactly once.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import time
from typing import Any

import pytest

from tests.live_server import LiveServer
from tests.multiprocess.routing_clients import connect_db

pytestmark = [pytest.mark.timeout(300)]

SWEEP_S = 0.5
WARN_BEFORE_S = 6
DUE_IN_S = 12
AUTO_TICKET_AFTER_S = 3
# A busy two-core machine: a sweep may start late or take a while.
SLACK_S = 4.0
TIMER_ENV = {
    "CHATPORTAL_SWEEP_INTERVAL_S": str(SWEEP_S),
    "CHATPORTAL_SLA_WARN_BEFORE_S": str(WARN_BEFORE_S),
}

# Run in the deployment by `chatportal shell -c`: Maria's Gold ticket, due soon;
# boris holding a chat on a connection last heard of an hour ago (its worker
# crashed); support turning unanswered chats into tickets after a few seconds.
SET_UP = f"""
import datetime, json, uuid
from django.contrib.auth import get_user_model
from django.utils import timezone
from chat.actions.conversations import accept_conversation, start_conversation
from chat.actions.visitors import create_visitor
from crm.models import Contact
from queues import actions as presence
from queues.models import Department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

support = Department.objects.get(slug="support")
Department.objects.filter(pk=support.pk).update(auto_ticket_after_s={AUTO_TICKET_AFTER_S})
boris = get_user_model().objects.get(username="boris")
presence.do_set_presence(boris, "online")
presence.do_register_connection(
    boris, connection_id=uuid.uuid4(), channel_name="gone",
    now=timezone.now() - datetime.timedelta(hours=1),
)
visitor, _token = create_visitor(name="Night Owl")
conversation, _created = start_conversation(visitor, support)
accept_conversation(conversation, boris)

maria = Contact.objects.get(external_id="crm-1")
ticket = create_ticket(
    subject="Relay trips at night", body="The RZA-500 tripped twice.", contact=maria,
    channel="email", department=support, author_role="customer",
)
due = timezone.now() + datetime.timedelta(seconds={DUE_IN_S})
Ticket.objects.filter(pk=ticket.pk).update(first_response_due=due)
print(json.dumps({{
    "ticket": ticket.number, "priority": ticket.priority, "due": due.timestamp(),
    "conversation": conversation.pk, "set_up_at": timezone.now().timestamp(),
}}))
"""


def set_up_night(server: LiveServer) -> dict[str, Any]:
    out = server.run("shell", "-c", SET_UP)
    return json.loads(out.strip().splitlines()[-1])


def query(server: LiveServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the deployment's database (`?` placeholders)."""
    if server.env.get("DATABASE_URL"):
        with connect_db(server) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    with contextlib.closing(
        sqlite3.connect(server.data_dir / "chatportal.sqlite3", timeout=10)
    ) as conn:
        return conn.execute(sql, params).fetchall()


def epoch(value: Any) -> float:
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)
    return value.timestamp()


def ticket_row(server: LiveServer, number: str) -> dict[str, Any]:
    """Priority, and each event kind with the times it was written, in order."""
    [(pk, priority)] = query(
        server, "SELECT id, priority FROM tickets_ticket WHERE number = ?", number
    )
    events: dict[str, list[float]] = {}
    for kind, created_at in query(
        server,
        "SELECT kind, created_at FROM tickets_ticketevent WHERE ticket_id = ? ORDER BY seq",
        pk,
    ):
        events.setdefault(kind, []).append(epoch(created_at))
    return {"priority": priority, "events": events}


def conversation_state(server: LiveServer, pk: int) -> tuple[str, list[str], int]:
    [(state,)] = query(server, "SELECT state FROM chat_conversation WHERE id = ?", pk)
    kinds = [
        kind
        for (kind,) in query(
            server,
            "SELECT kind FROM chat_conversationevent WHERE conversation_id = ? ORDER BY seq",
            pk,
        )
    ]
    [(tickets,)] = query(
        server, "SELECT count(*) FROM tickets_ticket WHERE conversation_id = ?", pk
    )
    return state, kinds, tickets


def wait_until(check, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)


def assert_the_night_is_handled(server: LiveServer) -> None:
    night = set_up_night(server)
    number, due = night["ticket"], night["due"]
    assert night["priority"] == "normal"

    # The chat of the agent whose console died: requeued (grace long past), then a ticket.
    requeued = wait_until(
        lambda: "queued" in conversation_state(server, night["conversation"])[1][1:],
        # Liveness, not a latency bound: the 15 s reconnect grace runs first, and on a
        # two-core machine under load a sweep may start late (20 s once fell short in CI).
        timeout=SWEEP_S + SLACK_S + 30,
        what="requeue of the dead agent's chat",
    )
    assert requeued
    state, kinds, tickets = wait_until(
        # Read in separate queries: wait for the conversion's close too.
        lambda: (s := conversation_state(server, night["conversation"]))[0] == "closed" and s,
        timeout=AUTO_TICKET_AFTER_S + SWEEP_S + SLACK_S + 15,
        what="automatic ticket for the unanswered chat",
    )
    assert (state, tickets) == ("closed", 1), (state, kinds)
    assert kinds.count("ticket") == 1, kinds

    [warned] = wait_until(
        lambda: ticket_row(server, number)["events"].get("sla_warning"),
        timeout=DUE_IN_S + SLACK_S,
        what="SLA warning",
    )
    assert due - WARN_BEFORE_S - 0.5 <= warned <= due - WARN_BEFORE_S + SWEEP_S + SLACK_S, (
        due,
        warned,
    )
    [breached] = wait_until(
        lambda: ticket_row(server, number)["events"].get("sla_breach"),
        timeout=max(0.0, due - time.time()) + SWEEP_S + SLACK_S + 5,
        what="SLA breach",
    )
    assert due <= breached <= due + SWEEP_S + SLACK_S, (due, breached)

    # A few more sweeps: nothing is announced twice.
    time.sleep(4 * SWEEP_S)
    row = ticket_row(server, number)
    assert row["priority"] == "high", row  # escalated one step, once
    assert len(row["events"]["sla_warning"]) == 1, row
    assert len(row["events"]["sla_breach"]) == 1, row
    assert conversation_state(server, night["conversation"])[2] == 1
    # The department lead (sofia) got the breach mail (console backend: the worker log).
    logs = "\n".join(w.log_path.read_text(errors="replace") for w in server.workers)
    assert logs.count(f"SLA breached: {number}") == 1, server.log_tails()


@pytest.fixture
def embedded_server_env() -> dict[str, str]:
    return dict(TIMER_ENV)


@pytest.fixture
def two_workers_env() -> dict[str, str]:
    return dict(TIMER_ENV)


def test_a_worker_nobody_connects_to_still_warns_breaches_escalates_and_requeues(
    embedded_server: LiveServer,
):
    assert_the_night_is_handled(embedded_server)
    # SIGTERM: the drain, then the sweep ends with the worker, nothing left dangling.
    worker = embedded_server.worker
    worker.stop()
    assert worker.process is not None and worker.process.returncode == 0, worker.log_tail()
    log = worker.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Task was destroyed" not in log, worker.log_tail()


@pytest.mark.services
def test_two_workers_sweeping_the_same_database_do_each_thing_once(two_workers: LiveServer):
    assert_the_night_is_handled(two_workers)
