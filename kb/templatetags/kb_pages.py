from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from kb.models import Locale
from kb.rendering import render_markdown

register = template.Library()
_NAMES = dict(Locale.choices)


@register.filter
def kb_markdown(text: str) -> SafeString:
    """An article's Markdown as sanitized HTML (kb.rendering)."""
    return render_markdown(text)


@register.filter
def kb_language_name(code: str) -> str:
    """A locale in its own language ("Română"), as a language menu shows it."""
    return _NAMES.get(code, code)
