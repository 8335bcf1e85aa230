"""Graceful shutdown of a daphne worker: sockets told to reconnect, work finished.

daphne's own SIGTERM handling stops the reactor at once: every application
is cancelled (a frame being handled loses its ack) and every socket is cut
without a close frame (clients see 1006). `chatportal serve` installs this
drain instead (`install(cli)`), after the reactor's own handlers:

1. SIGTERM (or SIGINT) marks the worker as draining: `/readyz` answers 503,
   so balancers stop sending it new clients.
2. Every open WebSocket gets a `server.shutdown` message in its own input
   queue. Consumers handle their messages one at a time, so the frame in
   flight (a sync database transaction in a thread) finishes and is acked
   first; then the consumer stops (`GracefulShutdown` below) and the socket
   is closed with 1012 "service restart". Clients reconnect with backoff,
   to any worker, and resume from their last `seq` (docs/protocol.md 1.3).
   Sockets opened while draining are told the same.
3. When no application is running any more (or after
   `CHATPORTAL_SHUTDOWN_TIMEOUT_S`, default 10 s, below Compose's
   `stop_grace_period`), the reactor stops as daphne would have.

A second signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Any

logger = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012
SHUTDOWN_MESSAGE_TYPE = "server.shutdown"
POLL_INTERVAL_S = 0.1

_draining = False


def is_draining() -> bool:
    return _draining


def shutdown_timeout_s() -> float:
    return float(os.environ.get("CHATPORTAL_SHUTDOWN_TIMEOUT_S", "10"))


class GracefulShutdown:
    """Mixed into our WebSocket consumers: stop handling frames when the worker drains.

    Consumers handle one message at a time, so when this runs the frame that
    was in flight has finished and been acked. From here on the consumer
    handles no frame and sends nothing (`closing`); a frame that arrives now
    is resent by the client after reconnecting, with the same `client_id`:
    nothing lost, nothing doubled. Then the drain closes the socket with 1012
    itself, since autobahn lets applications send only 1000 and 3000-4999
    (and htmx's ws extension reconnects on 1006, 1012 and 1013 only).
    """

    async def server_shutdown(self, message: dict[str, Any]) -> None:
        self.closing = True
        drained = message.get("drained")
        if drained is not None and not drained.done():
            drained.set_result(None)


def _open_websockets(server: Any) -> list[Any]:
    from daphne.ws_protocol import WebSocketProtocol

    return [
        protocol
        for protocol, details in list(server.connections.items())
        if isinstance(protocol, WebSocketProtocol)
        and "disconnected" not in details
        and getattr(protocol, "application_queue", None) is not None
    ]


def close_for_restart(protocol: Any) -> None:
    """Send close 1012 "service restart" on an open socket (autobahn's unchecked path)."""
    if protocol.state == protocol.STATE_OPEN:
        protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, reasonUtf8=b"service restart")


def _running_applications(server: Any) -> int:
    running = 0
    for details in list(server.connections.values()):
        instance = details.get("application_instance")
        if instance is not None and not instance.done():
            running += 1
    return running


class Drain:
    """The drain of one daphne `Server`, driven by the reactor's clock."""

    def __init__(self, server: Any, reactor: Any, *, timeout_s: float) -> None:
        self.server = server
        self.reactor = reactor
        self.timeout_s = timeout_s
        self.told: set[int] = set()
        self.deadline = 0.0
        self.started = False

    def begin(self) -> None:
        global _draining
        if self.started:
            logger.warning("second shutdown signal: stopping now")
            self.stop()
            return
        self.started = True
        _draining = True
        self.deadline = time.monotonic() + self.timeout_s
        logger.info("shutdown: draining %d socket(s)", len(_open_websockets(self.server)))
        self.tick()

    def tell_sockets(self) -> None:
        for protocol in _open_websockets(self.server):
            if id(protocol) in self.told:
                continue
            self.told.add(id(protocol))
            drained = asyncio.get_event_loop().create_future()
            drained.add_done_callback(lambda _f, protocol=protocol: close_for_restart(protocol))
            try:
                protocol.application_queue.put_nowait(
                    {"type": SHUTDOWN_MESSAGE_TYPE, "drained": drained}
                )
            except Exception:
                logger.warning("could not tell a socket to reconnect", exc_info=True)
                close_for_restart(protocol)

    def tick(self) -> None:
        self.tell_sockets()
        running = _running_applications(self.server)
        if running == 0:
            logger.info("shutdown: every socket closed, every request finished")
            self.stop()
            return
        if time.monotonic() >= self.deadline:
            logger.warning(
                "shutdown: %d application(s) still running after %.0f s", running, self.timeout_s
            )
            for protocol in _open_websockets(self.server):
                # The consumer did not get to it in time: the close still says "restart".
                close_for_restart(protocol)
            self.reactor.callLater(0.5, self.stop)
            return
        self.reactor.callLater(POLL_INTERVAL_S, self.tick)

    def stop(self) -> None:
        if self.reactor.running:
            self.reactor.stop()


def install(cli: Any, *, timeout_s: float | None = None) -> None:
    """Replace the reactor's SIGTERM/SIGINT handlers by the drain, once it runs.

    `cli` is daphne's `CommandLineInterface`; its `server` exists by the time
    the reactor starts.
    """
    from twisted.internet import reactor

    def take_over_signals() -> None:
        drain = Drain(
            cli.server, reactor, timeout_s=shutdown_timeout_s() if timeout_s is None else timeout_s
        )

        def on_signal(number: int, frame: Any) -> None:
            reactor.callFromThread(drain.begin)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    reactor.addSystemEventTrigger("after", "startup", take_over_signals)
