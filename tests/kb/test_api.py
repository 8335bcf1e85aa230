"""`/api/v1/kb/articles`: article CRUD for agents, its validation and who reads what."""

from __future__ import annotations

import pytest
from django.test import Client

from kb.models import Article
from queues.tokens import issue_agent_token
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db
URL = "/api/v1/kb/articles"


def client_for(user) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(user)}")


@pytest.fixture
def agent_api(support_agent):
    return client_for(support_agent)


@pytest.fixture
def supervisor_api(supervisor):
    return client_for(supervisor)


def test_an_agent_writes_a_draft_and_reads_it_back(agent_api, support, solved_ticket):
    response = agent_api.post(
        URL,
        {
            "title": "Error E99",
            "body": "Reload the **settings**.\n\n<script>alert(1)</script>",
            "locale": "en",
            "departments": ["support"],
            "source_tickets": [solved_ticket.number],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "draft" and data["source_tickets"] == [solved_ticket.number]
    assert "<strong>settings</strong>" in data["body_html"]
    assert "<script>" not in data["body_html"]
    again = agent_api.get(f"{URL}/{data['id']}")
    assert again.status_code == 200 and again.json()["title"] == "Error E99"


def test_the_api_needs_a_token_to_write_or_list():
    anonymous = Client()
    assert_error(anonymous.get(URL), 401, "unauthorized")
    assert_error(
        anonymous.post(URL, {"title": "x", "body": "y"}, content_type="application/json"),
        401,
        "unauthorized",
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "", "body": "y"},
        {"title": "x"},
        {"title": "x", "body": "y", "locale": "de"},
        {"title": "x", "body": "y", "views": 5},
        {"title": "x" * 201, "body": "y"},
    ],
)
def test_invalid_articles_are_refused_with_the_error_shape(agent_api, payload):
    assert_error(agent_api.post(URL, payload, content_type="application/json"), 422, "invalid")
    assert not Article.objects.exists()


def test_unknown_references_are_refused(agent_api):
    for extra in (
        {"departments": ["nowhere"]},
        {"products": ["XYZ-1"]},
        {"category": "nope"},
        {"source_tickets": ["T-999999"]},
    ):
        response = agent_api.post(
            URL, {"title": "x", "body": "y", **extra}, content_type="application/json"
        )
        assert_error(response, 400, "invalid")


def test_only_a_publisher_publishes(agent_api, supervisor_api, draft):
    url = f"{URL}/{draft.public_id}"
    assert_error(
        agent_api.patch(url, {"status": "published"}, content_type="application/json"),
        403,
        "forbidden",
    )
    response = supervisor_api.patch(url, {"status": "published"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "published"
    # Published: an ordinary agent no longer changes it.
    assert_error(
        agent_api.patch(url, {"title": "Changed"}, content_type="application/json"),
        403,
        "forbidden",
    )


def test_a_publisher_by_permission_publishes_on_create(publisher):
    response = client_for(publisher).post(
        URL, {"title": "x", "body": "y", "status": "published"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["status"] == "published"


def test_an_agent_cannot_create_published(agent_api):
    response = agent_api.post(
        URL, {"title": "x", "body": "y", "status": "published"}, content_type="application/json"
    )
    assert_error(response, 403, "forbidden")


def test_revisions_and_revert(agent_api, draft):
    url = f"{URL}/{draft.public_id}"
    agent_api.patch(url, {"body": "Wrong", "note": "oops"}, content_type="application/json")
    revisions = agent_api.get(f"{url}/revisions").json()
    assert [(r["number"], r["note"]) for r in revisions] == [(2, "oops"), (1, "created")]
    reverted = agent_api.post(f"{url}/revert", {"revision": 1}, content_type="application/json")
    assert reverted.json()["body"] == "Hold **reset** for ten seconds."
    assert_error(
        agent_api.post(f"{url}/revert", {"revision": 7}, content_type="application/json"),
        404,
        "not_found",
    )


def test_a_translation_joins_the_group_and_a_second_one_conflicts(agent_api, draft):
    payload = {
        "title": "Resetare",
        "body": "Țineți apăsat.",
        "locale": "ro",
        "translation_of": str(draft.public_id),
    }
    created = agent_api.post(URL, payload, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["translation_group"] == str(draft.translation_group)
    original = agent_api.get(f"{URL}/{draft.public_id}").json()
    assert [t["locale"] for t in original["translations"]] == ["ro"]
    assert_error(agent_api.post(URL, payload, content_type="application/json"), 409, "conflict")


def test_internal_and_draft_articles_are_not_found_without_an_agent_token(
    internal_article, draft, public_article
):
    anonymous = Client()
    assert_error(anonymous.get(f"{URL}/{internal_article.public_id}"), 404, "not_found")
    assert_error(anonymous.get(f"{URL}/{draft.public_id}"), 404, "not_found")
    public = anonymous.get(f"{URL}/{public_article.public_id}")
    assert public.status_code == 200 and public.json()["source_tickets"] == []
    forged = Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(forged.get(f"{URL}/{internal_article.public_id}"), 401, "unauthorized")


def test_an_agent_token_reads_internal_articles(agent_api, internal_article):
    assert agent_api.get(f"{URL}/{internal_article.public_id}").status_code == 200
    assert_error(agent_api.get(f"{URL}/not-a-uuid"), 404, "not_found")


def test_the_list_filters(agent_api, draft, internal_article, public_article):
    listed = agent_api.get(URL, {"audience": "internal"}).json()
    assert [a["id"] for a in listed["items"]] == [str(internal_article.public_id)]
    assert agent_api.get(URL, {"status": "draft"}).json()["total"] == 1
    assert_error(agent_api.get(URL, {"locale": "xx"}), 422, "invalid")


def test_only_a_publisher_deletes(agent_api, supervisor_api, draft):
    url = f"{URL}/{draft.public_id}"
    assert_error(agent_api.delete(url), 403, "forbidden")
    assert supervisor_api.delete(url).status_code == 204
    assert not Article.objects.filter(pk=draft.pk).exists()


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/kb/articles"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/kb/articles/{article_id}"])
    assert "post" in paths["/api/v1/kb/articles/{article_id}/revert"]
