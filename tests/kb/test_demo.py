"""The demo knowledge base: at least twelve articles in three languages, seeded once."""

from __future__ import annotations

import pytest

from chatportal.demo_data import seed_demo
from kb.models import Article, ArticleRevision
from kb.search import search_articles

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_a_knowledge_base_in_three_languages_once():
    seed_demo()
    articles = Article.objects.all()
    assert articles.count() >= 12
    assert set(articles.values_list("locale", flat=True)) == {"en", "ro", "ru"}
    e42 = articles.filter(slug="rza-500-error-e42-after-firmware-update").get()
    group = Article.objects.filter(translation_group=e42.translation_group)
    assert sorted(group.values_list("locale", flat=True)) == ["en", "ro", "ru"]
    assert articles.filter(audience="internal").exists()
    # Linked to the demo ticket it answers, as "Create article from this ticket" would.
    firmware = articles.get(slug="updating-rza-500-to-firmware-3-2")
    assert [t.subject for t in firmware.source_tickets.all()] == ["RZA-500 firmware 3.2 update"]
    counts = (Article.objects.count(), ArticleRevision.objects.count())
    seed_demo()
    assert (Article.objects.count(), ArticleRevision.objects.count()) == counts


def test_a_visitor_asking_about_e42_finds_the_demo_article():
    seed_demo()
    hits = search_articles("error E42", locale="en")
    assert "rza-500-error-e42-after-firmware-update" in [hit.article.slug for hit in hits]
    internal = search_articles("IEC 104", locale="en")
    assert all(hit.article.audience == "public" for hit in internal)
