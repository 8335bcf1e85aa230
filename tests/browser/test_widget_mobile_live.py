"""The widget on a phone against the real server: real daphne, a stranger's host page, an agent.

Maria, signed in on the host site, chats from a 390 x 844 touch screen: the
chat is full screen, she attaches a photo with the SVG "Attach file" button,
the host page's `Chatportal.on("message")` hears Boris, and once the chat is
over a new visit of hers lists it under "Previous conversations" (without
Boris's internal note), while an anonymous visitor is offered nothing.
"""

from __future__ import annotations

import time

import jwt
import pytest
from playwright.sync_api import expect

from tests import attachment_files as files
from tests.browser import test_widget_live as live
from tests.browser.conftest import host_page_html
from tests.browser.test_widget_live import IDENTITY_SECRET, send_message, take_conversation

host_site = live.host_site
embedded_server_env = live.embedded_server_env
agent = live.agent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PHONE = {"width": 390, "height": 844}
LISTENER = (
    "<script>window.Chatportal = window.Chatportal || []; window.got = [];"
    " Chatportal.push(['on', 'message', (m) => window.got.push(m)]);</script>"
)


def maria_jwt() -> str:
    claims = {"sub": "crm-1", "exp": int(time.time()) + 600, "name": "Maria Popescu"}
    return jwt.encode(claims, IDENTITY_SECRET, algorithm="HS256")


def phone_page(chromium_browser, host_site, server, attributes: dict[str, str]):
    html = host_page_html(f"{server.url}/widget.js", {"department": "support", **attributes})
    host_site.page_html = html.replace("<script src=", LISTENER + "<script src=")
    context = chromium_browser.new_context(
        locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(host_site.url)
    return context, page


def test_a_phone_visitor_chats_attaches_and_reads_the_chat_again_later(
    chromium_browser, host_site, embedded_server, agent
):
    context, page = phone_page(
        chromium_browser, host_site, embedded_server, {"identity-jwt": maria_jwt()}
    )
    try:
        page.get_by_role("button", name="Open chat", exact=True).tap()
        dialog = page.get_by_role("dialog", name="Chat with us")
        assert dialog.bounding_box() == {"x": 0, "y": 0, **PHONE}
        box = page.get_by_role("textbox", name="Message", exact=True)
        assert box.evaluate("el => getComputedStyle(el).fontSize") == "16px"
        send_message(page, "My RZA-500 shows E42, photo follows")
        conversation = take_conversation(agent, "My RZA-500 shows E42, photo follows")

        attach = page.get_by_role("button", name="Attach file", exact=True)
        expect(attach).to_be_enabled()
        with page.expect_file_chooser() as chooser:
            attach.tap()
        chooser.value.set_files(
            files=[{"name": "e42.png", "mimeType": "image/png", "buffer": files.png(2, 2)}]
        )
        log = page.get_by_role("log")
        expect(log.get_by_role("link", name="e42.png", exact=True)).to_be_visible()

        agent.send(
            {
                "type": "message",
                "conversation": conversation,
                "client_id": "6f1c2b3a-9d4e-4f50-8a7b-1c2d3e4f5a61",
                "body": "INTERNAL: Gold contract",
                "internal": True,
            }
        )
        agent.say(conversation, "Replace the fuse, Maria.")
        expect(log).to_contain_text("Replace the fuse, Maria.")
        page.wait_for_function("window.got.length === 1")
        heard = page.evaluate("window.got[0]")
        assert heard["body"] == "Replace the fuse, Maria." and heard["conversation"] == conversation
        agent.send({"type": "close", "conversation": conversation, "reason": "solved"})
        expect(page.get_by_text("Chat ended").first).to_be_visible()
    finally:
        context.close()

    # Later, on another device: the ended chat is there to read again, notes left out.
    context, page = phone_page(
        chromium_browser, host_site, embedded_server, {"identity-jwt": maria_jwt()}
    )
    try:
        page.get_by_role("button", name="Open chat", exact=True).tap()
        page.get_by_role("button", name="Previous conversations").tap()
        earlier = page.get_by_role("list", name="Previous conversations")
        expect(earlier).to_contain_text("You: My RZA-500 shows E42, photo follows")
        expect(earlier).to_contain_text("Replace the fuse, Maria.")
        expect(earlier).not_to_contain_text("Gold contract")
    finally:
        context.close()

    # An anonymous visitor on the same site is offered nothing.
    context, page = phone_page(chromium_browser, host_site, embedded_server, {})
    try:
        page.get_by_role("button", name="Open chat", exact=True).tap()
        expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
        page.wait_for_timeout(500)
        expect(page.get_by_role("button", name="Previous conversations")).to_be_hidden()
    finally:
        context.close()
