"""The supervisor's floor: every open chat live, watching one, whispering, taking over.

Who may: a supervisor (`AgentProfile.is_supervisor`, set in the admin);
other agents get the console's 403 page. The list refreshes itself (htmx,
every few seconds, `_floor_list.html`); a watched chat is live over the
supervisor's own agent socket (`floor.js`: `resume` to follow it, `whisper`
to whisper), with no send box. Every change posts to a view here that calls
one action (`chat.actions.floor`, `chat.actions.presence`) and answers with
the list again (htmx) or a redirect (no JavaScript).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chat import access, queries
from chat.actions import floor
from chat.actions.presence import check_set_presence
from chat.errors import ChatError, NotFound
from chat.queue import active_chat_counts
from frontend.views_console import console_ping_every_ms
from queues.models import AgentPresence
from tickets.console.access import agent_required

PRESENCE_CHOICES = [
    (AgentPresence.Status.ONLINE, _("online")),
    (AgentPresence.Status.AWAY, _("away")),
    (AgentPresence.Status.OFFLINE, _("offline")),
]
REFRESH_S = 3


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @agent_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.agent_scope.is_supervisor:
            return render(
                request,
                "frontend/floor_forbidden.html",
                {"console_section": "floor"},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


def floor_agents() -> list[dict[str, Any]]:
    """Every active agent with its visible presence, what it chose, and its open chats."""
    users = list(
        get_user_model()
        .objects.filter(agent_profile__isnull=False, is_active=True)
        .select_related("presence")
        .order_by("first_name", "username")
    )
    counts = active_chat_counts([u.pk for u in users])
    agents = []
    for user in users:
        presence = getattr(user, "presence", None)
        agents.append(
            {
                "username": user.get_username(),
                "name": user.get_full_name() or user.get_username(),
                "status": presence.published_status if presence else AgentPresence.Status.OFFLINE,
                "chosen": presence.chosen_status if presence else AgentPresence.Status.OFFLINE,
                "set_by": presence.set_by if presence else "",
                "chats": counts.get(user.pk, 0),
            }
        )
    return agents


def _floor_context(request: HttpRequest, *, message: str = "", error: str = "") -> dict[str, Any]:
    agents = floor_agents()
    return {
        "console_section": "floor",
        "chats": queries.floor_conversations(timezone.now()),
        "agents": agents,
        "presence_choices": PRESENCE_CHOICES,
        "refresh_s": REFRESH_S,
        "message": message,
        "error": error,
    }


@require_GET
@supervisor_required
def floor_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/floor.html", _floor_context(request))


@require_GET
@supervisor_required
def floor_list(request: HttpRequest) -> HttpResponse:
    """The live part of the page (polled by htmx)."""
    return render(request, "frontend/floor.html#floor-live", _floor_context(request))


def _answer(request: HttpRequest, *, back: str, message: str = "", error: str = "") -> HttpResponse:
    """htmx: the list with the outcome; without JavaScript: back to the page."""
    if request.htmx:
        status = 200 if not error else 409
        context = _floor_context(request, message=message, error=error)
        return render(request, "frontend/floor.html#floor-live", context, status=status)
    return redirect(back)


def _back(request: HttpRequest) -> str:
    """Where a form without JavaScript returns: a floor page of ours, never elsewhere."""
    target = request.POST.get("next", "")
    if target.startswith("/console/floor/") and "//" not in target and "\\" not in target:
        return target
    return "/console/floor/"


def _run(request: HttpRequest, action: Callable[[], Any], *, done: str, back: str) -> HttpResponse:
    try:
        action()
    except ChatError as exc:
        return _answer(request, back=back, error=str(exc.detail))
    return _answer(request, back=back, message=done)


@require_POST
@supervisor_required
def floor_take_over(request: HttpRequest, conversation_id: str) -> HttpResponse:
    return _run(
        request,
        lambda: floor.check_take_over(request.user, conversation_id, scope=request.agent_scope),
        done=_("The chat is yours now."),
        back=_back(request),
    )


@require_POST
@supervisor_required
def floor_reassign(request: HttpRequest, conversation_id: str) -> HttpResponse:
    agent = request.POST.get("agent", "").strip()
    return _run(
        request,
        lambda: floor.check_reassign(
            request.user, conversation_id, agent, scope=request.agent_scope
        ),
        done=_("The chat was handed over."),
        back=_back(request),
    )


@require_POST
@supervisor_required
def floor_presence(request: HttpRequest, username: str) -> HttpResponse:
    status = request.POST.get("status", "")
    if status not in AgentPresence.Status.values:
        return _answer(request, back="/console/floor/", error=_("Choose online, away or offline."))
    return _run(
        request,
        lambda: check_set_presence(request.user, status, agent_username=username),
        done=_("Presence set."),
        back=_back(request),
    )


def floor_strings() -> dict[str, str]:
    return {
        "connected": _("Connected"),
        "reconnecting": _("Reconnecting…"),
        "visitor": _("Visitor"),
        "system": _("System"),
        "internal": _("Internal — not visible to the customer"),
        "whisperFrom": _("Whisper from %(name)s"),
        "assigned": _("%(name)s joined the chat"),
        "transferred": _("Transferred to %(name)s"),
        "closed": _("Chat closed by %(by)s"),
        "rated": _("Rated %(score)s of 5"),
    }


@require_GET
@supervisor_required
def floor_chat(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """One chat, read-only and live (floor.js follows it over the agent socket)."""
    try:
        conversation = access.access_conversation_for_agent(
            request.user, conversation_id, scope=request.agent_scope
        )
    except NotFound:
        return render(
            request, "frontend/floor_forbidden.html", {"console_section": "floor"}, status=404
        )
    config = {
        "socketPath": "/ws/agent/",
        "conversation": str(conversation.public_id),
        "pingEveryMs": console_ping_every_ms(),
    }
    return render(
        request,
        "frontend/floor_chat.html",
        {
            "console_section": "floor",
            "conversation": conversation,
            "agents": floor_agents(),
            "floor_config": config,
            "floor_strings": floor_strings(),
        },
    )
