"""What both chat consumers share, on foundation's JSON socket (foundation/sockets.py).

Framing and limits (64 KiB, token bucket, close 4029), layer outages and the
maintenance timer are foundation's; here are chat's numbers for them, strict
dispatch through an allow-list, the hello deadline, the error frame's
`client_id` and `conversation`, and the delivery rule of PROTOCOL §1: per
conversation the socket remembers the last seq it sent; a doorbell makes it
read the log past that mark (one indexed query) and send in seq order, never
at or below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat import frames, limits, queries
from chat.attachments import ATTACHMENT_LINKS
from chat.errors import NotAuthenticated
from chat.events import conversation_group
from chat.log import Appended
from chat.sweeper import ensure_sweeper_running
from foundation.public_url import rebase_links, socket_base
from foundation.sockets import (
    CLOSE_UNAUTHENTICATED,
    Handler,
    JsonFrameSocket,
    hot_path,
)
from foundation.token_bucket import TokenBucket

logger = logging.getLogger(__name__)


@dataclass
class Followed:
    pk: int
    last_sent: int


# Our own links in event frames, re-based onto the server this socket reached.
LINKS_BY_EVENT_KIND = {"attachment": ATTACHMENT_LINKS, "ticket": ("portal_url", "portal_login_url")}


class ChatSocket(JsonFrameSocket):
    """A chat socket on foundation's JSON socket: the hello, the protocol's frames, delivery."""

    schemas: dict[str, frames.Schema] = {}
    for_agent = False
    hello_timeout_s: float = 10
    max_frame_bytes = frames.MAX_FRAME_BYTES

    @property
    def maintenance_interval_s(self) -> float:
        # How often an agent's last frame reaches presence: well inside the TTL.
        return max(1.0, min(10.0, settings.CHATPORTAL_PRESENCE_TTL_S / 3))

    @property
    def metrics_kind(self) -> str:
        return "agent" if self.for_agent else "widget"

    # --- lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        self.followed: dict[str, Followed] = {}
        self.ready = False
        self.handlers: dict[str, Handler] = self.frame_handlers()
        self.answering_hello = asyncio.Lock()
        # `chatportal serve` sweeps from start-up; this covers servers started
        # otherwise (tests, runserver). Idempotent, like the sweep itself.
        ensure_sweeper_running()
        await super().connect()
        self.tasks.append(asyncio.create_task(self._hello_deadline()))
        await self.connected()

    async def connected(self) -> None:
        """Subclasses may authenticate from the scope right away."""

    def frame_handlers(self) -> dict[str, Handler]:
        raise NotImplementedError

    def frame_bucket(self) -> TokenBucket:
        return limits.socket_bucket(agent=self.for_agent)

    def max_violations(self) -> int:
        return limits.max_violations()

    async def became_ready(self) -> None:
        self.ready = True
        self.start_maintenance()

    async def _hello_deadline(self) -> None:
        await asyncio.sleep(self.hello_timeout_s)
        # The deadline is for a client that never says hello, not for a server
        # slow to answer one: in a reconnect storm hellos wait their turn for a
        # thread, and refusing them then made every client retry at once. A
        # hello being answered holds `answering_hello`.
        async with self.answering_hello:
            pass
        if not self.ready:
            await self.refuse(CLOSE_UNAUTHENTICATED)

    async def catch_up_from_log(self) -> Any:
        """Send every followed conversation's events past the mark (agents also pick
        up assignment notices the layer lost)."""
        pks = [f.pk for f in self.followed.values()]
        if not pks:
            # Most widget sockets sit on a page with no chat: no hop, no query
            # (it was a third of an idle worker's CPU at 2,000 such sockets).
            return
        await self.catch_up(await database_sync_to_async(queries.last_seqs)(pks))

    # --- inbound frames ------------------------------------------------------------

    async def handle_frame(self, data: Any) -> None:
        # Strict dispatch: a known type, `hello` first, every field checked.
        kind = frames.frame_type(data, self.schemas)
        if not self.ready and kind != "hello":
            raise NotAuthenticated
        clean = frames.validate_fields(data, self.schemas[kind])
        if kind != "hello":
            await self.handlers[kind](clean)
            return
        async with self.answering_hello:
            await self.handlers[kind](clean)

    async def send_json(self, content: Any, close: bool = False) -> None:
        if not self.closing:
            links = (
                LINKS_BY_EVENT_KIND.get(content.get("kind"))
                if content.get("type") == "event"
                else None
            )
            if links:
                # Events keep the links they were written with; this socket's base is the right one.
                content = rebase_links(content, links, socket_base(self.scope))
            await super().send_json(content, close=close)

    def error_context(self, data: Any) -> dict[str, Any]:
        context: dict[str, Any] = {}
        client_id = frames.echo_client_id(data)
        if client_id:
            context["client_id"] = client_id
        if isinstance(data, dict) and isinstance(data.get("conversation"), str):
            with contextlib.suppress(frames.FrameInvalid):
                context["conversation"] = frames.uuid_string(data["conversation"], "conversation")
        return context

    # --- delivery ------------------------------------------------------------------

    async def follow(self, public_id: str, pk: int, *, last_sent: int) -> Followed:
        """Join the conversation's group (first), then remember the mark."""
        followed = self.followed.get(public_id)
        if followed is None:
            await self.join(conversation_group(public_id))
            followed = self.followed[public_id] = Followed(pk=pk, last_sent=last_sent)
        return followed

    def visible(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        if self.for_agent:
            return frame
        if frame.get("internal"):
            return None
        return {k: v for k, v in frame.items() if k != "internal"}

    async def deliver(self, public_id: str, *, after_seq: int | None = None) -> None:
        """Send what the log holds past the mark (or past `after_seq`: a replay)."""
        followed = self.followed.get(public_id)
        if followed is None:
            return
        after = followed.last_sent if after_seq is None else after_seq
        while True:
            batch, last = await hot_path(queries.events_after)(
                followed.pk, public_id, after, for_agent=self.for_agent
            )
            for frame in batch:
                if after_seq is None and frame["seq"] <= followed.last_sent:
                    continue
                await self.send_json(frame)
            followed.last_sent = max(followed.last_sent, last)
            # seqs are gapless, so a full page means there may be more.
            if last - after < queries.REPLAY_PAGE:
                return
            after = last

    async def deliver_own(self, appended: Appended) -> None:
        """The socket that wrote an event sends it without reading it back."""
        public_id = str(appended.conversation)
        followed = self.followed.get(public_id)
        if followed is None or appended.seq <= followed.last_sent:
            return
        if appended.seq == followed.last_sent + 1:
            frame = self.visible(appended.frame)
            if frame is not None:
                await self.send_json(frame)
            followed.last_sent = appended.seq
        else:
            await self.deliver(public_id)

    async def conversation_event_appended(self, message: dict[str, Any]) -> None:
        followed = self.followed.get(message["conversation"])
        seq = message["seq"]
        if followed is None or seq <= followed.last_sent:
            return
        inline = message.get("event")
        if inline is not None and seq == followed.last_sent + 1:
            # The very next event for this socket: no need to read it back.
            frame = self.visible(inline)
            if frame is not None:
                await self.send_json(frame)
            followed.last_sent = seq
            return
        try:
            await self.deliver(message["conversation"])
        except Exception:
            # The next doorbell or ping catches up from the log.
            logger.exception("delivery failed")

    async def catch_up(self, last_seqs: dict[int, int]) -> None:
        for public_id, followed in list(self.followed.items()):
            if last_seqs.get(followed.pk, 0) > followed.last_sent:
                await self.deliver(public_id)

    async def ack(self, appended: Appended, client_id: str) -> None:
        await self.send_json(
            {
                "type": "ack",
                "client_id": client_id,
                "conversation": str(appended.conversation),
                "seq": appended.seq,
            }
        )

    # --- ephemeral frames from the group -------------------------------------------

    async def conversation_typing(self, message: dict[str, Any]) -> None:
        mine = message["sender"] == self.channel_name
        # Visitors see the agent typing, not their own other tabs.
        relevant = self.for_agent or message["role"] != "visitor"
        if not mine and relevant and message["conversation"] in self.followed:
            await self.send_json(
                {
                    "type": "typing",
                    "conversation": message["conversation"],
                    "active": message["active"],
                    "role": message["role"],
                }
            )

    async def conversation_read(self, message: dict[str, Any]) -> None:
        if message["sender"] != self.channel_name and message["conversation"] in self.followed:
            await self.send_json(
                {
                    "type": "read",
                    "conversation": message["conversation"],
                    "seq": message["seq"],
                    "role": message["role"],
                }
            )
