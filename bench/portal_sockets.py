"""The socket side of the portal benchmark: many customers' `/ws/portal/` sockets.

Opens one socket per customer, or `--viewers` each (session cookie, the worker's own Origin,
`?since=` before the customers' tickets were made, as the portal page does),
spread round-robin over the workers. A socket counts as subscribed once its
catch-up has delivered every one of its customer's tickets: the consumer
joins its groups before it accepts and catches up after, so from then on no
change can slip by. Then it prints `READY {...}` to stderr and records every
frame until a line `stop` arrives on stdin (or stdin closes): for each
fragment the root element's `id="ticket-<number>"`, `data-status` and
`data-updated` (PROTOCOL §4) and the arrival time (`time.monotonic()`,
the same clock the updater process uses, and `time.time()`). A fragment for a ticket that is
not the socket's customer's is recorded as a wrong-customer delivery.

    python bench/portal_sockets.py --worker ws://127.0.0.1:8001 --worker ws://127.0.0.1:8002 \\
        --customers-file customers.json --since 2026-12-01T10:00:00+00:00 --output sockets.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import check_loopback, origin_for  # noqa: E402

MAX_SOCKETS = 5000
OPEN_BATCH = 20
# Daphne drops a handshake the application has not accepted within 5 s (its
# --websocket_connect_timeout); a page's htmx retries, and so does this.
OPEN_ATTEMPTS = 5
HEARTBEAT = "<!-- heartbeat -->"


class FragmentRoot(HTMLParser):
    """The attributes of the first element of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.attrs is None:
            self.attrs = {name: value or "" for name, value in attrs}


def fragment_state(html: str) -> tuple[str, str, str] | None:
    """(ticket number, data-status, data-updated) of a pushed fragment, or None."""
    parser = FragmentRoot()
    parser.feed(html)
    parser.close()
    attrs = parser.attrs or {}
    ident = attrs.get("id", "")
    if not ident.startswith("ticket-") or "data-status" not in attrs or "data-updated" not in attrs:
        return None
    return ident.removeprefix("ticket-"), attrs["data-status"], attrs["data-updated"]


@dataclass
class PortalSocket:
    index: int
    customer: int  # several sockets of one customer: its tabs, or a team watching one ticket
    url: str
    origin: str
    cookie: str
    tickets: frozenset[str]
    conn: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    caught_up: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # [number, status, updated, arrival, arrival wall-clock] per fragment, in
    # arrival order. The wall clock compares with `data-updated` (the server's
    # clock when the update was written: same machine, same clock).
    arrivals: list[list[Any]] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    unparsed: int = 0
    closed_code: int | None = None
    retries: int = 0

    async def open(self, open_timeout: float) -> None:
        for attempt in range(OPEN_ATTEMPTS):
            try:
                self.conn = await connect(
                    self.url,
                    origin=self.origin,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=open_timeout,
                    compression=None,
                    max_size=2**20,
                    ping_interval=None,  # daphne pings every 20 s; the client just answers
                )
                break
            except InvalidStatus as exc:
                raise RuntimeError(
                    f"socket {self.index}: handshake refused ({exc.response.status_code})"
                ) from exc
            except (InvalidMessage, OSError, TimeoutError):
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                self.retries += 1
                await asyncio.sleep(0.5 * 2**attempt)
        self.reader = asyncio.create_task(self._read(), name=f"portal-{self.index}")

    async def _read(self) -> None:
        assert self.conn is not None
        try:
            async for raw in self.conn:
                now, wall = time.monotonic(), time.time()
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                self._on_frame(text, now, wall)
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else 1006
        finally:
            if self.closed_code is None and self.conn is not None:
                self.closed_code = self.conn.close_code or 1006
            self.ready.set()  # a closed socket is reported, never waited for forever

    def _on_frame(self, text: str, now: float, wall: float) -> None:
        if text.strip() == HEARTBEAT:
            self.heartbeats += 1
            return
        state = fragment_state(text)
        if state is None:
            self.unparsed += 1
            return
        number, status, updated = state
        if number not in self.tickets:
            self.wrong.append({"socket": self.index, "ticket": number, "status": status, "at": now})
            return
        self.arrivals.append([number, status, updated, now, wall])
        if not self.ready.is_set():
            self.caught_up.add(number)
            if self.caught_up >= self.tickets:
                self.ready.set()

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


async def wait_for_stop() -> None:
    """Until the parent writes `stop` (or closes stdin)."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "stop":
            return


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data = json.loads(args.customers_file.read_text())
    customers = data["customers"][: args.limit] if args.limit else data["customers"]
    query = urlencode({"since": args.since})
    sockets = [
        PortalSocket(
            index=i,
            customer=i // args.viewers,
            url=f"{args.worker[i % len(args.worker)]}/ws/portal/?{query}",
            origin=origin_for(args.worker[i % len(args.worker)]),
            cookie=f"{data['session_cookie']}={customer['session']}",
            tickets=frozenset(customer["tickets"]),
        )
        for i, customer in enumerate(
            customer for customer in customers for _ in range(args.viewers)
        )
    ]
    started = time.monotonic()
    try:
        for start in range(0, len(sockets), OPEN_BATCH):
            await asyncio.gather(
                *(s.open(args.connect_timeout) for s in sockets[start : start + OPEN_BATCH])
            )
        opened = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(s.ready.wait() for s in sockets)), args.ready_timeout
            )
        not_ready = [s.index for s in sockets if not s.ready.is_set() or s.closed_code is not None]
        setup = {
            "sockets": len(sockets),
            "open_s": round(opened - started, 2),
            "subscribed_s": round(time.monotonic() - started, 2),
            "not_subscribed": len(not_ready),
            "not_subscribed_examples": not_ready[:10],
            "handshake_retries": sum(s.retries for s in sockets),
        }
        print(f"READY {json.dumps(setup)}", file=sys.stderr, flush=True)
        await wait_for_stop()
        return {
            "setup": setup,
            "sockets": [
                {
                    "index": s.index,
                    "customer": s.customer,
                    "tickets": sorted(s.tickets),
                    "arrivals": s.arrivals,
                    "closed_code": s.closed_code,
                    "heartbeats": s.heartbeats,
                    "unparsed": s.unparsed,
                }
                for s in sockets
            ],
            "wrong_customer": [w for s in sockets for w in s.wrong],
            "closed": dict(
                Counter(str(s.closed_code) for s in sockets if s.closed_code is not None)
            ),
        }
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker",
        action="append",
        type=check_loopback,
        required=True,
        help="base WebSocket URL of a worker, e.g. ws://127.0.0.1:8001 (repeat for several)",
    )
    parser.add_argument(
        "--customers-file", type=Path, required=True, help="written by bench/portal_customers.py"
    )
    parser.add_argument(
        "--since", required=True, help="ISO time before the customers' tickets were made"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N customers")
    parser.add_argument(
        "--viewers", type=int, default=1, help="sockets per customer (all see every update)"
    )
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--output", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.limit <= MAX_SOCKETS or not 1 <= args.viewers <= MAX_SOCKETS:
        raise SystemExit(f"--limit must be 0..{MAX_SOCKETS}, --viewers 1..{MAX_SOCKETS}")
    result = asyncio.run(run(args))
    args.output.write_text(json.dumps(result))
    print(
        f"sockets: {result['setup']}; wrong-customer {len(result['wrong_customer'])}; closed {result['closed']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
