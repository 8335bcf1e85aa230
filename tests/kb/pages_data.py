"""Articles for the public pages' and the console panel's tests."""

from __future__ import annotations

import uuid

from django.utils import timezone

from kb.models import Article, Category

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def make_article(
    title: str,
    *,
    locale: str = "en",
    slug: str | None = None,
    body: str = "Restart the terminal.",
    audience: str = Article.Audience.PUBLIC,
    status: str = Article.Status.PUBLISHED,
    group: uuid.UUID | None = None,
    category: Category | None = None,
    departments=(),
) -> Article:
    article = Article.objects.create(
        title=title,
        locale=locale,
        slug=slug or title.lower().replace(" ", "-")[:60],
        body=body,
        audience=audience,
        status=status,
        translation_group=group or uuid.uuid4(),
        category=category,
        published_at=timezone.now() if status == Article.Status.PUBLISHED else None,
    )
    if departments:
        article.departments.set(departments)
    return article


def error_e42_in_three_languages() -> dict[str, Article]:
    group = uuid.uuid4()
    en_shelf = Category.objects.create(locale="en", slug="devices", name="Devices")
    return {
        "en": make_article(
            "Error E42 after a firmware update",
            slug="error-e42",
            body="Hold **RESET** for 10 seconds, then update again.",
            group=group,
            category=en_shelf,
        ),
        "ro": make_article(
            "Eroarea E42 după actualizarea firmware-ului",
            locale="ro",
            slug="eroarea-e42",
            body="Țineți apăsat **RESET** 10 secunde.",
            group=group,
        ),
        "ru": make_article(
            "Ошибка E42 после обновления прошивки",
            locale="ru",
            slug="oshibka-e42",
            body="Удерживайте **RESET** 10 секунд.",
            group=group,
        ),
    }
