"""The ASGI entry point daphne serves: the tutorial's ProtocolTypeRouter."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.tutorial.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from bench.baselines.tutorial.consumers import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            URLRouter(
                [
                    re_path(r"^ws/widget/$", ChatConsumer.as_asgi(role="visitor")),
                    re_path(r"^ws/agent/$", ChatConsumer.as_asgi(role="agent")),
                ]
            )
        ),
    }
)
