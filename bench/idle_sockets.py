"""Idle capacity of one worker: memory and CPU per open, quiet widget socket.

Starts one `chatportal serve` worker on a throw-away PostgreSQL database and
a private Redis key prefix (tests/live_server.py, as bench/run_chat_bench.py
does), then, `--cycles` times: opens `--sockets` visitor sockets (hello,
`welcome` awaited, `--in-flight` handshakes at a time), lets them sit idle
for `--idle` seconds, and closes them all. It reports, as one JSON object:

- the worker's RSS before the first cycle (after a warm-up of 50 sockets),
  with every socket open, and after each cycle's close; RSS per socket is
  (open − before) / sockets of the first cycle;
- the worker's CPU while the sockets idle, as a share of one core;
- the connect rate of each cycle (sockets welcomed per second).

The client speaks the widget protocol's `hello`; it answers the server's
WebSocket pings (the websockets library does). With `--ping-every 20` each
socket also sends the widget's own `ping` frame every 20 s, as widget.js
does in an open tab (spread over the period); without it, it sends nothing.

    .venv/bin/python bench/idle_sockets.py --sockets 10000 --cycles 3 --idle 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.run_chat_bench import cpu_seconds, rss_kib  # noqa: E402
from bench.throwaway import throwaway_chatportal  # noqa: E402
from tests.live_server import DaphneWorker  # noqa: E402

WARM_UP_SOCKETS = 50


async def open_visitor(url: str, origin: str, index: int, wait_s: float) -> ClientConnection:
    conn = await connect(
        url, origin=origin, open_timeout=wait_s, compression=None, ping_interval=None
    )
    hello = {
        "type": "hello",
        "token": None,
        "department": "support",
        "profile": {"name": f"Idle {index}"},
        "locale": "en",
    }
    await conn.send(json.dumps(hello))
    async with asyncio.timeout(wait_s):
        while True:
            frame = json.loads(await conn.recv())
            if frame.get("type") == "welcome":
                return conn
            if frame.get("type") == "error":
                raise RuntimeError(f"hello refused: {frame}")


async def open_many(
    worker: DaphneWorker, count: int, in_flight: int, wait_s: float
) -> tuple[list[ClientConnection], float, int]:
    """`count` welcomed sockets, at most `in_flight` handshakes at a time; (sockets, seconds, failures)."""
    gate = asyncio.Semaphore(in_flight)
    url = worker.ws_url("/ws/widget/")

    async def one(index: int) -> ClientConnection | None:
        async with gate:
            try:
                return await open_visitor(url, worker.origin, index, wait_s)
            except (OSError, TimeoutError, RuntimeError, Exception):  # noqa: BLE001 (counted)
                return None

    started = time.monotonic()
    opened = await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.monotonic() - started
    sockets = [s for s in opened if s is not None]
    return sockets, elapsed, count - len(sockets)


async def ping_like_the_widget(sockets: list[ClientConnection], every_s: float) -> None:
    """Each socket sends `{"type": "ping"}` every `every_s`, the sockets spread over the period."""
    if not sockets:
        return
    gap = every_s / len(sockets)
    while True:
        for sock in sockets:
            with contextlib.suppress(Exception):
                await sock.send('{"type":"ping"}')
            await asyncio.sleep(gap)


async def close_all(sockets: list[ClientConnection]) -> None:
    for first in range(0, len(sockets), 500):
        await asyncio.gather(*(s.close() for s in sockets[first : first + 500]))


async def measure(worker: DaphneWorker, args: argparse.Namespace) -> dict:
    pid = worker.pid
    assert pid is not None
    warm, _, _ = await open_many(worker, WARM_UP_SOCKETS, WARM_UP_SOCKETS, args.connect_timeout)
    await close_all(warm)
    await asyncio.sleep(2)
    report: dict = {
        "sockets": args.sockets,
        "ping_every_s": args.ping_every or None,
        "rss_before_kib": rss_kib(pid),
        "cycles": [],
    }
    for cycle in range(args.cycles):
        sockets, seconds, failed = await open_many(
            worker, args.sockets, args.in_flight, args.connect_timeout
        )
        await asyncio.sleep(3)  # the last welcomes' follow-ups settle
        pinging = (
            asyncio.create_task(ping_like_the_widget(sockets, args.ping_every))
            if args.ping_every
            else None
        )
        rss_open = rss_kib(pid)
        cpu_start, idle_start = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(args.idle)
        idle_cpu = (cpu_seconds(pid) - cpu_start) / (time.monotonic() - idle_start)
        if pinging is not None:
            pinging.cancel()
        await close_all(sockets)
        await asyncio.sleep(args.settle)
        report["cycles"].append(
            {
                "opened": len(sockets),
                "failed": failed,
                "connect_s": round(seconds, 2),
                "welcomed_per_s": round(len(sockets) / seconds, 1) if seconds else None,
                "rss_open_kib": rss_open,
                "idle_cpu_share_of_a_core": round(idle_cpu, 4),
                "rss_after_close_kib": rss_kib(pid),
            }
        )
        print(f"cycle {cycle + 1}: {report['cycles'][-1]}", file=sys.stderr)
    first = report["cycles"][0]
    report["rss_per_socket_kib"] = round(
        (first["rss_open_kib"] - report["rss_before_kib"]) / max(1, first["opened"]), 1
    )
    after = [c["rss_after_close_kib"] for c in report["cycles"]]
    report["rss_growth_after_cycles_pct"] = round(100 * (after[-1] - after[0]) / after[0], 1)
    report["rss_open_growth_pct"] = round(
        100
        * (report["cycles"][-1]["rss_open_kib"] - first["rss_open_kib"])
        / first["rss_open_kib"],
        1,
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds the sockets sit idle")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after closing")
    parser.add_argument(
        "--ping-every", type=float, default=0.0, help="seconds between a socket's pings (0: none)"
    )
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.sockets <= 15_000 or not 1 <= args.cycles <= 10:
        parser.error("sockets 1..15000, cycles 1..10")

    with throwaway_chatportal("idle") as (_env, workers):
        report = asyncio.run(measure(workers[0], args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
