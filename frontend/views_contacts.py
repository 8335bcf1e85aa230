"""The agent console's search box and contact page.

Search: `GET /console/search/?q=` answers the results list (an htmx fragment
for the header's live search, a page without JavaScript). The contact page
shows one contact's record and one timeline of the contact and their
organization. Both are for agents (`agent_required`); every agent may look up
any contact, as on the API, and sees only the tickets of its departments.
"""

from __future__ import annotations

import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.record import contact_by_public_id, contact_record
from crm.search import DEFAULT_LIMIT, MAX_QUERY_CHARS, MIN_QUERY_CHARS, InvalidQuery, search
from crm.timeline import timeline_page
from tickets.console.access import agent_required

TIMELINE_PAGE_SIZE = 25


@require_GET
@agent_required
def console_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    hits, error = [], None
    # Typing the first character is no error worth a red message: an empty list.
    if len(query.strip()) >= MIN_QUERY_CHARS:
        try:
            hits = search(query, user=request.user, limit=DEFAULT_LIMIT)
        except InvalidQuery:
            error = _("Search with at most %(count)d characters.") % {"count": MAX_QUERY_CHARS}
    context = {"query": query, "hits": hits, "error": error, "console_section": "search"}
    if request.htmx:
        return render(request, "frontend/search/_results.html", context)
    return render(request, "frontend/search/page.html", context, status=400 if error else 200)


@require_GET
@agent_required
def contact_page(request: HttpRequest, public_id: str) -> HttpResponse:
    contact = contact_by_public_id(public_id)
    if contact is None:
        raise Http404("no such contact")
    before = _cursor(request.GET.get("before"))
    page = timeline_page(contact, before=before, size=TIMELINE_PAGE_SIZE)
    context = {
        "console_section": "contacts",
        "contact": contact,
        "record": contact_record(contact),
        "timeline": page.entries,
        "next_before": page.next_before.isoformat() if page.next_before else None,
    }
    if request.htmx and before is not None:
        # "Older entries": the next page and its own "older" button.
        return render(request, "frontend/contact/_timeline_page.html", context)
    return render(request, "frontend/contact/page.html", context)


def _cursor(raw: str | None) -> datetime.datetime | None:
    if not raw:
        return None
    try:
        at = parse_datetime(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Http404("no such page")
    return at
