"""A customer's portal page follows the ticket live: a real daphne, Chromium, htmx over /ws/portal/."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

pytestmark = pytest.mark.browser

CUSTOMER = "customer1@example.com"
PASSWORD = "demo-pass-123"
AGENT = "sofia"  # the supervisor sees every department's tickets


def agent_reply(server, number: str, body: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/v1/tickets/{number}/replies",
        data=json.dumps({"body": body, "internal": False}).encode(),
        headers={
            "Authorization": f"Bearer {server.agent_token(AGENT)}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status in (200, 201)


def test_the_ticket_page_shows_an_agent_reply_without_a_reload(embedded_server, browser_context):
    browser_context.add_init_script(
        "document.addEventListener('htmx:wsOpen', () => { window.__portalSocketOpen = true; });"
    )
    page = browser_context.new_page()
    page.goto(f"{embedded_server.url}/portal/")
    page.get_by_label("E-mail").fill(CUSTOMER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My tickets").wait_for()

    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_label("Subject").fill("Releul declanșează noaptea")
    page.get_by_label("How can we help?").fill("Releul RZA-500 declanșează fără motiv.")
    page.get_by_role("button", name="Create ticket").click()
    page.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
    number = re.search(r"(T-\d+)", page.url).group(1)
    section = page.locator(f"#ticket-{number}")
    assert section.get_attribute("data-status") == "new"

    # The page's socket is open (and subscribed: the server joins before it accepts).
    page.wait_for_function("() => window.__portalSocketOpen === true", timeout=15_000)
    page.evaluate("window.__notReloaded = true")
    agent_reply(embedded_server, number, "Am găsit cauza: firmware-ul vechi.")

    page.get_by_text("Am găsit cauza: firmware-ul vechi.").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.locator(f"#ticket-{number}").get_attribute("data-status") == "open"

    # And the list knows the ticket by its number.
    page.get_by_role("link", name="Back to my tickets").click()
    table = page.get_by_role("table", name="My tickets")
    table.get_by_role("link", name=number).wait_for()
