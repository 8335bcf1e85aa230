"""The agent console: the page, the customer panel fragment, canned-response search.

The page is a shell: everything live comes over `/ws/agent/` (console.js)
and every change goes through the agent socket's frames, i.e. the same
actions the protocol uses. These views only read.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from chat import access
from chat.actions.assets import check_set_conversation_asset
from chat.actions.contacts import check_link_conversation, prefill_of
from chat.canned import MAX_QUERY_LENGTH, canned_matches
from chat.errors import ChatError, Forbidden, NotFound
from crm.lookup import MIN_QUERY_LENGTH, find_contacts
from crm.record import contact_by_public_id, contact_record
from crm.timeline import contact_timeline
from foundation.uploads import max_upload_bytes
from frontend.console_strings import console_strings
from queues.models import AgentPresence, AgentProfile, Department
from tickets.access import access_ticket_for_agent
from tickets.console.access import agent_required
from tickets.console.contacts import LinkTarget, link_form_data, ticket_link_target
from tickets.errors import TicketNotFound

TIMELINE_LIMIT = 15


def transfer_targets(profile: AgentProfile) -> tuple[list[Department], list[dict[str, str]]]:
    """Departments and agents a chat can be handed to (the socket checks again), with
    each agent's presence now; `presence` frames keep it current."""
    departments = list(Department.objects.order_by("name"))
    agents = (
        get_user_model()
        .objects.filter(agent_profile__isnull=False, is_active=True)
        .exclude(pk=profile.user_id)
        .order_by("first_name", "username")
    )
    if not profile.is_supervisor:
        agents = agents.filter(agent_profile__departments__in=profile.departments.all()).distinct()
    agents = list(agents)
    statuses = dict(
        AgentPresence.objects.filter(user__in=agents).values_list("user_id", "published_status")
    )
    return departments, [
        {
            "username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "status": statuses.get(user.pk, AgentPresence.Status.OFFLINE),
        }
        for user in agents
    ]


def console_ping_every_ms() -> int:
    """A third of the presence TTL (at most 15 s): two pings may go missing first."""
    return max(1000, min(15000, settings.CHATPORTAL_PRESENCE_TTL_S * 1000 // 3))


@require_GET
@agent_required
def console(request: HttpRequest) -> HttpResponse:
    profile = access.agent_profile(request.user)
    departments, agents = transfer_targets(profile)
    config = {
        "socketPath": "/ws/agent/",
        # An agent's presence lives on its console's frames: ping well inside the TTL.
        "pingEveryMs": console_ping_every_ms(),
        "panelUrl": reverse("console_panel", args=["00000000-0000-0000-0000-000000000000"]),
        "cannedUrl": reverse("console_canned"),
        "callUrl": reverse("console_call", args=["00000000-0000-0000-0000-000000000000"]),
        "ticketUrl": "/console/tickets/{number}/",
        # Files go over HTTP (session cookie + CSRF token); the socket brings the event back.
        "attachmentUrl": "/api/v1/conversations/{id}/attachments",
        "maxUploadBytes": max_upload_bytes(),
        "username": request.user.get_username(),
        "strings": console_strings(),
        # The agent's own zone for the transcript's clocks (None: the browser's,
        # which is what a blank setting means).
        "timeZone": getattr(getattr(request, "viewer", None), "time_zone", "") or None,
    }
    return render(
        request,
        "frontend/console.html",
        {
            "console_section": "chats",
            "profile": profile,
            "my_departments": sorted(profile.departments.all(), key=lambda d: d.name),
            "transfer_departments": departments,
            "transfer_agents": agents,
            "console_config": config,
            "max_upload_bytes": max_upload_bytes(),
        },
    )


def _conversation_or_error(request: HttpRequest, conversation_id: str):
    return access.access_conversation_for_agent(
        request.user, conversation_id, scope=request.agent_scope
    )


@require_GET
@agent_required
def console_panel(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """The customer beside a chat: an htmx fragment."""
    try:
        conversation = _conversation_or_error(request, conversation_id)
    except NotFound:
        return render(
            request,
            "frontend/console_panel_error.html",
            {"message": _("This conversation does not exist.")},
            status=404,
        )
    except Forbidden:
        return render(
            request,
            "frontend/console_panel_error.html",
            {"message": _("This conversation belongs to another department.")},
            status=403,
        )
    return _panel(request, conversation)


def chat_link_target(conversation) -> LinkTarget:
    return LinkTarget(
        key=conversation.public_id.hex,
        post_url=reverse("console_panel_link", args=[conversation.public_id]),
        lookup_url=reverse("console_contact_lookup") + f"?conversation={conversation.public_id}",
        swap_target="#panel",
        swap="innerHTML",
    )


def _panel(request: HttpRequest, conversation, *, link_error: str = "", status: int = 200):
    contact = conversation.contact
    record = contact_record(contact) if contact is not None else None
    timeline = contact_timeline(contact, limit=TIMELINE_LIMIT) if contact is not None else []
    return render(
        request,
        "frontend/console_panel.html",
        {
            "conversation": conversation,
            "visitor": conversation.visitor,
            "record": record,
            "timeline": timeline,
            "link": chat_link_target(conversation),
            "prefill": prefill_of(conversation),
            "link_error": link_error,
            "create_label": _("Create contact from this chat"),
        },
        status=status,
    )


@require_POST
@csrf_protect
@agent_required
def console_panel_link(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Link the chat to a contact (or one made from the pre-chat details); answers the panel."""
    try:
        conversation = _conversation_or_error(request, conversation_id)
    except (NotFound, Forbidden):
        return render(
            request,
            "frontend/console_panel_error.html",
            {"message": _("This conversation does not exist.")},
            status=404,
        )
    contact_id, prefill = link_form_data(request.POST)
    contact = None
    error = ""
    if contact_id is not None:
        contact = contact_by_public_id(contact_id)
        if contact is None:
            error = _("This contact does not exist.")
    if not error:
        try:
            check_link_conversation(
                request.user,
                conversation_id,
                contact=contact,
                prefill=prefill if contact is None else None,
                scope=request.agent_scope,  # type: ignore[attr-defined]
            )
        except ChatError as exc:
            error = exc.detail
    conversation = _conversation_or_error(request, conversation_id)
    return _panel(request, conversation, link_error=error, status=400 if error else 200)


@require_GET
@agent_required
def console_contact_lookup(request: HttpRequest) -> HttpResponse:
    """Contacts matching `q`, as one-click links for the chat or ticket the box belongs to."""
    try:
        if "ticket" in request.GET:
            ticket = access_ticket_for_agent(
                request.user,
                request.GET["ticket"],
                scope=request.agent_scope,  # type: ignore[attr-defined]
            )
            link = ticket_link_target(ticket)
        else:
            conversation = _conversation_or_error(request, request.GET.get("conversation", ""))
            link = chat_link_target(conversation)
    except (NotFound, Forbidden, TicketNotFound):
        return HttpResponse(_("Not found."), status=404, content_type="text/plain")
    query = request.GET.get("q", "").strip()
    contacts = find_contacts(query)
    return render(
        request,
        "tickets/console/_contact_lookup_results.html",
        {
            "link": link,
            "contacts": contacts,
            "too_short": len(query) < MIN_QUERY_LENGTH,
        },
    )


@require_POST
@csrf_protect
@agent_required
def console_panel_asset(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Name the unit the chat is about (one of the contact's), then show the panel again."""
    try:
        conversation = check_set_conversation_asset(
            request.user,
            conversation_id,
            request.POST.get("asset", "")[:100],
            scope=request.agent_scope,
        )
    except NotFound:
        return render(
            request,
            "frontend/console_panel_error.html",
            {"message": _("This conversation does not exist.")},
            status=404,
        )
    except Forbidden:
        return render(
            request,
            "frontend/console_panel_error.html",
            {"message": _("This conversation belongs to another department.")},
            status=403,
        )
    except ChatError as exc:
        return render(
            request, "frontend/console_panel_error.html", {"message": exc.detail}, status=400
        )
    return _panel(request, conversation)


@require_GET
@agent_required
def console_canned(request: HttpRequest) -> JsonResponse:
    """Canned responses matching `q` for `conversation`, variables filled from its contact."""
    query = request.GET.get("q", "")
    if len(query) > MAX_QUERY_LENGTH + 1:
        return JsonResponse(
            {"error": {"code": "invalid", "detail": _("The search is too long.")}}, status=400
        )
    try:
        conversation = _conversation_or_error(request, request.GET.get("conversation", ""))
    except NotFound:
        return JsonResponse(
            {"error": {"code": "not_found", "detail": _("No such conversation.")}}, status=404
        )
    except Forbidden:
        return JsonResponse(
            {"error": {"code": "forbidden", "detail": _("Not your department.")}}, status=403
        )
    matches = canned_matches(
        query,
        conversation=conversation,
        agent=request.user,
        department_ids=request.agent_scope.department_ids,
    )
    return JsonResponse(
        {
            "results": [
                {
                    "shortcut": m.shortcut,
                    "title": m.title,
                    "body": m.body,
                    "department": m.department,
                }
                for m in matches
            ]
        }
    )
