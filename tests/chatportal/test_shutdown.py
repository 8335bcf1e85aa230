"""A socket told `server.shutdown` (foundation/shutdown.py) stops after the frame it was handling.

The drain puts the message in each socket's own input queue, behind the
frames already received; the consumer resolves the drain's future and handles
nothing after it. The real-process test (SIGTERM, close 1012) is
tests/multiprocess/test_graceful_shutdown.py.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from foundation import shutdown
from tests.chat.conftest import new_id, open_widget, say
from tests.tickets.test_portal_consumer import make_customer, portal_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_chat_socket_finishes_the_frame_before_the_shutdown_and_nothing_after(support):
    socket, _ = await open_widget()
    await say(socket, "before")
    drained = asyncio.get_running_loop().create_future()
    late = new_id()
    # Queued in order: a frame, the shutdown, a frame.
    early = new_id()
    await socket.send({"type": "message", "client_id": early, "body": "in flight"})
    await socket.communicator.send_input(
        {"type": shutdown.SHUTDOWN_MESSAGE_TYPE, "drained": drained}
    )
    await socket.send({"type": "message", "client_id": late, "body": "too late"})
    await asyncio.wait_for(drained, 5)
    await socket.expect("ack", client_id=early)
    # Whatever else comes (the in-flight message's event) is not about the late frame.
    while not await socket.communicator.receive_nothing(0.5):
        await socket.recv()
    assert not any(f.get("client_id") == late for f in socket.received)
    assert not any(f.get("body") == "too late" for f in socket.received)
    await socket.close()


async def test_a_portal_socket_accepts_the_shutdown_message(support):
    user, _contact = await database_sync_to_async(make_customer)("Ana Pop", "ana@example.com")
    socket = await portal_socket(user)
    drained = asyncio.get_running_loop().create_future()
    await socket.send_input({"type": shutdown.SHUTDOWN_MESSAGE_TYPE, "drained": drained})
    await asyncio.wait_for(drained, 5)
    await socket.disconnect()


def test_close_for_restart_sends_1012_only_on_an_open_socket():
    sent: list[tuple[int, bytes]] = []

    class FakeProtocol:
        STATE_OPEN = 1
        state = 1

        def sendCloseFrame(self, code, reasonUtf8):  # noqa: N802, N803 (autobahn's names)
            sent.append((code, reasonUtf8))
            self.state = 2

    protocol = FakeProtocol()
    shutdown.close_for_restart(protocol)
    shutdown.close_for_restart(protocol)
    assert sent == [(1012, b"service restart")]
