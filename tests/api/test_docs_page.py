"""The interactive API docs: staff only, and every asset from our own /static/."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.test import Client

DOCS = "/api/v1/docs"


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_it_sends_anonymous_visitors_to_sign_in(demo, client):
    response = client.get(DOCS)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/api/v1/docs")


def test_it_does_not_show_the_docs_to_an_agent_who_is_not_staff(demo):
    response = signed_in("boris").get(DOCS)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_serves_swagger_ui_to_staff_from_local_static_files_only(demo):
    staff = signed_in("sofia")
    response = staff.get(DOCS)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="swagger-ui"' in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    assert all(url.startswith("/static/") for url in assets), assets
    assert "cdn" not in page.lower()
    for url in assets:
        assert staff.get(url).status_code == 200, url
    assert '"url": "/api/v1/openapi.json"' in page
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    assert '"validatorUrl": null' in page


def test_the_document_itself_stays_public(demo, client):
    assert client.get("/api/v1/openapi.json").status_code == 200
