"""Chat test helpers: a socket wrapper over WebsocketCommunicator, personas."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chatportal.asgi import application

# What a browser on our own page sends: its Origin and the Host it addressed.
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")

# How long a test waits for a frame it expects. A passing test never waits it
# out; it is generous because under CI the other pytest-xdist process may be
# running Chromium or building the wheel on the same two cores (an ack once
# took more than 3 s there).
FRAME_TIMEOUT_S = 10.0


class Socket:
    """A client socket that keeps every frame it received (for exactly-once checks)."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]] | None = None):
        self.communicator = WebsocketCommunicator(
            application, path, headers=[ORIGIN, HOST, *(headers or [])]
        )
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def connect(self) -> None:
        connected, _ = await self.communicator.connect()
        assert connected

    async def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        message = await self.communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code")
            raise AssertionError(f"socket closed with {self.close_code}")
        frame = json.loads(message["text"])
        self.received.append(frame)
        return frame

    async def expect(
        self, frame_type: str, timeout: float = FRAME_TIMEOUT_S, **fields: Any
    ) -> dict[str, Any]:
        """The next frame of `frame_type` matching `fields`; frames before it are kept, not checked."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.05, deadline - loop.time()))
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def closed_with(self, timeout: float = FRAME_TIMEOUT_S) -> int | None:
        while True:
            message = await self.communicator.receive_output(timeout)
            if message["type"] == "websocket.close":
                return message.get("code")

    async def silent(
        self, timeout: float = 0.3, *, ignore: tuple[str, ...] = ("queue", "presence")
    ) -> bool:
        """Nothing but ephemeral status frames (queue places, presence) arrives for `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            if await self.communicator.receive_nothing(left):
                return True
            if (await self.recv())["type"] not in ignore:
                return False
        return True

    async def close(self) -> None:
        await self.communicator.disconnect()

    def events(self, conversation: str | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.received
            if f["type"] == "event" and (conversation is None or f["conversation"] == conversation)
        ]


async def open_widget(**hello: Any) -> tuple[Socket, dict[str, Any]]:
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "support", **hello})
    return socket, await socket.expect("welcome")


async def session_headers(user) -> list[tuple[bytes, bytes]]:
    def login() -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    cookie = await database_sync_to_async(login)()
    return [(b"cookie", f"sessionid={cookie}".encode())]


async def open_agent(user) -> tuple[Socket, dict[str, Any]]:
    socket = Socket("/ws/agent/", await session_headers(user))
    await socket.connect()
    return socket, await socket.expect("welcome")


def new_id() -> str:
    return str(uuid.uuid4())


async def say(socket: Socket, body: str, **extra: Any) -> dict[str, Any]:
    client_id = new_id()
    await socket.send({"type": "message", "client_id": client_id, "body": body, **extra})
    return await socket.expect("ack", client_id=client_id)
