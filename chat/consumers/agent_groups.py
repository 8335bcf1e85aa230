"""What the agent socket hears from its groups: assignments, queue changes, presence.

The channel layer calls these by message type (`conversation.assigned` →
`conversation_assigned`). A mixin of `chat.consumers.agent.AgentConsumer`,
whose session state (`announced`, `departments`, `access`, ...) it uses;
apart so that the frames the client sends and the messages the server
pushes each read on their own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async

from chat import queue
from chat.errors import ChatError
from crm.record import call_by_public_id, call_frame

logger = logging.getLogger(__name__)


class AgentGroupMessages:
    """Handlers for the agent's, its departments' and its conversations' groups."""

    queue_refresh_delay_s: float = 1.0
    queue_refresh: asyncio.Task | None = None

    async def conversation_assigned(self, message: dict[str, Any]) -> None:
        if message["conversation"] in self.announced:
            return
        try:
            conversation = await self.access(message["conversation"])
        except ChatError:
            return
        await self.announce_assigned(conversation)

    async def queue_changed(self, message: dict[str, Any]) -> None:
        # A burst of starts and accepts rings once per change for every agent
        # of the department; coalescing them into one read per short window
        # keeps that fan-out from starving message delivery.
        if message["department"] not in self.departments:
            return
        self.stale_queues.add(message["department"])
        if self.queue_refresh is None or self.queue_refresh.done():
            self.queue_refresh = asyncio.create_task(self.refresh_queues())
            self.tasks.append(self.queue_refresh)

    async def refresh_queues(self) -> None:
        await asyncio.sleep(self.queue_refresh_delay_s)
        while self.stale_queues and not self.closing:
            department = self.departments[self.stale_queues.pop()]
            try:
                await self.send_json(await database_sync_to_async(queue.queue_summary)(department))
            except Exception:
                logger.exception("queue refresh failed")

    async def agent_presence_changed(self, message: dict[str, Any]) -> None:
        # An agent in several departments is announced once per department group.
        key = (message["agent"], message["status"], message["accepting"])
        if getattr(self, "last_presence", {}).get(message["agent"]) == key:
            return
        self.last_presence = {**getattr(self, "last_presence", {}), message["agent"]: key}
        await self.send_json(
            {
                "type": "presence",
                "agent": message["agent"],
                "status": message["status"],
                "accepting": message["accepting"],
            }
        )

    async def conversation_unassigned(self, message: dict[str, Any]) -> None:
        public_id = message["conversation"]
        if public_id not in self.announced:
            return
        self.announced.discard(public_id)
        await self.send_json(
            {"type": "unassigned", "conversation": public_id, "reason": message["reason"]}
        )

    async def call_changed(self, message: dict[str, Any]) -> None:
        # Sent to this agent's own group only (chat.actions.calls chose whom to ring);
        # the frame is read fresh, so a late doorbell still shows the latest state.
        frame = await database_sync_to_async(_call_frame)(message["call"])
        if frame is not None:
            await self.send_json({"type": "call", "call": frame})


def _call_frame(public_id: str) -> dict[str, Any] | None:
    call = call_by_public_id(public_id)
    return call_frame(call) if call is not None else None
