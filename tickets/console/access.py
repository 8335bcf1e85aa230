"""Who may open the agent console's pages, chats and tickets alike.

One decorator for every console view: anonymous users go to sign in,
customers go to their portal (one person is never both), anyone else who is
no agent gets a 403 page. The agent's scope rides on `request.agent_scope`
so a view does not ask the database again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from queues.agent_scope import agent_scope
from tickets.customers import customer_contact


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in agents only; sets `request.agent_scope`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope = agent_scope(request.user)
        if scope is None:
            if customer_contact(request.user) is not None:
                return redirect("portal")
            return render(request, "tickets/console/not_agent.html", status=403)
        request.agent_scope = scope  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
