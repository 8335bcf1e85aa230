"""'Create article from this ticket': prefilled, linked back, and then found for a similar question."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kb.actions import set_article_status
from kb.models import Article
from kb.search import search_articles
from tickets.actions.lifecycle import change_status

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_solved_tickets_page_offers_to_create_an_article(support_agent, solved_ticket):
    page = signed_in(support_agent).get(reverse("console_ticket", args=[solved_ticket.number]))
    html = page.content.decode()
    assert "Create article from this ticket" in html
    assert f"{reverse('console_kb_new')}?ticket={solved_ticket.number}" in html


def test_an_open_tickets_page_does_not(support_agent, solved_ticket):
    change_status(solved_ticket, "open", by=support_agent)
    page = signed_in(support_agent).get(reverse("console_ticket", args=[solved_ticket.number]))
    assert "Create article from this ticket" not in page.content.decode()


def test_the_form_is_prefilled_with_the_question_and_the_solving_reply(
    support_agent, solved_ticket
):
    page = signed_in(support_agent).get(reverse("console_kb_new"), {"ticket": solved_ticket.number})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="Error E99 after updating the relay"' in html
    assert "My relay shows error E99 since the firmware update yesterday" in html
    assert "Reload the saved settings file and convert it to the new firmware" in html
    assert "Checking the logs" not in html


def test_another_departments_ticket_prefills_nothing(sales_agent, solved_ticket):
    page = signed_in(sales_agent).get(reverse("console_kb_new"), {"ticket": solved_ticket.number})
    assert "My relay shows error E99" not in page.content.decode()


def test_saving_links_the_article_to_the_ticket_both_ways(support_agent, solved_ticket, support):
    client = signed_in(support_agent)
    client.post(
        reverse("console_kb_new"),
        {
            "ticket": solved_ticket.number,
            "title": "Error E99 after a firmware update",
            "body": "Reload the saved settings file and convert it.",
            "locale": "en",
            "audience": "public",
            "departments": [support.pk],
            "action": "save",
        },
    )
    article = Article.objects.get()
    assert list(article.source_tickets.all()) == [solved_ticket]
    edit = client.get(reverse("console_kb_article", args=[article.public_id])).content.decode()
    assert reverse("console_ticket", args=[solved_ticket.number]) in edit
    ticket_page = client.get(
        reverse("console_ticket", args=[solved_ticket.number])
    ).content.decode()
    assert reverse("console_kb_article", args=[article.public_id]) in ticket_page


def test_an_article_from_a_solved_ticket_is_then_suggested_for_a_similar_question(
    support_agent, supervisor, solved_ticket, support
):
    question = "error E99 after firmware update"
    assert search_articles(question, locale="en") == []
    signed_in(support_agent).post(
        reverse("console_kb_new"),
        {
            "ticket": solved_ticket.number,
            "title": solved_ticket.subject,
            "body": "After a firmware update the relay shows error E99.\n\n"
            "## Solution\n\nReload the saved settings file and convert it.",
            "locale": "en",
            "audience": "public",
            "departments": [support.pk],
            "action": "save",
        },
    )
    article = Article.objects.get()
    # A draft is never suggested; once a publisher publishes it, it is.
    assert search_articles(question, locale="en") == []
    set_article_status(article, Article.Status.PUBLISHED, by=supervisor)
    hits = search_articles(question, locale="en", department_id=support.pk)
    assert [hit.article for hit in hits] == [article]
