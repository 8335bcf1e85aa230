"""The knowledge base's part of the HTTP API (PROTOCOL §5), mounted by chatportal/api.py.

- here: `GET /api/v1/kb/search`, the knowledge base for anyone, known solutions
  for agents. Anonymous callers get published public articles and are
  rate-limited per client address (kb/throttle.py); an agent's bearer token
  adds the internal articles and is not counted.
- `api_articles.py`: `/api/v1/kb/articles` — article CRUD for agents.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.utils.encoding import iri_to_uri
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from foundation.api_errors import error_response, error_responses
from kb.api_articles import router as articles_router
from kb.search import search_articles
from kb.throttle import anonymous_search_retry_after
from queues.agent_scope import agent_scope
from queues.tokens import authenticate_agent_token
from tickets.portal.auth import client_address

router = Router(tags=["kb"])

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 100
MAX_LIMIT = 20


class KbSearchQuery(Schema):
    q: str = Field(
        min_length=MIN_QUERY_CHARS,
        max_length=MAX_QUERY_CHARS,
        description="Words in any inflection, with or without diacritics; a typo in a "
        "title word is forgiven",
        json_schema_extra={"example": "garantie"},
    )
    locale: Literal["en", "ro", "ru"] = Field(description="The articles' language")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)


class KbSearchHitOut(Schema):
    id: str = Field(description="The article's public id (UUID)")
    title: str
    url: str = Field(description="The article's public page, /kb/<locale>/<slug>/")
    snippet: str = Field(
        description="HTML: the text around the first match, escaped; the matching words "
        "in <mark>…</mark>, the only tags it contains"
    )
    locale: str
    audience: Literal["public", "internal"]


class KbSearchOut(Schema):
    results: list[KbSearchHitOut]


def _bearer(request: HttpRequest) -> str:
    scheme, _space, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@router.get(
    "/search",
    auth=None,
    response={200: KbSearchOut, **error_responses(400, 401, 429)},
    summary="Search the knowledge base (internal articles too with an agent token)",
    description="Anonymous: published public articles, at most "
    "CHATPORTAL_KB_SEARCH_PER_MINUTE searches a minute per client (429 after). "
    "With an agent API token: internal articles too, not rate-limited.",
    # The token is optional: `{}` is "no authentication" in OpenAPI's list of alternatives.
    openapi_extra={"security": [{"AgentTokenAuth": []}, {}]},
)
def search(request: HttpRequest, query: Query[KbSearchQuery]):
    token = _bearer(request)
    agent = False
    if token:
        if agent_scope(authenticate_agent_token(token)) is None:
            response = error_response(401, "the agent API token is not valid", code="unauthorized")
            response["WWW-Authenticate"] = 'Bearer realm="chatportal"'
            return response
        agent = True
    else:
        retry_after = anonymous_search_retry_after(client_address(request))
        if retry_after:
            response = error_response(
                429, "too many searches; try again later", retry_after_s=float(retry_after)
            )
            response["Retry-After"] = str(retry_after)
            return response
    if len(query.q.strip()) < MIN_QUERY_CHARS:
        raise HttpError(400, f"the query needs at least {MIN_QUERY_CHARS} characters")
    hits = search_articles(query.q, locale=query.locale, include_internal=agent, limit=query.limit)
    return {
        "results": [
            {
                "id": str(hit.article.public_id),
                "title": hit.article.title,
                "url": iri_to_uri(f"/kb/{hit.article.locale}/{hit.article.slug}/"),
                "snippet": str(hit.snippet_html),
                "locale": hit.article.locale,
                "audience": hit.article.audience,
            }
            for hit in hits
        ]
    }


API_ROUTERS = [("/kb", router), ("/kb/articles", articles_router)]
