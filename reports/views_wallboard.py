"""`/console/wallboard/`: the supervisors' wall-board, a page for a TV across the room.

The page renders the board once (it works without JavaScript: a refresh
shows the truth); with htmx its socket (`/ws/console/wallboard/`,
`reports.consumers.WallboardConsumer`) swaps in the board re-rendered from
the database whenever the floor changes. Supervisors only: any other agent
gets a 403 page, strangers go to sign in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from reports.wallboard import wallboard
from tickets.console.access import agent_required

SOCKET_PATH = "/ws/console/wallboard/"


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in supervisors only (on top of `agent_required`)."""

    @agent_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.agent_scope.is_supervisor:  # type: ignore[attr-defined]
            return render(request, "reports/not_supervisor.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@never_cache
@supervisor_required
def wallboard_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/wallboard.html",
        {"board": wallboard(), "socket_path": SOCKET_PATH},
    )
