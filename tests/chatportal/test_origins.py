from __future__ import annotations

import pytest
from django.test import override_settings

from chatportal.origins import origin_allowed


@pytest.mark.parametrize(
    ("path", "origin", "allowed"),
    [
        ("/ws/agent/", "http://127.0.0.1:8000", True),
        ("/ws/agent/", "http://localhost:8000", True),
        ("/ws/agent/", "https://evil.example", False),
        ("/ws/agent/", "https://shop.example.com", False),
        ("/ws/agent/", None, False),
        ("/ws/agent/", "null", False),
        ("/ws/widget/", "https://shop.example.com", True),
        ("/ws/widget/", "https://shop.example.com/", True),
        ("/ws/widget/", "https://evil.example", False),
        ("/ws/widget/", "null", False),
        ("/ws/widget/", None, False),
        ("/ws/portal/", "https://shop.example.com", False),
        ("/ws/agent/", "javascript://127.0.0.1", False),
    ],
)
@override_settings(
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    CHATPORTAL_WIDGET_ORIGINS=["https://shop.example.com"],
)
def test_it_admits_only_allowed_origins(path, origin, allowed):
    assert origin_allowed(path, origin) is allowed
