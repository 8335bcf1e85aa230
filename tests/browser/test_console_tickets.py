"""The console's ticket screens in Chromium against a real daphne: list, filters, the ticket
page, a reply and a status change that a colleague's page and the customer's portal page
show live, without a reload."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-123"
CUSTOMER = "customer1@example.com"
SUBJECT = "Releul declanșează noaptea <b>tare</b>"


def sign_in_agent(page, server, username: str) -> None:
    page.goto(f"{server.url}/accounts/login/?next=/console/tickets/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/tickets/"))


def mark_socket_open(context) -> None:
    context.add_init_script(
        "document.addEventListener('htmx:wsOpen', () => { window.__socketOpen = true; });"
    )


def test_an_agent_filters_opens_replies_and_changes_status_and_everyone_sees_it_live(
    embedded_server, chromium_browser
):
    contexts = [chromium_browser.new_context(locale="en-US") for _ in range(3)]
    for context in contexts:
        context.set_default_timeout(15_000)
        mark_socket_open(context)
    customer_ctx, agent_ctx, colleague_ctx = contexts
    try:
        # The customer opens a ticket in the portal and keeps its page open.
        portal = customer_ctx.new_page()
        portal.goto(f"{embedded_server.url}/portal/")
        portal.get_by_label("E-mail").fill(CUSTOMER)
        portal.get_by_label("Password").fill(PASSWORD)
        portal.get_by_role("button", name="Sign in").click()
        portal.get_by_role("link", name="New ticket").first.click()
        portal.get_by_label("Subject").fill(SUBJECT)
        portal.get_by_label("Department").select_option(label="Support")
        portal.get_by_label("How can we help?").fill("Releul RZA-500 declanșează fără motiv.")
        portal.get_by_role("button", name="Create ticket").click()
        portal.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
        number = re.search(r"(T-\d+)", portal.url).group(1)
        portal.wait_for_function("() => window.__socketOpen === true")
        portal.evaluate("window.__notReloaded = true")

        # Boris (support) finds it in the console list with filters, without a reload.
        console = agent_ctx.new_page()
        sign_in_agent(console, embedded_server, "boris")
        console.evaluate("window.__notReloaded = true")
        console.get_by_role("checkbox", name="urgent").check()
        console.wait_for_url(re.compile(r"priority=urgent"))
        table = console.locator("#ticket-results")
        table.get_by_role("link", name=number).wait_for(state="detached")
        console.get_by_role("checkbox", name="urgent").uncheck()
        console.get_by_role("checkbox", name="new", exact=True).check()
        console.get_by_label("Search", exact=True).fill("declanșează")
        console.wait_for_url(re.compile(r"q=declan"))
        link = table.get_by_role("link", name=number)
        link.wait_for()
        assert console.evaluate("window.__notReloaded") is True
        # The subject is text, not markup.
        assert console.locator(f"#row-{number} .tk-subject").inner_text() == SUBJECT
        assert console.locator(f"#row-{number} b").count() == 0
        # The filtered list is a bookmark: the same URL renders the same rows.
        bookmark = console.url
        link.click()
        console.wait_for_url(re.compile(rf"/console/tickets/{number}/$"))
        console.get_by_text("Maria Popescu").first.wait_for()
        assert console.get_by_text("RZA-2024-0001").count() >= 1
        console.wait_for_function("() => window.__socketOpen === true")

        # Sofia (supervisor) has the same ticket open.
        colleague = colleague_ctx.new_page()
        sign_in_agent(colleague, embedded_server, "sofia")
        colleague_list = colleague_ctx.new_page()
        colleague_list.goto(bookmark)
        colleague_list.locator(f"#row-{number}[data-status='new']").wait_for()
        colleague_list.wait_for_function("() => window.__socketOpen === true")
        colleague.goto(bookmark)
        colleague.locator("#ticket-results").get_by_role("link", name=number).click()
        colleague.wait_for_function("() => window.__socketOpen === true")
        colleague.evaluate("window.__notReloaded = true")

        # An internal note: the colleague sees it marked internal, the customer never does.
        console.get_by_role("textbox", name="Reply").fill("Verific firmware-ul intern.")
        console.get_by_role("checkbox", name="Internal note").check()
        console.get_by_role("button", name="Send").click()
        note = colleague.locator(
            "#ticket-timeline li[data-internal='true']", has_text="Verific firmware-ul intern."
        )
        note.wait_for()
        assert "Internal note" in note.inner_text()

        # A public reply, then a status change.
        console.get_by_role("textbox", name="Reply").fill("Am găsit cauza: firmware-ul vechi.")
        assert console.get_by_role("checkbox", name="Internal note").is_checked() is False
        console.get_by_role("button", name="Send").click()
        console.locator("#ticket-timeline").get_by_text(
            "Am găsit cauza: firmware-ul vechi."
        ).wait_for()
        # The first public reply opens the ticket; the controls follow.
        console.locator("#ticket-header[data-status='open']").wait_for()
        console.get_by_label("Status").select_option("pending")
        console.get_by_role("button", name="Update ticket").click()
        console.locator("#ticket-header[data-status='pending']").wait_for()
        console.locator("#ticket-flash").get_by_text("Saved.").wait_for()
        console.locator("#ticket-summary").wait_for()
        assert console.get_by_label("Status").input_value() == "pending"

        portal.get_by_text("Am găsit cauza: firmware-ul vechi.", exact=True).wait_for(
            timeout=10_000
        )
        portal.locator(f"#ticket-{number}[data-status='pending']").wait_for(timeout=10_000)
        assert portal.get_by_text("Verific firmware-ul intern.").count() == 0
        assert portal.evaluate("window.__notReloaded") is True

        colleague.locator("#ticket-header[data-status='pending']").wait_for(timeout=10_000)
        colleague.locator("#ticket-timeline").get_by_text(
            "Am găsit cauza: firmware-ul vechi."
        ).wait_for()
        assert colleague.evaluate("window.__notReloaded") is True
        # The colleague's list (filtered on "new") follows its rows live too.
        colleague_list.locator(f"#row-{number}[data-status='pending']").wait_for(timeout=10_000)
    finally:
        for context in contexts:
            context.close()
