"""The widget's end-of-chat rating with its comment, in Chromium on a third-party page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget_live import (
    agent,
    embedded_server_env,
    host_site,
    open_chat,
    send_message,
    take_conversation,
)

# Fixtures of the widget's tests, found by name.
__all__ = ["agent", "embedded_server_env", "host_site"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_the_visitor_rates_with_a_comment_and_the_agent_gets_both(
    browser_context, host_site, embedded_server, agent
):
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "My relay shows error E42")
    conversation = take_conversation(agent, "My relay shows error E42")
    agent.say(conversation, "Fixed on our side.")
    agent.send({"type": "close", "conversation": conversation})

    comment = page.get_by_role("textbox", name="Comment (optional)")
    expect(comment).to_be_visible()
    comment.fill("<b>Quick</b> and kind")
    page.get_by_role("button", name="4 of 5").click()

    rated = agent.wait_for(
        lambda f: f.get("type") == "event" and f.get("kind") == "rated",
        what="the rating",
    )
    assert (rated["score"], rated["comment"]) == (4, "<b>Quick</b> and kind")
    log = page.get_by_role("log")
    expect(log).to_contain_text("4 of 5 — <b>Quick</b> and kind")
    assert log.locator("b").count() == 0
    expect(comment).to_be_hidden()
