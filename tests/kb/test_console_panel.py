"""The console's KB panel and "Most-used articles": agents only, internal articles only there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kb.models import Article
from tests.factories import make_contact
from tests.kb.pages_data import make_article
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PANEL = "/console/kb/panel/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def articles(db):
    return {
        "public": make_article(
            "Error E42 after a firmware update",
            slug="error-e42",
            body="Hold **RESET** for 10 seconds & update again.",
        ),
        "internal": make_article(
            "E42 known solution: reflash",
            slug="e42-reflash",
            body="Reflash over the service port.",
            audience=Article.Audience.INTERNAL,
        ),
        "draft": make_article("E42 draft", slug="e42-draft", status=Article.Status.DRAFT),
    }


def test_agents_find_public_and_internal_articles_with_insert_buttons(support_agent, articles):
    response = signed_in(support_agent).get(
        PANEL, {"q": "E42", "locale": "en"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Error E42 after a firmware update" in html
    assert "E42 known solution: reflash" in html
    assert "E42 draft" not in html
    assert html.count(">internal</span>") == 1
    assert 'data-kb-text="http://testserver/kb/en/error-e42/"' in html
    # The answer is plain text, escaped into the attribute; no public link for the internal one.
    assert 'data-kb-text="Hold RESET for 10 seconds &amp; update again."' in html
    assert 'data-kb-text="Reflash over the service port."' in html
    assert "/kb/en/e42-reflash/" not in html


def test_the_panel_searches_the_chosen_locale(support_agent, articles):
    make_article("Eroarea E42", locale="ro", slug="eroarea-e42", body="E42 pe românește")
    html = signed_in(support_agent).get(PANEL, {"q": "E42", "locale": "ro"}).content.decode()
    assert "Eroarea E42" in html and "Error E42 after" not in html


def test_customers_and_strangers_never_reach_the_panel(articles):
    contact = make_contact("Maria Popescu")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    customer = signed_in(contact.portal_user).get(PANEL, {"q": "E42"})
    assert customer.status_code == 302 and customer.url == "/portal/"
    anonymous = Client().get(PANEL, {"q": "E42"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    stranger = signed_in(get_user_model().objects.create_user("stranger"))
    assert stranger.get(PANEL, {"q": "E42"}).status_code == 403


def test_a_too_long_query_is_a_clear_error(support_agent):
    response = signed_in(support_agent).get(PANEL, {"q": "x" * 300}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


def test_the_panel_sits_beside_both_reply_boxes(support_agent, support):
    chats = signed_in(support_agent).get("/console/").content.decode()
    assert 'data-kb-target="reply"' in chats and "Search articles" in chats
    ticket = create_ticket(
        subject="E42 again",
        body="It shows E42.",
        contact=None,
        channel=Ticket.Channel.PORTAL,
        department=support,
        priority="normal",
        author_role=TicketEvent.Role.SYSTEM,
        author_contact=None,
    )
    page = signed_in(support_agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    assert 'data-kb-target="id_body"' in page and 'id="id_body"' in page
    assert f'name="department" value="{support.pk}"' in page


def test_most_used_articles_per_department_rank_deflections_and_ticket_links(
    support_agent, sales_agent, support, sales, supervisor
):
    quiet = make_article("Quiet", slug="quiet", departments=[support])
    viewed = make_article("Viewed", slug="viewed", departments=[support])
    deflecting = make_article("Deflecting", slug="deflecting", departments=[support])
    linked = make_article("Linked from a ticket", slug="linked")
    sales_only = make_article("Sales pricing", slug="pricing", departments=[sales])
    Article.objects.filter(pk=viewed.pk).update(view_count=50)
    Article.objects.filter(pk=deflecting.pk).update(deflection_count=3)
    ticket = create_ticket(
        subject="E42",
        body="E42",
        contact=None,
        channel=Ticket.Channel.PORTAL,
        department=support,
        priority="normal",
        author_role=TicketEvent.Role.SYSTEM,
        author_contact=None,
    )
    linked.source_tickets.add(ticket)
    html = signed_in(support_agent).get("/console/kb/most-used/").content.decode()
    order = [
        html.index(title) for title in ("Deflecting", "Linked from a ticket", "Viewed", "Quiet")
    ]
    assert order == sorted(order)
    assert "Sales pricing" not in html
    assert sales_only.title in signed_in(sales_agent).get("/console/kb/most-used/").content.decode()
    everything = signed_in(supervisor).get("/console/kb/most-used/").content.decode()
    assert "Sales pricing" in everything and "Deflecting" in everything
    assert quiet.title in html


def test_the_ticket_page_panel_asks_for_its_departments_articles_first(
    support_agent, support, articles, monkeypatch
):
    from kb.panel import views

    asked = {}

    def spy(query, **options):
        asked.update(options)
        return []

    monkeypatch.setattr(views, "search_articles", spy)
    signed_in(support_agent).get(PANEL, {"q": "E42", "department": str(support.pk)})
    assert asked["department_id"] == support.pk and asked["include_internal"] is True
    signed_in(support_agent).get(PANEL, {"q": "E42", "department": "x; drop"})
    assert asked["department_id"] is None
