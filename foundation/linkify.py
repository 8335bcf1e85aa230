"""Web addresses in message text, found the same way on every screen.

The rule (frontend/static/frontend/*.js carry the same one, keep them in
step): a link starts with `http://` or `https://` (any case) where no
letter or digit precedes it, then a letter or digit (the host's first),
and runs to the next whitespace, `<`, `>`, `"` or backtick. Trailing `.,;:!?'*` are sentence punctuation, not part
of the address, and so is a closing `)`, `]` or `}` the address did not
open. Nothing else becomes a link: no bare `example.com`, no `mailto:`,
and never `javascript:` or `data:`.

`linkify_html` escapes everything first and builds the anchors itself, so
the result is safe to mark safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LINK_REL = "noopener noreferrer nofollow"
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])https?://[0-9A-Za-z][^\s<>\"`]*", re.IGNORECASE)
_TRAILING = ".,;:!?'*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim(candidate: str) -> str:
    url = candidate
    while url:
        last = url[-1]
        if last in _TRAILING or last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


def split_links(text: str) -> Iterator[tuple[str, bool]]:
    """The text as (piece, is_link) in order; the pieces join back to `text`."""
    position = 0
    for match in _CANDIDATE.finditer(text):
        url = _trim(match.group(0))
        start = match.start()
        if start > position:
            yield text[position:start], False
        yield url, True
        position = start + len(url)
    if position < len(text):
        yield text[position:], False


def linkify_html(text: object) -> SafeString:
    """Escaped text with its web addresses as anchors that open in a new tab."""
    parts = []
    for piece, is_link in split_links(str(text or "")):
        if is_link:
            parts.append(
                f'<a href="{escape(piece)}" rel="{LINK_REL}" target="_blank">{escape(piece)}</a>'
            )
        else:
            parts.append(escape(piece))
    return mark_safe("".join(parts))  # noqa: S308 (every piece escaped above)
