"""axe-core over every screen, in English, against the demo server: no serious or critical violation.

One server for the module (the seeded demo data plus a chat and a ticket the
tests make), one signed-in agent and one signed-in customer whose sessions
are reused by each page's test. The helper's own test proves the check can
fail: a page with an unlabeled field and an image without `alt` is refused.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator

import jwt
import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import (
    assert_no_serious_violations,
    axe_violations,
    serious_violations,
)
from tests.browser.conftest import host_page_html
from tests.browser.test_widget_live import HostSite
from tests.live_server import DaphneWorker, LiveServer, embedded_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PASSWORD = "demo-pass-123"
AGENT = "boris"
CUSTOMER = "customer1@example.com"
IDENTITY_SECRET = "axe-identity-secret-0123456789abcdef0123"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 820}


# --------------------------------------------------------------------------
# The check itself can fail


def test_the_check_fails_on_an_unlabeled_field_and_an_image_without_alt(browser_context):
    page = browser_context.new_page()
    page.set_content(
        "<!doctype html><html lang='en'><head><title>Broken</title></head><body><main>"
        "<h1>Broken</h1><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='>"
        "<input type='text' id='q'></main></body></html>"
    )
    found = {v["id"] for v in serious_violations(axe_violations(page))}
    assert {"image-alt", "label"} <= found
    with pytest.raises(AssertionError) as failure:
        assert_no_serious_violations(page, context="the broken page")
    message = str(failure.value)
    assert "image-alt (critical)" in message and "label (critical)" in message
    assert "#q" in message and "the broken page" in message


def test_the_check_reaches_into_the_open_shadow_root_it_is_pointed_at(browser_context):
    # The widget lives in an open shadow root on a stranger's page.
    page = browser_context.new_page()
    page.set_content(
        "<!doctype html><html lang='en'><head><title>Host</title></head><body>"
        "<h1>Host</h1><div id='widget'></div><script>"
        "document.getElementById('widget').attachShadow({mode: 'open'}).innerHTML ="
        " '<textarea></textarea>';</script></body></html>"
    )
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        assert_no_serious_violations(page, selector="#widget")


def test_the_check_passes_a_clean_page_and_ignores_minor_findings(browser_context):
    page = browser_context.new_page()
    # No landmark around the paragraph: a moderate finding, not a failure.
    page.set_content(
        "<!doctype html><html lang='en'><head><title>Fine</title></head><body>"
        "<h1>Fine</h1><p>Plain text.</p><label for='q'>Query</label><input id='q'></body></html>"
    )
    assert axe_violations(page)  # something minor is there...
    assert_no_serious_violations(page)  # ...and it is not a failure


# --------------------------------------------------------------------------
# One demo server for the module


@pytest.fixture(scope="module")
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedded_template, live_secret_key, host_site) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("axe")
    data_dir = work / "data"
    data_dir.mkdir()
    for path in embedded_template.glob("chatportal.sqlite3*"):
        shutil.copy2(path, data_dir / path.name)
    env = embedded_env(
        data_dir,
        secret_key=live_secret_key,
        extra={
            "CHATPORTAL_WIDGET_ORIGINS": host_site.origin,
            "CHATPORTAL_IDENTITY_SECRET": IDENTITY_SECRET,
        },
    )
    worker = DaphneWorker(env, work / "worker.log", name="axe")
    worker.start()
    live = LiveServer(env=env, workers=[worker], data_dir=data_dir)
    host_site.page_html = host_page_html(f"{worker.url}/widget.js", {"department": "support"})
    try:
        yield live
    finally:
        live.stop()
        print(live.log_tails())


@pytest.fixture(scope="module")
def agent_state(chromium_browser, server) -> dict:
    context = chromium_browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{server.url}/accounts/login/?next=/console/tickets/")
        page.get_by_label("Username").fill(AGENT)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/tickets/"))
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def customer_state(chromium_browser, server) -> dict:
    context = chromium_browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{server.url}/portal/login/")
        page.get_by_label("E-mail").fill(CUSTOMER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="My tickets").wait_for()
        return context.storage_state()
    finally:
        context.close()


def new_page(
    browser, state: dict | None = None, viewport: dict | None = None, color_scheme: str = "light"
):
    context = browser.new_context(
        locale="en-US",
        viewport=viewport or DESKTOP,
        storage_state=state,
        color_scheme=color_scheme,
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


def settle(page) -> None:
    """Let htmx swaps and sockets finish so axe sees the page a person would."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def check(page, what: str) -> None:
    settle(page)
    assert_no_serious_violations(page, context=f"{what} ({page.url})")


# --------------------------------------------------------------------------
# Public pages


@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/kb/en/", "/portal/login/", "/portal/login/link/"],
    ids=["root", "agent-login", "kb-home", "portal-login", "portal-link-request"],
)
def test_public_page_has_no_serious_violation(chromium_browser, server, path):
    context, page = new_page(chromium_browser)
    try:
        page.goto(f"{server.url}{path}")
        check(page, path)
    finally:
        context.close()


def test_a_public_kb_article_has_no_serious_violation(chromium_browser, server):
    context, page = new_page(chromium_browser)
    try:
        page.goto(f"{server.url}/kb/en/rza-500-error-e42-after-firmware-update/")
        page.get_by_role("heading", level=1).wait_for()
        check(page, "the KB article")
    finally:
        context.close()


# --------------------------------------------------------------------------
# The widget on a phone


def test_the_widget_closed_open_and_in_a_conversation_on_a_phone(
    chromium_browser, server, host_site
):
    context, page = new_page(chromium_browser, viewport=PHONE)
    try:
        page.goto(host_site.url)
        launcher = page.get_by_role("button", name="Open chat", exact=True)
        launcher.wait_for()
        # Only the widget is ours: the host page is a stranger's.
        widget = "[data-chatportal='widget']"
        check_widget = lambda what: (  # noqa: E731
            settle(page),
            assert_no_serious_violations(page, context=what, selector=widget),
        )
        check_widget("the closed widget")
        launcher.click()
        box = page.get_by_role("textbox", name="Message", exact=True)
        box.wait_for()
        check_widget("the open widget")
        box.fill("Hello, my relay shows error E42.")
        page.get_by_role("button", name="Send", exact=True).click()
        page.get_by_role("log").get_by_text("Hello, my relay shows error E42.").wait_for()
        check_widget("the widget in a conversation")
        page.get_by_role("button", name="End chat", exact=True).click()
        page.get_by_text("Chat ended").first.wait_for()
        check_widget("the widget after the chat ended")
    finally:
        context.close()


# --------------------------------------------------------------------------
# The portal, signed in


# The portal follows the system's colour scheme: both must keep their contrast.
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_my_tickets_and_a_ticket_page_have_no_serious_violation(
    chromium_browser, server, customer_state, scheme
):
    context, page = new_page(chromium_browser, customer_state, color_scheme=scheme)
    try:
        page.goto(f"{server.url}/portal/")
        page.get_by_role("heading", name="My tickets").wait_for()
        check(page, "My tickets")
        page.get_by_role("link", name=re.compile(r"^T-\d+")).first.click()
        page.wait_for_url(re.compile(r"/portal/tickets/T-\d+/$"))
        check(page, "a portal ticket")
    finally:
        context.close()


def test_the_new_ticket_form_has_no_serious_violation(chromium_browser, server, customer_state):
    context, page = new_page(chromium_browser, customer_state)
    try:
        page.goto(f"{server.url}/portal/tickets/new/")
        check(page, "the new ticket form")
    finally:
        context.close()


# --------------------------------------------------------------------------
# The console, signed in as a support agent


def test_the_console_with_a_chat_open_has_no_serious_violation(
    chromium_browser, server, host_site, agent_state
):
    visitor_ctx, visitor = new_page(chromium_browser)
    context, page = new_page(chromium_browser, agent_state)
    # Maria, signed in on the host site: the customer panel holds her whole record.
    token = jwt.encode(
        {"sub": "crm-1", "exp": int(time.time()) + 600, "name": "Maria Popescu", "email": CUSTOMER},
        IDENTITY_SECRET,
        algorithm="HS256",
    )
    anonymous_page = host_site.page_html
    host_site.page_html = host_page_html(
        f"{server.url}/widget.js", {"department": "support", "identity-jwt": token}
    )
    try:
        page.goto(f"{server.url}/console/")
        page.locator("#connection[data-state='connected']").wait_for()
        # Before any chat is open the page still has its one level-1 heading.
        expect(page.get_by_role("heading", level=1)).to_have_text("Agent console")
        page.get_by_label("Presence").select_option("online")
        visitor.goto(host_site.url)
        visitor.get_by_role("button", name="Open chat", exact=True).click()
        visitor.get_by_role("textbox", name="Message", exact=True).fill("Is my contract active?")
        visitor.get_by_role("button", name="Send", exact=True).click()
        # Other tests' visitors may still wait in the queue: take Maria's chat.
        item = page.locator("#offers li.item, #queues li.item").filter(has_text="Maria Popescu")
        item.get_by_role("button", name="Accept").first.click()
        page.get_by_role("textbox", name="Reply").wait_for()
        page.get_by_text("Is my contract active?").first.wait_for()
        expect(page.get_by_role("complementary", name="Customer")).to_contain_text("RZA-2024-0001")
        check(page, "the console with a chat open")
        # The composer's canned responses and the header's search, open.
        page.get_by_role("textbox", name="Reply").press_sequentially("/")
        page.get_by_role("listbox", name="Canned responses").get_by_role("option").first.wait_for()
        check(page, "the console with the canned responses open")
        page.keyboard.press("Escape")
        page.get_by_role("combobox", name="Search customers").press_sequentially("Maria", delay=20)
        found = page.get_by_role("listbox", name="Contacts and tickets found")
        found.get_by_role("option").first.wait_for()
        check(page, "the console with search results open")
        page.keyboard.press("Escape")
        # A call rings the support line: the pop with the caller's record.
        ring(server)
        page.get_by_role("region", name="Incoming call").get_by_text(
            "Maria Popescu"
        ).first.wait_for()
        check(page, "the console with an incoming call")
    finally:
        host_site.page_html = anonymous_page
        context.close()
        visitor_ctx.close()


def ring(server) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/v1/calls",
        data=json.dumps(
            {
                "call_id": "axe-1",
                "phone": "0721 234 567",
                "direction": "inbound",
                "state": "ringing",
                "department": "support",
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {server.agent_token('sofia')}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 201


@pytest.mark.parametrize(
    "path",
    [
        "/console/tickets/",
        "/console/search/?q=Maria",
        "/console/calls/",
        "/console/kb/",
        "/console/kb/new/",
    ],
    ids=["tickets", "search", "calls", "kb-authoring", "kb-new-article"],
)
def test_console_page_has_no_serious_violation(chromium_browser, server, agent_state, path):
    context, page = new_page(chromium_browser, agent_state)
    try:
        page.goto(f"{server.url}{path}")
        check(page, path)
    finally:
        context.close()


def test_a_console_ticket_and_a_contact_page_have_no_serious_violation(
    chromium_browser, server, agent_state
):
    context, page = new_page(chromium_browser, agent_state)
    try:
        page.goto(f"{server.url}/console/tickets/?status=solved")
        page.locator("#ticket-results").get_by_role(
            "link", name=re.compile(r"^T-\d+$")
        ).first.click()
        page.wait_for_url(re.compile(r"/console/tickets/T-\d+/$"))
        check(page, "a console ticket")
        page.goto(f"{server.url}/console/search/?q=Maria")
        page.get_by_role("link", name=re.compile("Maria Popescu")).first.click()
        page.wait_for_url(re.compile(r"/console/contacts/[0-9a-f-]{36}/$"))
        check(page, "a contact page")
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/console/reports/", "/console/wallboard/"])
def test_pages_built_by_others_have_no_serious_violation(
    chromium_browser, server, agent_state, path
):
    context, page = new_page(chromium_browser, agent_state)
    try:
        response = page.goto(f"{server.url}{path}")
        if response is None or response.status == 404:
            pytest.skip(f"{path} does not exist on this branch yet (built in another part of #15)")
        check(page, path)
    finally:
        context.close()
