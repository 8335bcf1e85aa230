"""Signing out on one worker closes that session's socket on another (Redis layer).

The console is signed in over HTTP on worker B; its agent socket lives on
worker A; the sign-out posted to worker B reaches the socket through the
session's group on Redis within 5 s (foundation/session_sockets.py).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.live_server import LiveServer

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]

WORKER_A, WORKER_B = 0, 1
CLOSED_WITHIN_S = 5


class Browser:
    """Cookies and CSRF tokens over plain HTTP, as a browser would hold them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.cookies if c.name == name)

    def post_form(
        self, form_path: str, fields: dict[str, str], *, action: str | None = None
    ) -> int:
        page = self.opener.open(self.base + form_path, timeout=20).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        request = urllib.request.Request(
            self.base + (action or form_path), data=body, headers={"Referer": self.base + form_path}
        )
        return self.opener.open(request, timeout=20).status


async def test_signing_out_on_one_worker_closes_the_session_socket_on_another(
    two_workers: LiveServer,
):
    worker_a, worker_b = two_workers.workers[WORKER_A], two_workers.workers[WORKER_B]
    browser = Browser(worker_b.url.rstrip("/"))
    await asyncio.to_thread(
        browser.post_form, "/accounts/login/", {"username": "boris", "password": "demo-pass-123"}
    )
    session = browser.cookie("sessionid")
    async with connect(
        two_workers.ws_url("/ws/agent/", WORKER_A),
        origin=worker_a.origin,
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=20,
    ) as socket:
        welcome = await asyncio.wait_for(socket.recv(), 10)
        assert '"welcome"' in welcome
        # The console page's sign-out form, posted to the other worker.
        await asyncio.to_thread(browser.post_form, "/console/", {}, action="/accounts/logout/")
        signed_out_at = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - signed_out_at < CLOSED_WITHIN_S + 1:
                await asyncio.wait_for(socket.recv(), CLOSED_WITHIN_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
        assert time.monotonic() - signed_out_at < CLOSED_WITHIN_S
