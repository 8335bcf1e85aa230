"""Fuzzing every socket with random frames (hypothesis).

Each example opens a fresh socket (a fresh visitor, agent session or
customer session), throws a short batch of random frames at it — random
JSON values, random types, objects shaped like real frames with random
field values, huge numbers, deep nesting, random text — and then checks
the socket: no crash, nothing but protocol frames came back, every bad frame
got an `error` with our own wording (never `server_error`, never exception
text), and the socket still answers `ping` with `pong` (the portal socket,
which only listens, still pushes its customer's ticket). A close is only
allowed with a documented code: 4009 for an oversize frame.

Examples run one event loop each (`async_to_sync`), with a fresh channel
layer, so the in-memory layer's queues never outlive their loop.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import frames as protocol
from chatportal.asgi import application
from tests.chat.conftest import HOST, ORIGIN
from tests.security.conftest import open_ticket, session_cookie
from tickets.actions.messages import add_reply

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis directory in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OUTBOUND_TYPES = {
    "welcome",
    "event",
    "ack",
    "error",
    "pong",
    "typing",
    "read",
    "queue",
    "suggestions",
    "presence",
    "assigned",
    "unassigned",
}
ERROR_CODES = {
    "invalid",
    "not_found",
    "forbidden",
    "conflict",
    "rate_limited",
    "not_available",
    "identity_invalid",
}
CLOSE_TOO_BIG = 4009
LEAKS = ("Traceback", "Error:", "Exception", 'File "', "psycopg", "sqlite", "django.")

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.uuids().map(str),
    st.sampled_from(
        ["", " ", "\x00", "' OR 1=1 --", "../../etc/passwd", "<script>", "T-1001", "null"]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def shaped_frames(schemas: dict[str, protocol.Schema]):
    """Objects with a real frame type and its real field names, holding random values."""
    field_names = sorted({name for schema in schemas.values() for name in schema})

    return st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.sampled_from(sorted(schemas)),
        st.dictionaries(st.sampled_from(field_names), json_values, max_size=5),
    )


def raw_frames(schemas: dict[str, protocol.Schema]):
    return st.one_of(
        shaped_frames(schemas).map(json.dumps),
        json_values.map(json.dumps),
        st.builds(
            lambda kind, extra: json.dumps({"type": kind, **extra}),
            st.text(alphabet=string.printable, max_size=20),
            st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        ),
        st.text(min_size=1, max_size=200),
        # Nesting around Python's recursion limit (1000), where json.loads stops being ValueError.
        st.sampled_from([10, 999, 1000, 5000, 30_000]).map(lambda depth: "[" * depth + "]" * depth),
        st.just(json.dumps({"type": "ping", "pad": "x" * (64 * 1024)})),
    )


def fresh_layer() -> None:
    channel_layers.backends.clear()


async def receive_until_pong(
    socket: WebsocketCommunicator, sent: list[str]
) -> list[dict[str, Any]]:
    received = []
    while True:
        output = await socket.receive_output(5)
        if output["type"] == "websocket.close":
            assert output.get("code") == CLOSE_TOO_BIG, (output, sent)
            assert any(len(frame.encode()) > protocol.MAX_FRAME_BYTES for frame in sent), sent
            return received
        frame = json.loads(output["text"])
        assert isinstance(frame, dict) and frame.get("type") in OUTBOUND_TYPES, (frame, sent)
        text = output["text"]
        for leak in LEAKS:
            assert leak not in text, (leak, frame, sent)
        if frame["type"] == "error":
            assert frame["code"] in ERROR_CODES, (frame, sent)
            assert isinstance(frame["detail"], str) and frame["detail"], frame
        received.append(frame)
        if frame["type"] == "pong":
            return received


async def fuzz_chat_socket(
    path: str, headers: list, batch: list[str], *, hello: dict | None
) -> None:
    socket = WebsocketCommunicator(application, path, headers=[ORIGIN, HOST, *headers])
    connected, _ = await socket.connect()
    assert connected
    try:
        if hello is not None:
            await socket.send_to(text_data=json.dumps(hello))
        # The agent's session welcomes it on connect; the visitor's hello answers it.
        while (json.loads((await socket.receive_output(5))["text"]))["type"] != "welcome":
            pass
        for frame in batch:
            await socket.send_to(text_data=frame)
        await socket.send_to(text_data='{"type": "ping"}')
        await receive_until_pong(socket, batch)
    finally:
        await socket.disconnect()


@FUZZ
@given(batch=st.lists(raw_frames(protocol.WIDGET_FRAMES), min_size=1, max_size=6))
def test_random_frames_never_break_the_widget_socket(support, batch):
    fresh_layer()
    async_to_sync(fuzz_chat_socket)(
        "/ws/widget/", [], batch, hello={"type": "hello", "department": "support"}
    )


@FUZZ
@given(batch=st.lists(raw_frames(protocol.AGENT_FRAMES), min_size=1, max_size=6))
def test_random_frames_never_break_the_agent_socket(support_agent, agent_cookie, batch):
    fresh_layer()
    async_to_sync(fuzz_chat_socket)("/ws/agent/", agent_cookie, batch, hello=None)


@pytest.fixture
def agent_cookie(support_agent):
    return session_cookie(support_agent)


@pytest.fixture
def portal_world(customer, support, support_agent):
    return {
        "cookie": session_cookie(customer[0]),
        "ticket": open_ticket(customer[1], department=support),
        "agent": support_agent,
    }


async def fuzz_portal_socket(world: dict, batch: list[str]) -> None:
    socket = WebsocketCommunicator(
        application, "/ws/portal/", headers=[ORIGIN, HOST, *world["cookie"]]
    )
    connected, _ = await socket.connect()
    assert connected
    try:
        for frame in batch:
            await socket.send_to(text_data=frame)
        if any(len(frame.encode()) > 4096 for frame in batch):
            assert await socket.receive_output(3) == {
                "type": "websocket.close",
                "code": CLOSE_TOO_BIG,
            }
            return
        # Still listening: a change to its customer's ticket (an agent's note: it
        # rings the doorbell and re-renders the public view) is pushed, nothing else before it.
        number = world["ticket"].number
        await database_sync_to_async(add_reply)(
            world["ticket"],
            body="internal",
            internal=True,
            author_role="agent",
            author_user=world["agent"],
        )
        fragment = await socket.receive_from(5)
        assert f'id="ticket-{number}"' in fragment, fragment
        for leak in LEAKS:
            assert leak not in fragment
    finally:
        await socket.disconnect()


@FUZZ
@given(
    batch=st.lists(
        raw_frames({**protocol.WIDGET_FRAMES, **protocol.AGENT_FRAMES}), min_size=1, max_size=6
    )
)
def test_random_frames_never_break_the_portal_socket(portal_world, batch):
    fresh_layer()
    async_to_sync(fuzz_portal_socket)(portal_world, batch)


def test_the_fuzzers_reach_past_validation(support):
    # A fuzzer that only ever produced garbage would test the parser alone:
    # make sure shaped frames with valid ids reach the handlers (not_found etc.).
    fresh_layer()
    conversation = "00000000-0000-4000-8000-000000000000"
    batch = [
        json.dumps({"type": "resume", "conversation": conversation, "after_seq": 0}),
        json.dumps({"type": "read", "conversation": conversation, "seq": 2**40}),
    ]

    async def run() -> list[dict[str, Any]]:
        socket = WebsocketCommunicator(application, "/ws/widget/", headers=[ORIGIN, HOST])
        await socket.connect()
        await socket.send_json_to({"type": "hello", "department": "support"})
        await socket.receive_json_from(5)
        for frame in batch:
            await socket.send_to(text_data=frame)
        await socket.send_to(text_data='{"type": "ping"}')
        received = await receive_until_pong(socket, batch)
        await socket.disconnect()
        return received

    received = async_to_sync(run)()
    codes = [frame.get("code") for frame in received if frame["type"] == "error"]
    assert codes == ["not_found", "invalid"]
