"""`/rate/<token>/`: the customer rates a solved ticket, no sign-in needed.

The token (tickets.rating) names the ticket; the page speaks the contact's
language. Five buttons, each a one-click form that records its score; then
an optional comment, sent with the score. Rating again replaces the rating.
A GET never changes anything (mail scanners open links): the mail's
per-score links only preselect the score on this page. A tampered link
answers 400, an expired one 400 saying so, a ticket gone 404.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from tickets import rating
from tickets.actions.rating import check_rate_ticket
from tickets.errors import TicketError
from tickets.models import Ticket

TEMPLATE = "tickets/portal/rate.html"


def _language(ticket: Ticket) -> str:
    locale = ticket.contact.locale if ticket.contact else ""
    supported = {code for code, _name in settings.LANGUAGES}
    return locale if locale in supported else translation.get_language() or settings.LANGUAGE_CODE


def _chosen(raw: str | None) -> int | None:
    return int(raw) if raw in {str(s) for s in rating.SCORES} else None


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def rate_ticket(request: HttpRequest, token: str) -> HttpResponse:
    try:
        public_id = rating.ticket_public_id(token)
    except rating.LinkExpired:
        return render(request, TEMPLATE, {"problem": "expired"}, status=400)
    except rating.LinkInvalid:
        return render(request, TEMPLATE, {"problem": "invalid"}, status=400)
    ticket = Ticket.objects.select_related("contact").filter(public_id=public_id).first()
    if ticket is None:
        return render(request, TEMPLATE, {"problem": "gone"}, status=404)
    with translation.override(_language(ticket)):
        context = {
            "ticket": ticket,
            "scores": rating.SCORES,
            "chosen": _chosen(request.GET.get("score")) or ticket.rating_score,
            "max_comment": rating.MAX_COMMENT_CHARS,
            "language": translation.get_language(),
        }
        status = 200
        if request.method == "POST":
            try:
                check_rate_ticket(
                    ticket, request.POST.get("score"), request.POST.get("comment", "")
                )
            except TicketError as exc:
                context["error"] = exc.detail
                status = exc.status
            else:
                context["thanks"] = True
                context["chosen"] = ticket.rating_score
        return render(request, TEMPLATE, context, status=status)
