"""Queries (and time) per chat message on the write path and the delivery read.

Runs the chat actions in-process under Django's CaptureQueriesContext on a
throw-away database: SQLite in a temporary directory by default, or a fresh
PostgreSQL database (created and dropped here) with --postgres. Prints JSON:
queries per visitor message, per agent reply, per delivery read (what each
receiving socket runs when the doorbell rings), the SQL of one message, and
the mean wall time of each step.

    .venv/bin/python bench/queries_per_message.py [--postgres] [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def data_queries(captured: list[dict]) -> int:
    """Statements that touch data; SQLite's explicit BEGIN/COMMIT are not counted
    (PostgreSQL's implicit ones never show up in the capture either)."""
    return sum(1 for q in captured if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL))


def measure(args: argparse.Namespace) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import log, queries
    from chat.actions import conversations, visitors
    from chat.models import Conversation
    from queues.models import Department

    # The per-visitor window (120 messages a minute) would stop the measurement;
    # its cache round trip is still made (local memory here, Redis in production).
    settings.CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE = 10**9
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", verbosity=0)
    department = Department.objects.get(slug=args.department)
    agent = get_user_model().objects.get(username=args.agent)

    visitor, _token = visitors.create_visitor(name="Queries per message")
    first = conversations.check_visitor_message(
        visitor, conversation=None, department=department, client_id=uuid.uuid4(), body="opening"
    )
    conversation = Conversation.objects.get(pk=first.conversation_pk)
    if conversation.assigned_agent_id != agent.pk:
        conversations.accept_conversation(conversation, agent)
    pk, public_id = conversation.pk, conversation.public_id
    agent_author = log.agent_author(agent)

    def visitor_message(i: int):
        return conversations.check_visitor_message(
            visitor,
            conversation=(pk, public_id),
            department=department,
            client_id=uuid.uuid4(),
            body=f"visitor {i}",
        )

    def agent_reply(i: int):
        return conversations.post_message(
            pk,
            public_id,
            author=agent_author,
            client_id=uuid.uuid4(),
            body=f"agent {i}",
            assigned_to=agent.pk,
        )

    def delivery_read(seq: int, *, for_agent: bool):
        return queries.events_after(pk, public_id, seq - 1, for_agent=for_agent)

    results: dict[str, dict] = {}
    samples: dict[str, list[tuple[int, float]]] = {
        "visitor_message": [],
        "agent_reply": [],
        "delivery_read_visitor": [],
        "delivery_read_agent": [],
    }
    example_sql: list[str] = []
    for i in range(args.messages):
        for name, step in (("visitor_message", visitor_message), ("agent_reply", agent_reply)):
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                appended = step(i)
            samples[name].append((data_queries(ctx.captured_queries), time.perf_counter() - t))
            if name == "visitor_message" and not example_sql:
                example_sql = [q["sql"] for q in ctx.captured_queries]
            for reader, for_agent in (
                ("delivery_read_visitor", False),
                ("delivery_read_agent", True),
            ):
                t = time.perf_counter()
                with CaptureQueriesContext(connection) as ctx:
                    frames, _last = delivery_read(appended.seq, for_agent=for_agent)
                samples[reader].append(
                    (data_queries(ctx.captured_queries), time.perf_counter() - t)
                )
                assert frames and frames[0]["seq"] == appended.seq
    for name, values in samples.items():
        counts = [c for c, _ in values]
        times = [s * 1e6 for _, s in values]
        results[name] = {
            "queries_mean": round(statistics.fmean(counts), 2),
            "queries_max": max(counts),
            "time_us_mean": round(statistics.fmean(times), 1),
            "time_us_p99": round(sorted(times)[int(0.99 * (len(times) - 1))], 1),
        }
    per_message_total = (
        results["visitor_message"]["queries_mean"]
        + results["delivery_read_visitor"]["queries_mean"]
        + results["delivery_read_agent"]["queries_mean"]
    )
    return {
        "database": connection.vendor,
        "messages_per_side": args.messages,
        "steps": results,
        # One message, written once and read by the two sockets of its conversation.
        "queries_per_delivered_message": round(per_message_total, 2),
        "example_visitor_message_sql": example_sql,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh PostgreSQL database (DATABASE_URL's server)",
    )
    parser.add_argument("--messages", type=int, default=200, choices=range(1, 5001), metavar="N")
    parser.add_argument("--department", default="support")
    parser.add_argument("--agent", default="boris")
    args = parser.parse_args(argv)

    from tests.live_server import PostgresServer

    data_dir = tempfile.mkdtemp(prefix="chatportal-qpm-")
    os.environ["CHATPORTAL_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")
    os.environ.pop("REDIS_URL", None)
    pg: PostgresServer | None = None
    db_name = f"chatportal_qpm_{uuid.uuid4().hex[:10]}"
    if args.postgres:
        pg = PostgresServer(
            os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"
        )
        os.environ["DATABASE_URL"] = pg.create_database(db_name)
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        summary = measure(args)
    finally:
        if pg is not None:
            from django.db import connections

            connections.close_all()
            pg.drop_database(db_name)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
