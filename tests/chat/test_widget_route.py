"""The widget's route carries no session: a visitor proves itself with its token.

Widget sockets are most of a worker's sockets. Behind the session and auth
middleware each one loaded a session in a database hop at connect (even on a
site whose visitors have no cookie of ours) and kept those wrappers alive for
its whole life.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings

from tests.chat.conftest import Socket, session_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session_loads(monkeypatch) -> list[str]:
    loads: list[str] = []
    store = import_module(settings.SESSION_ENGINE).SessionStore
    real = store.load

    def counted(self):
        loads.append(self.session_key or "")
        return real(self)

    monkeypatch.setattr(store, "load", counted)
    return loads


async def test_a_widget_socket_never_loads_a_session(support, support_agent, session_loads):
    # Even with an agent's session cookie (the agent opened the site in a tab).
    headers = await session_headers(support_agent)
    session_loads.clear()
    widget = Socket("/ws/widget/", headers=headers)
    await widget.connect()
    await widget.send({"type": "hello", "department": "support"})
    welcome = await widget.expect("welcome")
    assert welcome["visitor"]["identified"] is False
    assert session_loads == []
    await widget.close()

    # The agent's own route does read it: that is how the console signs in.
    agent = Socket("/ws/agent/", headers=headers)
    await agent.connect()
    await agent.send({"type": "hello"})
    await agent.expect("welcome")
    assert session_loads
    await agent.close()
