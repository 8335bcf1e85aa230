"""`GET /api/v1/kb/search`: who sees what, validation, the rate limit, the answer's shape."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from kb.models import Article
from queues.tokens import issue_agent_token
from tests.api.conftest import assert_error
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

URL = "/api/v1/kb/search"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def articles():
    public = Article.objects.create(
        title="Garanția aparatului RZA-500",
        body="Garanția acoperă <b>doi</b> ani.",
        locale="ro",
        slug="garantia-rza-500",
        status="published",
    )
    internal = Article.objects.create(
        title="Garanție extinsă pentru revânzători",
        body="Soluție cunoscută.",
        locale="ro",
        slug="garantie-revanzatori",
        status="published",
        audience="internal",
    )
    return public, internal


@pytest.fixture
def agent_client(db):
    token = issue_agent_token(make_agent("boris", ["support"]))
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_anonymous_callers_get_public_articles_only(client, articles):
    public, _internal = articles
    response = client.get(URL, {"q": "garantie", "locale": "ro"})
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result == {
        "id": str(public.public_id),
        "title": "Garanția aparatului RZA-500",
        "url": "/kb/ro/garantia-rza-500/",
        "snippet": "<mark>Garanția</mark> acoperă &lt;b&gt;doi&lt;/b&gt; ani.",
        "locale": "ro",
        "audience": "public",
    }


def test_an_agent_token_adds_the_internal_articles(agent_client, articles):
    response = agent_client.get(URL, {"q": "garanții", "locale": "ro"})
    assert response.status_code == 200
    assert {r["audience"] for r in response.json()["results"]} == {"public", "internal"}


def test_an_invalid_token_is_refused_not_treated_as_anonymous(client, articles):
    response = client.get(URL, {"q": "garantie", "locale": "ro"}, HTTP_AUTHORIZATION="Bearer nope")
    assert_error(response, 401, "unauthorized")


def test_an_empty_bearer_is_anonymous(client, articles):
    response = client.get(URL, {"q": "garantie", "locale": "ro"}, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 200  # an empty bearer is no token: anonymous
    assert [r["audience"] for r in response.json()["results"]] == ["public"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "g", "locale": "ro"},
        {"q": "x" * 101, "locale": "ro"},
        {"q": "garantie", "locale": "de"},
        {"q": "garantie"},
        {"locale": "ro"},
        {"q": "garantie", "locale": "ro", "limit": 0},
        {"q": "garantie", "locale": "ro", "limit": 21},
    ],
)
def test_invalid_parameters_answer_422(client, params):
    assert_error(client.get(URL, params), 422, "invalid")


def test_a_query_of_blanks_answers_400(client):
    assert_error(client.get(URL, {"q": "    ", "locale": "en"}), 400, "invalid")


def test_nothing_found_is_an_empty_list(client, articles):
    response = client.get(URL, {"q": "imprimantă", "locale": "ro"})
    assert response.json() == {"results": []}


def test_anonymous_searches_are_rate_limited_per_client(client, articles, settings):
    settings.CHATPORTAL_KB_SEARCH_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(URL, {"q": "garantie", "locale": "ro"}).status_code == 200
    response = client.get(URL, {"q": "garantie", "locale": "ro"})
    error = assert_error(response, 429, "rate_limited")
    assert error["retry_after_s"] >= 1
    assert int(response["Retry-After"]) >= 1
    other = client.get(URL, {"q": "garantie", "locale": "ro"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_agents_are_not_rate_limited(agent_client, articles, settings):
    settings.CHATPORTAL_KB_SEARCH_PER_MINUTE = 1
    for _ in range(3):
        assert agent_client.get(URL, {"q": "garantie", "locale": "ro"}).status_code == 200


def test_the_operation_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/kb/search"]["get"]
    assert {"200", "401", "422", "429"} <= set(map(str, operation["responses"]))
