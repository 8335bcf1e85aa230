"""Self-service pages: an article inside the widget, help search, portal suggestions.

- `/kb/embed/<id>/`: one public article, sanitized (kb.rendering), made to
  sit in the widget's sandboxed iframe on any site: no scripts, no forms, a
  CSP that allows nothing but its own images and inline styles.
- `/kb/embed/search/?q=&locale=`: the widget's "Search help" before the
  first message; public articles only, anonymous, rate-limited per address.
- `/portal/kb/suggestions/?subject=`: the htmx fragment under the new-ticket
  subject; `/portal/kb/<id>/` reads one article and records the read
  (kb.deflection counts the customers who then send no ticket).
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from kb.deflection import hit_json, kb_locale, record_portal_read
from kb.models import Article
from kb.rendering import render_markdown
from kb.search import search_articles
from tickets.portal.auth import customer_required

SEARCH_PER_MINUTE = 30
MAX_QUERY_CHARS = 200
EMBED_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'"


def public_article(public_id: uuid.UUID) -> Article:
    article = Article.objects.filter(
        public_id=public_id,
        status=Article.Status.PUBLISHED,
        audience=Article.Audience.PUBLIC,
    ).first()
    if article is None:
        raise Http404
    return article


@require_GET
@xframe_options_exempt
def article_embed(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    article = public_article(public_id)
    response = render(
        request, "kb/embed.html", {"article": article, "body": render_markdown(article.body)}
    )
    # Framed by the widget on the customer's site; nothing here acts for anyone.
    response["Content-Security-Policy"] = EMBED_CSP
    return response


def _over_limit(request: HttpRequest) -> bool:
    key = f"kb-help-search:{request.META.get('REMOTE_ADDR', '')}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        return cache.incr(key) > SEARCH_PER_MINUTE
    except ValueError:  # expired between add() and incr()
        return False


@require_GET
def help_search(request: HttpRequest) -> JsonResponse:
    if _over_limit(request):
        response = JsonResponse(
            {"error": {"code": "rate_limited", "detail": "too many searches; wait a minute"}},
            status=429,
        )
        response["Retry-After"] = "60"
    else:
        query = request.GET.get("q", "")[:MAX_QUERY_CHARS]
        hits = search_articles(query, locale=kb_locale(request.GET.get("locale", "")), limit=5)
        response = JsonResponse({"articles": [hit_json(hit) for hit in hits]})
    # Public articles for a widget on any site; no cookies are read.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@never_cache
@customer_required
def portal_suggestions(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("subject", "")[:MAX_QUERY_CHARS]
    hits = search_articles(query, locale=kb_locale(get_language()), limit=5) if query else []
    return render(request, "kb/_portal_suggestions.html", {"hits": hits})


@require_GET
@never_cache
@customer_required
def portal_article(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    article = public_article(public_id)
    record_portal_read(article, request.contact)  # type: ignore[attr-defined]
    return render(
        request,
        "kb/portal_article.html",
        {"article": article, "body": render_markdown(article.body), "title": _("Help article")},
    )
