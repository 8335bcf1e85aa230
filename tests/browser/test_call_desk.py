"""The agent's desk, done-when of issue 13: a PBX rings, the console pops the caller, a ticket follows.

A real daphne with the demo data, Chromium for Boris's console and for
Maria's portal (two browser contexts: two sessions). The PBX is this test,
posting `/api/v1/calls` with an agent token as the documented hook does.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import open_console

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CUSTOMER = "customer1@example.com"
PASSWORD = "demo-pass-123"


def pbx_post(server, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/v1/calls",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {server.agent_token('sofia')}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def open_portal(context, server):
    context.add_init_script(
        "document.addEventListener('htmx:wsOpen', () => { window.__portalSocketOpen = true; });"
    )
    page = context.new_page()
    page.goto(f"{server.url}/portal/")
    page.get_by_label("E-mail").fill(CUSTOMER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My tickets").wait_for()
    page.wait_for_function("() => window.__portalSocketOpen === true", timeout=15_000)
    page.evaluate("window.__notReloaded = true")
    return page


def test_a_ringing_call_pops_maria_and_becomes_a_ticket_on_her_portal_live(
    embedded_server, browser_context, chromium_browser
):
    console = open_console(browser_context, embedded_server)
    portal_context = chromium_browser.new_context(locale="en-US")
    portal_context.set_default_timeout(15_000)
    try:
        portal = open_portal(portal_context, embedded_server)

        # The PBX: Maria's phone rings the support line (Boris is online there).
        rang = pbx_post(
            embedded_server,
            {
                "call_id": "ast-1001.1",
                "phone": "0721 234 567",
                "direction": "inbound",
                "state": "ringing",
                "department": "support",
            },
        )
        call_id = rang["call"]["id"]
        pop = console.locator(f"#call-{call_id}")
        # The pop is the region screen readers announce as "Incoming call".
        expect(console.get_by_role("region", name="Incoming call")).to_contain_text("Maria Popescu")
        expect(pop.locator("[data-caller-name]")).to_have_text("Maria Popescu")
        expect(pop).to_contain_text("RZA-2024-0001")
        expect(pop.locator("[data-contract]")).to_have_text("Gold 24x7")
        expect(pop.locator("[data-call-state]")).to_have_attribute("data-call-state", "ringing")

        pbx_post(
            embedded_server,
            {
                "call_id": "ast-1001.1",
                "phone": "0721 234 567",
                "direction": "inbound",
                "state": "answered",
                "agent": "boris",
            },
        )
        expect(pop.locator("[data-call-state]")).to_have_attribute("data-call-state", "answered")

        if os.environ.get("CHATPORTAL_SHOTS_DIR"):
            # `make`-less screenshot for the README: the pop as Boris sees it.
            console.screenshot(
                path=os.path.join(os.environ["CHATPORTAL_SHOTS_DIR"], "call-pop.png")
            )

        # Boris opens a ticket from the call, naming the unit.
        pop.get_by_text("Create ticket from call").click()
        form = pop.locator("[data-call-ticket-form]")
        form.get_by_label("Subject").fill("RZA-500 trips at night")
        form.get_by_label("Unit").select_option("RZA-2024-0001")
        form.get_by_role("button", name="Create ticket").click()
        link = console.locator(f"#call-{call_id} [data-call-ticket]")
        expect(link).to_be_visible()
        number = link.get_attribute("data-call-ticket")
        assert re.fullmatch(r"T-\d+", number)

        # Maria's open portal shows it without a reload.
        expect(portal.get_by_role("link", name=number)).to_be_visible(timeout=10_000)
        assert portal.evaluate("window.__notReloaded") is True
        portal.get_by_role("link", name=number).click()
        expect(portal.locator("[data-asset]").first).to_contain_text("RZA-2024-0001")
        expect(portal.locator("[data-call]").first).to_be_visible()

        # The hangup updates the pop; the console never reloaded.
        pbx_post(
            embedded_server,
            {
                "call_id": "ast-1001.1",
                "phone": "0721 234 567",
                "direction": "inbound",
                "state": "ended",
            },
        )
        expect(console.locator(f"#call-{call_id} [data-call-state]")).to_have_attribute(
            "data-call-state", "ended"
        )
        assert console.evaluate("window.__notReloaded") is True
    finally:
        portal_context.close()


def test_an_unknown_caller_becomes_a_new_contact_from_the_pop(embedded_server, browser_context):
    console = open_console(browser_context, embedded_server)
    rang = pbx_post(
        embedded_server,
        {
            "call_id": "ast-2002.1",
            "phone": "+40 722 000 111",
            "direction": "inbound",
            "state": "ringing",
            "agent": "boris",
        },
    )
    call_id = rang["call"]["id"]
    assert rang["contact"] is None
    pop = console.locator(f"#call-{call_id}")
    form = pop.locator("[data-new-contact]")
    expect(form.get_by_label("Phone")).to_have_value("+40722000111")
    form.get_by_label("Name").fill("Ion Ionescu")
    form.get_by_label("E-mail").fill("ion@example.com")
    form.get_by_label("Organization").fill("Hidro Sud SA")
    form.get_by_role("button", name="Create contact").click()
    expect(console.locator(f"#call-{call_id} [data-caller-name]")).to_have_text("Ion Ionescu")
    expect(console.locator(f"#call-{call_id} [data-caller-org]")).to_have_text("Hidro Sud SA")
    # The next call from that number is known.
    again = pbx_post(
        embedded_server,
        {"phone": "0722 000 111", "direction": "inbound", "duration_s": 30},
    )
    assert again["contact"]["name"] == "Ion Ionescu"
