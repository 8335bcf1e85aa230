"""The widget end to end: real daphne, a third-party host site, an agent on a plain socket.

The host page comes from its own HTTP server on another port (another
origin, admitted by CHATPORTAL_WIDGET_ORIGINS) and embeds the tag exactly as
a customer's site would. The agent speaks the agent protocol with an API
token over the `websockets` package, as an integration does.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.browser.conftest import host_page_html
from tests.live_server import LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

AGENT = "boris"  # support agent in the demo data
FRAME_TIMEOUT_S = 20.0

Frame = dict[str, Any]


class HostSite:
    """A stranger's web site on 127.0.0.1:<port> that embeds the widget."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.page_html = "<!doctype html><title>not ready</title>"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
                body = site.page_html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.origin}/shop/item/9"

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class AgentSocket:
    """A blocking agent-protocol client that keeps every frame it received."""

    def __init__(self, url: str, origin: str) -> None:
        # Entered as a context manager: the forward-compatible way to keep it open.
        self._stack = contextlib.ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(
            connect(url, origin=origin, open_timeout=20)
        )
        self.frames: list[Frame] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.conn:
                with self._changed:
                    self.frames.append(json.loads(raw))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass

    def send(self, frame: Frame) -> None:
        self.conn.send(json.dumps(frame))

    def wait_for(self, predicate: Callable[[Frame], bool], *, what: str, start: int = 0) -> Frame:
        deadline = time.monotonic() + FRAME_TIMEOUT_S
        with self._changed:
            while True:
                for frame in self.frames[start:]:
                    if predicate(frame):
                        return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"agent: no {what}; last frames {self.frames[-6:]}")
                self._changed.wait(min(remaining, 0.5))

    def say(self, conversation: str, body: str) -> Frame:
        client_id = str(uuid.uuid4())
        start = len(self.frames)
        self.send(
            {"type": "message", "conversation": conversation, "client_id": client_id, "body": body}
        )
        answer = self.wait_for(
            lambda f: f.get("type") in {"ack", "error"} and f.get("client_id") == client_id,
            what=f"the ack of {body!r}",
            start=start,
        )
        assert answer["type"] == "ack", answer
        return answer

    def message_events(self, conversation: str, body: str) -> list[Frame]:
        with self._changed:
            return [
                f
                for f in self.frames
                if f.get("type") == "event"
                and f.get("conversation") == conversation
                and f.get("kind") == "message"
                and f.get("body") == body
            ]

    def close(self) -> None:
        self._stack.close()
        self._reader.join(timeout=5)


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


IDENTITY_SECRET = "host-site-identity-secret-for-tests"


@pytest.fixture
def embedded_server_env(host_site) -> dict[str, str]:
    return {
        "CHATPORTAL_WIDGET_ORIGINS": host_site.origin,
        "CHATPORTAL_IDENTITY_SECRET": IDENTITY_SECRET,
    }


def open_agent(server: LiveServer) -> AgentSocket:
    """Boris, signed in with his API token and online."""
    # The token first: printing it starts a management command, which on a
    # loaded machine can outlast the socket's 10 s hello deadline.
    token = server.agent_token(AGENT)
    sock = AgentSocket(server.ws_url("/ws/agent/"), server.origin)
    sock.send({"type": "hello", "token": token})
    sock.wait_for(lambda f: f.get("type") == "welcome", what="welcome")
    sock.send({"type": "presence", "status": "online"})
    return sock


@pytest.fixture
def agent(embedded_server: LiveServer) -> Iterator[AgentSocket]:
    sock = open_agent(embedded_server)
    try:
        yield sock
    finally:
        sock.close()


def wait_until(
    page, predicate: Callable[[], bool], *, what: str, timeout_s: float = FRAME_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


def take_conversation(agent: AgentSocket, visitor_text: str) -> str:
    """The conversation the visitor's first message opened, accepted by the agent if routing did not assign it."""

    def about_it(frame: Frame) -> bool:
        kind = frame.get("type")
        if kind == "assigned":
            return True
        if kind == "queue":
            return bool(frame.get("conversations"))
        return kind == "event" and frame.get("body") == visitor_text

    frame = agent.wait_for(about_it, what="the visitor's conversation")
    if frame["type"] == "assigned":
        conversation = frame["conversation"]["id"]
    elif frame["type"] == "queue":
        # Only one visitor exists in this deployment: the queued chat is ours.
        conversation = frame["conversations"][0]["id"]
    else:
        conversation = frame["conversation"]
    if frame["type"] != "assigned":
        agent.send({"type": "accept", "conversation": conversation})
    agent.wait_for(
        lambda f: (
            f.get("type") == "event"
            and f.get("conversation") == conversation
            and f.get("kind") == "assigned"
        ),
        what="the assigned event",
    )
    return conversation


def open_chat(browser_context, host_site: HostSite, server: LiveServer):
    host_site.page_html = host_page_html(f"{server.url}/widget.js", {"department": "support"})
    page = browser_context.new_page()
    page.goto(host_site.url)
    page.get_by_role("button", name="Open chat", exact=True).click()
    return page


def send_message(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_it_carries_a_chat_between_a_third_party_page_and_an_agent(
    browser_context, host_site, embedded_server, agent
):
    page = open_chat(browser_context, host_site, embedded_server)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") != "rgb(255, 0, 0)"
    assert (
        page.locator("#buy").evaluate("el => getComputedStyle(el).backgroundColor")
        == "rgb(255, 0, 0)"
    )

    send_message(page, "My relay shows error E42")
    log = page.get_by_role("log")
    mine = log.locator(".msg", has_text="My relay shows error E42")
    expect(mine.locator(".sr")).to_have_text("Sent")

    conversation = take_conversation(agent, "My relay shows error E42")
    expect(log).to_contain_text("joined the chat")

    # Typing, both ways: the agent's shows in the widget, the visitor's reaches the agent.
    agent.send({"type": "typing", "conversation": conversation, "active": True})
    expect(page.get_by_text("is typing…")).to_be_visible()
    start = len(agent.frames)
    page.get_by_role("textbox", name="Message", exact=True).press_sequentially("v2.")
    agent.wait_for(
        lambda f: (
            f.get("type") == "typing" and f.get("role") == "visitor" and f.get("active") is True
        ),
        what="the visitor's typing",
        start=start,
    )
    page.get_by_role("textbox", name="Message", exact=True).fill("")
    agent.say(conversation, "Hello Ana, Boris here. Which firmware?")
    expect(log.locator(".msg", has_text="Which firmware?")).to_have_count(1)
    expect(page.get_by_text("is typing…")).to_have_count(0)

    payload = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    agent.say(conversation, payload)
    expect(log.locator(".msg", has_text=payload)).to_have_count(1)
    assert log.locator("img, b").count() == 0
    assert page.evaluate("window.__pwned") is None

    # The agent reads; the visitor's message gets its read tick.
    last_seq = max(
        f["seq"]
        for f in agent.frames
        if f.get("type") == "event" and f.get("conversation") == conversation
    )
    agent.send({"type": "read", "conversation": conversation, "seq": last_seq})
    expect(mine.locator(".sr")).to_have_text("Read")

    # The visitor's message reached the agent exactly once.
    assert len(agent.message_events(conversation, "My relay shows error E42")) == 1


def test_it_resends_what_was_typed_while_offline_exactly_once(
    browser_context, host_site, embedded_server, agent
):
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "first, before the tunnel")
    conversation = take_conversation(agent, "first, before the tunnel")
    log = page.get_by_role("log")
    expect(log.locator(".msg", has_text="first, before the tunnel").locator(".sr")).to_have_text(
        "Sent"
    )

    browser_context.set_offline(True)
    send_message(page, "typed in the tunnel")
    tunnel = log.locator(".msg", has_text="typed in the tunnel")
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    page.wait_for_timeout(1500)
    # Still unacknowledged: the network really is cut, so what follows is a resend.
    expect(tunnel.locator(".sr")).to_have_text("Sending")
    browser_context.set_offline(False)

    expect(tunnel.locator(".sr")).to_have_text("Sent", timeout=40_000)
    agent.wait_for(
        lambda f: f.get("type") == "event" and f.get("body") == "typed in the tunnel",
        what="the resent message",
    )
    agent.say(conversation, "got it")
    expect(log.locator(".msg", has_text="got it")).to_have_count(1)
    expect(tunnel).to_have_count(1)
    assert len(agent.message_events(conversation, "typed in the tunnel")) == 1


def test_it_delivers_what_was_typed_while_the_server_was_down_exactly_once(
    browser_context, host_site, embedded_server, agent
):
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "before the restart")
    conversation = take_conversation(agent, "before the restart")
    log = page.get_by_role("log")
    expect(log.locator(".msg", has_text="before the restart").locator(".sr")).to_have_text("Sent")
    agent.close()

    embedded_server.worker.kill()
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    send_message(page, "while the server was down")
    down = log.locator(".msg", has_text="while the server was down")
    expect(down.locator(".sr")).to_have_text("Sending")
    embedded_server.worker.start()
    expect(down.locator(".sr")).to_have_text("Sent", timeout=60_000)

    # A reload draws the transcript from storage and resumes; nothing doubles.
    page.reload()
    expect(log.locator(".msg", has_text="before the restart")).to_have_count(1)
    expect(down).to_have_count(1)

    again = AgentSocket(embedded_server.ws_url("/ws/agent/"), embedded_server.origin)
    try:
        again.send({"type": "hello", "token": embedded_server.agent_token(AGENT)})
        again.wait_for(lambda f: f.get("type") == "welcome", what="welcome after restart")
        again.send({"type": "resume", "conversation": conversation, "after_seq": 0})
        again.wait_for(
            lambda f: f.get("type") == "event" and f.get("body") == "while the server was down",
            what="the message sent while down",
        )
        page.wait_for_timeout(500)
        assert len(again.message_events(conversation, "while the server was down")) == 1
        again.say(conversation, "welcome back")
        expect(log.locator(".msg", has_text="welcome back")).to_have_count(1)
    finally:
        again.close()


def test_it_takes_a_message_when_the_department_is_closed(
    browser_context, host_site, embedded_server
):
    # A department with no opening hours is never open: the widget must not dead-end.
    embedded_server.run(
        "shell",
        "-c",
        "from queues.models import Department;"
        " Department.objects.create(slug='night', name='Night desk', time_zone='Europe/Bucharest')",
    )
    host_site.page_html = host_page_html(
        f"{embedded_server.url}/widget.js", {"department": "night"}
    )
    page = browser_context.new_page()
    page.goto(host_site.url)
    page.get_by_role("button", name="Open chat", exact=True).click()
    expect(page.get_by_text("We are offline right now")).to_be_visible()
    page.get_by_role("textbox", name="Name (optional)").fill("Ana Night")
    page.get_by_role("textbox", name="E-mail (optional)").fill("ana.night@example.com")
    send_message(page, "Please call me back tomorrow")
    mine = page.get_by_role("log").locator(".msg", has_text="Please call me back tomorrow")
    expect(mine.locator(".sr")).to_have_text("Sent")
    expect(page.get_by_role("log")).to_contain_text("Your message is kept")
    expect(mine).to_have_count(1)

    kept = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import ConversationEvent as E;"
        " e = E.objects.get(kind='message', payload__body='Please call me back tomorrow');"
        " v = e.conversation.visitor;"
        " print(e.conversation.department.slug, v.name, v.email, sep='|')",
    )
    assert kept.strip().splitlines()[-1] == "night|Ana Night|ana.night@example.com"


def test_it_shows_the_visitors_place_in_the_queue_until_an_agent_takes_the_chat(
    browser_context, host_site, embedded_server, agent
):
    # With agents picking chats themselves, a chat waits even while Boris is online
    # (with nobody online it would become a ticket at once).
    embedded_server.run(
        "shell",
        "-c",
        "from queues.models import Department;"
        " Department.objects.filter(slug='support').update(routing_mode='manual')",
    )
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "waiting in line")
    place = page.get_by_role("status").filter(has_text="in the queue")
    expect(place).to_contain_text("You are number 1 in the queue.")

    take_conversation(agent, "waiting in line")
    expect(page.get_by_role("log")).to_contain_text("joined the chat")
    expect(place).to_have_count(0)


def test_it_tells_the_agent_who_the_host_sites_signed_in_user_is(
    browser_context, host_site, embedded_server, agent
):
    # The host site signs its user (Maria Popescu, external id crm-1 in the demo data).
    token = jwt.encode(
        {
            "sub": "crm-1",
            "exp": int(time.time()) + 600,
            "name": "Maria Popescu",
            "email": "customer1@example.com",
        },
        IDENTITY_SECRET,
        algorithm="HS256",
    )
    host_site.page_html = host_page_html(
        f"{embedded_server.url}/widget.js", {"department": "support", "identity-jwt": token}
    )
    page = browser_context.new_page()
    page.goto(host_site.url)
    page.get_by_role("button", name="Open chat", exact=True).click()
    send_message(page, "It is Maria, about my RZA-500")
    conversation = take_conversation(agent, "It is Maria, about my RZA-500")
    summary = agent.wait_for(
        lambda f: f.get("type") == "assigned" and f["conversation"]["id"] == conversation,
        what="the assigned summary",
    )
    assert summary["conversation"]["visitor"]["name"] == "Maria Popescu"
    linked = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import Conversation;"
        f" c = Conversation.objects.get(public_id='{conversation}');"
        " print(c.visitor.external_id, c.visitor.contact.name, sep='|')",
    )
    assert linked.strip().splitlines()[-1] == "crm-1|Maria Popescu"


def test_it_turns_a_wait_into_a_ticket_when_the_visitor_leaves_a_message_instead(
    browser_context, host_site, embedded_server
):
    # Open (24x7) but nobody online: the chat waits, with no honest estimate,
    # and the widget offers to leave a message instead of waiting.
    embedded_server.run(
        "shell",
        "-c",
        "from queues.models import Department;"
        " Department.objects.filter(slug='support').update("
        "is_24x7=True, auto_ticket_after_s=0, long_wait_s=60)",
    )
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "Is the RZA-500 in stock?")
    log = page.get_by_role("log")
    expect(log.locator(".msg", has_text="Is the RZA-500 in stock?").locator(".sr")).to_have_text(
        "Sent"
    )
    offer = page.get_by_role("button", name="Leave a message instead", exact=True)
    expect(offer).to_be_visible()
    # Still waiting until the visitor chooses.
    waiting = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import ConversationEvent as E;"
        " print(E.objects.get(kind='message', payload__body='Is the RZA-500 in stock?')"
        ".conversation.state)",
    )
    assert waiting.strip().splitlines()[-1] == "queued"

    offer.click()
    page.get_by_role("textbox", name="E-mail (optional)", exact=True).fill("ana@example.com")
    send_message(page, "Please e-mail me when it is back")
    expect(log).to_contain_text(re.compile(r"Ticket T-\d+"), timeout=30_000)
    link = page.get_by_role("link", name="Follow it in the portal")
    expect(link).to_have_attribute("href", re.compile(r"^http://.+/T-\d+"))
    expect(page.get_by_text("Chat ended").first).to_be_visible()
    expect(page.get_by_role("button", name="Start new chat")).to_be_visible()
    expect(log.locator(".msg", has_text="Please e-mail me when it is back")).to_have_count(1)

    ticket = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import ConversationEvent as E; from tickets.models import Ticket;"
        " c = E.objects.get(kind='message', payload__body='Is the RZA-500 in stock?').conversation;"
        " t = Ticket.objects.get(conversation=c);"
        " print(t.number, t.requester_email, c.state, sep='|')",
    )
    number, email, state = ticket.strip().splitlines()[-1].split("|")
    assert email == "ana@example.com"
    assert state == "closed"
    expect(log).to_contain_text(f"Ticket {number}")
    messages = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import ConversationEvent as E;"
        " c = E.objects.get(kind='message', payload__body='Is the RZA-500 in stock?').conversation;"
        " print(list(E.objects.filter(conversation=c, kind='message').order_by('seq')"
        ".values_list('payload__body', flat=True)))",
    )
    assert messages.strip().splitlines()[-1] == str(
        ["Is the RZA-500 in stock?", "Please e-mail me when it is back"]
    )
