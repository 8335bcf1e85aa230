"""The console's KB panel in Chromium against a real daphne: an agent searches articles beside
a ticket's reply box and puts an article's link, then an internal answer, into the reply."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import (  # noqa: F401  (fixtures are found by name)
    embedded_server_env,
    host_site,
    open_console,
    open_widget,
    take_chat,
    visitor_says,
)
from tests.live_server import run_chatportal

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PASSWORD = "demo-pass-123"

SEED = """
from kb.models import Article
from tickets.models import Ticket
from queues.models import Department
Article.objects.create(locale="en", slug="error-e42", title="Error E42 after a firmware update",
    body="Hold **RESET** for 10 seconds, then update again.", status="published", audience="public")
Article.objects.create(locale="en", slug="e42-reflash", title="E42 known solution: reflash",
    body="Reflash over the service port.", status="published", audience="internal")
print(Ticket.objects.filter(department__slug="support").order_by("pk").first().number)
"""


def sign_in_agent(page, server, username: str, next_url: str) -> None:
    page.goto(f"{server.url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))


def test_the_kb_panel_inserts_a_link_and_an_answer_into_the_ticket_reply(
    embedded_server, browser_context
):
    number = run_chatportal(embedded_server.env, "shell", "-c", SEED).strip().splitlines()[-1]
    page = browser_context.new_page()
    sign_in_agent(page, embedded_server, "boris", f"/console/tickets/{number}/")
    reply = page.get_by_role("textbox", name="Reply")
    reply.fill("Hello, please see")

    page.get_by_role("searchbox", name="Search articles").fill("E42")
    insert_link = page.get_by_role("button", name="Insert link: Error E42 after a firmware update")
    insert_link.wait_for()
    internal = page.locator(".kb-panel-item").filter(has_text="E42 known solution")
    assert "internal" in internal.inner_text()
    # An internal article has no public page, so no link to insert.
    assert internal.get_by_role("button", name=re.compile("^Insert link")).count() == 0

    insert_link.click()
    link = f"{embedded_server.url}/kb/en/error-e42/"
    assert reply.input_value() == f"Hello, please see {link}"
    assert page.evaluate("document.activeElement.id") == "id_body"

    reply.fill("")
    page.get_by_role("button", name="Insert answer: E42 known solution: reflash").click()
    assert reply.input_value() == "Reflash over the service port."

    # The inserted link is the public article.
    article = browser_context.new_page()
    article.goto(link)
    assert article.get_by_role("heading", level=1).inner_text() == (
        "Error E42 after a firmware update"
    )


def test_an_agent_sends_a_visitor_the_link_the_kb_panel_inserted_into_the_chat_reply(
    browser_context,
    chromium_browser,
    host_site,  # noqa: F811
    embedded_server,
):
    run_chatportal(embedded_server.env, "shell", "-c", SEED)
    console = open_console(browser_context, embedded_server)
    visitor_context = chromium_browser.new_context(locale="en-US")
    try:
        widget = open_widget(
            visitor_context, host_site, embedded_server, name="Ion", email="ion@example.com"
        )
        visitor_says(widget, "My RZA-500 shows error E42")
        take_chat(console, "Ion")

        console.locator("details.kb-panel > summary").click()
        console.get_by_role("searchbox", name="Search articles").fill("E42")
        console.get_by_role("button", name="Insert link: Error E42 after a firmware update").click()
        link = f"{embedded_server.url}/kb/en/error-e42/"
        reply = console.get_by_role("textbox", name="Reply")
        expect(reply).to_have_value(link)
        expect(reply).to_be_focused()
        reply.press("Enter")
        expect(widget.get_by_role("log")).to_contain_text(link)
    finally:
        visitor_context.close()
