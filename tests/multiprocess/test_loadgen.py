"""bench/loadgen.py counts right: against a scripted protocol server on loopback.

The scripted server can drop, duplicate or reorder events, so the generator's
lost/duplicated/out-of-order accounting is checked against known faults
without needing the real chat server (or its CPU).
"""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from bench import loadgen


@dataclass
class Faults:
    drop_every: int = 0  # drop every Nth event sent to agents
    duplicate_every: int = 0  # send every Nth visitor-bound event twice
    swap_every: int = 0  # hold every Nth agent-bound event back behind the next one


@dataclass
class ScriptedChat:
    faults: Faults
    agents: list[ServerConnection] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)
    owner: dict[str, tuple[ServerConnection, ServerConnection]] = field(default_factory=dict)
    counter: int = 0
    held: dict[str, str] = field(default_factory=dict)

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        conversation: str | None = None
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "hello" and path.startswith("/ws/agent/"):
                self.agents.append(ws)
                await ws.send(
                    json.dumps(
                        {"type": "welcome", "agent": {"id": "a"}, "conversations": [], "queues": []}
                    )
                )
            elif frame["type"] == "hello":
                await ws.send(
                    json.dumps({"type": "welcome", "token": uuid.uuid4().hex, "conversation": None})
                )
            elif frame["type"] == "ping":
                await ws.send(json.dumps({"type": "pong", "last_seq": {}}))
            elif frame["type"] == "message":
                if path.startswith("/ws/widget/") and conversation is None:
                    conversation = uuid.uuid4().hex
                    agent = self.agents[len(self.owner) % len(self.agents)]
                    self.owner[conversation] = (ws, agent)
                    self.seq[conversation] = 0
                    await agent.send(
                        json.dumps({"type": "assigned", "conversation": {"id": conversation}})
                    )
                conv = conversation if path.startswith("/ws/widget/") else frame["conversation"]
                self.seq[conv] += 1
                seq = self.seq[conv]
                await ws.send(
                    json.dumps(
                        {
                            "type": "ack",
                            "client_id": frame["client_id"],
                            "conversation": conv,
                            "seq": seq,
                        }
                    )
                )
                event = json.dumps(
                    {
                        "type": "event",
                        "conversation": conv,
                        "seq": seq,
                        "kind": "message",
                        "body": frame["body"],
                        "client_id": frame["client_id"],
                    }
                )
                await self.deliver(conv, event)

    async def deliver(self, conv: str, event: str) -> None:
        visitor, agent = self.owner[conv]
        self.counter += 1
        n, f = self.counter, self.faults
        await visitor.send(event)
        if f.duplicate_every and n % f.duplicate_every == 0:
            await visitor.send(event)
        if f.drop_every and n % f.drop_every == 0:
            return
        if f.swap_every and n % f.swap_every == 0 and conv not in self.held:
            self.held[conv] = event
            return
        await agent.send(event)
        if conv in self.held:
            await agent.send(self.held.pop(conv))


async def run_loadgen(tmp_path: Path, faults: Faults) -> dict:
    chat = ScriptedChat(faults)
    async with serve(chat.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        agents = tmp_path / "agents.json"
        agents.write_text(
            json.dumps([{"username": "a1", "token": "t1"}, {"username": "a2", "token": "t2"}])
        )
        args = loadgen.build_parser().parse_args(
            [
                "--worker",
                f"ws://127.0.0.1:{port}",
                "--agents-file",
                str(agents),
                "--conversations",
                "4",
                "--rate",
                "10",
                "--duration",
                "1",
                "--drain",
                "2",
            ]
        )
        return await loadgen.run(args)


async def test_it_counts_every_message_delivered_once_when_nothing_goes_wrong(tmp_path):
    summary = await run_loadgen(tmp_path, Faults())
    counts = summary["counts"]
    assert counts["sent"] == 4 * 2 * 10
    assert counts["acked"] == counts["sent"] == counts["delivered"]
    assert (counts["lost"], counts["duplicated"], counts["out_of_order"]) == (0, 0, 0)
    e2e = summary["latency_ms"]["end_to_end_from_schedule"]
    assert e2e["count"] == 80 and 0 <= e2e["p50"] <= e2e["p99"] <= e2e["max"] < 1000
    assert summary["setup"]["per_agent"] == {"agent-a1": 2, "agent-a2": 2}
    assert summary["setup"]["settle"]["settled"] is True


async def test_it_reports_lost_duplicated_and_out_of_order_events(tmp_path):
    summary = await run_loadgen(tmp_path, Faults(drop_every=10, duplicate_every=7, swap_every=13))
    counts = summary["counts"]
    assert counts["lost"] > 0
    assert counts["duplicated"] > 0
    assert counts["out_of_order"] > 0
    assert counts["lost"] + counts["delivered"] == counts["acked"]


def test_it_refuses_targets_outside_loopback():
    for url in ("ws://10.1.2.3:8000", "ws://example.com", "http://127.0.0.1:8000"):
        with pytest.raises(argparse.ArgumentTypeError):
            loadgen.check_loopback(url)
    assert loadgen.check_loopback("ws://127.0.0.1:8001/") == "ws://127.0.0.1:8001"
    assert loadgen.check_loopback("ws://[::1]:8001") == "ws://[::1]:8001"


def test_it_bounds_count_rate_and_duration():
    parser = loadgen.build_parser()
    base = ["--worker", "ws://127.0.0.1:1", "--agents-file", "x"]
    for extra in (["--conversations", "100000"], ["--rate", "0"], ["--duration", "3600"]):
        with pytest.raises(SystemExit):
            parser.parse_args(base + extra)


def test_percentiles_follow_the_nearest_rank_definition():
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile(values, 100) == 100
    assert loadgen.percentile([], 50) is None
