"""What search engines read on a KB page: links between translations, the canonical, JSON-LD."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from kb.models import Article
from kb.rendering import plain_text

DESCRIPTION_CHARS = 160
# The characters that could end a <script> early or start a comment in it.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@dataclass(frozen=True, slots=True)
class Alternate:
    locale: str
    url: str  # absolute


def public_articles():
    return Article.objects.filter(status=Article.Status.PUBLISHED, audience=Article.Audience.PUBLIC)


def article_path(article: Article) -> str:
    return reverse("kb_article", args=[article.locale, article.slug])


def alternates(article: Article, base: str) -> list[Alternate]:
    """The published public translations of `article`, itself included, by locale."""
    group = public_articles().filter(translation_group=article.translation_group)
    return [
        Alternate(locale=other.locale, url=base + article_path(other))
        for other in group.order_by("locale").only("locale", "slug")
    ]


def description(article: Article) -> str:
    return plain_text(article.body, limit=DESCRIPTION_CHARS)


def json_ld(data: dict) -> SafeString:
    """`data` as a JSON-LD script element; nothing in it can close the element."""
    encoded = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(encoded))  # noqa: S308


def article_json_ld(article: Article, url: str, crumbs: list[tuple[str, str]]) -> SafeString:
    """schema.org Article and its BreadcrumbList; `crumbs` are (name, absolute url)."""
    return json_ld(
        {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": "Article",
                    "headline": article.title,
                    "description": description(article),
                    "inLanguage": article.locale,
                    "url": url,
                    "mainEntityOfPage": url,
                    "datePublished": article.published_at or article.created_at,
                    "dateModified": article.updated_at,
                },
                {
                    "@type": "BreadcrumbList",
                    "itemListElement": [
                        {"@type": "ListItem", "position": i, "name": name, "item": link}
                        for i, (name, link) in enumerate(crumbs, start=1)
                    ],
                },
            ],
        }
    )
