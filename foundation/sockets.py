"""The socket plumbing our consumers build on, whatever they carry.

The channel layer is only a doorbell (foundation/realtime.py): a socket
re-reads the database when it rings, and has to notice when rings may have
been lost. What every socket of ours shares lives here:

- `SurvivesLayerOutages`: a channel-layer receive that fails (Redis down or
  restarting) is retried instead of ending the socket;
- `spread_ticks`: maintenance timers that do not tick in step;
- `hot_path`: the per-message database hop, its doorbells rung from the loop;
- `SocketLifecycle`: groups joined, background tasks, one close, sign-out;
- `JsonFrameSocket`: a JSON socket that survives bad frames (size limit,
  token bucket, close 4029 after repeated violations, error frames that
  never carry exception text), handles one message at a time, re-joins its
  groups on a timer and catches up from the database after a layer failure.

What the frames mean (chat's protocol, tickets' fragments) is the apps'.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import connections
from django.utils import timezone

from foundation import metrics, realtime
from foundation.channel_layer import reconnects as layer_reconnects
from foundation.errors import ClientError, NotAuthenticated, RateLimited
from foundation.session_sockets import session_alive
from foundation.shutdown import GracefulShutdown
from foundation.token_bucket import TokenBucket

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


class SocketLifecycle(SurvivesLayerOutages, GracefulShutdown):
    """Mixed in before a channels consumer: the groups it joined, its tasks, one close.

    The consumer's connect() sets `closing`, `tasks` and `joined` (a set or a
    list of group names) before anything can fail. Closing is said once:
    after `refuse` or a drain (`server_shutdown` sets `closing`) the socket
    sends nothing more; on disconnect the tasks are cancelled and the groups
    left, a failure to leave one only logged.
    """

    closing: bool
    tasks: list[asyncio.Task]
    joined: set[str] | list[str]

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

    async def session_ended(self, message: dict[str, Any]) -> None:
        # The session that signed this socket in has signed out
        # (foundation.session_sockets): nothing more for this tab.
        await self.refuse(CLOSE_UNAUTHENTICATED)


class JsonFrameSocket(SocketLifecycle, AsyncJsonWebsocketConsumer):
    """A JSON socket that survives what clients and the layer throw at it.

    Subclasses say what a frame means (`handle_frame`), what an error frame
    echoes of the frame it answers (`error_context`), their limits
    (`frame_bucket`, `max_violations`, `max_frame_bytes`) and how to catch up
    from the database (`catch_up_from_log`); they start the maintenance timer
    (`start_maintenance`) once the socket knows who it serves.
    """

    max_frame_bytes: int = 64 * 1024
    # Label of the open-connections gauge (foundation/metrics.py).
    metrics_kind: str = "socket"
    maintenance_interval_s: float = 10
    # Maintenance ticks between comparisons with the log on a healthy layer.
    catch_up_every_ticks = 2
    # The user a session cookie signed in; None: a token did (or nobody yet).
    session_user: Any = None

    # --- lifecycle -----------------------------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Handlers run one at a time (channels dispatches in order); the
        # maintenance catch-up takes the same lock, so two reads of the log
        # never interleave their sends and a seq is never sent twice.
        self.handling = asyncio.Lock()

    async def connect(self) -> None:
        """Accept; subclasses set their own state first and go on after."""
        self.joined: set[str] = set()
        self.bucket = self.frame_bucket()
        self.violations = 0
        self.closing = False
        self.tasks: list[asyncio.Task] = []
        self.receive_failures_seen = layer_failures()
        self.missed_doorbells = False
        self.ticks_since_catch_up = 0
        # When the client last sent anything (the handshake counts): presence
        # follows this, never the socket merely being open.
        self.last_frame_at = timezone.now()
        await self.accept()
        metrics.connection_opened(self, self.metrics_kind)

    def frame_bucket(self) -> TokenBucket:
        raise NotImplementedError

    def max_violations(self) -> int:
        """Refused frames in a row before the socket closes with 4029."""
        raise NotImplementedError

    def start_maintenance(self) -> None:
        self.tasks.append(asyncio.create_task(self._maintenance()))

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
                    # Signed out, and the doorbell never came (foundation.session_sockets).
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
        """Called at every maintenance tick, after the catch-up (agents: presence)."""

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
        """Send what the database holds past what this socket sent."""
        raise NotImplementedError

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
        if size > self.max_frame_bytes:
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
                raise ClientError("frames must be JSON text")
            if data is None and text_data.strip() != "null":
                raise ClientError("the frame is not valid JSON")
            await self.handle_frame(data)
        except NotAuthenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
        except RateLimited as exc:
            self.violations += 1
            if self.violations > self.max_violations():
                await self.refuse(CLOSE_RATE_LIMITED)
                return
            await self.send_error(exc.code, exc.detail, data, **exc.extra)
        except ClientError as exc:
            await self.send_error(exc.code, exc.detail, data, **exc.extra)
        except Exception:
            logger.exception("socket frame failed")
            await self.send_error("server_error", "something went wrong on our side", data)

    async def handle_frame(self, data: Any) -> None:
        """One parsed JSON frame within the limits; raise a ClientError to refuse it."""
        raise NotImplementedError

    # --- outbound frames -----------------------------------------------------------

    async def send_json(self, content: Any, close: bool = False) -> None:
        if not self.closing:
            metrics.count_frame(content)
            await super().send_json(content, close=close)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # orjson: several times faster than json.dumps on every frame we send.
        return orjson.dumps(content).decode()

    async def send_error(self, code: str, detail: str, data: Any = None, **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        frame.update(self.error_context(data))
        frame.update(extra)
        await self.send_json(frame)

    def error_context(self, data: Any) -> dict[str, Any]:
        """What an error frame repeats of the frame it answers (`data`, None if unparsed)."""
        return {}
