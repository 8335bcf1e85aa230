"""The scale-out set for real: deploy/nginx.conf in Debian's nginx, two daphne workers behind it.

Widget, agent and portal sockets and the HTTP API all go through nginx, as
in production. Then a worker is killed (SIGKILL) behind nginx: the sockets
it held are cut, reconnect through nginx (which hands them to the other
worker) and resume; the ones on the other worker carry on. The killed
worker comes back, and the other one is killed too, so every kind of
socket is cut at least once. Nothing acknowledged or committed is lost,
nothing is doubled, and order per conversation holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.live_server import LiveServer
from tests.multiprocess.nginx_proxy import NginxProxy, require_nginx
from tests.multiprocess.test_two_workers_chat import (
    assert_delivered,
    assert_in_seq_order_exactly_once,
    message_seqs,
    send_spaced,
    take_conversation,
)
from tests.multiprocess.wsclient import Frame, ProtocolSocket

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

AGENT = "boris"  # support; the one support agent online in this test
SUPERVISOR = "sofia"  # answers the portal customer's ticket through the API
CUSTOMER = "customer1@example.com"
PASSWORD = "demo-pass-123"
DELIVERY_TIMEOUT_S = 30.0
# A socket on the killed worker is cut as soon as nginx sees the upstream go.
CUT_TIMEOUT_S = 5.0
# Clients retry with backoff; nginx may answer 502 while both workers are down.
RECONNECT_TIMEOUT_S = 40.0


@pytest.fixture
def nginx(two_workers: LiveServer) -> Iterator[NginxProxy]:
    proxy = NginxProxy([worker.port for worker in two_workers.workers], binary=require_nginx())
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        print(proxy.log_tail())
        proxy.remove_files()


def test_the_shipped_config_parses_in_debians_nginx():
    proxy = NginxProxy([8001, 8002], binary=require_nginx())
    try:
        assert "test is successful" in proxy.check_config()
    finally:
        proxy.remove_files()


# ---------------------------------------------------------------------------
# HTTP through nginx


def http_json(method: str, url: str, *, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def portal_sign_in(base_url: str) -> str:
    """A customer's session through nginx: the login form with its CSRF token; the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = f"{base_url}/portal/login/"
    with opener.open(login_url, timeout=20) as response:
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf, "no CSRF token on the portal login page"
    form = urllib.parse.urlencode(
        {"username": CUSTOMER, "password": PASSWORD, "csrfmiddlewaretoken": csrf.group(1)}
    ).encode()
    with opener.open(urllib.request.Request(login_url, data=form), timeout=20) as response:
        assert response.status == 200 and "/portal/login" not in response.url, response.url
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


# ---------------------------------------------------------------------------
# Sockets through nginx


class PortalSocket:
    """`/ws/portal/` as the portal page's htmx opens it: HTML fragments, not JSON."""

    def __init__(self, url: str, *, origin: str, cookie: str) -> None:
        self.url = url
        self.origin = origin
        self.cookie = cookie
        self.frames: list[str] = []
        self.closed_code: int | None = None
        self._conn: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> PortalSocket:
        self._conn = await connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": self.cookie},
            open_timeout=20,
        )
        self._reader = asyncio.create_task(self._read_forever())
        return self

    async def _read_forever(self) -> None:
        assert self._conn is not None
        try:
            async for raw in self._conn:
                self.frames.append(raw if isinstance(raw, str) else raw.decode())
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else 1006
        finally:
            if self.closed_code is None:
                self.closed_code = self._conn.close_code or 1006

    async def wait_for_text(self, text: str, *, timeout: float = DELIVERY_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if text in frame:
                    return frame
            if self.closed_code is not None:
                raise AssertionError(f"portal socket closed ({self.closed_code}) before {text!r}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"portal socket: {text!r} not within {timeout:.0f} s")

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 10)


async def with_retries(open_socket, what: str):
    """Open a socket through nginx as clients do: retry with backoff until it opens."""
    deadline = time.monotonic() + RECONNECT_TIMEOUT_S
    delay = 0.2
    while True:
        try:
            return await open_socket()
        except Exception as exc:  # refused, 502 from nginx, closed before the welcome
            if time.monotonic() + delay > deadline:
                raise AssertionError(f"{what} did not reconnect through nginx: {exc!r}") from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def say_hello(sock: ProtocolSocket, hello: dict[str, Any]) -> Frame:
    """Open, send `hello`, return the welcome; a socket that fails on the way is closed."""
    try:
        await sock.open()
        await sock.send(hello)
        return await sock.wait_for(lambda f: f["type"] == "welcome", what="the welcome")
    except BaseException:
        await sock.close()
        raise


async def open_agent(nginx: NginxProxy, token: str, resume: dict[str, int] | None = None):
    sock = ProtocolSocket(nginx.ws_url("/ws/agent/"), origin=nginx.origin, name="agent via nginx")
    hello: dict[str, Any] = {"type": "hello", "token": token}
    if resume:
        hello["resume"] = resume
    welcome = await say_hello(sock, hello)
    await sock.send({"type": "presence", "status": "online"})
    return sock, welcome


async def open_visitor(nginx: NginxProxy, token: str | None, resume: dict[str, int] | None = None):
    sock = ProtocolSocket(
        nginx.ws_url("/ws/widget/"), origin=nginx.origin, name="visitor via nginx"
    )
    hello: dict[str, Any] = {
        "type": "hello",
        "token": token,
        "department": "support",
        "profile": {"name": "Behind nginx"},
        "locale": "en",
    }
    if resume:
        hello["resume"] = resume
    return sock, await say_hello(sock, hello)


async def open_portal(nginx: NginxProxy, cookie: str, number: str, since: datetime.datetime):
    query = urllib.parse.urlencode({"ticket": number, "since": since.isoformat()})
    sock = PortalSocket(nginx.ws_url(f"/ws/portal/?{query}"), origin=nginx.origin, cookie=cookie)
    return await sock.open()


async def cut_within(sock, timeout: float) -> bool:
    """Whether the socket was cut (its worker died) within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sock.closed_code is not None:
            return True
        await asyncio.sleep(0.05)
    return False


def events_of(sockets: list[ProtocolSocket], conversation: str) -> list[Frame]:
    """What one client saw of a conversation over all its sockets, in order."""
    return [event for sock in sockets for event in sock.events(conversation)]


async def wait_all_delivered(
    sockets: list[ProtocolSocket], acks: list[Frame], conversation: str, who: str
) -> None:
    wanted = {ack["seq"] for ack in acks}
    await sockets[-1].wait_until(
        lambda: wanted <= set(message_seqs(events_of(sockets, conversation))),
        timeout=DELIVERY_TIMEOUT_S,
        what=f"every acked message at {who}",
    )


# ---------------------------------------------------------------------------


async def test_sockets_resume_through_nginx_when_the_worker_behind_them_is_killed(
    two_workers: LiveServer, nginx: NginxProxy
):
    server = two_workers
    agent_token = await asyncio.to_thread(server.agent_token, AGENT)
    supervisor_token = await asyncio.to_thread(server.agent_token, SUPERVISOR)
    api = f"{nginx.url}/api/v1"

    # Plain HTTP through nginx: the workers' probe, and /metrics never exposed.
    with urllib.request.urlopen(f"{nginx.url}/healthz", timeout=10) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{nginx.url}/metrics", timeout=10)
    assert refused.value.code == 404

    # A chat: the visitor and the agent, both through nginx (least_conn spreads them).
    agent, _ = await open_agent(nginx, agent_token)
    visitor, welcome = await open_visitor(nginx, None)
    visitor_token = welcome["token"]
    first = await visitor.post_message("hello through nginx")
    conversation = first["conversation"]
    await take_conversation(agent, conversation)
    visitor_acks = [first]
    agent_acks = await send_spaced(
        agent, ["agent reply 1", "agent reply 2"], conversation=conversation, internal=False
    )

    # The customer's portal: signed in through nginx, following a ticket the supervisor opened.
    cookie = await asyncio.to_thread(portal_sign_in, nginx.url)
    maria = await asyncio.to_thread(
        http_json, "GET", f"{api}/crm/lookup?email={CUSTOMER}", token=supervisor_token
    )
    contact_id = maria["id"]
    before_ticket = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    ticket = await asyncio.to_thread(
        http_json,
        "POST",
        f"{api}/tickets",
        token=supervisor_token,
        body={
            "subject": "Relay trips at night",
            "body": "Seen behind nginx.",
            "department": "support",
            "contact": contact_id,
        },
    )
    number = ticket["number"]
    portal = await open_portal(nginx, cookie, number, before_ticket)
    await portal.wait_for_text(f'id="ticket-{number}"')
    replies = ["First answer from support."]
    await asyncio.to_thread(
        http_json,
        "POST",
        f"{api}/tickets/{number}/replies",
        token=supervisor_token,
        body={"body": replies[-1], "internal": False},
    )
    await portal.wait_for_text(replies[-1])

    visitor_sockets, agent_sockets, portal_sockets = [visitor], [agent], [portal]
    cut_counts = {"visitor": 0, "agent": 0, "portal": 0}
    try:
        for round_number, victim in enumerate((0, 1), start=1):
            # Everything so far has arrived: each side resumes from what it has seen.
            so_far = visitor_acks + agent_acks
            await wait_all_delivered(visitor_sockets, so_far, conversation, "the visitor")
            await wait_all_delivered(agent_sockets, so_far, conversation, "the agent")
            cut_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
            if round_number == 2:
                # The first victim is back; now the other worker dies and every socket moves.
                await asyncio.to_thread(server.workers[0].start)
                await asyncio.to_thread(nginx.wait_until_routing_to, server.workers[0].port)
            visitor_seen = max(e["seq"] for e in events_of(visitor_sockets, conversation))
            agent_seen = max(e["seq"] for e in events_of(agent_sockets, conversation))

            server.workers[victim].kill()
            visitor_cut, agent_cut, portal_cut = await asyncio.gather(
                cut_within(visitor, CUT_TIMEOUT_S),
                cut_within(agent, CUT_TIMEOUT_S),
                cut_within(portal, CUT_TIMEOUT_S),
            )
            print(
                f"kill {round_number} (worker {victim}): visitor cut {visitor_cut},"
                f" agent cut {agent_cut}, portal cut {portal_cut}"
            )
            if round_number == 2:
                assert visitor_cut and agent_cut and portal_cut, "a socket outlived its worker"

            # While sockets are down: whoever is still up writes, and support answers the ticket.
            if not agent_cut:
                agent_acks += await send_spaced(
                    agent,
                    [f"agent while the visitor is away {round_number}"],
                    conversation=conversation,
                    internal=False,
                )
            if not visitor_cut:
                visitor_acks += await send_spaced(
                    visitor, [f"visitor while the agent is away {round_number}"]
                )
            replies.append(f"Answer while a worker was down ({round_number}).")
            await asyncio.to_thread(
                http_json,
                "POST",
                f"{api}/tickets/{number}/replies",
                token=supervisor_token,
                body={"body": replies[-1], "internal": False},
            )

            # The cut sockets come back through nginx, to the worker that is alive, and resume.
            if visitor_cut:
                cut_counts["visitor"] += 1
                visitor, welcome = await with_retries(
                    lambda seen=visitor_seen: open_visitor(
                        nginx, visitor_token, {conversation: seen}
                    ),
                    "the visitor",
                )
                assert (welcome.get("conversation") or {}).get("id") == conversation, welcome
                visitor_sockets.append(visitor)
            if agent_cut:
                cut_counts["agent"] += 1
                agent, _ = await with_retries(
                    lambda seen=agent_seen: open_agent(nginx, agent_token, {conversation: seen}),
                    "the agent",
                )
                agent_sockets.append(agent)
            if portal_cut:
                cut_counts["portal"] += 1
                portal = await with_retries(
                    lambda since=cut_at: open_portal(nginx, cookie, number, since), "the portal"
                )
                portal_sockets.append(portal)

            # After the reconnect both sides write again, and everything arrives.
            visitor_acks += await send_spaced(visitor, [f"visitor after kill {round_number}"])
            agent_acks += await send_spaced(
                agent,
                [f"agent after kill {round_number}"],
                conversation=conversation,
                internal=False,
            )
            await portal.wait_for_text(replies[-1])
        expected = visitor_acks + agent_acks
        await wait_all_delivered(visitor_sockets, expected, conversation, "the visitor")
        await wait_all_delivered(agent_sockets, expected, conversation, "the agent")
        # Anything in flight that would be a duplicate shows up now.
        await asyncio.sleep(1.0)
    finally:
        for sock in visitor_sockets + agent_sockets + portal_sockets:
            await sock.close()

    assert cut_counts["visitor"] >= 1 and cut_counts["agent"] >= 1 and cut_counts["portal"] >= 1
    assert len({a["seq"] for a in expected}) == len(expected), "two acks share a seq"
    for who, sockets in (("visitor", visitor_sockets), ("agent", agent_sockets)):
        events = events_of(sockets, conversation)
        assert_in_seq_order_exactly_once(events, f"{who} (all its sockets)")
        assert_delivered(events, expected, who)
    # The portal saw every public answer, each on the socket that was open after it.
    portal_html = "\n".join(frame for sock in portal_sockets for frame in sock.frames)
    for reply in replies:
        assert reply in portal_html, reply
