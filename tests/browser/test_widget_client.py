"""The widget against a scripted protocol-v1 server, in real Chromium.

Playwright answers both the script (`http://chat.test/widget.js`) and its
socket (`ws://chat.test/ws/widget/`), so each test can make the server do
exactly the awkward thing it is about: drop the socket before the ack,
replay an event twice, report a higher `last_seq` in `pong`. The real
server is exercised end to end in test_widget_live.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from frontend.views import minify_widget
from tests.browser.conftest import HOST_PAGE_URL, WIDGET_SOURCE, serve_host_page

pytestmark = pytest.mark.browser

SERVER = "http://chat.test"
WIDGET_SRC = f"{SERVER}/widget.js"
SOCKET_URL = "ws://chat.test/ws/widget/"
CONV = "5b0c3f0e-9a51-4d7e-8f43-2f1f4cbe0001"
NEW_CONV = "5b0c3f0e-9a51-4d7e-8f43-2f1f4cbe0002"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class FakeWidgetServer:
    """Speaks enough of PROTOCOL §2 to drive the widget; records every frame."""

    def __init__(self) -> None:
        self.sockets: list = []
        self.frames: list[dict] = []
        self.online = True
        self.hours = "Mon-Fri 09:00-18:00 Europe/Bucharest"
        self.auto_ack = True
        self.events: list[dict] = []
        self.acked: dict[str, int] = {}
        self.token = f"vt-{uuid.uuid4().hex}"
        self.refuse_hello_with: list[str] = []
        self.identity_invalid = False
        self.conv = CONV
        self.ended = False
        self.estimated_wait_s: int | None = 40
        self.long_wait_s = 300
        # What the welcome reports about the open conversation, kept by append().
        self.state = "queued"
        self.agent: dict | None = None
        self.answered = False
        # Whether the welcome says the hello proved an identity, and the `history` answer.
        self.identified = False
        self.history: list[dict] = []

    @property
    def is_open(self) -> bool:
        return bool(self.events) and not self.ended

    def end_elsewhere(self) -> None:
        """The agent closes the chat while the visitor's socket is down."""
        self.append("closed", by="agent", reason="")
        self.ended = True

    # -- wiring
    def attach(self, context) -> None:
        context.route_web_socket(SOCKET_URL, self._connected)

    def _connected(self, ws) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self._received(ws, json.loads(message)))

    @property
    def ws(self):
        return self.sockets[-1]

    def sent(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f.get("type") == kind]

    # -- the conversation log
    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0

    def append(self, kind: str, **fields) -> dict:
        event = {
            "type": "event",
            "conversation": self.conv,
            "seq": self.last_seq + 1,
            "at": now(),
            "kind": kind,
        }
        event.update(fields)
        self.events.append(event)
        to = fields.get("to") or {}
        if kind == "assigned" or "agent" in to:
            self.state, self.agent = "active", fields.get("agent") or to.get("agent")
        elif kind == "queued" or "department" in to:
            self.state = "queued"
        elif kind == "message" and fields.get("author", {}).get("role") == "agent":
            self.answered = True
        return event

    def push(self, event: dict, ws=None) -> None:
        (ws or self.ws).send(json.dumps(event))

    def agent_says(self, body: str) -> dict:
        event = self.append("message", author={"role": "agent", "name": "Boris"}, body=body)
        self.push(event)
        return event

    def ack(self, frame: dict, ws=None) -> None:
        client_id = frame["client_id"]
        if client_id not in self.acked:
            if self.ended:
                # The old chat is over: this message opens a new conversation.
                self.conv, self.events, self.ended = NEW_CONV, [], False
                self.state, self.agent, self.answered = "queued", None, False
            if not self.events:
                self.push(self.append("queued", department="support"), ws)
            event = self.append(
                "message",
                author={"role": "visitor", "name": "Ana"},
                body=frame["body"],
                client_id=client_id,
            )
            self.acked[client_id] = event["seq"]
            self.push(event, ws)
        (ws or self.ws).send(
            json.dumps(
                {
                    "type": "ack",
                    "client_id": client_id,
                    "conversation": self.conv,
                    "seq": self.acked[client_id],
                }
            )
        )

    def _received(self, ws, frame: dict) -> None:
        self.frames.append(frame)
        kind = frame.get("type")
        if kind == "hello" and self.refuse_hello_with:
            code = self.refuse_hello_with.pop(0)
            ws.send(json.dumps({"type": "error", "code": code, "detail": "refused by the test"}))
        elif kind == "hello":
            if self.identity_invalid:
                ws.send(json.dumps({"type": "error", "code": "identity_invalid", "detail": "bad"}))
            conversation = None
            if self.is_open:
                conversation = {
                    "id": self.conv,
                    "state": self.state,
                    "last_seq": self.last_seq,
                    "agent": self.agent,
                }
            ws.send(
                json.dumps(
                    {
                        "type": "welcome",
                        "token": self.token,
                        "visitor": {"id": "v-1", "name": "Ana", "identified": self.identified},
                        "department": {
                            "slug": "support",
                            "name": "Support",
                            "online": self.online,
                            "estimated_wait_s": self.estimated_wait_s,
                            "long_wait_s": self.long_wait_s,
                            "hours": self.hours,
                        },
                        "conversation": conversation,
                        "suggestions": [],
                    }
                )
            )
            for conv_id, after in (frame.get("resume") or {}).items():
                if conv_id == self.conv:
                    for event in self.events:
                        if event["seq"] > after:
                            self.push(event, ws)
        elif kind == "message" and self.auto_ack:
            self.ack(frame, ws)
        elif kind == "history":
            ws.send(json.dumps({"type": "history", "conversations": self.history}))
        elif kind == "resume" and frame.get("conversation") == self.conv:
            for event in self.events:
                if event["seq"] > frame.get("after_seq", 0):
                    self.push(event, ws)
        elif kind == "ping":
            ws.send(
                json.dumps(
                    {"type": "pong", "last_seq": {self.conv: self.last_seq} if self.is_open else {}}
                )
            )
        elif kind == "close" and frame.get("conversation") == self.conv and not self.ended:
            left_waiting = self.state == "queued" and not self.answered
            self.push(self.append("closed", by="visitor", reason=""), ws)
            self.ended = True
            if left_waiting:
                # Like the server: a chat left while queued becomes a ticket.
                number = "T-1001"
                self.push(
                    self.append(
                        "ticket",
                        number=number,
                        status="open",
                        portal_url=f"/portal/tickets/{number}",
                    ),
                    ws,
                )


def wait_until(
    page, predicate: Callable[[], bool], *, timeout_s: float = 10.0, what: str = "condition"
) -> None:
    # Socket callbacks run while Playwright is being called, so poll through it.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(browser_context) -> FakeWidgetServer:
    fake = FakeWidgetServer()
    fake.attach(browser_context)
    body = minify_widget(WIDGET_SOURCE.read_text(encoding="utf-8"))
    browser_context.route(
        WIDGET_SRC,
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=body),
    )
    return fake


def open_widget(browser_context, **attributes: str):
    serve_host_page(browser_context, WIDGET_SRC, **(attributes or {"department": "support"}))
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    return page


def send_message(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    box.press("Enter")


def bubbles(page, text: str):
    return page.get_by_role("log").locator(".msg", has_text=text)


def test_it_says_hello_to_the_server_that_served_it_not_to_the_host_page(browser_context, server):
    page = open_widget(browser_context, department="support", name="Ana", email="ana@example.com")
    wait_until(page, lambda: server.sent("hello"), what="hello")
    hello = server.sent("hello")[0]
    assert server.ws.url == SOCKET_URL
    assert hello["department"] == "support"
    assert hello["token"] is None
    assert hello["profile"] == {"name": "Ana", "email": "ana@example.com", "transcript": False}
    assert hello["page"] == {"url": HOST_PAGE_URL, "title": "Shop item 9"}
    assert hello["locale"] == "en"
    assert "resume" not in hello


def test_it_passes_the_signed_identity_of_the_host_sites_user(browser_context, server):
    page = open_widget(
        browser_context, department="support", **{"external-id": "crm-1", "identity-hmac": "ab12"}
    )
    wait_until(page, lambda: server.sent("hello"), what="hello")
    assert server.sent("hello")[0]["identity"] == {"external_id": "crm-1", "hmac": "ab12"}


def test_it_sends_a_message_with_a_fresh_client_id_and_shows_it_sent_after_the_ack(
    browser_context, server
):
    page = open_widget(browser_context)
    send_message(page, "My relay shows error E42")
    wait_until(page, lambda: server.sent("message"), what="message frame")
    frame = server.sent("message")[0]
    assert frame["body"] == "My relay shows error E42"
    assert UUID_RE.match(frame["client_id"])
    bubble = bubbles(page, "My relay shows error E42")
    expect(bubble).to_have_count(1)
    expect(bubble.locator(".sr")).to_have_text("Sent")
    expect(page.get_by_role("log")).to_contain_text("Waiting for the next agent")
    expect(page.get_by_role("button", name="End chat", exact=True)).to_be_enabled()


def test_it_keeps_shift_enter_as_a_newline(browser_context, server):
    page = open_widget(browser_context)
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    page.get_by_role("button", name="Send", exact=True).click()
    wait_until(page, lambda: server.sent("message"), what="message frame")
    assert server.sent("message")[0]["body"] == "line one\nline two"


def test_it_resends_an_unacked_message_with_the_same_client_id_after_the_socket_drops(
    browser_context, server
):
    page = open_widget(browser_context)
    wait_until(page, lambda: server.sent("hello"), what="hello")
    server.auto_ack = False
    send_message(page, "Are you there?")
    wait_until(page, lambda: server.sent("message"), what="first send")
    first = server.sent("message")[0]
    expect(bubbles(page, "Are you there?").locator(".sr")).to_have_text("Sending")

    server.auto_ack = True
    server.ws.close(code=1011, reason="worker restart")
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    wait_until(page, lambda: len(server.sent("message")) == 2, what="the resend")
    assert server.sent("message")[1]["client_id"] == first["client_id"]
    assert len(server.sockets) == 2
    expect(bubbles(page, "Are you there?")).to_have_count(1)
    expect(bubbles(page, "Are you there?").locator(".sr")).to_have_text("Sent")
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden()
    page.wait_for_timeout(300)
    assert len(server.sent("message")) == 2


def test_it_resends_unacked_messages_after_a_page_reload(browser_context, server):
    page = open_widget(browser_context)
    wait_until(page, lambda: server.sent("hello"), what="hello")
    server.auto_ack = False
    send_message(page, "Sent just before the reload")
    wait_until(page, lambda: server.sent("message"), what="first send")
    client_id = server.sent("message")[0]["client_id"]

    server.auto_ack = True
    page.reload()
    wait_until(page, lambda: len(server.sent("message")) == 2, what="the resend after reload")
    assert server.sent("message")[1]["client_id"] == client_id
    assert server.sent("hello")[1]["token"] == server.token
    expect(bubbles(page, "Sent just before the reload")).to_have_count(1)
    expect(bubbles(page, "Sent just before the reload").locator(".sr")).to_have_text("Sent")


def test_it_resumes_from_its_last_seq_and_never_renders_an_event_twice(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "hello")
    server_reply = server.agent_says("Hi, Boris here")
    expect(bubbles(page, "Boris here")).to_have_count(1)
    # A duplicate push and an over-eager replay must not show twice.
    server.push(server_reply)
    server.ws.send(json.dumps({"type": "pong", "last_seq": {CONV: server.last_seq}}))
    server.ws.close(code=1001)
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the second hello")
    assert server.sent("hello")[1]["resume"] == {CONV: server.last_seq}
    server.agent_says("Anything else?")
    expect(bubbles(page, "Anything else?")).to_have_count(1)
    server.push(server.events[0])
    page.wait_for_timeout(200)
    expect(bubbles(page, "Boris here")).to_have_count(1)
    expect(
        page.get_by_role("log").locator(".note", has_text="Waiting for the next agent")
    ).to_have_count(1)


def test_it_catches_up_with_resume_when_pong_reports_a_higher_seq(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "hello")
    expect(bubbles(page, "hello").locator(".sr")).to_have_text("Sent")
    server.append("message", author={"role": "agent", "name": "Boris"}, body="lost doorbell")
    server.ws.send(json.dumps({"type": "pong", "last_seq": {CONV: server.last_seq}}))
    wait_until(page, lambda: server.sent("resume"), what="resume after pong")
    assert server.sent("resume")[-1] == {
        "type": "resume",
        "conversation": CONV,
        "after_seq": server.last_seq - 1,
    }
    expect(bubbles(page, "lost doorbell")).to_have_count(1)


def test_it_renders_agent_markup_as_text(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "hello")
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    server.agent_says(payload)
    expect(bubbles(page, "<b>bold</b>")).to_have_count(1)
    assert page.evaluate("window.__pwned") is None
    assert page.get_by_role("log").locator("img, script, b").count() == 0


def test_it_links_tickets_only_to_http_urls(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "hello")
    server.push(
        server.append("ticket", number="T-1042", status="open", portal_url="/portal/tickets/T-1042")
    )
    server.push(
        server.append("ticket", number="T-1043", status="open", portal_url="javascript:alert(1)")
    )
    link = page.get_by_role("link", name="Follow it in the portal")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", f"{SERVER}/portal/tickets/T-1042")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(page.get_by_role("log")).to_contain_text("Ticket T-1043 (open)")


def test_it_shows_queue_position_agent_typing_and_read_ticks(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "need help")
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Sent")
    seq = server.acked[server.sent("message")[0]["client_id"]]
    server.ws.send(
        json.dumps({"type": "queue", "conversation": CONV, "position": 2, "estimated_wait_s": 120})
    )
    expect(page.get_by_role("status").filter(has_text="number 2 in the queue")).to_contain_text(
        "about 2 min"
    )

    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    expect(page.get_by_role("status").filter(has_text="in the queue")).to_have_count(0)

    server.ws.send(
        json.dumps({"type": "typing", "conversation": CONV, "active": True, "role": "agent"})
    )
    expect(page.get_by_text("Boris is typing…")).to_be_visible()
    server.ws.send(
        json.dumps({"type": "typing", "conversation": CONV, "active": False, "role": "agent"})
    )
    expect(page.get_by_text("Boris is typing…")).to_have_count(0)

    server.ws.send(json.dumps({"type": "read", "conversation": CONV, "seq": seq, "role": "agent"}))
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Read")


def test_it_tells_the_agent_when_the_visitor_types_and_reads(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "first")
    expect(bubbles(page, "first").locator(".sr")).to_have_text("Sent")
    page.get_by_role("textbox", name="Message", exact=True).type("sec")
    wait_until(page, lambda: server.sent("typing"), what="typing frame")
    assert server.sent("typing")[0] == {"type": "typing", "active": True}
    # Throttled: three keystrokes, one frame.
    assert len(server.sent("typing")) == 1
    wait_until(
        page,
        lambda: {"type": "typing", "active": False} in server.sent("typing"),
        timeout_s=8,
        what="typing stopped",
    )
    server.agent_says("reply")
    wait_until(
        page,
        lambda: any(f["seq"] == server.last_seq for f in server.sent("read")),
        what="read frame",
    )
    assert server.sent("read")[-1]["conversation"] == CONV


def test_it_offers_an_offline_form_when_nobody_is_online(browser_context, server):
    server.online = False
    page = open_widget(browser_context)
    expect(page.get_by_text("We are offline right now")).to_be_visible()
    expect(page.get_by_text("Mon-Fri 09:00-18:00 Europe/Bucharest")).to_be_visible()
    page.get_by_role("textbox", name="Name (optional)").fill("Ana")
    page.get_by_role("textbox", name="E-mail (optional)").fill("ana@example.com")
    send_message(page, "Please call me back")
    wait_until(page, lambda: server.sent("message"), what="offline message")
    assert server.sent("message")[0]["body"] == "Please call me back"
    # The profile typed into the form travels in a fresh hello before the message.
    assert server.sent("hello")[-1]["profile"] == {
        "name": "Ana",
        "email": "ana@example.com",
        "transcript": False,
    }
    expect(page.get_by_role("log")).to_contain_text("Your message is kept")


def test_it_ends_the_chat_and_offers_a_new_one(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "thanks, bye")
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    page.get_by_role("button", name="End chat", exact=True).click()
    wait_until(page, lambda: server.sent("close"), what="close frame")
    assert server.sent("close")[0] == {"type": "close", "conversation": CONV}
    expect(page.get_by_text("Chat ended").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_hidden()
    page.get_by_role("button", name="4 of 5").click()
    wait_until(page, lambda: server.sent("rate"), what="rate frame")
    assert server.sent("rate")[0] == {
        "type": "rate",
        "conversation": CONV,
        "score": 4,
        "comment": "",
    }
    page.get_by_role("button", name="Start new chat").click()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    expect(page.get_by_role("log").locator(".msg")).to_have_count(0)
    # A late event of the chat just put away does not bring it back.
    server.push(server.append("message", author={"role": "agent", "name": "Boris"}, body="late"))
    page.wait_for_timeout(300)
    expect(page.get_by_role("log").locator(".msg")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()


def test_it_is_not_restyled_by_the_host_page_and_leaks_one_global(browser_context, server):
    serve_host_page(browser_context, "/no-widget.js")
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    before = set(page.evaluate("Object.keys(window)"))
    page.close()
    page = open_widget(browser_context)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    styles = launcher.evaluate(
        "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.color, s.fontFamily, s.borderStyle]; }"
    )
    assert styles[0] != "rgb(255, 0, 0)"
    assert styles[1] != "rgb(255, 255, 0)"
    assert "Comic Sans" not in styles[2]
    assert "system-ui" in styles[2]
    assert styles[3] != "dotted"
    # The host's own button really is red, so the rule was live.
    assert (
        page.locator("#buy").evaluate("el => getComputedStyle(el).backgroundColor")
        == "rgb(255, 0, 0)"
    )
    expect(page.get_by_role("log")).to_be_visible()
    after = set(page.evaluate("Object.keys(window)"))
    assert after - before == {"Chatportal"}


def test_it_speaks_romanian_when_the_tag_asks_for_it(browser_context, server):
    serve_host_page(browser_context, WIDGET_SRC, department="support", locale="ro")
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Deschideți chatul", exact=True).click()
    expect(page.get_by_role("textbox", name="Mesaj", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Trimiteți", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Încheiați chatul", exact=True)).to_be_visible()
    wait_until(page, lambda: server.sent("hello"), what="hello")
    assert server.sent("hello")[0]["locale"] == "ro"


def test_it_follows_the_browser_language_without_a_tag_locale(chromium_browser, server):
    context = chromium_browser.new_context(locale="ru-RU")
    try:
        server.attach(context)
        body = minify_widget(WIDGET_SOURCE.read_text(encoding="utf-8"))
        context.route(
            WIDGET_SRC,
            lambda route: route.fulfill(
                status=200, content_type="application/javascript", body=body
            ),
        )
        serve_host_page(context, WIDGET_SRC, department="support")
        page = context.new_page()
        page.goto(HOST_PAGE_URL)
        expect(page.get_by_role("button", name="Открыть чат", exact=True)).to_be_visible()
    finally:
        context.close()


def test_it_falls_back_to_a_bare_hello_when_the_server_refuses_its_fields(browser_context, server):
    server.refuse_hello_with = ["not_found"]
    page = open_widget(browser_context, department="no-such-department", name="Ana")
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the second hello")
    first, second = server.sent("hello")
    assert first["department"] == "no-such-department"
    assert "department" not in second and "profile" not in second
    send_message(page, "still works")
    expect(bubbles(page, "still works").locator(".sr")).to_have_text("Sent")
    assert len(server.sockets) == 1


def test_it_keeps_its_token_when_the_server_fails_the_hello(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "first visit")
    expect(bubbles(page, "first visit").locator(".sr")).to_have_text("Sent")
    server.refuse_hello_with = ["server_error"]
    server.ws.close(code=1012)
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    wait_until(page, lambda: len(server.sent("hello")) == 3, timeout_s=30, what="the retry")
    assert server.sent("hello")[2]["token"] == server.token
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden()


def test_it_treats_identity_invalid_as_advice_not_as_a_refusal(browser_context, server):
    server.identity_invalid = True
    page = open_widget(browser_context, department="support", **{"identity-jwt": "not.a.jwt"})
    wait_until(page, lambda: server.sent("hello"), what="hello")
    assert server.sent("hello")[0]["identity"] == {"jwt": "not.a.jwt"}
    send_message(page, "anonymous then")
    expect(bubbles(page, "anonymous then").locator(".sr")).to_have_text("Sent")
    assert len(server.sent("hello")) == 1


def test_it_opens_a_new_conversation_for_a_message_left_after_the_chat_ended_elsewhere(
    browser_context, server
):
    page = open_widget(browser_context)
    send_message(page, "first chat")
    expect(bubbles(page, "first chat").locator(".sr")).to_have_text("Sent")
    server.auto_ack = False
    send_message(page, "one more thing")
    wait_until(page, lambda: len(server.sent("message")) == 2, what="the unacked message")
    server.end_elsewhere()
    server.auto_ack = True
    server.ws.close(code=1012)
    # The welcome knows no open chat: the old one shows as ended, the
    # unsent message goes out again and starts the next conversation.
    wait_until(page, lambda: len(server.sent("message")) == 3, what="the resend")
    assert server.conv == NEW_CONV
    expect(bubbles(page, "one more thing").locator(".sr")).to_have_text("Sent")
    expect(bubbles(page, "one more thing")).to_have_count(1)
    expect(bubbles(page, "first chat")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    page.get_by_role("button", name="End chat", exact=True).click()
    wait_until(page, lambda: server.sent("close"), what="close")
    assert server.sent("close")[0]["conversation"] == NEW_CONV


def test_it_follows_a_transfer_to_another_agent_and_back_to_a_queue(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "hello")
    server.push(server.append("assigned", agent={"name": "Boris"}))
    server.push(server.append("transferred", to={"agent": {"name": "Chen"}}))
    expect(page.get_by_role("log")).to_contain_text("Transferred to Chen.")
    server.ws.send(
        json.dumps({"type": "typing", "conversation": CONV, "active": True, "role": "agent"})
    )
    expect(page.get_by_text("Chen is typing…")).to_be_visible()
    pings = len(server.sent("ping"))
    server.push(server.append("transferred", to={"department": "billing"}))
    # A department the welcome never named shows by its slug.
    expect(page.get_by_role("log")).to_contain_text("Transferred to billing.")
    # Back in a queue, another department's: it asks for its place there.
    wait_until(page, lambda: len(server.sent("ping")) > pings, what="a ping after the transfer")
    server.ws.send(
        json.dumps({"type": "queue", "conversation": CONV, "position": 1, "estimated_wait_s": 30})
    )
    expect(page.get_by_role("status").filter(has_text="number 1 in the queue")).to_be_visible()
    server.push(server.append("assigned", agent={"name": "Dana"}))
    expect(page.get_by_role("status").filter(has_text="in the queue")).to_have_count(0)
    server.push(server.append("transferred", to={"department": "support"}))
    # The welcome's department by its name.
    expect(page.get_by_role("log")).to_contain_text("Transferred to Support.")
    expect(page.get_by_role("button", name="Leave a message instead")).to_be_hidden()
    server.ws.send(
        json.dumps({"type": "queue", "conversation": CONV, "position": 4, "estimated_wait_s": 900})
    )
    expect(page.get_by_role("status").filter(has_text="number 4 in the queue")).to_be_visible()
    expect(page.get_by_role("button", name="Leave a message instead")).to_be_visible()


def test_it_mounts_once_when_the_host_page_pastes_the_tag_twice(browser_context, server):
    tag = f'<script src="{WIDGET_SRC}" data-department="support" async></script>'
    body = f"<!doctype html><title>Twice</title><body>{tag}{tag}</body>"
    browser_context.route(
        HOST_PAGE_URL,
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    expect(page.locator("[data-chatportal]")).to_have_count(1)
    wait_until(page, lambda: server.sent("hello"), what="hello")
    page.wait_for_timeout(300)
    assert len(server.sockets) == 1


def test_it_reuses_the_visitor_token_another_tab_received_after_it_loaded(browser_context, server):
    serve_host_page(browser_context, WIDGET_SRC, department="support")
    late = browser_context.new_page()
    late.goto(HOST_PAGE_URL)  # loaded first, chat never opened: no socket, no token yet
    first = browser_context.new_page()
    first.goto(HOST_PAGE_URL)
    first.get_by_role("button", name="Open chat", exact=True).click()
    send_message(first, "from the first tab")
    expect(bubbles(first, "from the first tab").locator(".sr")).to_have_text("Sent")
    assert server.sent("hello")[0]["token"] is None

    late.get_by_role("button", name="Open chat", exact=True).click()
    wait_until(late, lambda: len(server.sent("hello")) == 2, what="the late tab's hello")
    hello = server.sent("hello")[1]
    assert hello["token"] == server.token
    assert hello["resume"] == {CONV: server.last_seq}
    expect(bubbles(late, "from the first tab")).to_have_count(1)


def test_it_shows_the_estimated_wait_before_the_first_message(browser_context, server):
    page = open_widget(browser_context)
    wait = page.get_by_role("status").filter(has_text="Estimated wait")
    expect(wait).to_have_text("Estimated wait: about 1 min.")
    send_message(page, "hello")
    server.ws.send(
        json.dumps({"type": "queue", "conversation": CONV, "position": 3, "estimated_wait_s": 300})
    )
    expect(wait).to_have_text("You are number 3 in the queue. Estimated wait: about 5 min.")
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(wait).to_have_count(0)


def test_it_does_not_ask_to_rate_a_chat_no_agent_joined(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "never mind")
    page.get_by_role("button", name="End chat", exact=True).click()
    expect(page.get_by_role("button", name="Start new chat")).to_be_visible()
    expect(page.get_by_role("button", name="4 of 5")).to_have_count(0)


def test_it_says_it_is_reconnecting_when_the_first_connection_fails(browser_context, server):
    refused = []

    def refuse(ws) -> None:
        refused.append(ws)
        ws.close(code=1011)

    browser_context.route_web_socket(SOCKET_URL, refuse)
    page = open_widget(browser_context)
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    wait_until(page, lambda: len(refused) >= 2, what="a retry")


# -- honest waiting: leaving a message, requeues, transfers ------------------------


def queue_frame(position: int, estimated_wait_s: int | None) -> str:
    return json.dumps(
        {
            "type": "queue",
            "conversation": CONV,
            "position": position,
            "estimated_wait_s": estimated_wait_s,
        }
    )


def leave_offer(page):
    return page.get_by_role("button", name="Leave a message instead", exact=True)


def queue_place(page):
    return page.get_by_role("status").filter(has_text="in the queue")


def test_it_offers_to_leave_a_message_only_once_the_wait_is_long_or_unknown(
    browser_context, server
):
    server.estimated_wait_s = 900
    page = open_widget(browser_context)
    # Before the first message, from the department's estimate in the welcome.
    expect(page.get_by_role("status").filter(has_text="Estimated wait")).to_have_text(
        "Estimated wait: about 15 min."
    )
    expect(leave_offer(page)).to_be_visible()
    send_message(page, "need help")
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Sent")
    server.ws.send(queue_frame(2, 120))
    expect(queue_place(page)).to_have_text(
        "You are number 2 in the queue. Estimated wait: about 2 min."
    )
    expect(leave_offer(page)).to_be_hidden()
    # Nobody could answer: no number would be honest, and waiting may be long.
    server.ws.send(queue_frame(2, None))
    expect(queue_place(page)).to_have_text("You are number 2 in the queue.")
    expect(leave_offer(page)).to_be_visible()
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    expect(leave_offer(page)).to_be_hidden()
    assert not server.sent("close")


def test_it_keeps_the_visitors_place_until_they_choose_to_leave_a_message(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "need help")
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Sent")
    server.ws.send(queue_frame(7, 1500))
    leave_offer(page).click()
    email = page.get_by_role("textbox", name="E-mail (optional)", exact=True)
    expect(email).to_be_focused()
    expect(page.get_by_role("textbox", name="Name (optional)", exact=True)).to_be_hidden()
    expect(page.get_by_text("Your place is kept until you send")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    page.get_by_role("button", name="Keep my place", exact=True).click()
    expect(email).to_be_hidden()
    expect(page.get_by_role("button", name="Keep my place", exact=True)).to_be_hidden()
    expect(queue_place(page)).to_contain_text("number 7 in the queue")
    expect(leave_offer(page)).to_be_visible()
    # Still in the same chat: the next message is an ordinary one.
    send_message(page, "still here")
    expect(bubbles(page, "still here").locator(".sr")).to_have_text("Sent")
    page.wait_for_timeout(200)
    assert not server.sent("close")
    assert len(server.sent("hello")) == 1


def test_it_sends_the_message_then_closes_and_shows_the_ticket_it_became(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "need help")
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Sent")
    server.ws.send(queue_frame(7, 1500))
    leave_offer(page).click()
    page.get_by_role("textbox", name="E-mail (optional)", exact=True).fill("ana@example.com")
    server.auto_ack = False
    send_message(page, "Please write back about order 9")
    # The e-mail only travels in hello: a fresh hello (same token, same chat), then the message.
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the hello with the e-mail")
    hello = server.sent("hello")[1]
    assert hello["profile"] == {"email": "ana@example.com", "transcript": False}
    assert hello["token"] == server.token
    assert hello["resume"] == {CONV: server.last_seq}
    wait_until(page, lambda: len(server.sent("message")) == 2, what="the message left")
    left = server.sent("message")[1]
    assert left["body"] == "Please write back about order 9"
    assert UUID_RE.match(left["client_id"])
    # The close waits for the ack, so the message is in the chat before it ends.
    page.wait_for_timeout(300)
    assert not server.sent("close")
    server.ack(left)
    wait_until(page, lambda: server.sent("close"), what="close")
    assert server.sent("close") == [{"type": "close", "conversation": CONV}]
    log = page.get_by_role("log")
    expect(log).to_contain_text("Ticket T-1001 (open)")
    expect(page.get_by_role("link", name="Follow it in the portal")).to_have_attribute(
        "href", f"{SERVER}/portal/tickets/T-1001"
    )
    expect(page.get_by_text("Chat ended").first).to_be_visible()
    expect(page.get_by_role("button", name="Start new chat")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="4 of 5")).to_have_count(0)
    expect(bubbles(page, "Please write back about order 9")).to_have_count(1)


def test_it_leaves_a_message_without_asking_for_an_e_mail_it_already_has(browser_context, server):
    server.estimated_wait_s = 900
    page = open_widget(browser_context, department="support", name="Ana", email="ana@example.com")
    # Before the first message: the message starts the chat, then it is closed.
    leave_offer(page).click()
    expect(page.get_by_role("textbox", name="E-mail (optional)", exact=True)).to_be_hidden()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()
    # An empty box with no chat to leave does nothing.
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_timeout(200)
    assert not server.sent("message") and not server.sent("close")
    send_message(page, "Call me tomorrow")
    wait_until(page, lambda: server.sent("close"), what="close")
    assert [f["type"] for f in server.frames if f["type"] in ("message", "close")] == [
        "message",
        "close",
    ]
    assert len(server.sent("hello")) == 1
    expect(page.get_by_role("log")).to_contain_text("Ticket T-1001 (open)")
    expect(page.get_by_role("button", name="Start new chat")).to_be_visible()


def test_it_stays_in_the_chat_when_an_agent_takes_it_while_the_form_is_open(
    browser_context, server
):
    page = open_widget(browser_context)
    send_message(page, "need help")
    server.ws.send(queue_frame(3, 1500))
    leave_offer(page).click()
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    expect(page.get_by_role("button", name="Keep my place", exact=True)).to_be_hidden()
    expect(page.get_by_role("textbox", name="E-mail (optional)", exact=True)).to_be_hidden()
    send_message(page, "oh hi Boris")
    expect(bubbles(page, "oh hi Boris").locator(".sr")).to_have_text("Sent")
    page.wait_for_timeout(200)
    assert not server.sent("close")


@pytest.mark.parametrize("reason", ["agent_offline", "offer_timeout"])
def test_it_goes_back_to_the_queue_when_its_agent_is_disconnected(browser_context, server, reason):
    page = open_widget(browser_context)
    send_message(page, "need help")
    server.ws.send(queue_frame(1, 60))
    expect(queue_place(page)).to_be_visible()
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    expect(queue_place(page)).to_have_count(0)
    pings = len(server.sent("ping"))
    # The place can overtake the event; the server sends a place only when it changes.
    server.ws.send(queue_frame(1, 45))
    page.wait_for_timeout(100)
    expect(queue_place(page)).to_have_count(0)
    server.push(server.append("queued", department="support", reason=reason))
    expect(page.get_by_role("log")).to_contain_text(
        "Your agent was disconnected — you are back in the queue, nobody else will take your place."
    )
    expect(queue_place(page)).to_have_text(
        "You are number 1 in the queue. Estimated wait: about 1 min."
    )
    # It asks the server where it stands now.
    wait_until(page, lambda: len(server.sent("ping")) > pings, what="a ping after the requeue")
    server.ws.send(queue_frame(1, 600))
    expect(leave_offer(page)).to_be_visible()
    server.push(server.append("assigned", agent={"name": "Chen"}))
    expect(page.get_by_role("log")).to_contain_text("Chen joined the chat.")
    expect(queue_place(page)).to_have_count(0)
    expect(leave_offer(page)).to_be_hidden()
    server.ws.send(
        json.dumps({"type": "typing", "conversation": CONV, "active": True, "role": "agent"})
    )
    expect(page.get_by_text("Chen is typing…")).to_be_visible()


def test_it_shows_a_requeue_after_a_reload_as_a_waiting_chat(browser_context, server):
    page = open_widget(browser_context)
    send_message(page, "need help")
    server.push(server.append("assigned", agent={"name": "Boris"}))
    expect(page.get_by_role("log")).to_contain_text("Boris joined the chat.")
    server.append("queued", department="support", reason="agent_offline")
    page.reload()
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the hello after the reload")
    log = page.get_by_role("log")
    expect(log).to_contain_text("Your agent was disconnected")
    server.ws.send(queue_frame(1, 30))
    expect(queue_place(page)).to_have_text(
        "You are number 1 in the queue. Estimated wait: about 1 min."
    )


def test_it_finishes_leaving_a_message_after_a_reload(browser_context, server):
    page = open_widget(browser_context, department="support", name="Ana", email="ana@example.com")
    send_message(page, "need help")
    expect(bubbles(page, "need help").locator(".sr")).to_have_text("Sent")
    server.ws.send(queue_frame(5, 1200))
    leave_offer(page).click()
    server.auto_ack = False
    send_message(page, "Back tomorrow, write to me")
    wait_until(page, lambda: len(server.sent("message")) == 2, what="the message left")
    server.auto_ack = True
    page.reload()
    # Resent with its client_id after the new welcome, then the close follows its ack.
    wait_until(page, lambda: server.sent("close"), what="close after the reload")
    assert server.sent("message")[2]["client_id"] == server.sent("message")[1]["client_id"]
    expect(page.get_by_role("log")).to_contain_text("Ticket T-1001 (open)")
    # The choice was used up: the next chat is an ordinary one.
    page.get_by_role("button", name="Start new chat").click()
    send_message(page, "a new question")
    expect(bubbles(page, "a new question").locator(".sr")).to_have_text("Sent")
    page.wait_for_timeout(300)
    assert len(server.sent("close")) == 1
