"""The public knowledge base: `/kb/<locale>/`, its categories, articles and sitemap.

Only published public articles exist here: a draft or an internal article is
a 404 for everyone, agents included (they read internal ones in the console).
Each page is in the language of its URL, whatever the browser asked for; `/kb/`
alone picks the locale from the request (cookie, then Accept-Language).
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST, require_safe

from foundation.public_url import request_base
from kb import feedback
from kb.models import Article, Category, Locale
from kb.pages import seo
from kb.search import search_articles

MAX_QUERY_CHARS = 200
LOCALES = [code for code, _name in Locale.choices]


@require_safe
def kb_root(request: HttpRequest) -> HttpResponse:
    language = translation.get_language_from_request(request)
    locale = language if language in LOCALES else "en"
    response = redirect("kb_home", locale=locale)
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


def _render(request: HttpRequest, locale: str, template: str, context: dict, status=200):
    base = request_base(request)
    context = {
        "kb_locale": locale,
        "kb_locales": [
            {"code": code, "name": name, "url": reverse("kb_home", args=[code])}
            for code, name in Locale.choices
        ],
        "kb_home_url": reverse("kb_home", args=[locale]),
        "base_url": base,
        **context,
    }
    with translation.override(locale):
        response = render(request, template, context, status=status)
        response.headers["Content-Language"] = locale
    return response


@require_safe
def kb_home(request: HttpRequest, locale: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    hits = search_articles(query, locale=locale, limit=20) if query else []
    articles = seo.public_articles().filter(locale=locale)
    categories = (
        Category.objects.filter(locale=locale)
        .annotate(
            article_count=Count(
                "articles",
                filter=Q(
                    articles__status=Article.Status.PUBLISHED,
                    articles__audience=Article.Audience.PUBLIC,
                ),
            )
        )
        .filter(article_count__gt=0)
    )
    context = {
        "query": query,
        "hits": hits,
        "categories": categories,
        "uncategorized": articles.filter(category__isnull=True).order_by("title")[:50],
        "popular": articles.filter(view_count__gt=0).order_by("-view_count", "title")[:5],
        "alternates": [
            seo.Alternate(code, request_base(request) + reverse("kb_home", args=[code]))
            for code in LOCALES
        ],
        "canonical": request_base(request) + reverse("kb_home", args=[locale]),
    }
    return _render(request, locale, "kb/pages/home.html", context)


@require_safe
def category_page(request: HttpRequest, locale: str, slug: str) -> HttpResponse:
    category = Category.objects.filter(locale=locale, slug=slug).first()
    if category is None:
        raise Http404("no such category")
    context = {
        "category": category,
        "articles": seo.public_articles().filter(category=category).order_by("title"),
        "canonical": request_base(request) + reverse("kb_category", args=[locale, slug]),
    }
    return _render(request, locale, "kb/pages/category.html", context)


def _public_article(locale: str, slug: str) -> Article:
    article = (
        seo.public_articles().filter(locale=locale, slug=slug).select_related("category").first()
    )
    if article is None:
        raise Http404("no such article")
    return article


def _current_vote(request: HttpRequest, article: Article) -> bool | None:
    # Reading must not create a session: only an existing voter has a vote to show.
    if not request.session.session_key and not request.user.is_authenticated:
        return None
    vote = article.votes.filter(voter=feedback.voter_of(request)).first()
    return None if vote is None else vote.helpful


@require_safe
def article_page(request: HttpRequest, locale: str, slug: str) -> HttpResponse:
    article = _public_article(locale, slug)
    feedback.count_view(request, article)
    return _render(request, locale, "kb/pages/article.html", _article_context(request, article))


def _article_context(request: HttpRequest, article: Article) -> dict:
    locale = article.locale
    base = request_base(request)
    url = base + seo.article_path(article)
    with translation.override(locale):
        crumbs = [(_("Help centre"), base + reverse("kb_home", args=[locale]))]
    if article.category:
        crumbs.append(
            (
                article.category.name,
                base + reverse("kb_category", args=[locale, article.category.slug]),
            )
        )
    crumbs.append((article.title, url))
    context = {
        "article": article,
        "canonical": url,
        "description": seo.description(article),
        "alternates": seo.alternates(article, base),
        "json_ld": seo.article_json_ld(article, url, crumbs),
        "voted": _current_vote(request, article),
    }
    return context


@require_POST
@csrf_protect
def vote(request: HttpRequest, locale: str, slug: str) -> HttpResponse:
    article = _public_article(locale, slug)
    answer = request.POST.get("helpful", "")
    if answer not in ("yes", "no"):
        status, voted, error = 400, None, "invalid"
    elif not feedback.allow_vote(request):
        status, voted, error = 429, None, "rate_limited"
    else:
        vote = feedback.do_vote(article, voter=feedback.voter_of(request), helpful=answer == "yes")
        status, voted, error = 200, vote.helpful, ""
    if not request.htmx and status == 200:
        # Without JavaScript: back to the article, which shows the thanks (post/redirect/get).
        return HttpResponseRedirect(seo.article_path(article) + "#helpful")
    if not request.htmx:
        context = {**_article_context(request, article), "vote_error": error}
        return _render(request, locale, "kb/pages/article.html", context, status=status)
    context = {"article": article, "voted": voted, "vote_error": error}
    return _render(request, locale, "kb/pages/_vote.html", context, status=status)


@require_safe
def sitemap(request: HttpRequest) -> HttpResponse:
    """Every published public article with its translations as xhtml:link alternates."""
    base = request_base(request)
    articles = list(seo.public_articles().only("locale", "slug", "translation_group", "updated_at"))
    groups: dict = {}
    for article in articles:
        groups.setdefault(article.translation_group, []).append(article)
    entries = [
        {
            "url": base + seo.article_path(article),
            "lastmod": article.updated_at,
            "alternates": [
                seo.Alternate(other.locale, base + seo.article_path(other))
                for other in sorted(groups[article.translation_group], key=lambda a: a.locale)
            ],
        }
        for article in sorted(articles, key=lambda a: (a.locale, a.slug))
    ]
    return render(
        request,
        "kb/pages/sitemap.xml",
        {"entries": entries},
        content_type="application/xml; charset=utf-8",
    )
