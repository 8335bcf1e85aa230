"""A small protocol client for multi-process tests (PROTOCOL.md, version 1).

It keeps every frame a socket received, so a test can wait for one frame and
still assert on all of them afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
DEFAULT_TIMEOUT_S = 20.0


class ProtocolError(AssertionError):
    """The server did not answer as PROTOCOL.md says."""


class ProtocolSocket:
    def __init__(self, url: str, *, origin: str, name: str) -> None:
        self.url = url
        self.origin = origin
        self.name = name
        self.frames: list[Frame] = []
        self.closed_code: int | None = None
        self._conn: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def open(self) -> ProtocolSocket:
        self._conn = await connect(self.url, origin=self.origin, open_timeout=20, max_size=2**20)
        self._reader = asyncio.create_task(self._read_forever(), name=f"reader-{self.name}")
        return self

    async def _read_forever(self) -> None:
        assert self._conn is not None
        try:
            async for raw in self._conn:
                try:
                    frame = json.loads(raw)
                except ValueError as exc:
                    raise ProtocolError(f"{self.name}: a frame that is not JSON: {raw!r}") from exc
                if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                    raise ProtocolError(f"{self.name}: a frame without a string type: {frame!r}")
                frame["_received_at"] = time.monotonic()
                self.frames.append(frame)
                self._changed.set()
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else 1006
        finally:
            if self.closed_code is None and self._conn.close_code is not None:
                self.closed_code = self._conn.close_code
            self._changed.set()

    async def send(self, frame: Frame) -> None:
        assert self._conn is not None, "open() first"
        await self._conn.send(json.dumps(frame))

    def start_heartbeat(self, every_s: float) -> None:
        """Ping every `every_s` s, as the console does: an agent's presence lives on its frames."""

        async def beat() -> None:
            with contextlib.suppress(ConnectionClosed, OSError):
                while True:
                    await asyncio.sleep(every_s)
                    await self.send({"type": "ping"})

        self.stop_heartbeat()
        self._heartbeat = asyncio.create_task(beat(), name=f"heartbeat-{self.name}")

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def close(self) -> None:
        self.stop_heartbeat()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 10)

    async def wait_for(
        self,
        predicate: Callable[[Frame], bool],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        start: int = 0,
        what: str = "a frame",
    ) -> Frame:
        """The first frame at index >= start matching predicate (waits for it)."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.frames):
                frame = self.frames[index]
                index += 1
                if predicate(frame):
                    return frame
            if self.closed_code is not None:
                raise ProtocolError(
                    f"{self.name}: socket closed ({self.closed_code}) while waiting for {what};"
                    f" last frames: {self.frames[-5:]}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolError(
                    f"{self.name}: no {what} within {timeout:.0f} s; last frames: {self.frames[-5:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolError(f"{self.name}: {what} not within {timeout:.0f} s")
            if self.closed_code is not None:
                raise ProtocolError(f"{self.name}: closed ({self.closed_code}) before {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    async def wait_closed(self, *, timeout: float) -> int:
        """The close code once the connection is gone (1006 for a dead peer)."""
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        if self.closed_code is None:
            raise ProtocolError(f"{self.name}: still open after {timeout:.0f} s")
        return self.closed_code

    def events(self, conversation: str) -> list[Frame]:
        return [
            f for f in self.frames if f["type"] == "event" and f.get("conversation") == conversation
        ]

    async def post_message(
        self, body: str, *, timeout: float = DEFAULT_TIMEOUT_S, **fields: Any
    ) -> Frame:
        """Send a `message` and return its `ack` (an `error` answer fails)."""
        client_id = str(uuid.uuid4())
        start = len(self.frames)
        await self.send({"type": "message", "client_id": client_id, "body": body, **fields})
        answer = await self.wait_for(
            lambda f: f["type"] in {"ack", "error"} and f.get("client_id") == client_id,
            timeout=timeout,
            start=start,
            what=f"the ack of {client_id}",
        )
        if answer["type"] == "error":
            raise ProtocolError(f"{self.name}: message {body!r} answered {answer}")
        if not isinstance(answer.get("seq"), int) or not isinstance(
            answer.get("conversation"), str
        ):
            raise ProtocolError(
                f"{self.name}: ack lacks an integer seq or a conversation: {answer}"
            )
        answer["_body"] = body
        return answer
