"""Request bodies no browser sends: refused with a JSON 400, never a 500.

`multipart/form-data` without a boundary (or with a broken one) made
Django's parser raise on the first look at `request.POST`; the API turned
that into a 500, anyone could trigger it on the chat upload route.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.client import encode_multipart

from chat.actions.conversations import start_conversation
from chat.actions.visitors import create_visitor
from tests.security.conftest import signed_in

pytestmark = pytest.mark.django_db

BROKEN_MULTIPART = {
    "no boundary": "multipart/form-data",
    "empty boundary": "multipart/form-data; boundary=",
    "boundary with a control character": 'multipart/form-data; boundary="a\tb\x01"',
    "boundary too long": "multipart/form-data; boundary=" + "b" * 300,
}
BODY = (
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhi\r\n--x--\r\n'
)


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False


def assert_json_400(response) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "invalid" and "multipart" in error["detail"]


@pytest.mark.parametrize(
    "content_type", list(BROKEN_MULTIPART.values()), ids=list(BROKEN_MULTIPART)
)
def test_a_broken_multipart_upload_to_a_chat_answers_a_json_400(production, support, content_type):
    visitor, token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    client = Client(raise_request_exception=False)
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}):
        response = client.post(
            f"/api/v1/conversations/{conversation.public_id}/attachments",
            BODY,
            content_type=content_type,
            **headers,
        )
        assert_json_400(response)


@pytest.mark.parametrize("csrf_enforced", [False, True], ids=["csrf off", "csrf on"])
@pytest.mark.parametrize(
    "content_type", list(BROKEN_MULTIPART.values()), ids=list(BROKEN_MULTIPART)
)
def test_a_broken_multipart_portal_form_answers_a_json_400(
    production, customer, support, content_type, csrf_enforced
):
    client = signed_in(customer[0], enforce_csrf_checks=csrf_enforced)
    client.raise_request_exception = False
    response = client.post("/portal/tickets/new/", BODY, content_type=content_type)
    assert_json_400(response)


def test_a_well_formed_multipart_form_still_reaches_the_view(production, customer, support):
    client = signed_in(customer[0])
    fields = {"subject": "Relay trips", "body": "At night.", "department": support.slug}
    response = client.post(
        "/portal/tickets/new/",
        encode_multipart("x", fields),
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 302 and response["Location"].startswith("/portal/tickets/T-")


def field_part(name: str, value: bytes) -> bytes:
    return (
        b'--x\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
    )


BROKEN_BODIES = {
    # Django's parser gives up on a part's header block past its size limit.
    "part header too large": (field_part("a" * 100_000, b"hi") + b"--x--\r\n", 400),
    # Text fields are held in memory: past DATA_UPLOAD_MAX_MEMORY_SIZE they are refused.
    "text field too large": (field_part("token", b"t" * 5000) + b"--x--\r\n", 413),
    "too many fields": (b"".join(field_part(f"f{i}", b"1") for i in range(30)) + b"--x--\r\n", 400),
}


@pytest.mark.parametrize(("body", "status"), list(BROKEN_BODIES.values()), ids=list(BROKEN_BODIES))
def test_a_multipart_body_the_parser_refuses_answers_a_json_4xx_on_the_api(
    production, settings, support, body, status
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    visitor, token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    response = Client(raise_request_exception=False).post(
        f"/api/v1/conversations/{conversation.public_id}/attachments",
        body,
        content_type="multipart/form-data; boundary=x",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == status, response.content[:300]
    assert response.json()["error"]["code"] == {400: "invalid", 413: "too_large"}[status]
