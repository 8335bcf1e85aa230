"""The public help centre: locale routing, what search engines read, and what never shows."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from kb.models import Article, Category
from tests.kb.pages_data import BROWSER, error_e42_in_three_languages, make_article

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def reader(**headers) -> Client:
    return Client(HTTP_USER_AGENT=BROWSER, **headers)


def test_kb_root_sends_each_reader_to_the_help_centre_in_their_language():
    assert reader(HTTP_ACCEPT_LANGUAGE="ro-RO,ro;q=0.9").get("/kb/").url == "/kb/ro/"
    assert reader(HTTP_ACCEPT_LANGUAGE="ru").get("/kb/").url == "/kb/ru/"
    assert reader(HTTP_ACCEPT_LANGUAGE="de-DE").get("/kb/").url == "/kb/en/"
    assert "Accept-Language" in reader().get("/kb/")["Vary"]


def test_a_locale_page_speaks_its_language_and_lists_its_categories_only():
    error_e42_in_three_languages()
    Category.objects.create(locale="en", slug="empty", name="Empty shelf")
    page = reader(HTTP_ACCEPT_LANGUAGE="en").get("/kb/ro/")
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Content-Language"] == "ro"
    assert '<html lang="ro">' in html
    assert "Eroarea E42" in html and "Error E42" not in html
    assert "Empty shelf" not in reader().get("/kb/en/").content.decode()
    assert reader().get("/kb/de/").status_code == 404


def test_the_search_box_answers_with_published_public_articles_only():
    error_e42_in_three_languages()
    make_article("E42 internal workaround", body="E42 secret", audience=Article.Audience.INTERNAL)
    make_article("E42 draft", body="E42 unfinished", status=Article.Status.DRAFT)
    html = reader().get("/kb/en/", {"q": "E42"}).content.decode()
    assert 'href="/kb/en/error-e42/"' in html
    assert "internal workaround" not in html and "E42 draft" not in html
    assert 'role="search"' in html and "Search help" in html


def test_an_article_page_links_its_translations_and_tells_search_engines_about_itself():
    articles = error_e42_in_three_languages()
    html = reader().get("/kb/en/error-e42/").content.decode()
    assert '<link rel="canonical" href="http://testserver/kb/en/error-e42/">' in html
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)"', html))
    assert alternates == {
        "en": "http://testserver/kb/en/error-e42/",
        "ro": "http://testserver/kb/ro/eroarea-e42/",
        "ru": "http://testserver/kb/ru/oshibka-e42/",
        "x-default": "http://testserver/kb/en/error-e42/",
    }
    description = re.search(r'<meta name="description" content="([^"]*)">', html).group(1)
    assert description == "Hold RESET for 10 seconds, then update again."
    ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )
    article, crumbs = ld["@graph"]
    assert article["@type"] == "Article" and article["headline"] == articles["en"].title
    assert article["inLanguage"] == "en"
    assert [item["name"] for item in crumbs["itemListElement"]] == [
        "Help centre",
        "Devices",
        "Error E42 after a firmware update",
    ]
    assert 'aria-label="Breadcrumb"' in html
    assert "<strong>RESET</strong>" in html


def test_an_unpublished_translation_is_no_alternate():
    articles = error_e42_in_three_languages()
    Article.objects.filter(pk=articles["ru"].pk).update(status=Article.Status.DRAFT)
    html = reader().get("/kb/en/error-e42/").content.decode()
    assert 'hreflang="ru"' not in html.split("</head>")[0]


@pytest.mark.parametrize(
    ("audience", "status"),
    [
        (Article.Audience.INTERNAL, Article.Status.PUBLISHED),
        (Article.Audience.PUBLIC, Article.Status.DRAFT),
        (Article.Audience.INTERNAL, Article.Status.DRAFT),
    ],
)
def test_internal_and_draft_articles_are_404_for_everyone(audience, status, support_agent):
    make_article("Hidden", slug="hidden", audience=audience, status=status)
    agent = reader()
    agent.force_login(support_agent)
    for client in (reader(), agent):
        assert client.get("/kb/en/hidden/").status_code == 404
        assert client.post("/kb/en/hidden/vote/", {"helpful": "yes"}).status_code == 404
    assert b"hidden" not in reader().get("/kb/sitemap.xml").content


def test_an_article_is_only_found_in_its_own_locale():
    error_e42_in_three_languages()
    assert reader().get("/kb/ro/error-e42/").status_code == 404


def test_titles_and_bodies_are_escaped_everywhere():
    hostile = '</script><script>alert(1)</script>"><img src=x onerror=alert(2)>'
    shelf = Category.objects.create(locale="en", slug="shelf", name=hostile)
    make_article(hostile, slug="hostile", body=hostile + "\n\n<b>raw</b>", category=shelf)
    for url in ("/kb/en/hostile/", "/kb/en/", "/kb/en/category/shelf/", "/kb/en/?q=alert"):
        html = reader().get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "<img src=x" not in html, url
        assert "<b>raw</b>" not in html, url
    html = reader().get("/kb/en/hostile/").content.decode()
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert json.loads(ld)["@graph"][0]["headline"] == hostile


def test_a_category_page_lists_its_public_articles():
    articles = error_e42_in_three_languages()
    make_article(
        "Internal on the shelf",
        audience=Article.Audience.INTERNAL,
        category=articles["en"].category,
    )
    html = reader().get("/kb/en/category/devices/").content.decode()
    assert "Error E42 after a firmware update" in html
    assert "Internal on the shelf" not in html
    assert reader().get("/kb/en/category/nothing/").status_code == 404


def test_the_sitemap_lists_public_articles_with_their_alternates():
    error_e42_in_three_languages()
    make_article("Internal", slug="internal", audience=Article.Audience.INTERNAL)
    make_article("Draft", slug="draft", status=Article.Status.DRAFT)
    make_article("Tom & Jerry <3", slug="tom-jerry")
    response = reader().get("/kb/sitemap.xml")
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    urls = {
        url.find(f"{SITEMAP}loc").text: {
            link.get("hreflang"): link.get("href") for link in url.findall(f"{XHTML}link")
        }
        for url in root.findall(f"{SITEMAP}url")
    }
    assert set(urls) == {
        "http://testserver/kb/en/error-e42/",
        "http://testserver/kb/ro/eroarea-e42/",
        "http://testserver/kb/ru/oshibka-e42/",
        "http://testserver/kb/en/tom-jerry/",
    }
    assert (
        urls["http://testserver/kb/ro/eroarea-e42/"]["ru"] == "http://testserver/kb/ru/oshibka-e42/"
    )
    assert urls["http://testserver/kb/en/tom-jerry/"] == {
        "en": "http://testserver/kb/en/tom-jerry/"
    }


def test_cyrillic_slugs_make_working_addresses():
    article = make_article("Гарантия", locale="ru", slug="гарантия", body="Два года.")
    url = "/kb/ru/%D0%B3%D0%B0%D1%80%D0%B0%D0%BD%D1%82%D0%B8%D1%8F/"
    response = reader().get(url)
    assert response.status_code == 200
    assert f'<link rel="canonical" href="http://testserver{url}">' in response.content.decode()
    assert f"<loc>http://testserver{url}</loc>" in reader().get("/kb/sitemap.xml").content.decode()
    assert article.title in response.content.decode()


def test_a_search_in_the_title_bar_shows_the_query_escaped():
    html = reader().get("/kb/en/", {"q": "<b>E42</b>"}).content.decode()
    assert "<title>“&lt;b&gt;E42&lt;/b&gt;” — Help centre — Chatportal</title>" in html
