"""`chatportal serve`: one daphne worker with the current settings."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from django.core.management.base import BaseCommand

# Our protocol closes a socket with 4009 past 64 KiB; daphne's own limit sits
# a little above so that our check, not a bare 1009/1006, is what clients see.
DAPHNE_MAX_MESSAGE_BYTES = 96 * 1024


def daphne_argv(host: str, port: int) -> list[str]:
    return [
        "--bind",
        host,
        "--port",
        str(port),
        "--websocket-max-message-size",
        str(DAPHNE_MAX_MESSAGE_BYTES),
        "--websocket-max-frame-size",
        str(DAPHNE_MAX_MESSAGE_BYTES),
        "--ping-interval",
        "20",
        "--ping-timeout",
        "30",
        "--application-close-timeout",
        "5",
        # daphne drops a handshake the application has not accepted in 5 s by
        # default; when a dead worker's clients all reconnect here at once the
        # accepts queue behind each other, and dropped handshakes came back as
        # retries (1,414 for 1,000 clients): let them wait instead.
        "--websocket_connect_timeout",
        "30",
        "--proxy-headers",
        "chatportal.asgi:application",
    ]


def freeze_startup_objects() -> None:
    """Keep the garbage collector's full passes off what lives as long as the process.

    Django, the URL conf and every module imported at startup are a large
    graph that a generation-2 pass walks each time: 85–125 ms per pass
    measured in a worker, a pause for every socket of it (docs/benchmarks.md).
    Frozen, those objects are never scanned; what sockets allocate still is.
    """
    import chatportal.asgi  # noqa: F401 (the application and all it imports)

    gc.collect()
    gc.freeze()


def run_periodic_work(reactor) -> None:
    """Sweep from the moment the worker runs until it shuts down, sockets or not.

    SLA warnings and breaches, automatic tickets, offer expiry and the presence
    sweep must not wait for a chat socket to connect: at night nobody is
    connected and a breached contract would escalate nobody. Every worker runs
    the sweep; its steps take row locks or compare-and-set claims, so two
    workers never escalate or convert the same thing twice. daphne does not
    speak the ASGI lifespan protocol, hence the reactor's own triggers.
    """
    import asyncio

    from twisted.internet import defer

    from chat.sweeper import ensure_sweeper_running, stop_sweeper

    # Startup triggers fire before the asyncio loop runs; callLater runs on it.
    reactor.callWhenRunning(reactor.callLater, 0, ensure_sweeper_running)

    def stop() -> defer.Deferred:
        # The reactor waits for this before it stops: a sweep in flight commits.
        return defer.Deferred.fromFuture(asyncio.get_event_loop().create_task(stop_sweeper()))

    reactor.addSystemEventTrigger("before", "shutdown", stop)


def serve_worker(host: str, port: int, extra_daphne_args: Sequence[str] = ()) -> None:
    """Run one daphne worker: drain on SIGTERM, sweep from start-up."""
    from daphne.cli import CommandLineInterface  # installs the asyncio reactor first
    from twisted.internet import reactor

    from foundation import shutdown

    freeze_startup_objects()
    cli = CommandLineInterface()
    # SIGTERM drains: sockets told to reconnect (1012), in-flight frames finished.
    shutdown.install(cli)
    run_periodic_work(reactor)
    argv = daphne_argv(host, port)
    cli.run([*argv[:-1], *extra_daphne_args, argv[-1]])


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets with one daphne worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        self.stdout.write(f"Chatportal on http://{host}:{port}/")
        serve_worker(host, port)
