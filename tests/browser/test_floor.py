"""The supervisor on the floor, end to end: real daphne, Chromium, the widget on a host page.

Boris takes Maria's chat; Sofia (the demo's supervisor) sees it on
/console/floor/, watches it live and read-only, whispers to Boris (his
console shows it, the visitor never does), and sets Boris away from the
floor (his console follows).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import (
    PASSWORD,
    embedded_server_env,
    host_site,
    maria_identity,
    open_console,
    open_widget,
    selected_transcript,
    take_chat,
    visitor_says,
)

# Fixtures of the console's tests, found by name.
__all__ = ["embedded_server_env", "host_site"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SUPERVISOR = "sofia"
WHISPER = "Offer the RZA-500 replacement under warranty"


def open_floor(context, server):
    page = context.new_page()
    page.goto(f"{server.url}/console/floor/")
    page.get_by_label("Username").fill(SUPERVISOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/floor/$"))
    return page


def test_a_supervisor_watches_a_chat_whispers_and_sets_presence(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    supervisor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, **{"identity-jwt": maria_identity()}
        )
        visitor_says(widget, "My RZA-500 shows error E42")
        take_chat(console, "Maria Popescu")

        floor = open_floor(supervisor_context, embedded_server)
        row = floor.locator("#floor-live tbody tr", has_text="Maria Popescu")
        expect(row).to_have_attribute("data-agent", "boris")
        expect(row).to_contain_text("active")
        expect(floor.get_by_role("button", name="Take over").first).to_be_visible()
        expect(floor.get_by_role("button", name="Reassign").first).to_be_visible()

        # Watch: read-only and live over the supervisor's own agent socket.
        row.get_by_role("link", name="Watch").click()
        floor.wait_for_url(re.compile(r"/console/floor/[0-9a-f-]+/$"))
        expect(floor.locator("#floor-connection")).to_have_attribute("data-state", "connected")
        log = floor.get_by_role("list", name="Conversation")
        expect(log).to_contain_text("My RZA-500 shows error E42")
        expect(floor.get_by_role("textbox", name="Reply")).to_have_count(0)
        visitor_says(widget, "Is anyone there?")
        expect(log).to_contain_text("Is anyone there?")

        # Whisper: Boris sees it, marked; the visitor never does.
        floor.get_by_role("textbox", name="Whisper to the agent").fill(WHISPER)
        floor.get_by_role("button", name="Whisper").click()
        expect(log.locator("[data-kind=whisper]")).to_contain_text(WHISPER)
        expect(floor.get_by_role("textbox", name="Whisper to the agent")).to_have_value("")
        whisper = selected_transcript(console).locator(".msg-whisper")
        expect(whisper).to_contain_text(WHISPER)
        expect(whisper).to_contain_text("Whisper from Sofia")
        console.get_by_role("textbox", name="Reply").fill("Checking the warranty now.")
        console.get_by_role("button", name="Send").click()
        expect(widget.get_by_role("log")).to_contain_text("Checking the warranty now.")
        assert WHISPER not in widget.get_by_role("log").inner_text()

        # Presence from the floor: Boris is set away; his own console follows.
        floor.goto(f"{embedded_server.url}/console/floor/")
        agent_row = floor.locator("#floor-agent-boris")
        agent_row.get_by_role("combobox", name=re.compile("^Presence")).select_option("away")
        agent_row.get_by_role("button", name="Set").click()
        expect(floor.locator("#floor-agent-boris")).to_have_attribute("data-status", "away")
        expect(floor.get_by_role("status").filter(has_text="Presence set.")).to_be_visible()
        expect(console.locator("#presence-dot")).to_have_attribute("data-status", "away")
    finally:
        visitor_context.close()
        supervisor_context.close()
