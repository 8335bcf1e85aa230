"""The widget on a phone and on a customer's site, against the scripted server.

A 390 x 844 touch screen (an iPhone 12-14) gets the chat full screen with
16 px fields; the host site sets colour, corner, greeting and launcher text
with `data-` attributes, drives the chat from its own script
(`window.Chatportal`), offers a choice of departments; an identified visitor
reads earlier conversations. The real server's side of the same is in
test_widget_mobile_live.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from frontend.views import localize_widget, minify_widget
from tests.browser import test_widget_client as scripted
from tests.browser.conftest import HOST_ORIGIN, HOST_PAGE_URL, WIDGET_SOURCE, host_page_html
from tests.browser.test_widget_client import WIDGET_SRC, FakeWidgetServer, send_message, wait_until

# The scripted server of the desktop tests, answering the `browser_context`.
server = scripted.server

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def serve(context, attributes: dict[str, str], *, before: str = "") -> None:
    """The host page, with `before` (inline script) ahead of the widget's tag."""
    body = host_page_html(WIDGET_SRC, attributes).replace("<script src=", before + "<script src=")
    context.route(
        f"{HOST_ORIGIN}/**",
        lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body),
    )


@pytest.fixture
def phone(chromium_browser) -> Iterator[object]:
    context = chromium_browser.new_context(
        locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def phone_server(phone) -> FakeWidgetServer:
    fake = FakeWidgetServer()
    fake.attach(phone)
    # What the real server sends an English browser: one locale's strings.
    body = minify_widget(localize_widget(WIDGET_SOURCE.read_text(encoding="utf-8"), "en"))
    phone.route(
        WIDGET_SRC,
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=body),
    )
    return fake


def focused_in_widget(page) -> str | None:
    """The accessible name (or tag) of what has focus inside the widget's shadow root."""
    return page.evaluate(
        """() => {
          const host = document.querySelector("[data-chatportal]");
          if (document.activeElement !== host) return null;
          const el = host.shadowRoot.activeElement;
          return el && (el.getAttribute("aria-label") || el.tagName.toLowerCase());
        }"""
    )


def test_the_open_widget_fills_a_phone_screen_with_16px_fields(phone, phone_server):
    serve(phone, {"department": "support"})
    page = phone.new_page()
    page.goto(HOST_PAGE_URL)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    box = launcher.bounding_box()
    # Closed, the launcher sits in the corner, clear of the edges.
    assert box["x"] + box["width"] <= PHONE["width"] - 16
    assert box["y"] + box["height"] <= PHONE["height"] - 16
    launcher.tap()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog).to_be_visible()
    assert dialog.bounding_box() == {"x": 0, "y": 0, **PHONE}
    for field in (
        page.get_by_role("textbox", name="Message", exact=True),
        page.get_by_role("textbox", name="Name (optional)"),
        page.get_by_role("textbox", name="E-mail (optional)"),
    ):
        assert field.evaluate("el => getComputedStyle(el).fontSize") == "16px"
    # The panel covers the launcher; the minimize button closes it.
    expect(launcher).to_be_hidden()
    page.get_by_role("button", name="Minimize chat").tap()
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_visible()


def test_a_visitor_sends_a_message_and_attaches_a_file_with_the_svg_button(phone, phone_server):
    serve(phone, {"department": "support"})
    page = phone.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).tap()
    send_message(page, "Photo of the relay follows")
    wait_until(page, lambda: phone_server.sent("message"), what="the message")
    expect(page.get_by_role("log")).to_contain_text("Photo of the relay follows")
    attach = page.get_by_role("button", name="Attach file", exact=True)
    expect(attach).to_be_enabled()
    # Drawn, not an emoji: an SVG and no text at all.
    assert attach.evaluate("el => el.textContent") == ""
    assert attach.locator("svg path").count() == 1
    uploads = []
    phone.route(
        f"{WIDGET_SRC.rsplit('/', 1)[0]}/api/v1/conversations/**",
        lambda route: (
            uploads.append(route.request),
            route.fulfill(status=201, content_type="application/json", body="{}"),
        ),
    )
    with page.expect_file_chooser() as chooser:
        attach.tap()
    chooser.value.set_files(
        files=[{"name": "relay.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n"}]
    )
    wait_until(page, lambda: uploads, what="the upload")
    request = uploads[0]
    assert request.method == "POST"
    assert request.url.endswith(f"/api/v1/conversations/{phone_server.conv}/attachments")
    assert request.headers["authorization"] == f"Bearer {phone_server.token}"
    assert b'filename="relay.png"' in request.post_data_buffer


def test_the_keyboard_opens_closes_and_moves_focus(browser_context, server):
    serve(browser_context, {"department": "support"})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Chat with us")).to_be_visible()
    assert focused_in_widget(page) == "Message"
    # A visible focus ring on the focused field.
    ring = page.get_by_role("textbox", name="Message", exact=True).evaluate(
        "el => getComputedStyle(el).outlineStyle"
    )
    assert ring == "solid"
    # New messages are announced: the log is a polite live region.
    assert page.get_by_role("log").get_attribute("aria-live") == "polite"
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert focused_in_widget(page) == "Open chat"


def test_the_host_sites_data_attributes_set_colour_corner_greeting_and_launcher_text(
    browser_context, server
):
    serve(
        browser_context,
        {
            "department": "support",
            "color": "#0a7d32",
            "position": "left",
            "greeting": "<b>Hi!</b> Ask us about <img src=x onerror=window.__pwned=1> relays.",
            "launcher-text": "Need help?",
        },
    )
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    expect(launcher).to_contain_text("Need help?")
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 125, 50)"
    assert launcher.bounding_box()["x"] < 40
    launcher.click()
    log = page.get_by_role("log")
    # The greeting is text: its markup shows as typed, and nothing of it runs.
    expect(log).to_contain_text("<b>Hi!</b> Ask us about <img src=x")
    assert log.locator("b, img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert (
        page.get_by_role("button", name="Send", exact=True).evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        == "rgb(10, 125, 50)"
    )


@pytest.mark.parametrize("colour", ["red", "#12345", "#fff;background:url(x)", "expression(1)"])
def test_a_colour_that_is_not_a_hex_colour_is_ignored(browser_context, server, colour):
    serve(browser_context, {"department": "support", "color": colour})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    launcher = page.get_by_role("button", name="Open chat", exact=True)
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(36, 86, 214)"


EARLY_QUEUE = """<script>
  window.Chatportal = window.Chatportal || [];
  window.got = [];
  Chatportal.push(["on", "message", (m) => window.got.push(m)]);
  Chatportal.push(["identify", "jwt-of-maria"]);
</script>"""


def test_the_js_api_queues_early_calls_and_opens_closes_and_reports_agent_messages(
    browser_context, server
):
    serve(browser_context, {"department": "support"}, before=EARLY_QUEUE)
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.wait_for_function("window.Chatportal && !Array.isArray(window.Chatportal)")
    page.evaluate("Chatportal.open()")
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog).to_be_visible()
    wait_until(page, lambda: server.sent("hello"), what="hello")
    assert server.sent("hello")[0]["identity"] == {"jwt": "jwt-of-maria"}

    send_message(page, "Hello from the API test")
    wait_until(page, lambda: server.sent("message"), what="the message")
    server.agent_says("Boris here, how can I help?")
    page.wait_for_function("window.got.length === 1")
    got = page.evaluate("window.got[0]")
    assert got["body"] == "Boris here, how can I help?"
    assert got["author"] == {"name": "Boris"}
    assert got["conversation"] == server.conv and isinstance(got["seq"], int)
    # The visitor's own messages are not reported.
    assert page.evaluate("window.got.length") == 1

    page.evaluate("Chatportal.close()")
    expect(dialog).to_be_hidden()
    # Identifying later (the user signed in on the host site) says hello again with the token.
    page.evaluate("Chatportal.identify('jwt-after-sign-in')")
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the second hello")
    assert server.sent("hello")[1]["identity"] == {"jwt": "jwt-after-sign-in"}
    page.evaluate("Chatportal.push(['open'])")
    expect(dialog).to_be_visible()


def test_the_visitor_picks_one_of_the_sites_departments(browser_context, server):
    serve(browser_context, {"department": "support", "departments": "sales,support,bad slug!"})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    picker = page.get_by_role("combobox", name="Department")
    expect(picker).to_have_value("support")
    wait_until(page, lambda: server.sent("hello"), what="hello")
    first = server.sent("hello")[0]
    assert first["department"] == "support" and first["departments"] == ["sales", "support"]
    picker.select_option("sales")
    wait_until(page, lambda: len(server.sent("hello")) == 2, what="the hello for sales")
    assert server.sent("hello")[1]["department"] == "sales"
    send_message(page, "A quote for 40 relays?")
    wait_until(page, lambda: server.sent("message"), what="the message")
    # Once the chat started the choice is made.
    expect(picker).to_be_hidden()


def test_one_department_needs_no_choice(browser_context, server):
    serve(browser_context, {"department": "support", "departments": "support"})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    wait_until(page, lambda: server.sent("hello"), what="hello")
    expect(page.get_by_role("combobox", name="Department")).to_have_count(0)
    assert "departments" not in server.sent("hello")[0]


HISTORY = [
    {
        "id": "5b0c3f0e-9a51-4d7e-8f43-2f1f4cbe0009",
        "department": "Support",
        "started_at": "2026-11-02T09:15:00.000Z",
        "messages": [
            {
                "seq": 2,
                "at": "2026-11-02T09:15:00.000Z",
                "author": {"role": "visitor", "name": "Maria"},
                "body": "E42 again <script>",
            },
            {
                "seq": 4,
                "at": "2026-11-02T09:16:00.000Z",
                "author": {"role": "agent", "name": "Boris"},
                "body": "Replace the fuse",
            },
        ],
    }
]


def test_an_identified_visitor_reads_previous_conversations(browser_context, server):
    server.identified = True
    server.history = HISTORY
    serve(browser_context, {"department": "support", "identity-jwt": "jwt-of-maria"})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    page.get_by_role("button", name="Previous conversations").click()
    earlier = page.get_by_role("list", name="Previous conversations")
    expect(earlier).to_contain_text("Support")
    expect(earlier).to_contain_text("You: E42 again <script>")
    expect(earlier).to_contain_text("Boris: Replace the fuse")
    assert server.sent("history") == [{"type": "history"}]
    page.get_by_role("button", name="Back to chat").click()
    expect(earlier).to_be_hidden()
    expect(page.get_by_role("log")).to_be_visible()


def test_an_anonymous_visitor_is_not_offered_previous_conversations(browser_context, server):
    serve(browser_context, {"department": "support"})
    page = browser_context.new_page()
    page.goto(HOST_PAGE_URL)
    page.get_by_role("button", name="Open chat", exact=True).click()
    wait_until(page, lambda: server.sent("hello"), what="hello")
    page.wait_for_timeout(200)
    expect(page.get_by_role("button", name="Previous conversations")).to_be_hidden()
