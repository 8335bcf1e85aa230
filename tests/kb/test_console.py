"""The console's knowledge-base pages: agents only, escaping, CSRF, revisions, publishing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kb.actions import create_article, update_article
from kb.models import Article

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def edit_url(article: Article) -> str:
    return reverse("console_kb_article", args=[article.public_id])


def form_data(**changes) -> dict:
    return {
        "title": "Title",
        "body": "Body",
        "locale": "en",
        "audience": "public",
        "action": "save",
        **changes,
    }


def test_anonymous_users_sign_in_and_customers_go_to_their_portal(client, customer):
    response = client.get(reverse("console_kb"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = signed_in(customer.portal_user).get(reverse("console_kb"))
    assert response.status_code == 302 and response["Location"] == reverse("portal")


def test_the_list_shows_articles_escaped_and_filters(support_agent):
    create_article(title=XSS, body="x", by=support_agent)
    create_article(title="Другое", body="y", by=support_agent, locale="ru")
    client = signed_in(support_agent)
    html = client.get(reverse("console_kb")).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'aria-current="page">Knowledge base' in html
    only_ru = client.get(reverse("console_kb"), {"locale": "ru"}).content.decode()
    assert "Другое" in only_ru and "&lt;script&gt;" not in only_ru
    assert client.get(reverse("console_kb"), {"locale": "xx"}).status_code == 400


def test_an_agent_creates_a_draft(support_agent, support):
    client = signed_in(support_agent)
    response = client.post(
        reverse("console_kb_new"),
        form_data(
            title="Reset a GW-4", body="Hold **reset**.", departments=[support.pk], note="first"
        ),
    )
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == edit_url(article)
    assert article.status == "draft" and article.created_by == support_agent
    assert article.revisions.get().note == "first"


def test_an_invalid_form_says_what_is_wrong_and_saves_nothing(support_agent):
    response = signed_in(support_agent).post(reverse("console_kb_new"), form_data(title=""))
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Article.objects.exists()


def test_preview_renders_sanitized_markdown_and_saves_nothing(support_agent):
    response = signed_in(support_agent).post(
        reverse("console_kb_new"),
        form_data(body=f"**bold**\n\n{XSS}\n\n[x](javascript:alert(1))", action="preview"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html and "<img src=x onerror" not in html
    assert "<p>&lt;script&gt;alert(&quot;x&quot;)" in html or "<p>&lt;script&gt;alert(" in html
    assert 'href="javascript:' not in html
    assert not Article.objects.exists()


def test_forms_need_the_csrf_token(support_agent, draft):
    client = signed_in(support_agent, enforce_csrf_checks=True)
    assert client.post(reverse("console_kb_new"), form_data()).status_code == 403
    assert client.post(edit_url(draft), form_data()).status_code == 403
    status_url = reverse("console_kb_article_status", args=[draft.public_id])
    assert client.post(status_url, {"status": "published"}).status_code == 403
    assert not Article.objects.exclude(pk=draft.pk).exists()


def test_editing_appends_a_revision_and_revert_brings_the_text_back(support_agent, draft):
    client = signed_in(support_agent)
    client.post(edit_url(draft), form_data(title="Changed", body="New body", note="rewrite"))
    draft.refresh_from_db()
    assert draft.title == "Changed" and draft.revisions.count() == 2
    page = client.get(edit_url(draft)).content.decode()
    assert "Revision 2" in page and "rewrite" in page and "Revert to revision 1" in page
    client.post(reverse("console_kb_article_revert", args=[draft.public_id]), {"revision": "1"})
    draft.refresh_from_db()
    assert draft.title == "Resetting a GW-4 gateway" and draft.revisions.count() == 3


def test_an_agent_cannot_publish_but_a_supervisor_can(support_agent, supervisor, draft):
    status_url = reverse("console_kb_article_status", args=[draft.public_id])
    agent = signed_in(support_agent)
    assert "Publish</button>" not in agent.get(edit_url(draft)).content.decode()
    agent.post(status_url, {"status": "published"})
    draft.refresh_from_db()
    assert draft.status == "draft"
    signed_in(supervisor).post(status_url, {"status": "published"})
    draft.refresh_from_db()
    assert draft.status == "published"
    # Published now: the agent's save is refused and changes nothing.
    response = agent.post(edit_url(draft), form_data(title="Sneaky"))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.title == "Resetting a GW-4 gateway"


def test_agents_of_other_departments_cannot_edit_a_departments_draft(sales_agent, draft):
    response = signed_in(sales_agent).post(edit_url(draft), form_data(title="Mine now"))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.title == "Resetting a GW-4 gateway"


def test_translating_starts_from_the_original_and_joins_its_group(support_agent, draft):
    client = signed_in(support_agent)
    page = client.get(edit_url(draft)).content.decode()
    assert f"translation_of={draft.public_id}&amp;locale=ro" in page
    new = client.get(reverse("console_kb_new"), {"translation_of": draft.public_id, "locale": "ro"})
    assert "Resetting a GW-4 gateway" in new.content.decode()
    client.post(
        reverse("console_kb_new"),
        {
            "translation_of": draft.public_id,
            "locale": "ro",
            "title": "Resetarea GW-4",
            "body": "Țineți apăsat.",
            "action": "save",
        },
    )
    romanian = Article.objects.get(locale="ro")
    assert romanian.translation_group == draft.translation_group
    # Written in every locale already taken: back to the article with a message.
    again = client.get(
        reverse("console_kb_new"), {"translation_of": draft.public_id, "locale": "ro"}
    )
    assert again.status_code == 302


def test_an_unknown_article_is_a_404_page(support_agent):
    client = signed_in(support_agent)
    assert client.get("/console/kb/not-an-id/").status_code == 404
    assert client.get("/console/kb/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_history_shows_who_changed_what(support_agent, supervisor, draft):
    update_article(draft, by=supervisor, note=XSS, body="Other")
    html = signed_in(support_agent).get(edit_url(draft)).content.decode()
    assert "Victor" in html and "<script>alert" not in html
