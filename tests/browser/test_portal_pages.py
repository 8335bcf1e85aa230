"""The portal as a customer sees it: the progress tracker moving live, and a phone's screen.

A real daphne, Chromium, htmx over /ws/portal/; the agent acts through the HTTP API.
"""

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


def set_status(server, number: str, status: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/v1/tickets/{number}",
        data=json.dumps({"status": status}).encode(),
        headers={
            "Authorization": f"Bearer {server.agent_token(AGENT)}",
            "Content-Type": "application/json",
        },
        method="PATCH",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 200


def sign_in(page, server) -> None:
    page.goto(f"{server.url}/portal/")
    page.get_by_label("E-mail").fill(CUSTOMER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My tickets").wait_for()


def current_step(page) -> str:
    return page.get_by_role("list", name="Progress").locator('[aria-current="step"]').inner_text()


def test_the_progress_tracker_moves_live_when_the_agent_changes_the_status(
    embedded_server, browser_context
):
    browser_context.add_init_script(
        "document.addEventListener('htmx:wsOpen', () => { window.__portalSocketOpen = true; });"
    )
    page = browser_context.new_page()
    sign_in(page, embedded_server)
    page.get_by_role("navigation").get_by_role("link", name="New ticket").click()
    page.get_by_label("Subject").fill("Relay trips at night")
    page.get_by_label("How can we help?").fill("The RZA-500 trips for no reason.")
    page.get_by_role("button", name="Create ticket").click()
    page.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
    number = re.search(r"(T-\d+)", page.url).group(1)
    assert current_step(page) == "Received"
    page.wait_for_function("() => window.__portalSocketOpen === true", timeout=15_000)
    page.evaluate("window.__notReloaded = true")

    set_status(embedded_server, number, "pending")
    tracker = page.get_by_role("list", name="Progress")
    tracker.locator('[aria-current="step"]', has_text="Waiting for you").wait_for(timeout=10_000)
    assert page.locator(f"#ticket-{number}").get_attribute("data-status") == "pending"

    # A reply from support is read out by the page's status region.
    agent_reply(embedded_server, number, "Please send the fault record.")
    announcer = page.get_by_role("status").filter(has_text="Please send the fault record.")
    announcer.wait_for(timeout=10_000)
    assert announcer.get_attribute("aria-live") == "polite"
    assert "New reply from" in announcer.inner_text()

    set_status(embedded_server, number, "solved")
    tracker.locator('[aria-current="step"]', has_text="Solved").wait_for(timeout=10_000)
    assert tracker.locator('[aria-current="step"]').count() == 1
    assert page.evaluate("window.__notReloaded") is True

    # The list filters by the tracker's steps, on the server.
    page.get_by_role("link", name="Back to my tickets").click()
    page.get_by_label("Status").select_option("solved")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_role("table", name="My tickets")
    table.get_by_role("link", name=number).wait_for()
    assert "status=solved" in page.url


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= 390")


def test_the_portal_is_usable_on_a_390_px_phone(embedded_server, chromium_browser):
    context = chromium_browser.new_context(
        locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, embedded_server)
        assert no_horizontal_scroll(page)

        # "Sign out" stays a small button up in the header, beside the brand,
        # not pushed under the navigation.
        sign_out = page.get_by_role("button", name="Sign out")
        brand = page.get_by_role("link", name="Chatportal").bounding_box()
        out_box = sign_out.bounding_box()
        nav = page.get_by_role("navigation")
        link_boxes = [
            nav.get_by_role("link", name=name).bounding_box()
            for name in ("My tickets", "My equipment", "New ticket", "Knowledge base")
        ]
        assert out_box["x"] + out_box["width"] <= 390
        assert out_box["height"] <= 40
        assert abs((out_box["y"] + out_box["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 12
        assert all(box["y"] >= out_box["y"] + out_box["height"] - 4 for box in link_boxes)
        assert all(box["x"] + box["width"] <= 390 for box in link_boxes)

        table = page.get_by_role("table", name="My tickets")
        first = table.get_by_role("link", name=re.compile(r"^T-\d+$")).first
        first.click()
        page.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
        page.get_by_role("list", name="Progress").wait_for()
        assert no_horizontal_scroll(page)
        reply = page.get_by_label("Your reply")
        reply.fill("Thank you!")
        assert reply.bounding_box()["width"] > 300

        page.get_by_role("link", name="My equipment").click()
        region = page.get_by_role("region", name="My equipment")
        region.get_by_text("RZA-2024-0001").wait_for()
        assert no_horizontal_scroll(page)
    finally:
        context.close()
