"""WebSocket URL routes. Each app contributes its consumers."""

from __future__ import annotations

from django.urls import path

from chat.consumers.agent import AgentConsumer
from chat.consumers.widget import WidgetConsumer
from reports.consumers import WallboardConsumer
from tickets.console.consumers import ConsoleTicketConsumer
from tickets.portal.consumers import PortalConsumer

websocket_urlpatterns: list = [
    path("ws/widget/", WidgetConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/portal/", PortalConsumer.as_asgi()),
    path("ws/console/tickets/", ConsoleTicketConsumer.as_asgi()),
    path("ws/console/wallboard/", WallboardConsumer.as_asgi()),
]
