"""Every page in its viewer's time zone and language.

After authentication: an agent's zone and language come from their
`AgentProfile`, a customer's from their CRM contact. A zone nobody set
(blank, or a contact's "UTC" default) falls back to the one the browser
reported for this session (`frontend.views_viewer.report_time_zone`), then
UTC; such pages carry `request.viewer_reports_zone` so they load the small
script that reports it. The language cookie set by the language switch
(Django's `set_language`) wins over the stored language: LocaleMiddleware
already chose from it, so the stored one is activated only without that
cookie. `{% local_time %}` then writes every date in the active zone.

The API (`/api/`) and the probes are left alone: they speak UTC and JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from foundation.time_zones import zone_or_utc
from queues.viewer import viewer_of, zone_of

SKIPPED_PREFIXES = ("/api/", "/static/", "/anymail/", "/metrics", "/healthz", "/readyz")


def viewer_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith(SKIPPED_PREFIXES):
            return get_response(request)
        viewer = viewer_of(getattr(request, "user", None))
        zone = zone_of(viewer, getattr(request, "session", None))
        request.viewer = viewer  # type: ignore[attr-defined]
        request.viewer_zone = zone or "UTC"  # type: ignore[attr-defined]
        # Nothing stored and nothing reported yet: the page asks the browser.
        request.viewer_reports_zone = viewer.zone_unknown and not zone  # type: ignore[attr-defined]
        if viewer.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(viewer.language)
            request.LANGUAGE_CODE = viewer.language  # type: ignore[attr-defined]
        timezone.activate(zone_or_utc(zone))
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware
