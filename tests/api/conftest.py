from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chatportal.demo_data import seed_demo
from queues.tokens import issue_agent_token


@pytest.fixture
def demo(db):
    return seed_demo()


@pytest.fixture
def boris_token(demo) -> str:
    return issue_agent_token(get_user_model().objects.get(username="boris"))


@pytest.fixture
def api(boris_token) -> Client:
    # CSRF enforced as a browser would: bearer-token calls must not need it.
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {boris_token}")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["detail"], str) and body["error"]["detail"]
    text = response.content.decode()
    assert "Traceback" not in text and "<html" not in text.lower()
    return body["error"]
