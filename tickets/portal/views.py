"""The customer portal: sign-in, "My tickets", a ticket's page, new tickets.

Thin views: `tickets.access` decides what a customer may see (the same rule
the portal socket uses), `tickets.actions` makes every change. Pages work
without JavaScript; with htmx the reply form swaps in place, and the page's
socket (`/ws/portal/`) swaps in the fragments rendered from the same
partials (`tickets.portal.rendering.render_ticket_fragment`).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth import login, logout
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.models import Contact
from tickets import links
from tickets.access import access_ticket_for_customer, equipment_for_customer, tickets_for_customer
from tickets.actions.contacts import confirm_requester, portal_user_for
from tickets.actions.messages import add_reply, create_ticket
from tickets.attachments import (
    check_request_files,
    is_attachment_path,
    request_too_large,
)
from tickets.customers import user_for_login_token
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket, TicketEvent
from tickets.notifications.outbox import request_sign_in_link
from tickets.portal.auth import (
    allow_link_request,
    client_address,
    customer_required,
    redirect_signed_in_customer,
)
from tickets.portal.forms import LinkRequestForm, NewTicketForm, PortalAuthenticationForm, ReplyForm
from tickets.portal.rendering import (
    PROGRESS_STEPS,
    STATUSES_OF_STEP,
    render_ticket_fragment,
    ticket_context,
)

LIST_LIMIT = 200


# A change that committed while the page was being read may carry an
# updated_at just before the read; asking the socket for a little more than
# the page shows costs an idempotent swap, missing it costs a stale page.
CATCH_UP_MARGIN = datetime.timedelta(seconds=5)


def _socket_path(*, since: datetime.datetime, **query: str) -> str:
    """The page's socket URL; `since` lets it (re)connect and catch up on what changed."""
    stamp = (since - CATCH_UP_MARGIN).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "/ws/portal/?" + urlencode({**query, "since": stamp})


# --- sign-in ---------------------------------------------------------------------------


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and (target.startswith("/portal/") or is_attachment_path(target))
    ):
        return target
    return default


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@redirect_signed_in_customer
def portal_login(request: HttpRequest) -> HttpResponse:
    form = PortalAuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_safe_next(request, reverse("portal")))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "tickets/portal/login.html",
        {"form": form, "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
@csrf_protect
def portal_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal_login")


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
@redirect_signed_in_customer
def portal_link_request(request: HttpRequest) -> HttpResponse:
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = form.cleaned_data["email"]
        if not allow_link_request(address, client_address(request)):
            return render(
                request,
                "tickets/portal/link_request.html",
                {"form": form, "rate_limited": True},
                status=429,
            )
        # The same work, answer and time whether or not the address is a
        # customer's: the outbox's sender decides, and the relay is never waited for.
        request_sign_in_link(address)
        return render(request, "tickets/portal/link_sent.html", {"email": address})
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/portal/link_request.html", {"form": form}, status=status)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def portal_link_confirm(request: HttpRequest, token: str) -> HttpResponse:
    # GET only asks for a click: mail scanners that fetch links must not
    # spend the one use (signing in updates last_login, which voids the link).
    user = user_for_login_token(token)
    if user is None:
        return render(request, "tickets/portal/link_invalid.html", status=400)
    if request.method == "POST":
        if request.user.is_authenticated:
            logout(request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("portal")
    return render(request, "tickets/portal/link_confirm.html", {"token": token})


def _link_invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/portal/link_invalid.html", {"ticket_link": True}, status=400)


@never_cache
@require_GET
def portal_ticket_link(request: HttpRequest, number: str, token: str) -> HttpResponse:
    """A signed ticket link (`tickets.links`): sign in as its contact, open its ticket.

    Someone else signed in on this browser is signed out first: the link is
    proof of the mailbox (or the host site's sign-in) it was handed to, and
    its ticket is what its follower wants to see. Not one-time, so a mail
    scanner fetching it spends nothing.
    """
    link = links.read_token(token, number)
    ticket = Ticket.objects.filter(number=link.number).first() if link is not None else None
    if link is None or ticket is None:
        return _link_invalid(request)
    if link.purpose == links.CONFIRM:
        contact = confirm_requester(ticket, link.email)
    else:
        contact = Contact.objects.filter(pk=link.contact_id).first()
    user = portal_user_for(contact) if contact is not None else None
    if user is None:
        return _link_invalid(request)
    try:
        access_ticket_for_customer(user, link.number)
    except TicketNotFound:
        return _link_invalid(request)
    if request.user.is_authenticated and request.user.pk != user.pk:
        logout(request)
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("portal_ticket", number=link.number)


# --- tickets ---------------------------------------------------------------------------


def _search(tickets: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    query = query.strip()[:100]
    if not query:
        return tickets
    return tickets.filter(Q(number__iexact=query) | Q(subject__icontains=query))


@require_GET
@never_cache
@customer_required
def portal_home(request: HttpRequest) -> HttpResponse:
    read_at = timezone.now()
    query = request.GET.get("q", "")
    contact = request.contact  # type: ignore[attr-defined]
    tickets = _search(tickets_for_customer(request.user), query).select_related("contact")
    # The status filter offers the tracker's steps; anything else means all.
    step = request.GET.get("status", "")
    if step in STATUSES_OF_STEP:
        tickets = tickets.filter(status__in=STATUSES_OF_STEP[step])
    else:
        step = ""
    rows = [
        ticket_context(t, with_timeline=False, viewer_contact_id=contact.pk)
        for t in tickets.order_by("-updated_at")[:LIST_LIMIT]
    ]
    return render(
        request,
        "tickets/portal/ticket_list.html",
        {
            "rows": rows,
            "query": query.strip()[:100],
            "step": step,
            "steps": PROGRESS_STEPS,
            "filtered": bool(query.strip() or step),
            "contact": contact,
            "socket_path": _socket_path(since=read_at),
        },
    )


@require_GET
@never_cache
@customer_required
def portal_equipment(request: HttpRequest) -> HttpResponse:
    equipment = equipment_for_customer(request.user)
    return render(
        request,
        "tickets/portal/equipment.html",
        {
            "assets": equipment.assets,
            "contracts": equipment.contracts,
            "contact": request.contact,  # type: ignore[attr-defined]
            "today": timezone.localdate(),
        },
    )


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    form: ReplyForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    context = ticket_context(ticket, with_timeline=True)
    context.update(
        {
            "form": form,
            "error": error,
            "socket_path": _socket_path(since=ticket.updated_at, ticket=ticket.number),
        }
    )
    return render(request, "tickets/portal/ticket_detail.html", context, status=status)


def _load(request: HttpRequest, number: str) -> Ticket | None:
    try:
        return access_ticket_for_customer(request.user, number)
    except TicketNotFound:
        return None


@require_GET
@never_cache
@customer_required
def portal_ticket(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return render(request, "tickets/portal/not_found.html", status=404)
    return _ticket_page(request, ticket, ReplyForm())


@require_POST
@csrf_protect
@customer_required
def portal_reply(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return render(request, "tickets/portal/not_found.html", status=404)
    if request_too_large(request):
        return _reply_answer(
            request, ticket, ReplyForm(), status=413, error=str(_("The files are too large."))
        )
    uploaded = request.FILES.getlist("attachments")
    form = ReplyForm(request.POST, files_attached=bool(uploaded))
    if not form.is_valid():
        return _reply_answer(request, ticket, form, status=400)
    try:
        add_reply(
            ticket,
            body=form.cleaned_data["body"],
            internal=False,
            author_role=TicketEvent.Role.CUSTOMER,
            author_contact=request.contact,  # type: ignore[attr-defined]
            attachments=check_request_files(uploaded),
        )
    except TicketError as exc:
        return _reply_answer(request, ticket, form, status=exc.status, error=exc.detail)
    ticket.refresh_from_db()
    if request.htmx:  # type: ignore[attr-defined]
        return _reply_answer(request, ticket, ReplyForm())
    return redirect("portal_ticket", number=ticket.number)


def _reply_answer(
    request: HttpRequest, ticket: Ticket, form: ReplyForm, *, status: int = 200, error: str = ""
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        # The form swaps in place; the ticket section rides along out of band.
        context = ticket_context(ticket, with_timeline=True)
        context.update({"form": form, "error": error})
        response = render(
            request, "tickets/portal/ticket_detail.html#reply", context, status=status
        )
        if status == 200:
            response.write(render_ticket_fragment(ticket, view="ticket"))
        return response
    return _ticket_page(request, ticket, form, status=status, error=error)


@require_http_methods(["GET", "POST"])
@csrf_protect
@never_cache
@customer_required
def portal_new_ticket(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request_too_large(request):
        return render(
            request,
            "tickets/portal/new_ticket.html",
            {"form": NewTicketForm(), "error": _("The files are too large.")},
            status=413,
        )
    form = NewTicketForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        contact = request.contact  # type: ignore[attr-defined]
        try:
            ticket = create_ticket(
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                contact=contact,
                channel=Ticket.Channel.PORTAL,
                department=form.cleaned_data["department"],
                author_role=TicketEvent.Role.CUSTOMER,
                author_contact=contact,
                attachments=check_request_files(request.FILES.getlist("attachments")),
            )
        except TicketError as exc:
            error = exc.detail
        else:
            return redirect("portal_ticket", number=ticket.number)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "tickets/portal/new_ticket.html", {"form": form, "error": error}, status=status
    )
