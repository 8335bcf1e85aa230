"""The floor: a bare `websockets` relay speaking the frames bench/loadgen.py uses.

Everything lives in memory in one process: a visitor's first message opens a
conversation and assigns it round-robin to a connected agent, every message
gets the conversation's next seq, an ack, and one `event` to the other side.
No persistence, no channel layer, no Django: what is left is the cost of the
sockets and JSON themselves.

    python bench/baselines/relay.py --port 8101
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.baselines import frames  # noqa: E402


@dataclass
class Conversation:
    id: str
    visitor: ServerConnection
    agent: ServerConnection | None = None
    seq: int = 0


@dataclass
class Relay:
    agents: list[ServerConnection] = field(default_factory=list)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    turn: itertools.count = field(default_factory=itertools.count)

    async def handler(self, ws: ServerConnection) -> None:
        role = frames.role_for_path(ws.request.path if ws.request else "")
        if role is None:
            await ws.close(4404, "unknown path")
            return
        own: Conversation | None = None  # the visitor's conversation
        try:
            async for raw in ws:
                try:
                    frame = frames.parse(raw)
                    own = await self.on_frame(ws, role, frame, own)
                except frames.FrameError as exc:
                    await ws.send(frames.encode(frames.error(exc.code, exc.detail, exc.client_id)))
        except ConnectionClosed:
            pass
        finally:
            if ws in self.agents:
                self.agents.remove(ws)

    async def on_frame(
        self, ws: ServerConnection, role: str, frame: dict, own: Conversation | None
    ) -> Conversation | None:
        kind = frame["type"]
        if kind == "hello":
            token = frame.get("token") if isinstance(frame.get("token"), str) else None
            if role == frames.AGENT and ws not in self.agents:
                self.agents.append(ws)
            await ws.send(frames.encode(frames.welcome(role, token or uuid.uuid4().hex)))
        elif kind == "ping":
            await ws.send(frames.encode(frames.pong()))
        elif kind == "presence":
            pass
        elif kind == "accept" and role == frames.AGENT:
            conv = self.conversations.get(frame.get("conversation"))  # type: ignore[arg-type]
            if conv is None:
                raise frames.FrameError("not_found", "no such conversation")
            conv.agent = ws
            await ws.send(frames.encode(frames.assigned(conv.id)))
        elif kind == "message":
            client_id, body, conv_id = frames.message_fields(frame, role)
            if role == frames.VISITOR:
                if own is None:
                    own = await self.open_conversation(ws)
                conv = own
            else:
                conv = self.conversations.get(conv_id)  # type: ignore[arg-type]
                if conv is None or conv.agent is not ws:
                    raise frames.FrameError("forbidden", "not your conversation", client_id)
            conv.seq += 1
            seq = conv.seq
            await ws.send(frames.encode(frames.ack(client_id, conv.id, seq)))
            other = conv.agent if role == frames.VISITOR else conv.visitor
            if other is not None:
                event = frames.event(conv.id, seq, role, client_id, body)
                with contextlib.suppress(ConnectionClosed):
                    await other.send(frames.encode(event))
        else:
            raise frames.FrameError("bad_frame", f"unexpected {kind!r} on a {role} socket")
        return own

    async def open_conversation(self, visitor: ServerConnection) -> Conversation:
        conv = Conversation(id=str(uuid.uuid4()), visitor=visitor)
        self.conversations[conv.id] = conv
        if self.agents:
            conv.agent = self.agents[next(self.turn) % len(self.agents)]
            await conv.agent.send(frames.encode(frames.assigned(conv.id)))
        return conv


async def serve_relay(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    relay = Relay()
    async with serve(relay.handler, host, port, compression=None, max_size=2**20):
        print(f"relay listening on ws://{host}:{port}", flush=True)
        await stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve_relay(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
