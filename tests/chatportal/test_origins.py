from __future__ import annotations

import pytest
from django.test import override_settings

from foundation.origins import origin_allowed, parse_origin

PUBLIC = "https://chat.example.com"


@pytest.mark.parametrize(
    ("path", "origin", "allowed"),
    [
        ("/ws/agent/", "https://chat.example.com", True),
        ("/ws/agent/", "https://chat.example.com:443", True),
        ("/ws/agent/", "https://CHAT.example.com", True),
        ("/ws/agent/", "http://chat.example.com", False),
        ("/ws/agent/", "https://chat.example.com:8443", False),
        ("/ws/agent/", "https://staff.example.org", True),  # CSRF trusted
        ("/ws/agent/", "https://a.corp.example.net", True),  # CSRF trusted wildcard
        ("/ws/agent/", "https://corp.example.net.evil", False),
        ("/ws/agent/", "https://user@chat.example.com", False),
        ("/ws/agent/", "https://chat.example.com/page", False),
        ("/ws/agent/", "http://127.0.0.1:8000", False),
        ("/ws/agent/", "https://evil.example", False),
        ("/ws/agent/", "https://shop.example.com", False),
        ("/ws/agent/", None, False),
        ("/ws/agent/", "null", False),
        ("/ws/widget/", "https://shop.example.com", True),
        ("/ws/widget/", "https://shop.example.com/", True),
        ("/ws/widget/", "https://shop.example.com:444", False),
        ("/ws/widget/", "https://chat.example.com", True),
        ("/ws/widget/", "https://evil.example", False),
        ("/ws/widget/", "null", False),
        ("/ws/widget/", None, False),
        ("/ws/portal/", "https://shop.example.com", False),
        ("/ws/agent/", "javascript://chat.example.com", False),
    ],
)
@override_settings(
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "chat.example.com"],
    CHATPORTAL_PUBLIC_URL=PUBLIC,
    CSRF_TRUSTED_ORIGINS=["https://staff.example.org", "https://*.corp.example.net"],
    CHATPORTAL_WIDGET_ORIGINS=["https://shop.example.com"],
)
def test_it_admits_only_the_public_origins(path, origin, allowed):
    # Whatever Host the socket came in on: with a public URL, only the list counts.
    assert origin_allowed(path, origin, host="127.0.0.1:8000") is allowed


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "allowed"),
    [
        ("http", "127.0.0.1:8123", "http://127.0.0.1:8123", True),
        ("http", "localhost:8123", "http://localhost:8123", True),
        ("https", "localhost:8123", "https://localhost:8123", True),
        ("http", "localhost", "http://localhost", True),
        ("http", "localhost:80", "http://localhost", True),
        ("http", "[::1]:8123", "http://[::1]:8123", True),
        ("http", "127.0.0.1:8123", "http://127.0.0.1:8124", False),
        ("http", "127.0.0.1:8123", "https://127.0.0.1:8123", False),
        ("https", "127.0.0.1:8123", "http://127.0.0.1:8123", False),
        ("http", "127.0.0.1:8123", "http://localhost:8123", False),
        ("http", "rebound.example:8123", "http://rebound.example:8123", False),
        ("http", None, "http://127.0.0.1:8123", False),
    ],
)
@override_settings(
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "[::1]"],
    CHATPORTAL_PUBLIC_URL="",
    CSRF_TRUSTED_ORIGINS=[],
    CHATPORTAL_WIDGET_ORIGINS=[],
)
def test_without_a_public_url_the_answering_server_is_an_origin(scheme, host, origin, allowed):
    for path in ("/ws/agent/", "/ws/widget/"):
        assert origin_allowed(path, origin, scheme=scheme, host=host) is allowed, path


@override_settings(
    CHATPORTAL_PUBLIC_URL="", CHATPORTAL_WIDGET_ORIGINS=["*"], CSRF_TRUSTED_ORIGINS=[]
)
def test_a_widget_anyone_may_embed_admits_any_web_page_on_the_widget_socket_only():
    assert origin_allowed("/ws/widget/", "https://anywhere.example")
    assert not origin_allowed("/ws/widget/", "file://")
    assert not origin_allowed("/ws/agent/", "https://anywhere.example")


def test_an_origin_is_scheme_host_and_port():
    assert parse_origin("http://LOCALHOST") == ("http", "localhost", 80)
    assert parse_origin("https://x.example:8443/") == ("https", "x.example", 8443)
    assert parse_origin("https://x.example:99999") is None
    assert parse_origin("ftp://x.example") is None
    assert parse_origin("null") is None


@override_settings(
    CHATPORTAL_PUBLIC_URL="https://example.com/support/",
    CSRF_TRUSTED_ORIGINS=[],
    CHATPORTAL_WIDGET_ORIGINS=[],
)
def test_a_public_url_under_a_path_gives_its_origin():
    assert origin_allowed("/ws/agent/", "https://example.com")
    assert not origin_allowed("/ws/agent/", "https://example.com:8443")
