"""Pictures in articles: the upload checks attachments use, raster images only, served safely."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from kb.models import ArticleImage
from tests.attachment_files import PDF, SVG, png

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, name: str, data: bytes, content_type: str = "image/png"):
    return client.post(
        reverse("console_kb_image_upload"),
        {"image": SimpleUploadedFile(name, data, content_type=content_type)},
    )


def test_an_agent_uploads_a_picture_and_gets_its_markdown(support_agent, client):
    response = upload(signed_in(support_agent), "relay front.png", png())
    image = ArticleImage.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert f"![relay front](/kb/images/{image.public_id}/)" in html
    served = client.get(f"/kb/images/{image.public_id}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("drawing.svg", SVG, 415),
        ("manual.pdf", PDF, 415),
        ("fake.png", PDF, 415),
        ("e.png", b"", 400),
    ],
)
def test_anything_but_a_raster_image_is_refused(support_agent, name, data, status):
    response = upload(signed_in(support_agent), name, data)
    assert response.status_code == status
    assert 'role="alert"' in response.content.decode()
    assert not ArticleImage.objects.exists()


def test_only_agents_upload(customer, client):
    assert upload(client, "a.png", png()).status_code == 302
    assert upload(signed_in(customer.portal_user), "a.png", png()).status_code == 302
    assert not ArticleImage.objects.exists()


def test_an_unknown_image_is_not_found(client):
    assert client.get("/kb/images/nope/").status_code == 404
    assert client.get("/kb/images/00000000-0000-0000-0000-000000000000/").status_code == 404
