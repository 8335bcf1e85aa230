"""The wall-board end to end: real daphne, Chromium as the supervisor's TV, a visitor on a socket.

A visitor connects and writes (nobody is online, so the chat waits): the
board in the browser moves from 0 to 1 waiting without a reload. The board
fits a 1920x1080 and a 1366x768 screen without scrolling, and axe-core finds
no serious or critical violation.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SUPERVISOR = "sofia"  # the demo data's supervisor
PASSWORD = "demo-pass-123"


def sign_in(page, server, username: str, next_path: str) -> None:
    page.goto(f"{server.url}{next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def waiting_now(page):
    return page.get_by_role("group", name="Waiting now").locator('[data-metric="waiting"]')


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def test_the_board_moves_live_when_a_visitor_starts_waiting(browser_context, embedded_server):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in(page, embedded_server, SUPERVISOR, "/console/wallboard/")
    expect(waiting_now(page)).to_have_text("0")
    expect(page.get_by_role("status")).to_have_text("Live")

    with contextlib.closing(
        connect(
            embedded_server.ws_url("/ws/widget/"), origin=embedded_server.origin, open_timeout=20
        )
    ) as visitor:
        visitor.send(
            json.dumps({"type": "hello", "department": "support", "profile": {"name": "Ana"}})
        )
        assert json.loads(visitor.recv(timeout=20))["type"] == "welcome"
        visitor.send(
            json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "body": "Hello?"})
        )
        expect(waiting_now(page)).to_have_text("1", timeout=5_000)
        support = page.locator('tr[data-department="support"] [data-metric="waiting"]')
        expect(support).to_have_text("1")

    for width, height in ((1920, 1080), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate(
            "() => [document.documentElement.scrollHeight > innerHeight,"
            " document.documentElement.scrollWidth > innerWidth]"
        )
        assert overflow == [False, False], (width, height)
        # Nothing is cut off inside the board either.
        bottom = page.locator(".wb-updated").bounding_box()
        assert bottom["y"] + bottom["height"] <= height
    assert serious_violations(page) == []


def test_an_agent_who_is_no_supervisor_gets_a_403_page(browser_context, embedded_server):
    page = browser_context.new_page()
    page.goto(f"{embedded_server.url}/console/wallboard/")
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Supervisors only")).to_be_visible()
