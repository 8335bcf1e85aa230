"""The agent console end to end: real daphne, Chromium, a third-party host page with the widget.

THE JOURNEY: a signed-in customer of the host site chats from the widget; the
agent takes the chat in the console, sees the CRM panel (the serial number of
the contact's relay), replies (the visitor sees it), writes an internal note
(the visitor never does), converts the chat to a ticket, changes the ticket's
status, and the customer's portal page shows the change live. Plus: hostile
names, messages and file names render as text, and the console reconnects
and catches up by itself after the server restarts.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator

import jwt
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import host_page_html
from tests.browser.test_widget_live import HostSite
from tests.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

AGENT = "boris"  # support agent and Maria's account owner in the demo data
PASSWORD = "demo-pass-123"
CUSTOMER = "customer1@example.com"
IDENTITY_SECRET = "host-site-identity-secret-for-console-tests"
XSS_NAME = "<img src=x onerror=alert(1)>Eve"
XSS_MESSAGE = '<script>alert("pwned")</script><img src=x onerror=alert(2)> help'
XSS_FILENAME = "<img src=x onerror=alert(3)>.png"
# A real 1x1 PNG: the upload is checked by content.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d8e1c70000000049454e44ae426082"
)


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture
def embedded_server_env(host_site) -> dict[str, str]:
    return {
        "CHATPORTAL_WIDGET_ORIGINS": host_site.origin,
        "CHATPORTAL_IDENTITY_SECRET": IDENTITY_SECRET,
    }


def maria_identity() -> str:
    return jwt.encode(
        {"sub": "crm-1", "exp": int(time.time()) + 600, "name": "Maria Popescu", "email": CUSTOMER},
        IDENTITY_SECRET,
        algorithm="HS256",
    )


def open_console(context, server: LiveServer, username: str = AGENT):
    """Sign in through the login page; the console connects and the agent goes online."""
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(f"{server.url}/console/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/$"))
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    page.get_by_label("Presence").select_option("online")
    expect(page.locator("#presence-dot")).to_have_attribute("data-status", "online")
    page.evaluate("window.__notReloaded = true")
    return page


def open_widget(context, host_site: HostSite, server: LiveServer, **attributes: str):
    host_site.page_html = host_page_html(
        f"{server.url}/widget.js", {"department": "support", **attributes}
    )
    page = context.new_page()
    page.goto(host_site.url)
    page.get_by_role("button", name="Open chat", exact=True).click()
    return page


def visitor_says(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def take_chat(console, visitor_name: str) -> None:
    """Accept the visitor's chat, wherever it shows up: an offer or the queue."""
    item = console.locator("#offers li.item, #queues li.item").filter(has_text=visitor_name)
    item.get_by_role("button", name="Accept").first.click()
    expect(console.get_by_role("heading", level=1)).to_have_text(visitor_name)
    expect(console.locator("#chat-view .transcript:not([hidden])")).to_contain_text(
        "joined the chat"
    )


def selected_transcript(console):
    return console.locator("#transcripts .transcript:not([hidden])")


def upload_attachment(
    server: LiveServer, conversation: str, filename: str, content: bytes, *, token: str
) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{server.url}/api/v1/conversations/{conversation}/attachments",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_the_journey_from_a_widget_chat_to_a_ticket_the_customer_follows_live(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    customer_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, **{"identity-jwt": maria_identity()}
        )
        visitor_says(widget, "My RZA-500 shows error E42")

        take_chat(console, "Maria Popescu")
        expect(selected_transcript(console)).to_contain_text("My RZA-500 shows error E42")
        expect(widget.get_by_role("log")).to_contain_text("joined the chat")

        # The customer's record is already there: no "what is your serial number?".
        panel = console.get_by_role("complementary", name="Customer")
        expect(panel).to_contain_text("RZA-2024-0001")
        expect(panel).to_contain_text("Electrica Nord SRL")
        expect(panel).to_contain_text("In warranty")
        expect(panel).to_contain_text("Gold 24x7")
        expect(panel).to_contain_text(host_site.url)

        # The visitor typing shows in the console.
        widget.get_by_role("textbox", name="Message", exact=True).press_sequentially("Also")
        expect(console.locator("#typing")).to_have_text("Maria Popescu is typing…")
        widget.get_by_role("textbox", name="Message", exact=True).fill("")

        # A note first (the visitor must never see it), then the public reply.
        console.get_by_role("switch", name="Internal note").check()
        console.get_by_role("textbox", name="Reply").fill("Gold contract: 1 h first response")
        console.get_by_role("button", name="Send").click()
        note = selected_transcript(console).locator(".is-internal", has_text="Gold contract")
        expect(note).to_contain_text("Internal — not visible to the customer")
        console.get_by_role("switch", name="Internal note").uncheck()
        reply = console.get_by_role("textbox", name="Reply")
        reply.fill("Hello Maria, Boris here.")
        reply.press("Shift+Enter")
        reply.press_sequentially("Which firmware version?")
        reply.press("Enter")
        expect(widget.get_by_role("log")).to_contain_text("Which firmware version?")
        expect(reply).to_have_value("")
        assert "Gold contract" not in widget.get_by_role("log").inner_text()
        # The visitor read it: the console says so.
        expect(
            selected_transcript(console).locator(".msg-mine", has_text="Which firmware").last
        ).to_contain_text("Seen by the customer")

        console.get_by_role("button", name="Convert to ticket").click()
        console.get_by_label(re.compile(r"^Subject")).fill("E42 on RZA-500")
        console.get_by_role("button", name="Create ticket").click()
        ticket_line = selected_transcript(console).locator(".evt-ticket")
        expect(ticket_line).to_contain_text(re.compile(r"Converted to ticket T-\d+"))
        number = re.search(r"T-\d+", ticket_line.inner_text()).group(0)
        link = ticket_line.get_by_role("link")
        expect(link).to_have_attribute("href", f"/console/tickets/{number}/")
        expect(console.get_by_role("button", name="Convert to ticket")).to_be_disabled()
        # The panel follows: the new ticket is among the contact's open tickets.
        expect(panel.get_by_role("link", name=number)).to_be_visible()
        expect(widget.get_by_role("log")).to_contain_text(number)

        # The customer follows the ticket in the portal.
        customer_context.add_init_script(
            "document.addEventListener('htmx:wsOpen', () => { window.__portalSocketOpen = true; });"
        )
        portal = customer_context.new_page()
        portal.goto(f"{embedded_server.url}/portal/login/")
        portal.get_by_label("E-mail").fill(CUSTOMER)
        portal.get_by_label("Password").fill(PASSWORD)
        portal.get_by_role("button", name="Sign in").click()
        portal.get_by_role("heading", name="My tickets").wait_for()
        portal.goto(f"{embedded_server.url}/portal/tickets/{number}/")
        section = portal.locator(f"#ticket-{number}")
        expect(section).to_have_attribute("data-status", "open")
        portal.wait_for_function("() => window.__portalSocketOpen === true", timeout=15_000)
        portal.evaluate("window.__notReloaded = true")

        # The agent opens the ticket from the chat (a second tab of the same session) and changes its status.
        ticket_page = browser_context.new_page()
        ticket_page.goto(f"{embedded_server.url}{link.get_attribute('href')}")
        expect(ticket_page.locator("#ticket-header")).to_have_attribute("data-status", "open")
        ticket_page.get_by_label("Status").select_option("pending")
        ticket_page.get_by_role("button", name="Update ticket").click()
        expect(ticket_page.locator("#ticket-header")).to_have_attribute("data-status", "pending")
        expect(section).to_have_attribute("data-status", "pending", timeout=10_000)
        assert portal.evaluate("window.__notReloaded") is True

        # And the console never reloaded, never showed a dialog.
        assert console.evaluate("window.__notReloaded") is True
        assert console.dialogs == []
    finally:
        visitor_context.close()
        customer_context.close()


def test_hostile_names_messages_and_file_names_render_as_text(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, name=XSS_NAME, email="eve@example.com"
        )
        widget.get_by_role("textbox", name="Message", exact=True).fill(XSS_MESSAGE)
        widget.get_by_role("button", name="Send", exact=True).click()

        item = console.locator("#offers li.item, #queues li.item").filter(has_text=XSS_NAME)
        expect(item.first).to_be_visible()
        item.get_by_role("button", name="Accept").first.click()
        expect(console.get_by_role("heading", level=1)).to_have_text(XSS_NAME)
        transcript = selected_transcript(console)
        expect(transcript.get_by_text(XSS_MESSAGE)).to_be_visible()
        panel = console.get_by_role("complementary", name="Customer")
        expect(panel).to_contain_text(XSS_NAME)

        conversation = console.evaluate("window.chatportalConsole.state.selected")
        uploaded = upload_attachment(
            embedded_server,
            conversation,
            XSS_FILENAME,
            PNG_1X1,
            token=embedded_server.agent_token(AGENT),
        )
        # The server keeps a display name (it may tame it); the console shows exactly that, as text.
        stored_name = uploaded["attachment"]["filename"]
        assert "onerror" in stored_name
        download = transcript.locator("a.attachment-link")
        expect(download).to_have_text(f"📎 {stored_name}")
        assert download.get_attribute("href").startswith(
            f"/api/v1/conversations/{conversation}/attachments/"
        )

        console.wait_for_timeout(300)
        assert console.dialogs == []
        assert console.locator("#workspace img, #workspace script").count() == 0
        assert console.evaluate("typeof window.__pwned") == "undefined"
    finally:
        visitor_context.close()


def test_it_reconnects_by_itself_and_catches_up_after_the_server_restarts(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, name="Ion", email="ion@example.com"
        )
        visitor_says(widget, "first question")
        take_chat(console, "Ion")
        conversation = console.evaluate("window.chatportalConsole.state.selected")

        health = console.locator("#connection")
        embedded_server.worker.stop()
        expect(health).to_have_attribute("data-state", re.compile("reconnecting|offline"))
        expect(health).to_contain_text(re.compile("Reconnecting…|Offline"))
        embedded_server.worker.start()
        expect(health).to_have_attribute("data-state", "connected", timeout=60_000)

        # Written while the console was away or just back: it arrives without a reload.
        visitor_says(widget, "second question after the restart")
        expect(selected_transcript(console)).to_contain_text(
            "second question after the restart", timeout=30_000
        )
        assert console.evaluate("window.__notReloaded") is True
        # Each event once.
        expect(
            selected_transcript(console).locator(".msg-visitor", has_text="first question")
        ).to_have_count(1)
        assert (
            console.evaluate(f"window.chatportalConsole.state.chats.get('{conversation}').lastSeq")
            >= 4
        )
    finally:
        visitor_context.close()


NOTIFICATION_SPY = """
(() => {
  // Count what the real APIs are asked to do; a test toggles `window.__hidden`.
  window.__hidden = false;
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return window.__hidden; } });
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return window.__hidden ? "hidden" : "visible"; },
  });
  window.__notifications = [];
  window.__tones = 0;
  const RealNotification = window.Notification;
  window.Notification = new Proxy(RealNotification, {
    construct(target, args) {
      window.__notifications.push(String(args[0]));
      return Reflect.construct(target, args);
    },
  });
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
})();
"""


def set_hidden(page, hidden: bool) -> None:
    page.evaluate(
        "(hidden) => { window.__hidden = hidden; document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def test_several_chats_keep_their_drafts_and_a_hidden_tab_is_told_with_sound_and_notifications(
    browser_context, chromium_browser, host_site, embedded_server
):
    browser_context.grant_permissions(["notifications"], origin=embedded_server.url)
    browser_context.add_init_script(NOTIFICATION_SPY)
    console = open_console(browser_context, embedded_server)

    contexts = [chromium_browser.new_context(locale="en-US") for _ in range(3)]
    try:
        ion = open_widget(
            contexts[0], host_site, embedded_server, name="Ion", email="ion@example.com"
        )
        visitor_says(ion, "question from Ion")
        take_chat(console, "Ion")
        ana = open_widget(
            contexts[1], host_site, embedded_server, name="Ana", email="ana@example.com"
        )
        visitor_says(ana, "question from Ana")
        take_chat(console, "Ana")

        my_chats = console.locator("#my-chats")
        reply = console.get_by_role("textbox", name="Reply")
        my_chats.get_by_role("button", name=re.compile("^Ion")).click()
        reply.fill("draft for Ion")
        my_chats.get_by_role("button", name=re.compile("^Ana")).click()
        expect(reply).to_have_value("")
        reply.fill("draft for Ana")
        my_chats.get_by_role("button", name=re.compile("^Ion")).click()
        expect(reply).to_have_value("draft for Ion")
        expect(selected_transcript(console)).to_contain_text("question from Ion")
        my_chats.get_by_role("button", name=re.compile("^Ana")).click()
        expect(reply).to_have_value("draft for Ana")
        # A reload of the tab keeps them too.
        console.reload()
        expect(console.locator("#connection")).to_have_attribute("data-state", "connected")
        my_chats.get_by_role("button", name=re.compile("^Ion")).click()
        expect(reply).to_have_value("draft for Ion")
        my_chats.get_by_role("button", name=re.compile("^Ana")).click()
        expect(reply).to_have_value("draft for Ana")

        console.get_by_role("button", name="Enable sound").click()
        sound = console.locator("#enable-sound")
        expect(sound).to_have_attribute("aria-pressed", "true")
        expect(sound).to_have_text("Sound on")
        assert console.evaluate("window.__tones") > 0  # the confirmation tone played

        # A canned response by its shortcut, filled for this visitor and agent.
        reply.fill("")
        reply.press_sequentially("/hel")
        options = console.get_by_role("listbox", name="Canned responses").get_by_role("option")
        expect(options.first).to_contain_text("/hello")
        reply.press("Enter")
        expect(reply).to_have_value("Hello Ana, this is Boris Petrov. How can I help you today?")
        reply.press("Enter")
        expect(ana.get_by_role("log")).to_contain_text("Hello Ana, this is Boris Petrov.")

        # The tab goes to the background: a visitor message and a new chat must reach the agent.
        tones = console.evaluate("window.__tones")
        set_hidden(console, True)
        visitor_says(ion, "are you still there?")
        console.wait_for_function("() => window.__notifications.includes('New message from Ion')")
        expect(console).to_have_title(re.compile(r"^\(1\) "))
        assert console.evaluate("window.__tones") > tones
        expect(console.locator("#announcer")).to_contain_text("New message from Ion")

        eve = open_widget(
            contexts[2], host_site, embedded_server, name="Eve", email="eve@example.com"
        )
        visitor_says(eve, "a new chat")
        console.wait_for_function("() => window.__notifications.includes('New chat assigned')")
        expect(console.locator("#offers")).to_contain_text("Eve")

        # Back in front, reading the chat clears its badge.
        set_hidden(console, False)
        my_chats.get_by_role("button", name=re.compile("^Ion")).click()
        expect(selected_transcript(console)).to_contain_text("are you still there?")
        # Eve's offer is still waiting for an answer: the badge counts only that now.
        expect(console).to_have_title(re.compile(r"^\(1\) "))
        expect(console.locator("#my-chats .item-unread")).to_have_count(0)

        # Hand Ana over to billing: she keeps her history, the chat leaves my list.
        my_chats.get_by_role("button", name=re.compile("^Ana")).click()
        console.get_by_role("button", name="Transfer").click()
        dialog = console.get_by_role("dialog", name="Hand the chat over")
        dialog.get_by_label("Department", exact=True).select_option("billing")
        dialog.get_by_role("button", name="Hand over").click()
        expect(selected_transcript(console)).to_contain_text("Transferred to billing")
        expect(my_chats.get_by_role("button", name=re.compile("^Ana"))).to_contain_text("billing")
        # Close Ion's chat with a reason; the visitor is told.
        my_chats.get_by_role("button", name=re.compile("^Ion")).click()
        console.get_by_role("button", name="Close chat").click()
        dialog = console.get_by_role("dialog", name="Close this chat?")
        dialog.get_by_label("Reason (optional)").fill("answered")
        dialog.get_by_role("button", name="Confirm close").click()
        expect(selected_transcript(console)).to_contain_text("Chat closed by agent: answered")
        expect(console.get_by_role("button", name="Close chat")).to_be_disabled()
        expect(ion.get_by_role("log")).to_contain_text(re.compile("ended|closed", re.I))
    finally:
        for context in contexts:
            context.close()
