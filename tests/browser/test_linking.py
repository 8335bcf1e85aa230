"""Linking the unidentified in Chromium against a real daphne.

A visitor who did not sign in chats; the agent finds the customer in the
chat's CRM panel and links the chat (the panel shows the record, the
transcript says who linked it). An e-mail ticket from an address the CRM
knows only as a second address is made the customer's from the ticket page's
"Create contact from this ticket" (the existing contact is reused), and the
ticket appears in the customer's portal list without a reload.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import (
    AGENT,
    CUSTOMER,
    PASSWORD,
    open_console,
    open_widget,
    selected_transcript,
    take_chat,
    visitor_says,
)
from tests.browser.test_widget_live import HostSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture
def embedded_server_env(host_site) -> dict[str, str]:
    return {"CHATPORTAL_WIDGET_ORIGINS": host_site.origin}


def test_an_agent_links_an_anonymous_chat_to_the_customer_from_the_panel(
    browser_context, chromium_browser, host_site, embedded_server
):
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, name="M. Popescu", email="mp@example.net"
        )
        visitor_says(widget, "My relay trips at night")
        take_chat(console, "M. Popescu")
        panel = console.get_by_role("complementary", name="Customer")
        expect(panel).to_contain_text("Not linked to a CRM contact")
        expect(panel.get_by_label("Name", exact=True)).to_have_value("M. Popescu")

        panel.get_by_label("Find a contact by name, e-mail or phone").fill("+40 721 234 567")
        pick = panel.locator("button.link-contact-pick").filter(has_text="Maria Popescu")
        pick.click()

        expect(panel).to_contain_text("RZA-2024-0001")
        expect(panel).not_to_contain_text("Not linked to a CRM contact")
        expect(selected_transcript(console)).to_contain_text("Linked to contact Maria Popescu")
        # The visitor is told nothing about the CRM.
        widget.wait_for_timeout(300)
        assert "Linked to contact" not in widget.content()
        assert console.evaluate("window.__notReloaded") is True
    finally:
        visitor_context.close()


def open_email_ticket(server, *, email: str) -> str:
    request = urllib.request.Request(
        f"{server.url}/api/v1/tickets",
        data=json.dumps(
            {
                "subject": "Contorul nu pornește",
                "body": "Bună ziua, contorul din Cluj nu pornește.",
                "department": "support",
                "channel": "email",
                "requester_name": "M. Popescu",
                "requester_email": email,
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {server.agent_token(AGENT)}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 201
        return json.loads(response.read())["number"]


def test_a_ticket_from_an_unknown_address_becomes_the_customers_and_reaches_her_portal_live(
    embedded_server, chromium_browser
):
    customer_ctx = chromium_browser.new_context(locale="en-US")
    agent_ctx = chromium_browser.new_context(locale="en-US")
    for context in (customer_ctx, agent_ctx):
        context.set_default_timeout(15_000)
        context.add_init_script(
            "document.addEventListener('htmx:wsOpen', () => { window.__socketOpen = true; });"
        )
    try:
        number = open_email_ticket(embedded_server, email="Maria.Popescu@electrica-nord.example")
        portal = customer_ctx.new_page()
        portal.goto(f"{embedded_server.url}/portal/")
        portal.get_by_label("E-mail").fill(CUSTOMER)
        portal.get_by_label("Password").fill(PASSWORD)
        portal.get_by_role("button", name="Sign in").click()
        expect(portal.get_by_role("heading", name="My tickets")).to_be_visible()
        portal.wait_for_function("() => window.__socketOpen === true")
        portal.evaluate("window.__notReloaded = true")
        expect(portal.locator(f"#ticket-{number}")).to_have_count(0)

        console = agent_ctx.new_page()
        console.goto(f"{embedded_server.url}/accounts/login/?next=/console/tickets/{number}/")
        console.get_by_label("Username").fill(AGENT)
        console.get_by_label("Password").fill(PASSWORD)
        console.get_by_role("button", name="Sign in").click()
        console.wait_for_url(re.compile(rf"/console/tickets/{number}/$"))
        card = console.locator("#ticket-crm")
        expect(card).to_contain_text("Unknown sender")
        card.get_by_text("Create contact from this ticket").click()
        expect(card.get_by_label("E-mail", exact=True)).to_have_value(
            "Maria.Popescu@electrica-nord.example"
        )
        card.get_by_role("button", name="Create contact").click()

        # The address is Maria's second one: her record, not a copy.
        expect(card).to_contain_text("Maria Popescu")
        expect(card).to_contain_text("RZA-2024-0001")
        expect(console.locator("#ticket-timeline")).to_contain_text(
            "Linked to contact Maria Popescu"
        )

        row = portal.locator(f"#ticket-{number}")
        expect(row).to_be_visible()
        expect(row).to_contain_text("Contorul nu pornește")
        assert portal.evaluate("window.__notReloaded") is True
    finally:
        customer_ctx.close()
        agent_ctx.close()
