"""A real SMTP relay for tests (aiosmtpd) that a test can take down, slow down or hang.

- `up()`: accepts and records every message (`messages`, parsed).
- `slow(seconds)`: answers DATA only after `seconds` (then keeps the message,
  as a real relay that finished its work late would).
- `hang()`: the port accepts connections and never says a word.
- `down()`: nothing listens; connections are refused.

All on one port, so the application's settings never change between states.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.relay.delay_s:
            await asyncio.sleep(self.relay.delay_s)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.relay.lock:
            self.relay.raw.append(raw)
            self.relay.messages.append(message)
            self.relay.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpRelay:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.delay_s = 0.0
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Controller | None = None
        self._silent: socket.socket | None = None

    # --- states -------------------------------------------------------------------

    def up(self) -> None:
        self.delay_s = 0.0
        if self._controller is not None:
            return
        self._stop_silent()
        controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=5)
        for _ in range(50):  # the port may linger a moment after a hang
            try:
                controller.start()
                break
            except (OSError, RuntimeError):
                time.sleep(0.05)
        else:
            raise RuntimeError(f"the test relay could not listen on {self.port}")
        self._controller = controller

    def slow(self, seconds: float) -> None:
        self.up()
        self.delay_s = seconds

    def hang(self) -> None:
        self._stop_controller()
        if self._silent is None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)  # never accept(): the kernel completes the handshake, nobody speaks
            self._silent = sock

    def down(self) -> None:
        self._stop_controller()
        self._stop_silent()

    # --- reading --------------------------------------------------------------------

    def message_ids(self) -> set[str]:
        with self.lock:
            return {str(m["Message-ID"]) for m in self.messages}

    def wait_for(self, count: int, timeout_s: float = 10) -> list[EmailMessage]:
        """The messages once at least `count` distinct Message-IDs arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.message_ids()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.message_ids())} of {count} mails arrived")
            time.sleep(0.02)
        with self.lock:
            return list(self.messages)

    # --- plumbing -------------------------------------------------------------------

    def _stop_controller(self) -> None:
        if self._controller is not None:
            self.delay_s = 0.0
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None

    def _stop_silent(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
