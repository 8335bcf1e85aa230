"""Knowledge-base authoring in Chromium against the demo server: from a solved ticket to a
published article, with a preview, a picture uploaded through htmx, and the links back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.attachment_files import png

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-123"
SUBJECT = "Relay trips on inrush current"


def sign_in(page, server, username: str, next_path: str) -> None:
    page.goto(f"{server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(next_path.split("?")[0])))


def test_an_agent_turns_a_solved_ticket_into_an_article_and_a_supervisor_publishes_it(
    embedded_server, chromium_browser, tmp_path: Path
):
    agent_ctx = chromium_browser.new_context(locale="en-US")
    supervisor_ctx = chromium_browser.new_context(locale="en-US")
    for context in (agent_ctx, supervisor_ctx):
        context.set_default_timeout(15_000)
    try:
        page = agent_ctx.new_page()
        sign_in(page, embedded_server, "boris", "/console/tickets/?status=solved")
        row = page.get_by_role("row").filter(has_text=SUBJECT).first
        row.get_by_role("link", name=re.compile(r"^T-\d+$")).click()
        page.get_by_role("link", name="Create article from this ticket").click()
        page.wait_for_url(re.compile(r"/console/kb/new/\?ticket=T-"))
        body = page.get_by_label("Body (Markdown)")
        # Prefilled with the customer's question and the agent's solving reply.
        assert "declanșează la pornirea transformatorului" in body.input_value()
        assert "armonica a doua" in body.input_value()
        page.get_by_label("Title").fill("Inrush current trips the differential protection")
        body.fill(
            "When a transformer is energised the relay may trip.\n\n## Solution\n\n"
            "Enable **second-harmonic blocking** at 15%."
        )
        page.get_by_role("button", name="Preview").click()
        preview = page.get_by_role("region", name="Preview")
        assert preview.locator("strong").inner_text() == "second-harmonic blocking"

        image = tmp_path / "relay.png"
        image.write_bytes(png(4, 4))
        page.get_by_label("Add an image (PNG, JPEG, GIF, WebP)").set_input_files(str(image))
        page.get_by_role("button", name="Upload image").click()
        markdown = page.get_by_label("Markdown for the image")
        assert re.fullmatch(r"!\[relay\]\(/kb/images/[0-9a-f-]{36}/\)", markdown.input_value())

        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r"/console/kb/[0-9a-f-]{36}/$"))
        article_url = page.url
        assert page.get_by_text("Draft saved.").is_visible()
        tickets = page.get_by_role("region", name="Answers tickets")
        assert SUBJECT in tickets.inner_text()
        assert page.get_by_role("button", name="Publish").count() == 0

        boss = supervisor_ctx.new_page()
        sign_in(boss, embedded_server, "sofia", article_url.removeprefix(embedded_server.url))
        boss.get_by_role("button", name="Publish").click()
        boss.wait_for_url(article_url)
        assert boss.get_by_text("Published.").is_visible()
        history = boss.get_by_role("region", name="History").inner_text()
        assert "published" in history and "Revision 2" in history
    finally:
        agent_ctx.close()
        supervisor_ctx.close()
