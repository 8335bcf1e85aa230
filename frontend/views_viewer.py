"""The viewer's own zone and language: the browser's report, the language switch, the agent's settings.

- `POST /viewer/time-zone/` (`time_zone=Europe/Bucharest`, CSRF-protected):
  what the page's script (static/frontend/viewer.js) reads from
  `Intl.DateTimeFormat().resolvedOptions().timeZone`. It is kept for the
  session, and a customer's contact with no zone yet (blank or the "UTC"
  default) takes it for good; a zone someone set is never overridden.
- `POST /i18n/setlang/`: Django's `set_language` (the cookie and the
  redirect), and the choice saved on the agent's profile or the customer's
  contact, so the console and the e-mails follow it on other devices.
- `/console/settings/`: the agent's zone and console language (blank = the
  browser's).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from crm.actions import set_contact_locale, set_contact_time_zone
from foundation.time_zones import (
    MAX_ZONE_LENGTH,
    is_valid_zone,
    supported_language,
    zone_choices,
)
from queues.actions import set_agent_preferences
from queues.models import AgentProfile
from queues.viewer import SESSION_BROWSER_ZONE
from tickets.console.access import agent_required
from tickets.customers import customer_contact


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "detail": detail}}, status=status)


def _posted_zone(request: HttpRequest) -> object:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return body.get("time_zone") if isinstance(body, dict) else None
    return request.POST.get("time_zone")


@require_POST
@csrf_protect
def report_time_zone(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _error(403, "forbidden", "sign in first")
    zone = _posted_zone(request)
    if not isinstance(zone, str) or len(zone) > MAX_ZONE_LENGTH or not is_valid_zone(zone):
        return _error(400, "invalid", "time_zone must be an IANA time zone name")
    request.session[SESSION_BROWSER_ZONE] = zone
    saved = False
    contact = customer_contact(request.user)
    if contact is not None:
        saved = set_contact_time_zone(contact, zone, only_if_unknown=True)
    return JsonResponse({"time_zone": zone, "saved": saved})


@require_POST
@csrf_protect
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's view, and the choice kept on the viewer's record."""
    response = django_set_language(request)
    code = supported_language(request.POST.get("language"))
    if code and request.user.is_authenticated:
        profile = AgentProfile.objects.filter(user=request.user).first()
        if profile is not None:
            set_agent_preferences(profile, language=code)
        else:
            contact = customer_contact(request.user)
            if contact is not None:
                set_contact_locale(contact, code)
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
@agent_required
def console_settings(request: HttpRequest) -> HttpResponse:
    profile = AgentProfile.objects.get(user=request.user)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        zone = request.POST.get("time_zone", "").strip()
        language = request.POST.get("language", "").strip()
        if zone and not is_valid_zone(zone):
            errors["time_zone"] = _("Choose a time zone from the list.")
        if language and not supported_language(language):
            errors["language"] = _("Choose a language from the list.")
        if not errors:
            code = supported_language(language) if language else ""
            set_agent_preferences(profile, time_zone=zone, language=code)
            response = redirect(f"{reverse('console_settings')}?saved=1")
            # The switch's cookie would outvote the setting: the setting is the choice now.
            if code:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    code,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            else:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
            return response
        status = 400
    return render(
        request,
        "frontend/console_settings.html",
        {
            "profile": profile,
            "zones": zone_choices(),
            "languages": settings.LANGUAGES,
            "errors": errors,
            "saved": request.GET.get("saved") == "1",
            "browser_zone": request.session.get(SESSION_BROWSER_ZONE, ""),
            "active_language": translation.get_language(),
            "console_section": "settings",
            "now": timezone.now(),
        },
        status=status,
    )
