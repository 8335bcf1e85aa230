"""The agent console's ticket screens: the list, a ticket's page, bulk changes.

Thin views: `tickets.access` decides what an agent may see (another
department's ticket is a 404, exactly like one that does not exist), the
forms validate, `tickets.console.changes` and `tickets.actions` change.
Pages work without JavaScript; with htmx the filters, pagination, forms and
bulk actions swap in place, and the ticket page's socket
(`/ws/console/tickets/`) swaps in what colleagues change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from tickets.access import access_ticket_for_agent
from tickets.actions.messages import add_reply
from tickets.attachments import MAX_FILES_PER_MESSAGE, check_request_files, request_too_large
from tickets.console.access import agent_required
from tickets.console.changes import apply_bulk_changes, apply_ticket_changes
from tickets.console.contacts import crm_card_context
from tickets.console.forms import BulkActionForm, ReplyForm, TicketUpdateForm, selected_numbers
from tickets.console.page_links import ticket_page_links
from tickets.console.queries import PAGE_SIZE, TicketFilterForm, filtered_tickets
from tickets.console.rendering import (
    render_ticket_sections,
    reply_limits,
    sla_clocks,
    ticket_state_context,
)
from tickets.console.side_panels import side_panels
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket, TicketEvent

SOCKET_PATH = "/ws/console/tickets/"


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(
        request, "tickets/console/not_found.html", {"console_section": "tickets"}, status=404
    )


# --- the list --------------------------------------------------------------------------


def _list_context(request: HttpRequest, query: QueryDict) -> tuple[dict[str, Any], int]:
    scope = request.agent_scope  # type: ignore[attr-defined]
    form = TicketFilterForm(query, scope=scope)
    status = 200
    if form.is_valid():
        tickets = filtered_tickets(request.user, scope, form.cleaned_data)
        page_number = form.cleaned_data["page"]
    else:
        tickets = Ticket.objects.none()
        page_number = 1
        status = 400
    page = Paginator(tickets, PAGE_SIZE).get_page(page_number)
    now = timezone.now()
    rows = [{"ticket": ticket, "clocks": sla_clocks(ticket, now=now)} for ticket in page]
    followed = ",".join(f"{row['ticket'].number}:{row['ticket'].last_seq}" for row in rows)
    kept = query.copy()
    kept.pop("page", None)
    for name in list(kept):
        if not any(kept.getlist(name)):
            kept.pop(name)
    filters_query = kept.urlencode()
    return {
        "console_section": "tickets",
        "filter_form": form,
        "bulk_form": BulkActionForm(scope=scope),
        "page": page,
        "rows": rows,
        "filters_query": filters_query,
        "socket_path": SOCKET_PATH + "?" + urlencode({"tickets": followed}) if followed else "",
    }, status


@require_GET
@never_cache
@agent_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    context, status = _list_context(request, request.GET)
    if request.htmx and request.htmx.target == "ticket-results":  # type: ignore[attr-defined]
        return render(request, "tickets/console/ticket_list.html#results", context, status=status)
    return render(request, "tickets/console/ticket_list.html", context, status=status)


@require_POST
@csrf_protect
@agent_required
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    scope = request.agent_scope  # type: ignore[attr-defined]
    back = QueryDict(request.POST.get("filters", "")[:2000])
    form = BulkActionForm(request.POST, scope=scope)
    status = 200
    try:
        numbers = selected_numbers(request.POST.getlist("tickets"))
    except ValidationError as exc:
        numbers = []
        form.add_error(None, exc)
    if not numbers and not form.non_field_errors():
        form.add_error(None, _("Select at least one ticket."))
    if form.is_valid():
        result = apply_bulk_changes(numbers, form.cleaned_data, by=request.user, scope=scope)
        if result.changed:
            messages.success(
                request,
                ngettext(
                    "Updated %(count)d ticket: %(numbers)s.",
                    "Updated %(count)d tickets: %(numbers)s.",
                    len(result.changed),
                )
                % {"count": len(result.changed), "numbers": ", ".join(result.changed)},
            )
        if result.unchanged:
            messages.info(
                request,
                _("Already so, nothing to change: %(numbers)s.")
                % {"numbers": ", ".join(result.unchanged)},
            )
        for number, reason in result.failed:
            messages.error(
                request,
                _("%(number)s not changed: %(reason)s.") % {"number": number, "reason": reason},
            )
    else:
        status = 400
    if not request.htmx and status == 200:  # type: ignore[attr-defined]
        url = reverse("console_tickets")
        return redirect(f"{url}?{back.urlencode()}" if back else url)
    context, _list_status = _list_context(request, back)
    if status != 200:
        context["bulk_form"] = form
    template = "tickets/console/ticket_list.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#results"
    return render(request, template, context, status=status)


# --- one ticket ------------------------------------------------------------------------


def _load(request: HttpRequest, number: str) -> Ticket | None:
    try:
        return access_ticket_for_agent(request.user, number, scope=request.agent_scope)  # type: ignore[attr-defined]
    except TicketNotFound:
        return None


def _socket_path(ticket: Ticket) -> str:
    return SOCKET_PATH + "?" + urlencode({"ticket": ticket.number, "seq": ticket.last_seq})


def _page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    update_form: TicketUpdateForm | None = None,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    context = ticket_state_context(ticket, request.user)
    context.update(
        {
            "console_section": "tickets",
            "reply_form": reply_form or ReplyForm(),
            **reply_limits(),
            **crm_card_context(ticket),
            "page_links": ticket_page_links(ticket, request.user),
            "socket_path": _socket_path(ticket),
            "side_panels": side_panels(),
            "error": error,
            "live_strings": {
                "live": _("Live"),
                "reconnecting": _("Reconnecting…"),
                "tooManyFiles": _("Attach at most %(n)s files at once.")
                % {"n": MAX_FILES_PER_MESSAGE},
                "fileTooLarge": _("Too large to attach: %(name)s"),
                "uploadFailed": _("The upload failed; check the connection and send again."),
            },
        }
    )
    if update_form is not None:
        context["update_form"] = update_form
    return render(request, "tickets/console/ticket_detail.html", context, status=status)


@require_GET
@never_cache
@agent_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return _not_found(request)
    return _page(request, ticket)


@require_POST
@csrf_protect
@agent_required
def ticket_reply(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return _not_found(request)
    error = ""
    status = 400
    if request_too_large(request):
        form, error, status = ReplyForm(request.POST), _("The files are too large."), 413
        uploaded = []
    else:
        uploaded = request.FILES.getlist("attachments")
        form = ReplyForm(request.POST, files_attached=bool(uploaded))
    if not error and form.is_valid():
        try:
            add_reply(
                ticket,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                author_role=TicketEvent.Role.AGENT,
                author_user=request.user,
                attachments=check_request_files(uploaded),
            )
        except TicketError as exc:
            error, status = exc.detail, exc.status
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect("console_ticket", number=ticket.number)
            form, status = ReplyForm(), 200
    if not request.htmx:  # type: ignore[attr-defined]
        return _page(request, ticket, reply_form=form, status=status, error=error)
    ticket = _load(request, ticket.number) or ticket
    response = render(
        request,
        "tickets/console/ticket_detail.html#reply",
        {"ticket": ticket, "reply_form": form, "error": error, **reply_limits()},
        status=status,
    )
    if status == 200:
        response.write(render_ticket_sections(ticket, request.user))
    return response


@require_POST
@csrf_protect
@agent_required
def ticket_update(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return _not_found(request)
    form = TicketUpdateForm(request.POST, ticket=ticket)
    error = ""
    status = 400
    if form.is_valid():
        try:
            apply_ticket_changes(ticket, form.cleaned_data["changes"], by=request.user)
        except TicketError as exc:
            error, status = exc.detail, exc.status
        else:
            status = 200
    if status == 200:
        fresh = _load(request, ticket.number)
        if fresh is None:
            # Moved to a department this agent does not serve: the ticket is gone from view.
            messages.info(
                request, _("%(number)s moved out of your departments.") % {"number": ticket.number}
            )
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponseClientRedirect(reverse("console_tickets"))
            return redirect("console_tickets")
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect("console_ticket", number=ticket.number)
        return HttpResponse(
            render_ticket_sections(fresh, request.user)
            + render_to_string("tickets/console/ticket_detail.html#flash", {"saved": _("Saved.")})
        )
    # A refused change rolled back; the object may hold what the actions set before it.
    ticket = _load(request, ticket.number) or ticket
    if error:
        # Nothing was applied: show the ticket as it is, with the reason.
        form = TicketUpdateForm(ticket=ticket)
    if not request.htmx:  # type: ignore[attr-defined]
        return _page(request, ticket, update_form=form, status=status, error=error)
    context = ticket_state_context(ticket, request.user)
    context.update({"update_form": form, "update_error": error})
    return render(request, "tickets/console/ticket_detail.html#controls", context, status=status)
