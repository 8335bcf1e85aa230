"""Articles from Markdown to safe HTML.

markdown-it-py reads CommonMark (plus tables and strikethrough) with raw
HTML switched off, so `<script>` in an article is text; nh3 then keeps only
the tags and attributes an article may have and only http(s)/mailto links
and same-site image paths. Both run on every render: the database holds
Markdown, never HTML.
"""

from __future__ import annotations

import html
import re

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
# An article's h1 is its title; a heading written as "# …" in the body becomes an h2.
_H1 = re.compile(r"<(/?)h1>")


def render_markdown(text: str) -> SafeString:
    """Sanitized HTML for `text` (Markdown); safe to put in a template as it is."""
    rendered = _H1.sub(r"<\1h2>", _markdown.render(text or ""))
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 — nh3 just sanitized it


def plain_text(text: str, *, limit: int | None = None) -> str:
    """The article's words without Markdown (snippets, meta descriptions, search documents)."""
    rendered = _markdown.render(text or "")
    # nh3 leaves entities (&amp;): back to characters; templates escape them again.
    words = html.unescape(" ".join(nh3.clean(rendered, tags=set()).split()))
    if limit is not None and len(words) > limit:
        words = words[: limit - 1].rsplit(" ", 1)[0] + "…"
    return words
