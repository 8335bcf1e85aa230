"""Their time and their language, in a real browser (issue #15).

Maria's contact lives in Europe/Bucharest; her browser here claims
Asia/Vladivostok. The portal writes her dates in her contact's zone (the
stored one wins over the browser's), each in a `<time datetime="…Z">`,
and the "Language" select turns the page Romanian. An agent with no zone
of their own gets the one their browser reports.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import translation
from django.utils.formats import date_format

pytestmark = pytest.mark.browser

CUSTOMER = "customer1@example.com"
PASSWORD = "demo-pass-123"


def expected_text(stamp: str, zone: str, language: str, fmt: str) -> str:
    moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    with translation.override(language):
        return date_format(moment.astimezone(zoneinfo.ZoneInfo(zone)), fmt)


def times_on(page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "main time[datetime]", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])"
    )


def test_the_portal_shows_times_in_the_contacts_zone_and_switches_to_romanian(
    embedded_server, chromium_browser
):
    context = chromium_browser.new_context(locale="en-US", timezone_id="Asia/Vladivostok")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{embedded_server.url}/portal/")
        page.get_by_label("E-mail").fill(CUSTOMER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="My tickets").wait_for()

        times = times_on(page)
        assert times, "Maria's demo tickets show their last update"
        for stamp, text in times:
            assert stamp.endswith("Z")
            assert text == expected_text(stamp, "Europe/Bucharest", "en", "DATETIME_FORMAT")

        page.get_by_label("Language").select_option("ro")
        page.get_by_role("heading", name="Tichetele mele").wait_for()
        assert page.locator("html").get_attribute("lang") == "ro"
        for stamp, text in times_on(page):
            assert text == expected_text(stamp, "Europe/Bucharest", "ro", "DATETIME_FORMAT")
        # The switch is now in Romanian, still a select; the choice sticks on a reload.
        page.reload()
        page.get_by_label("Limbă").wait_for()
        assert page.get_by_label("Limbă").input_value() == "ro"
    finally:
        context.close()
    saved = embedded_server.run(
        "shell",
        "-c",
        "from crm.models import Contact; "
        "print(Contact.objects.get(emails__email='customer1@example.com').locale)",
    )
    assert saved.strip().splitlines()[-1] == "ro"


def test_an_agent_without_a_zone_sees_the_console_in_the_browsers_zone(
    embedded_server, chromium_browser
):
    context = chromium_browser.new_context(locale="en-US", timezone_id="Asia/Vladivostok")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{embedded_server.url}/console/tickets/")
        page.get_by_label("Username").fill("boris")
        page.get_by_label("Password").fill("demo-pass-123")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/tickets/**")
        # The first page asks the browser and shows itself again in its zone.
        page.wait_for_function(
            "() => !document.querySelector('script[data-report-zone-url]')", timeout=15_000
        )
        times = times_on(page)
        assert times
        for stamp, text in times:
            assert text == expected_text(stamp, "Asia/Vladivostok", "en", "SHORT_DATETIME_FORMAT")
        page.get_by_role("link", name="Settings").click()
        assert page.get_by_label("Time zone").input_value() == ""  # still "from my browser"
    finally:
        context.close()
