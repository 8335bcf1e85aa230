"""Self-service over HTTP: the article embed, help search, portal suggestions and reads."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from kb.deflection import portal_deflections
from kb.models import PortalArticleRead
from kb.self_service import SEARCH_PER_MINUTE
from tests.kb.conftest import make_article
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def test_the_embed_shows_the_sanitized_article_and_may_be_framed(client):
    article = make_article(
        "E42 help", "Reset it. <script>alert(1)</script> [x](javascript:alert(1))"
    )
    response = client.get(reverse("kb_embed", args=[article.public_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>E42 help</h1>" in page
    assert "<script>alert" not in page
    assert 'href="javascript' not in page
    assert "X-Frame-Options" not in response
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("kind", [{"audience": "internal"}, {"status": "draft"}])
def test_the_embed_never_shows_internal_or_draft_articles(client, kind):
    article = make_article("Hidden E42", "secret", **kind)
    assert client.get(reverse("kb_embed", args=[article.public_id])).status_code == 404


def test_help_search_answers_public_articles_in_the_locale_to_any_site(client):
    public = make_article("E42 after an update", "Hold Reset.")
    make_article("E42 internal", "calibration table", audience="internal")
    make_article("Eroarea E42", "Țineți Reset.", locale="ro")
    response = client.get(
        reverse("kb_help_search"), {"q": "E42", "locale": "en-GB"}, HTTP_ORIGIN="http://shop.test"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert [a["id"] for a in response.json()["articles"]] == [str(public.public_id)]
    assert response.json()["articles"][0]["url"] == f"/kb/embed/{public.public_id}/"


def test_help_search_is_rate_limited_per_address(client):
    for _ in range(SEARCH_PER_MINUTE):
        assert client.get(reverse("kb_help_search"), {"q": "x"}).status_code == 200
    refused = client.get(reverse("kb_help_search"), {"q": "x"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "60"


def test_the_new_ticket_subject_searches_articles_as_it_is_typed(client, portal_customer, support):
    client.force_login(portal_customer.portal_user)
    form = client.get(reverse("portal_new_ticket")).content.decode()
    assert f'hx-get="{reverse("kb_portal_suggestions")}"' in form
    assert 'hx-target="#kb-suggestions"' in form
    assert 'id="kb-suggestions"' in form


def test_portal_suggestions_list_public_matches_for_customers_only(client, portal_customer):
    article = make_article("E42 after an update", "Hold Reset.")
    make_article("E42 internal", "calibration table", audience="internal")
    url = reverse("kb_portal_suggestions")
    assert client.get(url, {"subject": "E42"}).status_code == 302  # not signed in
    client.force_login(portal_customer.portal_user)
    fragment = client.get(url, {"subject": "E42"}, HTTP_HX_REQUEST="true").content.decode()
    assert reverse("kb_portal_article", args=[article.public_id]) in fragment
    assert 'aria-label="Suggested articles"' in fragment
    assert "internal" not in fragment
    assert client.get(url, {"subject": "nothing like it"}).content.decode().strip() == ""


def test_reading_an_article_from_the_portal_is_counted(client, portal_customer):
    article = make_article("E42 after an update", "Hold Reset.")
    client.force_login(portal_customer.portal_user)
    response = client.get(reverse("kb_portal_article", args=[article.public_id]))
    assert response.status_code == 200
    assert "Hold" in response.content.decode()
    article.refresh_from_db()
    assert article.view_count == 1
    assert PortalArticleRead.objects.filter(article=article, contact=portal_customer).count() == 1


def test_a_customer_who_reads_and_sends_no_ticket_is_a_portal_deflection(
    client, portal_customer, other_portal_customer, support
):
    article = make_article("E42 after an update", "Hold Reset.")
    for customer in (portal_customer, other_portal_customer):
        client.force_login(customer.portal_user)
        client.get(reverse("kb_portal_article", args=[article.public_id]))
    # The other one still writes a ticket: not deflected.
    create_ticket(
        subject="E42 still there",
        body="Reset did not help",
        contact=other_portal_customer,
        channel=Ticket.Channel.PORTAL,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=other_portal_customer,
    )
    assert [read.contact for read in portal_deflections()] == [portal_customer]
    # A ticket long after the window does not cancel a deflection.
    read = PortalArticleRead.objects.get(contact=other_portal_customer)
    read.read_at = timezone.now() - datetime.timedelta(days=3)
    read.save()
    assert {r.contact for r in portal_deflections()} == {portal_customer, other_portal_customer}
