"""Visitor bearer tokens: 256 random bits, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_PREFIX = "vt_"
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"vt_[A-Za-z0-9_-]{43}")


def new_visitor_token() -> tuple[str, str]:
    """(raw token for the browser, digest for the database)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, token_digest(raw)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_well_formed(raw: str) -> bool:
    return TOKEN_RE.fullmatch(raw) is not None


def digests_match(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())
