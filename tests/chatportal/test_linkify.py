"""Links in message text (foundation.linkify and the `linkify` template filter)."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from foundation.linkify import linkify_html, split_links


def links(text: str) -> list[str]:
    return [piece for piece, is_link in split_links(text) if is_link]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/manual.pdf.", ["https://example.com/manual.pdf"]),
        ("(https://example.com/a)", ["https://example.com/a"]),
        (
            "https://en.wikipedia.org/wiki/Relay_(electric)!",
            ["https://en.wikipedia.org/wiki/Relay_(electric)"],
        ),
        ("[http://x.org/p], {https://y.org}", ["http://x.org/p", "https://y.org"]),
        ("HTTPS://EXAMPLE.COM/Q?a=1&b=2;", ["HTTPS://EXAMPLE.COM/Q?a=1&b=2"]),
        ("'https://a.b/c'?", ["https://a.b/c"]),
        ("two: https://a.io,https://b.io", ["https://a.io,https://b.io"]),
        ("no scheme: example.com, www.example.com", []),
        ("javascript:alert(1) data:text/html,<b> ftp://x.org mailto:a@b.c", []),
        ("xhttps://glued.example and http:// and https://", []),
    ],
)
def test_it_finds_http_links_without_trailing_punctuation(text, expected):
    assert links(text) == expected
    assert "".join(piece for piece, _ in split_links(text)) == text


def test_everything_is_escaped_and_links_open_safely():
    html = linkify_html('<script>x</script> https://a.example/?q="><img src=x onerror=alert(1)>')
    assert "<script>" not in html and "<img" not in html
    assert html.count("<a ") == 1
    assert (
        '<a href="https://a.example/?q=" rel="noopener noreferrer nofollow" target="_blank">'
        "https://a.example/?q=</a>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    ) in html


def test_quotes_inside_a_link_cannot_leave_the_attribute():
    html = linkify_html("https://a.example/'onmouseover='alert(1)")
    assert 'href="https://a.example/&#x27;onmouseover=&#x27;alert(1)"' in html


def test_javascript_is_never_a_link():
    for text in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\nscript:alert(1)", "https:/x"):
        assert "<a" not in linkify_html(text)


def test_the_filter_escapes_even_safe_strings_and_keeps_line_breaks():
    template = Template("{% load message_links %}{{ body|linkify|linebreaksbr }}")
    rendered = template.render(Context({"body": "Hi <b>\nhttps://a.example/x."}))
    assert rendered == (
        'Hi &lt;b&gt;<br><a href="https://a.example/x" rel="noopener noreferrer nofollow" '
        'target="_blank">https://a.example/x</a>.'
    )
