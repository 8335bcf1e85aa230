"""The updater of the portal benchmark: ticket status changes through the HTTP API.

Open loop: update k is scheduled at `t0 + k / rate` and handed to a thread
pool at that time whether or not earlier requests have answered, so a slow
server shows up as latency, not as a politely slower updater; how late the
updater itself was is `started - scheduled`. Each update is `PATCH
/api/v1/tickets/<number>` with `{"status": ...}` as a supervisor agent
(`Authorization: Bearer <token>`), flipping a random customer's ticket
between `open` and `pending`; requests alternate between the workers. A
ticket is not picked again within `--cooldown` seconds, so each push can be
matched to its own update by the ticket's `updated_at` in the response.

Writes one record per update (`time.monotonic()` times: the socket process
uses the same clock):
`{number, customer, status, scheduled, started, responded, http_status, updated, last_seq, error}`.
A ticket whose request failed is not picked again (its state is unknown).

`--via django` makes the same changes without HTTP: this process sets up
Django with the workers' settings (same database and Redis prefix) and calls
`tickets.actions.lifecycle.change_status` from its threads, so the workers only serve
the sockets and the latency is the push path alone (commit, doorbell, the
consumer's re-read, render and send). `responded` is then the commit's
return, `http_status` 200 for a change made.

    python bench/portal_updater.py --worker http://127.0.0.1:8001 --worker http://127.0.0.1:8002 \\
        --customers-file customers.json --rate 50 --duration 30 --output updates.json
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ipaddress
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

if __package__ in {None, ""}:
    # `--via django` imports the project's apps.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MAX_RATE = 500.0
MAX_DURATION_S = 600.0
FLIP = {"open": "pending", "pending": "open"}


def check_loopback_http(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{url!r}: expected http://127.0.0.1:PORT")
    if parts.hostname != "localhost":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise argparse.ArgumentTypeError(
                f"{url!r}: the updater only targets loopback addresses"
            )
    return url.rstrip("/")


class Updater:
    def __init__(self, workers: list[str], token: str, timeout: float) -> None:
        self.workers = workers
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.timeout = timeout
        self.local = threading.local()
        # Tickets whose state is unknown after a failed request: never picked again.
        self.uncertain: set[str] = set()

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            # One keep-alive session per thread (requests' pool is per host).
            session = self.local.session = requests.Session()
        return session

    def update(self, record: dict[str, Any], worker: str) -> None:
        record["started"] = time.monotonic()
        try:
            response = self._session().patch(
                f"{worker}/api/v1/tickets/{record['number']}",
                data=json.dumps({"status": record["status"]}),
                headers=self.headers,
                timeout=self.timeout,
            )
            record["responded"] = time.monotonic()
            record["http_status"] = response.status_code
            if response.status_code == 200:
                body = response.json()
                record["updated"] = body.get("updated_at")
                record["last_seq"] = body.get("last_seq")
                if body.get("status") != record["status"]:
                    record["error"] = f"answered status {body.get('status')!r}"
            else:
                record["error"] = response.text[:200]
        except (requests.RequestException, ValueError) as exc:
            record["responded"] = time.monotonic()
            record["error"] = f"{type(exc).__name__}: {str(exc)[:150]}"
        if record["error"]:
            self.uncertain.add(record["number"])


class ActionThreads:
    """Runs the action in threads under one event loop, as a worker does.

    `publish_on_commit` sends with `async_to_sync`: from a thread started by
    `sync_to_async` it runs on this loop and reuses the layer's Redis
    connections; from a bare thread it would open an event loop and a Redis
    connection per doorbell (about half a core at 50 updates/s), which would
    take the CPU the workers are being measured on.
    """

    def __init__(self, threads: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="update")
        )
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="updater-loop", daemon=True
        )
        self.thread.start()
        self.futures: list[concurrent.futures.Future[None]] = []

    def submit(self, fn, *args: Any) -> None:
        from asgiref.sync import sync_to_async

        call = sync_to_async(fn, thread_sensitive=False)(*args)
        self.futures.append(asyncio.run_coroutine_threadsafe(call, self.loop))

    def __enter__(self) -> ActionThreads:
        return self

    def __exit__(self, *exc_info: object) -> None:
        concurrent.futures.wait(self.futures)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


class DjangoUpdater:
    """The same status changes through the action, as an SLA sweeper or mail intake would."""

    def __init__(self, username: str) -> None:
        import django

        django.setup()
        from django.contrib.auth import get_user_model

        self.by = get_user_model().objects.get(username=username)
        self.uncertain: set[str] = set()

    def update(self, record: dict[str, Any], worker: str) -> None:
        from django.db import close_old_connections, transaction

        from tickets.actions.lifecycle import change_status
        from tickets.models import Ticket

        record["started"] = time.monotonic()
        try:
            close_old_connections()
            ticket = Ticket.objects.get(number=record["number"])
            with transaction.atomic():
                # Registered before the action's own hooks, so it runs first
                # after the commit: the moment the doorbells start.
                transaction.on_commit(lambda: record.__setitem__("committed", time.monotonic()))
                event = change_status(ticket, record["status"], by=self.by)
            record["responded"] = time.monotonic()
            record["http_status"] = 200
            record["updated"] = ticket.updated_at.isoformat()
            record["last_seq"] = ticket.last_seq
            if event is None:
                record["error"] = "no change"
        except Exception as exc:  # a benchmark records every failure and goes on
            record["responded"] = time.monotonic()
            record["error"] = f"{type(exc).__name__}: {str(exc)[:150]}"
        if record["error"]:
            self.uncertain.add(record["number"])


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    data = json.loads(args.customers_file.read_text())
    customers = data["customers"][: args.limit] if args.limit else data["customers"]
    status = {number: "open" for c in customers for number in c["tickets"]}
    owner = {number: i for i, c in enumerate(customers) for number in c["tickets"]}
    numbers = list(status)
    last_picked: dict[str, float] = {}
    updater: Updater | DjangoUpdater
    if args.via == "django":
        updater = DjangoUpdater(data["updater_username"])
    else:
        updater = Updater(args.worker, data["updater_token"], args.request_timeout)
    records: list[dict[str, Any]] = []
    count = int(args.duration * args.rate)
    t0 = time.monotonic() + 0.2
    pool: ActionThreads | ThreadPoolExecutor = (
        ActionThreads(args.threads)
        if args.via == "django"
        else ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="update")
    )
    with pool:
        for k in range(count):
            scheduled = t0 + k / args.rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            number = None
            for _attempt in range(50):
                candidate = random.choice(numbers)  # noqa: S311 (not security-relevant)
                if candidate in updater.uncertain:
                    continue
                if scheduled - last_picked.get(candidate, -1e9) >= args.cooldown:
                    number = candidate
                    break
            if number is None:
                raise SystemExit("too few tickets for this rate and cooldown")
            last_picked[number] = scheduled
            status[number] = FLIP[status[number]]
            record: dict[str, Any] = {
                "number": number,
                "customer": owner[number],
                "status": status[number],
                "scheduled": scheduled,
                "started": None,
                "responded": None,
                "http_status": None,
                "updated": None,
                "last_seq": None,
                "error": None,
            }
            records.append(record)
            pool.submit(updater.update, record, args.worker[k % len(args.worker)])
    return records


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker",
        action="append",
        type=check_loopback_http,
        required=True,
        help="base HTTP URL of a worker, e.g. http://127.0.0.1:8001 (repeat for several)",
    )
    parser.add_argument(
        "--customers-file", type=Path, required=True, help="written by bench/portal_customers.py"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N customers' tickets")
    parser.add_argument(
        "--via",
        choices=("api", "django"),
        default="api",
        help="PATCH through the workers' HTTP API, or call the action in this process",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="updates per second")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument(
        "--cooldown", type=float, default=5.0, help="seconds before the same ticket is picked again"
    )
    parser.add_argument("--threads", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        not 0 < args.rate <= MAX_RATE
        or not 0 < args.duration <= MAX_DURATION_S
        or not 1 <= args.threads <= 128
    ):
        raise SystemExit(f"rate (0, {MAX_RATE}], duration (0, {MAX_DURATION_S}], threads 1..128")
    if args.seed is not None:
        random.seed(args.seed)
    records = run(args)
    args.output.write_text(json.dumps(records))
    failed = sum(1 for r in records if r["error"])
    print(f"updates: {len(records)} sent, {failed} failed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
