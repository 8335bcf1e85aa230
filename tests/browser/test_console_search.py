"""The console's search in Chromium against a real daphne: the "/" and Ctrl+K shortcuts, live
results as the agent types, the arrow keys, and Enter (or a click) opening the contact page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-123"


def sign_in_agent(page, server, username: str, next_url: str) -> None:
    page.goto(f"{server.url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))


def test_slash_search_arrow_keys_and_enter_open_marias_page(embedded_server, browser_context):
    page = browser_context.new_page()
    sign_in_agent(page, embedded_server, "boris", "/console/tickets/")
    box = page.get_by_role("combobox", name="Search customers")
    assert box.get_attribute("aria-expanded") == "false"

    # "/" typed into another field is a character there, not the shortcut.
    ticket_filter = page.get_by_label("Search", exact=True)
    ticket_filter.fill("a")
    ticket_filter.press("/")
    assert ticket_filter.input_value() == "a/"
    assert page.evaluate("document.activeElement.id") != "console-search-input"
    ticket_filter.fill("")
    page.locator("h1, h2").first.click()

    # Anywhere else, "/" jumps to the search box.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "console-search-input"
    assert box.input_value() == ""
    page.keyboard.type("0721 234 567", delay=20)
    listbox = page.get_by_role("listbox", name="Contacts and tickets found")
    first = listbox.get_by_role("option").first
    first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert "Maria Popescu" in first.inner_text()
    assert first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/contacts/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Maria Popescu"
    page.get_by_text("RZA-2024-0001").first.wait_for()
    assert page.get_by_text("Gold 24x7").count() >= 1
    # Her organization's timeline: the seeded call is on it.
    timeline = page.locator("#contact-timeline")
    assert "RZA-500 firmware" in timeline.inner_text()


def test_ctrl_k_finds_by_serial_and_a_click_opens_the_contact(embedded_server, browser_context):
    page = browser_context.new_page()
    sign_in_agent(page, embedded_server, "boris", "/console/")
    box = page.get_by_role("combobox", name="Search customers")
    page.keyboard.press("Control+k")
    assert page.evaluate("document.activeElement.id") == "console-search-input"
    page.keyboard.type("mru-2019", delay=20)
    option = page.get_by_role("option").filter(has_text="Ioana Constantinescu")
    option.wait_for()
    # Escape closes the list; typing again opens it.
    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert not option.is_visible()
    page.keyboard.press("Control+k")
    assert box.input_value() == "mru-2019"
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-expanded") == "true"
    option.click()
    page.wait_for_url(re.compile(r"/console/contacts/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ioana Constantinescu"
    assert page.get_by_text("Out of warranty").count() >= 1
