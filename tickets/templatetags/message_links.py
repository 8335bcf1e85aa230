"""`{{ text|linkify }}`: escaped text with its web addresses as links (foundation.linkify)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from foundation.linkify import linkify_html

register = template.Library()


@register.filter(is_safe=True)
def linkify(value: object) -> SafeString:
    # Always escapes: a value already marked safe is still treated as text.
    return linkify_html(value)
