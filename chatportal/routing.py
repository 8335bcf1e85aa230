"""WebSocket URL routes. Each app contributes its consumers.

Agents, customers and supervisors are signed in by their Django session
cookie: their routes go through the session and auth middleware. The widget
is not (a visitor proves itself with its token in `hello`): it gets the
cookies only (the language cookie), so each of the many widget sockets
neither loads a session in a database hop at connect nor keeps the session
and auth wrappers alive for its whole life (about 3 KiB a socket).
"""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.sessions import CookieMiddleware
from django.urls import path

from chat.consumers.agent import AgentConsumer
from chat.consumers.widget import WidgetConsumer
from reports.consumers import WallboardConsumer
from tickets.console.consumers import ConsoleTicketConsumer
from tickets.portal.consumers import PortalConsumer

websocket_urlpatterns: list = [
    path("ws/widget/", CookieMiddleware(WidgetConsumer.as_asgi())),
    path("ws/agent/", AuthMiddlewareStack(AgentConsumer.as_asgi())),
    path("ws/portal/", AuthMiddlewareStack(PortalConsumer.as_asgi())),
    path("ws/console/tickets/", AuthMiddlewareStack(ConsoleTicketConsumer.as_asgi())),
    path("ws/console/wallboard/", AuthMiddlewareStack(WallboardConsumer.as_asgi())),
]
