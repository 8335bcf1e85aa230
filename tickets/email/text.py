"""The readable text of a mail: HTML turned into text, quoted history cut.

Pure functions over strings, so they are tested in microseconds.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attribution lines that start quoted history. Mail programs wrap a long one
# over two or three lines ("On Tue, 1 Dec 2026 at 10:15, Support <\nsupport@x>
# wrote:"), so each pattern is tried on up to three lines joined by a space.
# A date's digits are required: "On Monday …" in the customer's own text
# followed by "…wrote:" two lines later is not an attribution.
_ATTRIBUTIONS = [
    # Gmail, Apple Mail, Thunderbird (en): "On <date>, <name> wrote:"
    re.compile(r"^\s*On\b(?=.*\d).{0,400}\bwrote:\s*$", re.IGNORECASE),
    # Romanian: "În mar., 1 dec. 2026 la 10:15, <name> a scris:"
    re.compile(r"^\s*(?:În|In|Pe)\b(?=.*\d).{0,400}\ba scris:\s*$", re.IGNORECASE),
    # Russian: "<date>, <name> написал(а):", Thunderbird "… пишет:", and Gmail's
    # bare "вт, 1 дек. 2026 г. в 10:15, <name> <addr>:".
    re.compile(r"^(?=.*\d).{0,400}\b(?:написал(?:\(а\)|а)?|пишет):\s*$", re.IGNORECASE),
    re.compile(r"^.{0,40}\d{4}\s*г\.,?\s*в\s*\d{1,2}:\d{2}.{0,400}>:\s*$", re.IGNORECASE),
]
# Outlook's header block and separators, one line each.
_SEPARATORS = [
    re.compile(
        r"^\s*-{2,}\s*(?:Original Message|Mesajul original|Исходное сообщение)"
        r"\s*-{2,}\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\s*_{20,}\s*$"),
    re.compile(r"^\s*\*?(?:From|De la|От)\*?:\s.+$"),
]
_WINDOW = 3
# A mail forwarded inline (Gmail, Outlook "Fw:") is content the customer
# shares, not history: from this line on nothing is cut.
_FORWARD_MARKER = re.compile(
    r"^\s*-{2,}\s*(?:Forwarded message|Mesaj redirecționat|Пересылаемое сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)


class _TextFromHtml(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        if tag == "blockquote":
            self._quote += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1
        if tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        # Quoted history in HTML mail lives in <blockquote>: drop it here.
        if not self._skip and not self._quote:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _is_attribution(lines: list[str]) -> bool:
    window = " ".join(line.strip() for line in lines)
    return any(pattern.match(window) for pattern in _ATTRIBUTIONS)


def _starts_history(lines: list[str], index: int) -> bool:
    if any(pattern.match(lines[index]) for pattern in _SEPARATORS):
        return True
    for end in range(index + 1, min(index + _WINDOW, len(lines)) + 1):
        if _is_attribution(lines[index:end]):
            # The customer's last line before a wrapped attribution is not part
            # of it: the attribution starts at the latest line that still matches.
            return end - index == 1 or not _is_attribution(lines[index + 1 : end])
    return False


def strip_quoted(text: str) -> str:
    """The new part of a reply: no quoted history, no signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _FORWARD_MARKER.match(line):
            kept += [rest.rstrip() for rest in lines[index:]]
            break
        if line.rstrip() == "--" or _starts_history(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
