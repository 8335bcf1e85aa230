"""A real HTTP receiver in a thread, answering the statuses a test scripts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import WebhookEndpoint


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    # Status codes to answer, in order; 200 once they run out.
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            state.received.append(Received(dict(self.headers), self.rfile.read(length)))
            status = state.script.pop(0) if state.script else 200
            answer = f"answer {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/chatportal"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhooks_by_hand(settings):
    # Tests send with deliver_due_webhooks() themselves, at the times they choose.
    settings.CHATPORTAL_WEBHOOK_AFTER_COMMIT = "off"
    settings.CHATPORTAL_WEBHOOK_RETRY_BASE_S = 30
    settings.CHATPORTAL_WEBHOOK_MAX_ATTEMPTS = 4
    settings.CHATPORTAL_WEBHOOK_TIMEOUT_S = 5


@pytest.fixture
def endpoint(db, receiver, webhooks_by_hand) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="Company CRM",
        url=receiver.url,
        secret="s3cret-for-tests",
        event_types=[
            "ticket.created",
            "ticket.updated",
            "conversation.closed",
            "call.ended",
            "contact.linked",
        ],
    )
