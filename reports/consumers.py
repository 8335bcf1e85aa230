"""`/ws/console/wallboard/`: the supervisors' wall-board, live.

Listens only. It joins every department's agent group (`dept.<slug>`: the
`queue.changed` rung when a chat arrives, is assigned, moves or closes, and
`agent.presence_changed`) and its tickets group (`tickets.dept.<slug>`:
every `ticket.changed`). A doorbell only marks the board dirty; a pusher
task waits `debounce_s` (a burst of doorbells costs one render), re-reads the
board from the database (`reports.wallboard`) and, if any figure differs
from the board last sent, sends the page's own `board` partial as an htmx
out-of-band swap. A timer marks it dirty every `refresh_interval_s` as
well: waits grow and SLA clocks cross their thresholds with no event at
all, a rating rings no department, and a lost doorbell costs at most one
period. The same timer re-joins the groups (a Redis restart forgets them),
checks the session, and sends a comment as a heartbeat that idle proxies
see as traffic (htmx swaps nothing for it).

Supervisors only: anyone else is accepted, then closed with 4003 (4001 when
not signed in), so that browsers see a close code rather than a 1006.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from foundation import metrics
from foundation.session_sockets import SESSION_ENDED, session_alive, session_group_of
from foundation.socket_language import language_of_scope, rendering_in
from foundation.sockets import (
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
    SocketLifecycle,
)
from queues.agent_scope import agent_scope
from reports.wallboard import Board, wallboard, wallboard_groups

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4003
MAX_INBOUND_FRAMES = 20
MAX_INBOUND_BYTES = 4096
DOORBELLS = {"queue.changed", "agent.presence_changed", "ticket.changed"}


def _access(user: Any) -> int | None:
    """None for a supervisor, else the close code."""
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    scope = agent_scope(user)
    if scope is None or not scope.is_supervisor:
        return CLOSE_FORBIDDEN
    return None


def render_board(last: Board | None) -> tuple[Board, str | None]:
    """The board, and its fragment unless its figures equal `last`'s."""
    board = wallboard()
    if last is not None and board.figures() == last.figures():
        return board, None
    return board, render_to_string("reports/wallboard.html#board", {"board": board, "oob": True})


class WallboardConsumer(SocketLifecycle, AsyncWebsocketConsumer):
    debounce_s: float = 0.25
    refresh_interval_s: float = 5

    async def connect(self) -> None:
        self.closing = False
        self.joined: list[str] = []
        self.tasks: list[asyncio.Task] = []
        self.inbound = 0
        self.dirty = asyncio.Event()
        self.last: Board | None = None
        self.user = self.scope.get("user")
        self.language = language_of_scope(self.scope)
        refused = await database_sync_to_async(_access)(self.user)
        if refused is not None:
            await self.accept()
            await self.refuse(refused)
            return
        await self._join()
        await self.accept()
        metrics.connection_opened(self, "wallboard")
        # Joined first, then the first render: nothing committed in between is missed.
        await self._push()
        self.tasks.append(asyncio.create_task(self._pusher()))
        self.tasks.append(asyncio.create_task(self._ticker()))

    async def _join(self) -> None:
        groups = await database_sync_to_async(wallboard_groups)()
        session = session_group_of(self.scope)
        for group in [*groups, *([session] if session else [])]:
            await self.channel_layer.group_add(group, self.channel_name)
            if group not in self.joined:
                self.joined.append(group)

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in DOORBELLS:
            if not self.closing:
                self.dirty.set()
            return
        # Department groups carry other agent-socket messages too: ignored.
        if kind in {
            "websocket.connect",
            "websocket.receive",
            "websocket.disconnect",
            "server.shutdown",
            SESSION_ENDED,
        }:
            await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_INBOUND_BYTES:
            await self.refuse(CLOSE_TOO_BIG)
            return
        self.inbound += 1
        if self.inbound > MAX_INBOUND_FRAMES:
            await self.refuse(CLOSE_RATE_LIMITED)

    async def _pusher(self) -> None:
        while not self.closing:
            await self.dirty.wait()
            await asyncio.sleep(self.debounce_s)
            self.dirty.clear()
            await self._push()

    async def _ticker(self) -> None:
        while not self.closing:
            await asyncio.sleep(self.refresh_interval_s)
            try:
                alive = await database_sync_to_async(session_alive)(
                    self.scope.get("session"), self.user
                )
                refused = (
                    await database_sync_to_async(_access)(self.user)
                    if alive
                    else CLOSE_UNAUTHENTICATED
                )
                if refused is not None:
                    await self.refuse(refused)
                    return
                # New departments join the board; a Redis restart forgot the old ones.
                await self._join()
                await self.send(text_data="<!-- heartbeat -->")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("wall-board socket maintenance failed", exc_info=True)
            self.dirty.set()

    async def _push(self) -> None:
        try:
            board, html = await database_sync_to_async(rendering_in(self.language, render_board))(
                self.last
            )
        except Exception:
            # One failed render must not kill the socket; the next doorbell retries.
            logger.exception("wall-board render failed")
            return
        if self.closing or html is None:
            return
        self.last = board
        await self.send(text_data=html)
