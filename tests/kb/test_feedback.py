"""View counts and "Was this helpful?" votes on the public article pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from kb import feedback
from kb.models import ArticleVote
from tests.factories import make_contact
from tests.kb.pages_data import BROWSER, CRAWLER, make_article

pytestmark = pytest.mark.django_db

URL = "/kb/en/error-e42/"
VOTE = "/kb/en/error-e42/vote/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def article(db):
    return make_article("Error E42", slug="error-e42")


def reader(**extra) -> Client:
    return Client(HTTP_USER_AGENT=BROWSER, **extra)


def views_of(article) -> int:
    article.refresh_from_db()
    return article.view_count


def test_a_view_counts_once_per_session(article):
    first, second = reader(), reader()
    for _ in range(3):
        assert first.get(URL).status_code == 200
    second.get(URL)
    assert views_of(article) == 2


def test_robots_prefetches_and_head_requests_are_no_views_and_write_nothing(article):
    Client(HTTP_USER_AGENT=CRAWLER).get(URL)
    Client().get(URL)  # no User-Agent at all
    reader(HTTP_SEC_PURPOSE="prefetch").get(URL)
    assert reader().head(URL).status_code == 200
    assert views_of(article) == 0
    # A crawler's visit reads; it neither counts nor opens a session.
    crawler = Client(HTTP_USER_AGENT=CRAWLER)
    crawler.get(URL)
    assert "sessionid" not in crawler.cookies


def test_a_reader_votes_once_and_may_change_their_mind(article):
    client = reader()
    client.get(URL)
    for _ in range(2):
        assert client.post(VOTE, {"helpful": "yes"}, HTTP_HX_REQUEST="true").status_code == 200
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 0)
    response = client.post(VOTE, {"helpful": "no"}, HTTP_HX_REQUEST="true")
    assert "We will improve this article" in response.content.decode()
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (0, 1)
    assert ArticleVote.objects.filter(article=article).count() == 1
    reader().post(VOTE, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    article.refresh_from_db()
    assert (article.helpful_count, article.unhelpful_count) == (1, 1)


def test_a_signed_in_customer_votes_as_themselves_in_any_browser(article):
    from django.contrib.auth import get_user_model

    contact = make_contact("Maria Popescu")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    for _ in range(2):
        client = reader()
        client.force_login(contact.portal_user)
        client.post(VOTE, {"helpful": "yes"})
    vote = ArticleVote.objects.get(article=article)
    assert vote.voter == f"contact:{contact.public_id}"
    article.refresh_from_db()
    assert article.helpful_count == 1


def test_without_javascript_a_vote_comes_back_to_the_article_which_thanks(article):
    client = reader()
    response = client.post(VOTE, {"helpful": "yes"})
    assert response.status_code == 302 and response.url == URL + "#helpful"
    assert "Glad it helped" in client.get(URL).content.decode()


def test_a_vote_needs_a_yes_or_a_no(article):
    response = reader().post(VOTE, {"helpful": "maybe"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Choose yes or no" in response.content.decode()
    assert not ArticleVote.objects.exists()


def test_votes_are_rate_limited_per_client_address(article, settings):
    for i in range(feedback.VOTES_PER_CLIENT):
        make_article(f"Other {i}", slug=f"other-{i}")
    for i in range(feedback.VOTES_PER_CLIENT):
        ok = reader().post(f"/kb/en/other-{i}/vote/", {"helpful": "yes"}, HTTP_HX_REQUEST="true")
        assert ok.status_code == 200
    refused = reader().post(VOTE, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 429
    assert "Too many votes" in refused.content.decode()
    article.refresh_from_db()
    assert article.helpful_count == 0
    # Another address still votes.
    other = reader(REMOTE_ADDR="192.0.2.7").post(VOTE, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    assert other.status_code == 200


def test_a_vote_without_the_csrf_token_is_refused(article):
    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER)
    assert client.post(VOTE, {"helpful": "yes"}).status_code == 403
    page = client.get(URL)
    token = page.cookies["csrftoken"].value
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    accepted = client.post(VOTE, {"helpful": "yes", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert ArticleVote.objects.count() == 1
