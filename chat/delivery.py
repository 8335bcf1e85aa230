"""The socket plumbing both chat consumers share.

Framing and limits (64 KiB, token bucket, close 4029), strict dispatch
through an allow-list, the hello deadline, error frames that never carry
exception text, and the delivery rule of PROTOCOL §1: per conversation the
socket remembers the last seq it sent; a doorbell makes it read the log past
that mark (one indexed query) and send in seq order, never at or below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connections
from django.utils import timezone

from chat import frames, limits, queries
from chat.errors import ChatError, NotAuthenticated, RateLimited
from chat.events import conversation_group
from chat.log import Appended
from chat.sweeper import ensure_sweeper_running
from chatportal import metrics, realtime
from chatportal.channel_layer import reconnects as layer_reconnects
from chatportal.public_url import rebase_links, socket_base
from chatportal.session_sockets import session_alive
from chatportal.shutdown import GracefulShutdown

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_TOO_BIG = 4009
CLOSE_RATE_LIMITED = 4029

Handler = Callable[[dict[str, Any]], Awaitable[None]]

# How many times a channel-layer receive failed in this process (Redis down or
# restarted). Only one socket's receive sees the error while the others wait
# their turn, but a restart wiped every socket's groups: each compares this
# count at its maintenance tick and, once joined again, catches up from the log.
_layer_receive_failures = 0
# What a receive raises while Redis is down or restarting; anything else is a
# bug and ends the socket as before.
LAYER_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
with contextlib.suppress(ImportError):
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    LAYER_OUTAGE_ERRORS = (OSError, RedisConnectionError, RedisTimeoutError)


def layer_failures() -> int:
    """Failed receives here plus re-established subscriptions: either may have lost doorbells."""
    return _layer_receive_failures + layer_reconnects()


async def spread_ticks(interval_s: float) -> AsyncIterator[None]:
    """Yield every `interval_s`, the first time after a random 50–100 % of it.

    Sockets opened together (a reconnect storm after a deploy, a load test)
    would otherwise tick together for their whole life, and each tick reads
    the database: a burst of hundreds of reads every period. Never sooner
    than half a period: a socket that just connected has just caught up.
    """
    await asyncio.sleep(interval_s * (0.5 + random.random() / 2))  # noqa: S311 (a phase, not a secret)
    while True:
        yield
        await asyncio.sleep(interval_s)


class SurvivesLayerOutages:
    """For consumers: a channel-layer receive that fails with a connection error is retried.

    Without it a Redis restart ends every consumer's receive loop and daphne
    closes each socket with 1011 (which htmx's ws extension does not
    reconnect on). Consumers re-join their groups and catch up on their
    maintenance tick.
    """

    # channels' __call__ stores the layer's receive in `channel_receive` and
    # hands it to its dispatch loop. A receive that raises (Redis restarting)
    # would end the consumer and daphne would close the socket; this socket
    # waits the outage out instead, and maintenance re-joins and catches up.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_through_layer_failures

    @channel_receive.setter
    def channel_receive(self, layer_receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = layer_receive

    async def _receive_through_layer_failures(self) -> dict[str, Any]:
        global _layer_receive_failures
        delay = 0.1
        while True:
            try:
                return await self._layer_receive()
            except LAYER_OUTAGE_ERRORS as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Cancelled (the consumer is ending) and the layer raised
                    # something else while cleaning up: never retry that.
                    raise
                _layer_receive_failures += 1
                if delay == 0.1:
                    logger.warning(
                        "channel layer receive failed (%s); retrying", type(exc).__name__
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


@functools.cache  # one hop per function, not one per message
def hot_path(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`database_sync_to_async` for the per-message hops (write, delivery read).

    On PostgreSQL they run in the thread pool, each thread on its own
    connection, so one socket's commit wait does not hold up every other
    socket of the worker on the single shared sync thread
    (docs/decisions/pitfalls.md#slow-naive-write-path), and
    concurrent commits share PostgreSQL's group commit. SQLite serializes
    writers anyway (and its in-memory test database refuses concurrent ones),
    so there the hops stay on the shared thread.
    """
    hop = database_sync_to_async(
        realtime.collecting_doorbells(fn),
        thread_sensitive=connections["default"].vendor != "postgresql",
    )

    async def run(*args: Any, **kwargs: Any) -> Any:
        # The doorbells the hop's commits rang are sent from the loop, in order.
        result, doorbells = await hop(*args, **kwargs)
        await realtime.ring(doorbells)
        return result

    return run


@dataclass
class Followed:
    pk: int
    last_sent: int


# Our own links in event frames, re-based onto the server this socket reached.
LINKS_BY_EVENT_KIND = {"attachment": ("url",), "ticket": ("portal_url",)}


class ChatSocket(SurvivesLayerOutages, GracefulShutdown, AsyncJsonWebsocketConsumer):
    schemas: dict[str, frames.Schema] = {}
    for_agent = False
    hello_timeout_s: float = 10
    # Maintenance ticks between comparisons with the log on a healthy layer.
    catch_up_every_ticks = 2
    # The user a session cookie signed in (agent sockets of the console); None: a token did.
    session_user: Any = None

    @property
    def maintenance_interval_s(self) -> float:
        # How often an agent's last frame reaches presence: well inside the TTL.
        return max(1.0, min(10.0, settings.CHATPORTAL_PRESENCE_TTL_S / 3))

    # --- lifecycle -----------------------------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Handlers run one at a time (channels dispatches in order); the
        # maintenance catch-up takes the same lock, so two reads of the log
        # never interleave their sends and a seq is never sent twice.
        self.handling = asyncio.Lock()

    async def connect(self) -> None:
        self.followed: dict[str, Followed] = {}
        self.joined: set[str] = set()
        self.bucket = limits.socket_bucket(agent=self.for_agent)
        self.violations = 0
        self.ready = False
        self.closing = False
        self.handlers: dict[str, Handler] = self.frame_handlers()
        self.tasks: list[asyncio.Task] = []
        self.receive_failures_seen = layer_failures()
        self.missed_doorbells = False
        self.ticks_since_catch_up = 0
        # When the client last sent anything (the handshake counts): presence
        # follows this, never the socket merely being open.
        self.last_frame_at = timezone.now()
        # `chatportal serve` sweeps from start-up; this covers servers started
        # otherwise (tests, runserver). Idempotent, like the sweep itself.
        ensure_sweeper_running()
        await self.accept()
        metrics.connection_opened(self, "agent" if self.for_agent else "widget")
        self.tasks.append(asyncio.create_task(self._hello_deadline()))
        await self.connected()

    async def connected(self) -> None:
        """Subclasses may authenticate from the scope right away."""

    def frame_handlers(self) -> dict[str, Handler]:
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        self.closing = True
        metrics.connection_closed(self)
        for task in self.tasks:
            task.cancel()
        for group in self.joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("group_discard failed for %s", group, exc_info=True)
        self.joined.clear()

    async def refuse(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    async def became_ready(self) -> None:
        self.ready = True
        self.tasks.append(asyncio.create_task(self._maintenance()))

    async def _hello_deadline(self) -> None:
        await asyncio.sleep(self.hello_timeout_s)
        if not self.ready:
            await self.refuse(CLOSE_UNAUTHENTICATED)

    async def _maintenance(self) -> None:
        # A Redis restart forgets group memberships without telling anyone;
        # group_add is idempotent and cheap, so re-join on a timer.
        async for _ in spread_ticks(self.maintenance_interval_s):
            if self.closing:
                return
            try:
                if self.session_user is not None and not await database_sync_to_async(
                    session_alive
                )(self.scope.get("session"), self.session_user):
                    # Signed out, and the doorbell never came (chatportal.session_sockets).
                    await self.refuse(CLOSE_UNAUTHENTICATED)
                    return
                receive_failures = layer_failures()
                if await self.rejoin_groups():
                    await self.catch_up_after_layer_failure(receive_failures)
                await self.keep_alive()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("socket maintenance failed", exc_info=True)

    async def keep_alive(self) -> None:
        """Agent sockets pass their client's last frame on to presence here."""

    async def session_ended(self, message: dict[str, Any]) -> None:
        # The session that signed this socket in has signed out.
        await self.refuse(CLOSE_UNAUTHENTICATED)

    async def join(self, group: str) -> None:
        # Remembered first: if the layer refuses now (a Redis hiccup, a full
        # pool), the maintenance timer joins again, pings catch up from the
        # log meanwhile, and a frame whose write already committed still gets
        # its ack instead of an error.
        self.joined.add(group)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            self.missed_doorbells = True
            logger.warning("group_add %s failed; retried by maintenance", group, exc_info=True)

    async def rejoin_groups(self) -> bool:
        """Join every remembered group again; False when the layer refused one."""
        joined_all = True
        for group in list(self.joined):
            try:
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception:
                joined_all = False
                logger.warning("group_add %s failed; retried next time", group, exc_info=True)
        if not joined_all:
            self.missed_doorbells = True
        return joined_all

    async def catch_up_after_layer_failure(self, receive_failures: int) -> None:
        """Doorbells rung while our groups were gone went nowhere; the log has their events.

        Costs nothing while the layer is healthy: one read of the followed
        conversations' last seq only after a failed join here or a failed
        receive anywhere in this process.
        """
        if not self.missed_doorbells and receive_failures == self.receive_failures_seen:
            # Healthy layer: still compare with the log every few ticks, so a
            # doorbell lost without any error (a full channel, a reordered or
            # expired message) costs a client that never pings one period.
            self.ticks_since_catch_up += 1
            if self.ticks_since_catch_up < self.catch_up_every_ticks:
                return
        self.ticks_since_catch_up = 0
        async with self.handling:
            await self.catch_up_from_log()
        self.missed_doorbells = False
        self.receive_failures_seen = receive_failures

    async def catch_up_from_log(self) -> Any:
        """Send every followed conversation's events past the mark (agents also pick
        up assignment notices the layer lost)."""
        pks = [f.pk for f in self.followed.values()]
        await self.catch_up(await database_sync_to_async(queries.last_seqs)(pks))

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Groups we join are shared with other apps (department, agent); a
        # message type we do not handle must not kill the socket. Unlike the
        # base class we do not hop to a thread to close old connections
        # before every message: each database_sync_to_async call does that
        # already, and the extra hop per message costs throughput.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            logger.debug("ignoring %s", message.get("type"))
            return
        async with self.handling:
            await handler(message)

    # --- inbound frames ------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Any frame shows the client is there, a refused or malformed one too.
        self.last_frame_at = timezone.now()
        if self.closing:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > frames.MAX_FRAME_BYTES:
            await self.refuse(CLOSE_TOO_BIG)
            return
        data: Any = None
        try:
            # Every frame costs a token, malformed ones included; parsing
            # first lets a refusal echo the frame's client_id.
            wait = self.bucket.take()
            if text_data is not None:
                # Deep nesting (`[[[[…`) fits in 64 KiB; past 1,024 levels orjson refuses it: not JSON to us.
                with contextlib.suppress(ValueError, RecursionError):
                    data = orjson.loads(text_data)
            if wait:
                raise RateLimited(max(1, round(wait + 0.5)))
            self.violations = 0
            if text_data is None:
                raise frames.FrameInvalid("frames must be JSON text")
            if data is None and text_data.strip() != "null":
                raise frames.FrameInvalid("the frame is not valid JSON")
            kind = frames.frame_type(data, self.schemas)
            if not self.ready and kind != "hello":
                raise NotAuthenticated
            clean = frames.validate_fields(data, self.schemas[kind])
            await self.handlers[kind](clean)
        except NotAuthenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
        except RateLimited as exc:
            self.violations += 1
            if self.violations > limits.max_violations():
                await self.refuse(CLOSE_RATE_LIMITED)
                return
            await self.send_error(exc.code, exc.detail, data, retry_after_s=exc.retry_after_s)
        except frames.FrameInvalid as exc:
            await self.send_error("invalid", exc.detail, data)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail, data)
        except Exception:
            logger.exception("chat frame failed")
            await self.send_error("server_error", "something went wrong on our side", data)

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
            metrics.count_frame(content)
            await super().send_json(content, close=close)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # orjson: several times faster than json.dumps on every frame we send.
        return orjson.dumps(content).decode()

    async def send_error(self, code: str, detail: str, data: Any = None, **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        client_id = frames.echo_client_id(data)
        if client_id:
            frame["client_id"] = client_id
        if isinstance(data, dict) and isinstance(data.get("conversation"), str):
            with contextlib.suppress(frames.FrameInvalid):
                frame["conversation"] = frames.uuid_string(data["conversation"], "conversation")
        frame.update(extra)
        await self.send_json(frame)

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
