"""The knowledge base in the agent console: the reply's search panel and "Most-used articles".

The panel searches published articles, internal ones included (agents only:
`agent_required`), in the locale the agent picks, and answers a list whose
buttons put the article's public link or its plain-text answer into the reply
(kb/static/kb/panel.js). An internal article has no public link: only its answer.
"""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from foundation.public_url import request_base
from kb.models import Article, Locale
from kb.pages import seo
from kb.rendering import plain_text
from kb.search import search_articles
from queues.models import Department
from tickets.console.access import agent_required

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 200
RESULTS = 8
ANSWER_CHARS = 4000
MOST_USED_PER_DEPARTMENT = 10
LOCALES = [code for code, _name in Locale.choices]


def panel_locale(request: HttpRequest) -> str:
    chosen = request.GET.get("locale", "")
    if chosen in LOCALES:
        return chosen
    language = translation.get_language() or "en"
    return language[:2] if language[:2] in LOCALES else "en"


def _department_id(request: HttpRequest) -> int | None:
    # Only a ranking preference (the ticket's department first), never a filter.
    raw = request.GET.get("department", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@require_GET
@agent_required
def panel_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    locale = panel_locale(request)
    error = ""
    results = []
    if len(query) > MAX_QUERY_CHARS:
        error = "too_long"
    elif len(query) >= MIN_QUERY_CHARS:
        base = request_base(request)
        hits = search_articles(
            query,
            locale=locale,
            include_internal=True,
            department_id=_department_id(request),
            limit=RESULTS,
        )
        for hit in hits:
            article = hit.article
            results.append(
                {
                    "article": article,
                    "internal": article.audience == Article.Audience.INTERNAL,
                    "snippet_html": hit.snippet_html,
                    "link": base + seo.article_path(article) if article.is_public else "",
                    "answer": plain_text(article.body, limit=ANSWER_CHARS),
                }
            )
    context = {
        "query": query,
        "results": results,
        "error": error,
        "kb_panel_locale": locale,
        "console_section": "kb",
    }
    status = 400 if error else 200
    if request.htmx:
        return render(request, "kb/panel/_results.html", context, status=status)
    return render(request, "kb/panel/search_page.html", context, status=status)


def most_used_for(department: Department) -> list[Article]:
    """A department's published articles, most useful first.

    An article counts for a department when it is tagged with it or answers
    one of its tickets. Deflections (a chat or ticket that did not need an
    agent) weigh most, then links from the department's tickets, suggestions
    and views.
    """
    links = Article.source_tickets.through.objects.filter(ticket__department=department)
    tagged = Article.departments.through.objects.filter(department=department)
    link_count = (
        links.filter(article=OuterRef("pk")).values("article").annotate(n=Count("pk")).values("n")
    )
    return list(
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .filter(Q(pk__in=tagged.values("article")) | Q(pk__in=links.values("article")))
        .annotate(ticket_links=Coalesce(Subquery(link_count), 0))
        .order_by(
            F("deflection_count").desc(),
            F("ticket_links").desc(),
            F("suggested_count").desc(),
            F("view_count").desc(),
            "title",
        )[:MOST_USED_PER_DEPARTMENT]
    )


@require_GET
@agent_required
def most_used(request: HttpRequest) -> HttpResponse:
    scope = request.agent_scope  # type: ignore[attr-defined]
    departments = Department.objects.order_by("name")
    if not scope.is_supervisor:
        departments = departments.filter(pk__in=scope.department_ids)
    context = {
        "console_section": "kb",
        "departments": [(department, most_used_for(department)) for department in departments],
    }
    return render(request, "kb/panel/most_used.html", context)
