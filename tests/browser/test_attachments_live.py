"""Attachments in the widget end to end: real daphne, a third-party host page, an agent socket.

The visitor attaches a file with the "Attach file" button; it is uploaded
over HTTP with the visitor token, comes back as an `attachment` event, shows
as a link, and downloads with the token. The agent's file (uploaded with its
API token) shows the same way; a renamed web page is refused with a reason.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from tests import attachment_files as files
from tests.browser import test_widget_live as live
from tests.browser.test_widget_live import open_chat, send_message, take_conversation

# The live widget test's fixtures: its host site, server settings and agent socket.
host_site = live.host_site
embedded_server_env = live.embedded_server_env
agent = live.agent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def agent_upload(server, conversation: str, filename: str, data: bytes) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{server.url}/api/v1/conversations/{conversation}/attachments",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {server.agent_token('boris')}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (our test server)
        assert response.status == 201
        return json.loads(response.read())


def test_a_visitor_attaches_a_file_and_both_sides_get_a_working_link(
    browser_context,
    host_site,
    embedded_server,
    agent,
    tmp_path,
):
    page = open_chat(browser_context, host_site, embedded_server)
    attach = page.get_by_role("button", name="Attach file", exact=True)
    expect(attach).to_be_disabled()  # nothing to attach to before the first message
    send_message(page, "The relay shows E42, photo follows")
    conversation = take_conversation(agent, "The relay shows E42, photo follows")
    expect(attach).to_be_enabled()

    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(
        files=[{"name": "eroare ședință.png", "mimeType": "image/png", "buffer": files.png(2, 2)}]
    )
    log = page.get_by_role("log")
    link = log.get_by_role("link", name="eroare ședință.png", exact=True)
    expect(link).to_be_visible()
    event = agent.wait_for(
        lambda f: (
            f.get("type") == "event"
            and f.get("kind") == "attachment"
            and f.get("conversation") == conversation
        ),
        what="the attachment event",
    )
    assert event["filename"] == "eroare ședință.png" and event["author"]["role"] == "visitor"

    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "saved.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "eroare ședință.png"
    assert saved.read_bytes() == files.png(2, 2)

    # The agent's file (API token) arrives in the widget as a link under the agent's name.
    agent_upload(embedded_server, conversation, "manual.pdf", files.PDF)
    agents_link = log.get_by_role("link", name="manual.pdf", exact=True)
    expect(agents_link).to_be_visible()
    with page.expect_download() as second:
        agents_link.click()
    second.value.save_as(tmp_path / "manual.pdf")
    assert (tmp_path / "manual.pdf").read_bytes() == files.PDF

    # A web page renamed as an image is refused, and the visitor is told why.
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(
        files=[{"name": "cat.png", "mimeType": "image/png", "buffer": files.HTML}]
    )
    expect(log.get_by_text("Not sent:")).to_be_visible()
    expect(log.get_by_role("link", name="cat.png")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
