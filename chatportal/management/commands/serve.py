"""`chatportal serve`: one daphne worker with the current settings."""

from __future__ import annotations

import gc

from django.core.management.base import BaseCommand

# Our protocol closes a socket with 4009 past 64 KiB; daphne's own limit sits
# a little above so that our check, not a bare 1009/1006, is what clients see.
DAPHNE_MAX_MESSAGE_BYTES = 96 * 1024


def daphne_argv(host: str, port: int) -> list[str]:
    return [
        "--bind", host,
        "--port", str(port),
        "--websocket-max-message-size", str(DAPHNE_MAX_MESSAGE_BYTES),
        "--websocket-max-frame-size", str(DAPHNE_MAX_MESSAGE_BYTES),
        "--ping-interval", "20",
        "--ping-timeout", "30",
        "--application-close-timeout", "5",
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


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets with one daphne worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        from daphne.cli import CommandLineInterface

        from chatportal import shutdown

        self.stdout.write(f"Chatportal on http://{host}:{port}/")
        freeze_startup_objects()
        cli = CommandLineInterface()
        # SIGTERM drains: sockets told to reconnect (1012), in-flight frames finished.
        shutdown.install(cli)
        cli.run(daphne_argv(host, port))
