"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Every socket path sits behind an Origin check (foundation.origins); the
routes of agents and customers also behind the session middleware, so they
are authenticated by their Django session cookie (chatportal.routing).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatportal.input_guard import SocketQueryGuard  # noqa: E402
from chatportal.routing import websocket_urlpatterns  # noqa: E402
from foundation.logs import RequestIdMiddleware  # noqa: E402
from foundation.origins import SocketOriginValidator  # noqa: E402

application = RequestIdMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SocketQueryGuard(SocketOriginValidator(URLRouter(websocket_urlpatterns))),
        }
    )
)
