"""Getting into the portal without a password, end to end (issue #15, "Done when").

An anonymous visitor leaves their e-mail in the widget; nobody is online, so
the chat becomes a ticket. The acknowledgement (read from the outbox table
of the live server) carries a signed link: it opens the portal on that
ticket, and only that one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget_live import (  # noqa: F401  (fixtures are found by name)
    IDENTITY_SECRET,
    host_site,
    open_chat,
    send_message,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def embedded_server_env(host_site) -> dict[str, str]:  # noqa: F811
    return {
        "CHATPORTAL_WIDGET_ORIGINS": host_site.origin,
        "CHATPORTAL_IDENTITY_SECRET": IDENTITY_SECRET,
        "CHATPORTAL_TICKET_ACKNOWLEDGEMENTS": "true",
    }


def _last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_the_acknowledgement_link_opens_the_portal_on_that_ticket_and_no_other(
    browser_context,
    host_site,  # noqa: F811
    embedded_server,
):
    embedded_server.run(
        "shell",
        "-c",
        "from queues.models import Department;"
        " Department.objects.filter(slug='support').update("
        "is_24x7=True, auto_ticket_after_s=0, long_wait_s=60)",
    )
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "Does the RZA-500 work with 230 V?")
    log = page.get_by_role("log")
    page.get_by_role("button", name="Leave a message instead", exact=True).click()
    page.get_by_role("textbox", name="E-mail (optional)", exact=True).fill("dana@example.com")
    send_message(page, "Please answer by e-mail")
    expect(log).to_contain_text(re.compile(r"Ticket T-\d+"), timeout=30_000)

    # The acknowledgement, as the outbox holds it.
    mailed = embedded_server.run(
        "shell",
        "-c",
        "from tickets.models import OutboundEmail as O;"
        " m = O.objects.get(kind='acknowledgement', to=['dana@example.com']);"
        " print(m.ticket.number, m.text_body.replace(chr(10), ' '), sep='|')",
    )
    number, body = _last_line(mailed).split("|", 1)
    expect(log).to_contain_text(f"Ticket {number}")
    [link] = re.findall(rf"https?://\S+/portal/t/{number}/\S+/", body)

    # Someone else's ticket, to try next.
    other = _last_line(
        embedded_server.run(
            "shell",
            "-c",
            "from crm.models import Contact; from queues.models import Department;"
            " from tickets.actions.messages import create_ticket;"
            " c = Contact.objects.create(name='Somebody Else');"
            " t = create_ticket(subject='Private matter', body='Not yours', contact=c,"
            " channel='web', department=Department.objects.get(slug='support'),"
            " author_role='customer', author_contact=c); print(t.number)",
        )
    )

    portal = browser_context.new_page()
    portal.goto(embedded_server.url + urlsplit(link).path)
    expect(portal).to_have_url(re.compile(rf"/portal/tickets/{number}/$"))
    expect(portal.get_by_text("Does the RZA-500 work with 230 V?").first).to_be_visible()

    # The same session, another number: not found, like a ticket that does not exist.
    response = portal.goto(f"{embedded_server.url}/portal/tickets/{other}/")
    assert response is not None and response.status == 404
    expect(portal.get_by_text("Private matter")).to_have_count(0)

    # The link edited to name the other ticket opens nothing either.
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]
    response = portal.goto(f"{embedded_server.url}/portal/t/{other}/{token}/")
    assert response is not None and response.status == 400
