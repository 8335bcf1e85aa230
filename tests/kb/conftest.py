"""Knowledge-base test helpers: published articles, a portal customer."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from kb.models import Article
from tests.factories import make_contact


def make_article(
    title: str,
    body: str,
    *,
    locale: str = "en",
    audience: str = Article.Audience.PUBLIC,
    status: str = Article.Status.PUBLISHED,
) -> Article:
    return Article.objects.create(
        title=title,
        slug=slugify(title, allow_unicode=True),
        body=body,
        locale=locale,
        audience=audience,
        status=status,
    )


@pytest.fixture
def e42_article(db) -> Article:
    return make_article(
        "RZA-500 shows error E42 after a firmware update",
        "Error **E42** means the relay lost its calibration.\n\nHold *Reset* for ten seconds.",
    )


@pytest.fixture
def portal_customer(db):
    contact = make_contact("Maria Popescu", email="maria@example.com")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def other_portal_customer(db):
    contact = make_contact("Ivan Petrov", email="ivan@example.com")
    contact.portal_user = get_user_model().objects.create_user("ivan", password="x-pass-123")
    contact.save()
    return contact
