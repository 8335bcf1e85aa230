"""Debian Chromium through Playwright, and a third-party host page that embeds the widget.

Chromium is the system's (`/usr/bin/chromium`); a missing browser fails the
tests with a clear message, it never skips them and never downloads one.
The host page lives on its own origin (`http://shop.test`, answered by
Playwright's router, so no port or DNS is needed) and carries hostile CSS,
so every test checks the widget against a page that is not ours.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.live_server import (  # noqa: F401  (fixtures are found by name)
    embedded_server,
    embedded_server_env,
    embedded_template,
    live_secret_key,
)

CHROMIUM = os.environ.get("CHATPORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST_ORIGIN = "http://shop.test"
HOST_PAGE_URL = f"{HOST_ORIGIN}/item/9"
WIDGET_SOURCE = (
    Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "widget.js"
)

# Rules a careless host site really ships; none may reach inside the widget.
HOSTILE_CSS = """
  * { font-family: "Comic Sans MS", serif !important; letter-spacing: 3px; }
  button { background: red !important; color: yellow !important; border: 5px dotted lime; }
  textarea, input { background: black; color: black; }
  div { display: inline; }
  [role=log] { display: none !important; }
"""


def host_page_html(widget_src: str, attributes: Mapping[str, str]) -> str:
    attrs = "".join(f' data-{name}="{html.escape(value)}"' for name, value in attributes.items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        # As any mobile-ready site: phones lay it out at their own width.
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Shop item 9</title>"
        f"<style>{HOSTILE_CSS}</style></head><body>"
        "<h1>Relay terminal RZA-500</h1><button id='buy'>Buy</button>"
        f"<script src='{html.escape(widget_src)}'{attrs} async></script>"
        "</body></html>"
    )


# Module scope, not session: Playwright's sync API keeps an event loop running
# in the main thread while it is open, and pytest-asyncio cannot run the async
# tests collected after the browser modules until it stops.
@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package"
            " (make browser-deps); browser tests never download a browser.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield choosing_english(browser)
        finally:
            browser.close()


# A signed-in customer's pages follow their contact's language (the demo's
# Maria reads Romanian) unless the language switch was used: these browsers
# chose English, as the switch would (tests find controls by English names).
# A choice made by the switch during a test is kept.
CHOOSE_ENGLISH = (
    "if (location.protocol.startsWith('http') && !document.cookie.includes('django_language='))"
    " { document.cookie = 'django_language=en; path=/; SameSite=Lax'; }"
)


def choosing_english(browser: object) -> object:
    """`browser` whose new contexts carry CHOOSE_ENGLISH (`new_context_as_is` does not)."""
    as_is = browser.new_context

    def new_context(*args: object, **kwargs: object) -> object:
        context = as_is(*args, **kwargs)
        context.add_init_script(CHOOSE_ENGLISH)
        return context

    browser.new_context_as_is = as_is
    browser.new_context = new_context
    return browser


@pytest.fixture
def browser_context(chromium_browser) -> Iterator[object]:
    context = chromium_browser.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def serve_host_page(context, widget_src: str, **attributes: str) -> None:
    """Answer http://shop.test/* with a page embedding `widget_src`."""
    body = host_page_html(widget_src, attributes or {"department": "support"})

    def fulfill(route):
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    context.route(f"{HOST_ORIGIN}/**", fulfill)
