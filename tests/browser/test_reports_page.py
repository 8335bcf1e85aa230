"""The reports page end to end: a manager filters, the numbers change, a number opens its rows.

The demo data has five tickets opened today: four in Support, one in Billing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_wallboard_live import serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def figure(page, label: str):
    return (
        page.locator(".rp-tile")
        .filter(has=page.locator("dt", has_text=re.compile(f"^{label}$")))
        .locator("dd")
    )


def test_filters_change_the_numbers_and_a_number_opens_its_tickets(
    browser_context, embedded_server
):
    page = browser_context.new_page()
    sign_in(page, embedded_server, "sofia", "/console/reports/")
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(figure(page, "Tickets opened")).to_have_text("5")
    # Each chart is an image with a name, followed by its numbers.
    expect(page.get_by_role("img", name=re.compile("^Chats per day"))).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_label("Department").select_option(label="Billing")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"department=\d+"))
    expect(figure(page, "Tickets opened")).to_have_text("1")

    page.get_by_role("link", name="Tickets opened: 1").click()
    page.wait_for_url(re.compile(r"/console/reports/drilldown/\?.*metric=tickets_opened"))
    tickets = page.get_by_role("table", name="Tickets")
    expect(tickets.get_by_role("row")).to_have_count(2)  # the header and one ticket
    ticket = tickets.get_by_role("link", name=re.compile(r"^T-\d+$"))
    number = ticket.inner_text()
    assert serious_violations(page) == []
    ticket.click()
    page.wait_for_url(re.compile(f"/console/tickets/{number}/$"))
