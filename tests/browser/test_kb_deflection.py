"""Done when (issue 14): a visitor asks about error E42, reads the suggested article, is helped.

Real daphne, the widget on a third-party page, an agent online on a plain
socket: the chat ends as deflected and never reaches the agent.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import test_widget_live as live
from tests.browser.test_widget_live import open_chat, send_message

# The live widget test's fixtures: its host site, server settings and agent socket.
host_site = live.host_site
embedded_server_env = live.embedded_server_env
agent = live.agent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CREATE_E42_ARTICLE = (
    "from kb.models import Article;"
    " from queues.models import Department;"
    " Department.objects.filter(slug='support').update(routing_mode='manual');"
    # Its own article, beside the demo data's E42 article (another title, another text).
    " Article.objects.create(locale='en', slug='terminal-error-e42',"
    " title='Terminal error E42: hold Reset to recalibrate',"
    " body='Error **E42** means the relay lost its calibration.\\n\\n"
    "Hold *Reset* for ten seconds, then restart the terminal.',"
    " status='published', audience='public')"
)


def test_a_visitor_asking_about_e42_is_helped_by_an_article_and_never_queued_for_an_agent(
    browser_context, host_site, embedded_server, agent
):
    # Manual routing: with Boris online the chat waits for him to pick it (not offline, no ticket).
    embedded_server.run("shell", "-c", CREATE_E42_ARTICLE)
    page = open_chat(browser_context, host_site, embedded_server)
    send_message(page, "My terminal shows error E42")

    suggested = page.get_by_role("list", name="Suggested articles")
    article = suggested.get_by_role("button", name="Terminal error E42: hold Reset to recalibrate")
    expect(article).to_be_visible()
    article.click()
    reader = page.frame_locator("iframe[title='Terminal error E42: hold Reset to recalibrate']")
    expect(reader.get_by_role("heading", name="Terminal error E42")).to_be_visible()
    expect(reader.get_by_text("Hold Reset for ten seconds")).to_be_visible()

    page.get_by_role("button", name="This solved my problem").click()
    expect(page.get_by_role("log")).to_contain_text("Chat ended")
    expect(page.get_by_role("button", name="Start new chat")).to_be_visible()

    state = embedded_server.run(
        "shell",
        "-c",
        "from chat.models import Conversation as C;"
        " from kb.models import Article;"
        " c = C.objects.get();"
        " a = Article.objects.get(slug='terminal-error-e42');"
        " print(c.state, c.deflected_article == a.public_id, c.assigned_agent_id,"
        " c.events.filter(kind='assigned').count(), c.events.get(kind='closed').payload['reason'],"
        " a.deflection_count, C.objects.filter(state='queued').count(), sep='|')",
    )
    assert state.strip().splitlines()[-1] == "closed|True|None|0|deflected|1|0"
    # Boris's queue shows it gone; he was never offered or assigned it.
    agent.wait_for(
        lambda f: (
            f.get("type") == "queue" and f.get("waiting") == 0 and f.get("department") == "support"
        ),
        what="the empty support queue",
    )
    assert not [f for f in agent.frames if f.get("type") == "assigned"]


def test_the_widget_offers_search_help_before_the_first_message_where_the_department_wants_it(
    browser_context, host_site, embedded_server
):
    embedded_server.run(
        "shell",
        "-c",
        CREATE_E42_ARTICLE
        + "; Department.objects.filter(slug='support').update(kb_search_box=True)",
    )
    page = open_chat(browser_context, host_site, embedded_server)
    page.get_by_role("searchbox", name="Search help").fill("E42")
    found = page.get_by_role("list", name="Suggested articles")
    found.get_by_role("button", name="Terminal error E42: hold Reset to recalibrate").click()
    reader = page.frame_locator("iframe[title='Terminal error E42: hold Reset to recalibrate']")
    expect(reader.get_by_text("Hold Reset for ten seconds")).to_be_visible()
    # No chat yet: nothing to end as solved.
    expect(page.get_by_role("button", name="This solved my problem")).to_be_hidden()
    page.get_by_role("button", name="Back to chat").click()
    send_message(page, "Still broken")
    expect(page.get_by_role("searchbox", name="Search help")).to_be_hidden()


def test_the_portal_suggests_articles_while_the_subject_is_typed_and_counts_a_read(
    browser_context, embedded_server
):
    embedded_server.run("shell", "-c", CREATE_E42_ARTICLE)
    page = browser_context.new_page()
    page.goto(f"{embedded_server.url}/portal/")
    page.get_by_label("E-mail").fill("customer1@example.com")
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My tickets").wait_for()
    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_label("Subject").press_sequentially("error E42", delay=30)
    suggested = page.get_by_role("list", name="Suggested articles")
    link = suggested.get_by_role("link", name="Terminal error E42: hold Reset to recalibrate")
    expect(link).to_be_visible()
    with page.expect_popup() as opened:
        link.click()
    expect(opened.value.get_by_text("Hold Reset for ten seconds")).to_be_visible()
    reads = embedded_server.run(
        "shell",
        "-c",
        "from kb.deflection import portal_deflections;"
        " print(portal_deflections().count(), portal_deflections().get().contact.portal_user.email)",
    )
    assert reads.strip().splitlines()[-1] == "1 customer1@example.com"
