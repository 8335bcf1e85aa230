"""Files and links between the console and the widget: real daphne, Chromium, a third-party host page.

The agent attaches a photo from the console's composer (the "Attach file"
button, over HTTP with the session and its CSRF token); the visitor's widget
shows its thumbnail (fetched with the visitor token) and the link. Web
addresses in messages are links on both sides, built as DOM nodes: the
visitor opens one in a new tab; `javascript:` and markup stay text.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.test_console import (
    embedded_server_env,
    host_site,
    open_console,
    open_widget,
    selected_transcript,
    take_chat,
    visitor_says,
)
from tests.browser.test_console_tickets import CUSTOMER, PASSWORD, mark_socket_open, sign_in_agent

__all__ = ["embedded_server_env", "host_site"]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 800), (20, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def test_an_agents_photo_shows_as_a_thumbnail_in_the_widget_and_links_are_clickable(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(visitor_context, host_site, embedded_server, name="Ana")
        visitor_says(widget, "The manual (https://example.com/manual?id=(42)). Photo please?")
        take_chat(console, "Ana")
        transcript = selected_transcript(console)

        # The visitor's link, in the console: an anchor built from the text, trailing ")." left out.
        console_link = transcript.get_by_role("link", name="https://example.com/manual?id=(42)")
        expect(console_link).to_have_attribute("href", "https://example.com/manual?id=(42)")
        expect(console_link).to_have_attribute("target", "_blank")
        expect(console_link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(transcript.locator(".msg-body").filter(has_text="Photo please")).to_contain_text(
            "The manual (https://example.com/manual?id=(42)). Photo please?"
        )
        # And in the widget, on the visitor's own message.
        log = widget.get_by_role("log")
        expect(
            log.get_by_role("link", name="https://example.com/manual?id=(42)")
        ).to_have_attribute("rel", "noopener noreferrer nofollow")

        # The agent attaches a photo from the composer.
        with console.expect_file_chooser() as chooser:
            console.get_by_role("button", name="Attach file").click()
        chooser.value.set_files(
            files=[{"name": "wiring.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
        )
        expect(transcript.locator("a.attachment-link")).to_have_text("📎 wiring.jpg")
        console_thumbnail = transcript.locator(".attachment-thumbnail > img")
        expect(console_thumbnail).to_have_attribute("alt", "Preview of wiring.jpg")
        console.wait_for_function(
            "() => { const i = document.querySelector('#transcripts .attachment-thumbnail > img');"
            " return i && i.complete && i.naturalWidth === 320; }"
        )

        # The visitor sees the thumbnail (decoded: it really loaded) and the file's link.
        expect(log.get_by_role("link", name="wiring.jpg", exact=True)).to_be_visible()
        thumbnail = log.locator("img.thumb")
        expect(thumbnail).to_be_visible()
        widget.wait_for_function(
            "() => { const host = document.querySelector('[data-chatportal=widget]');"
            " const i = host && host.shadowRoot.querySelector('img.thumb');"
            " return i && i.complete && i.naturalWidth === 320 && i.naturalHeight === 213; }"
        )
        assert thumbnail.get_attribute("src").startswith("blob:")

        # The agent's reply carries a link to our portal and a hostile "link".
        reply = console.get_by_role("textbox", name="Reply")
        portal_url = f"{embedded_server.url}/portal/login/"
        reply.fill(
            f'Sign in at {portal_url}, then see javascript:alert(1) "><img src=x onerror=alert(2)>'
        )
        reply.press("Enter")
        widget_link = log.get_by_role("link", name=portal_url)
        expect(widget_link).to_have_attribute("target", "_blank")
        expect(log).to_contain_text('javascript:alert(1) "><img src=x onerror=alert(2)>')
        assert log.get_by_role("link", name=re.compile("javascript")).count() == 0
        assert log.locator("img:not(.thumb)").count() == 0
        expect(transcript.get_by_role("link", name=portal_url)).to_have_attribute(
            "href", portal_url
        )

        # Clickable: it opens in a new tab, without a handle back to the host page.
        with visitor_context.expect_page() as opened:
            widget_link.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == portal_url
        assert tab.evaluate("window.opener") is None

        assert console.dialogs == []
        assert widget.evaluate("typeof window.__pwned") == "undefined"
    finally:
        visitor_context.close()


def test_an_agent_attaches_a_photo_on_a_ticket_page_and_the_customer_sees_its_thumbnail(
    embedded_server, chromium_browser
):
    customer_ctx = chromium_browser.new_context(locale="en-US")
    agent_ctx = chromium_browser.new_context(locale="en-US")
    for context in (customer_ctx, agent_ctx):
        context.set_default_timeout(15_000)
        mark_socket_open(context)
    try:
        portal = customer_ctx.new_page()
        portal.goto(f"{embedded_server.url}/portal/")
        portal.get_by_label("E-mail").fill(CUSTOMER)
        portal.get_by_label("Password").fill(PASSWORD)
        portal.get_by_role("button", name="Sign in").click()
        portal.get_by_role("link", name="New ticket").first.click()
        portal.get_by_label("Subject").fill("Wiring of the RZA-500")
        portal.get_by_label("Department").select_option(label="Support")
        portal.get_by_label("How can we help?").fill(
            "Like https://example.com/wiring?v=2, but mine differs."
        )
        portal.get_by_role("button", name="Create ticket").click()
        portal.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
        number = re.search(r"(T-\d+)", portal.url).group(1)
        # The portal renders the customer's link (escaped first, then linked).
        expect(portal.get_by_role("link", name="https://example.com/wiring?v=2")).to_have_attribute(
            "rel", "noopener noreferrer nofollow"
        )
        portal.wait_for_function("() => window.__socketOpen === true")

        console = agent_ctx.new_page()
        sign_in_agent(console, embedded_server, "boris")
        console.goto(f"{embedded_server.url}/console/tickets/{number}/")
        console.wait_for_function("() => window.__socketOpen === true")
        timeline = console.locator("#ticket-timeline")
        expect(
            timeline.get_by_role("link", name="https://example.com/wiring?v=2")
        ).to_have_attribute("target", "_blank")
        files_card = console.locator("#ticket-files")
        expect(files_card).to_contain_text("No files yet.")

        form = console.locator("#reply-form")
        form.get_by_label("Reply").fill("Here is ours: https://example.org/rza-500.")
        form.get_by_label("Attach files").set_input_files(
            files=[{"name": "ours.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
        )
        form.get_by_role("button", name="Send").click()
        expect(files_card.get_by_role("link", name="ours.jpg")).to_be_visible()
        console.wait_for_function(
            "() => { const i = document.querySelector('#ticket-files .attachment-thumbnail img');"
            " return i && i.complete && i.naturalWidth === 320; }"
        )
        expect(timeline.get_by_role("link", name="https://example.org/rza-500")).to_be_visible()

        # The customer's page shows the reply live, with the thumbnail and the link.
        expect(portal.get_by_role("link", name="ours.jpg")).to_be_visible()
        portal.wait_for_function(
            "() => { const i = document.querySelector('.attachment-thumbnail img');"
            " return i && i.complete && i.naturalWidth === 320; }"
        )
        expect(portal.get_by_role("link", name="https://example.org/rza-500")).to_be_visible()

        # A file the server refuses is named with the reason, nothing is sent.
        form = console.locator("#reply-form")
        form.get_by_label("Reply").fill("and this")
        form.get_by_label("Attach files").set_input_files(
            files=[
                {"name": "cat.png", "mimeType": "image/png", "buffer": b"<html><script>1</script>"}
            ]
        )
        form.get_by_role("button", name="Send").click()
        expect(console.locator("#reply-form [role=alert]").first).to_contain_text(
            "cannot be attached"
        )
        expect(files_card.locator("a.attachment")).to_have_count(1)
    finally:
        customer_ctx.close()
        agent_ctx.close()
