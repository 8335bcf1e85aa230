"""Errors the knowledge base raises to the console, the API and the actions' callers.

`detail` is our own wording, never exception text or echoed input.
"""

from __future__ import annotations

from foundation.errors import ClientError


class KbError(ClientError):
    code = "invalid"
    status = 400


class ArticleNotFound(KbError):
    """No such article, or one this reader may not see (an internal one): the two look the same."""

    code = "not_found"
    status = 404


class KbForbidden(KbError):
    code = "forbidden"
    status = 403


class KbConflict(KbError):
    """Valid, but taken already (a translation in that locale, a slug)."""

    code = "conflict"
    status = 409
