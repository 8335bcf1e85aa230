"""SQL-ish, path-traversal, NUL, huge and exotic strings in every parameter of every endpoint.

The API sweep reads the OpenAPI document, so an endpoint added later is
swept the day it lands: each path, query and JSON-body parameter in turn
gets each hostile string. Never a 5xx; the API always answers its JSON error
shape; pages answer a clear 4xx, a redirect or an (empty) result.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chatportal.api import api as ninja_api
from queues.tokens import issue_agent_token
from tests.security.conftest import HOSTILE_STRINGS, open_ticket, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(customer, support, support_agent):
    from chat.actions.conversations import start_conversation
    from chat.actions.visitors import create_visitor

    ticket = open_ticket(customer[1], department=support)
    visitor, visitor_token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    return {
        "ticket": ticket,
        "conversation": conversation,
        "visitor_token": visitor_token,
        "valid": {
            "number": ticket.number,
            "contact_id": str(customer[1].public_id),
            "conversation_id": str(conversation.public_id),
            "token": "x" * 32,
            "attachment_id": "00000000-0000-0000-0000-000000000000",
        },
    }


def operations():
    document = ninja_api.get_openapi_schema()
    components = document.get("components", {}).get("schemas", {})
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method == "options":
                continue
            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            if body_schema and "$ref" in body_schema:
                body_schema = components[body_schema["$ref"].rsplit("/", 1)[1]]
            body_fields = sorted((body_schema or {}).get("properties", {}))
            yield method.upper(), path, operation.get("parameters", []), body_fields


class Failures(list):
    """Every bad answer of a sweep, reported together (one bug rarely comes alone)."""

    def check(self, ok: bool, where: str) -> None:
        if not ok:
            self.append(where)

    def assert_none(self) -> None:
        assert not self, f"{len(self)} bad answers:\n" + "\n".join(self[:60])


def api_answer_ok(response) -> bool:
    text = response.content.decode("utf-8", "replace")
    if response.status_code >= 500 or "Traceback" in text or 'File "/' in text:
        return False
    if response.status_code >= 400:
        if not response["Content-Type"].startswith("application/json"):
            return False
        error = response.json().get("error", {})
        return isinstance(error.get("code"), str) and isinstance(error.get("detail"), str)
    return True


def assert_api_answer(response, where: str) -> None:
    assert api_answer_ok(response), f"{where}: {response.status_code} {response.content[:300]!r}"


def call(client: Client, method: str, path: str, *, query=None, body=None):
    if method == "GET":
        return client.get(path, query or {})
    data = json.dumps(body if body is not None else {})
    suffix = ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())) if query else ""
    return client.generic(method, path + suffix, data, content_type="application/json")


def test_every_api_parameter_takes_hostile_strings_without_a_5xx(world, support_agent):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    failures = Failures()

    def assert_api_answer(response, where: str) -> None:
        failures.check(api_answer_ok(response), f"{where}: {response.status_code}")

    swept = 0
    for hostile, (method, template, parameters, body_fields) in (
        (hostile, operation) for hostile in HOSTILE_STRINGS for operation in operations()
    ):
        path_names = [p["name"] for p in parameters if p["in"] == "path"]
        query_names = [p["name"] for p in parameters if p["in"] == "query"]

        def path_with(overrides: dict[str, str], template=template, path_names=path_names) -> str:
            path = template
            for name in path_names:
                value = overrides.get(name, world["valid"].get(name, "x"))
                path = path.replace("{" + name + "}", quote(value, safe=""))
            return path

        for name in path_names:
            where = f"{method} {template} path {name}={hostile[:30]!r}"
            assert_api_answer(call(client, method, path_with({name: hostile})), where)
            swept += 1
        for name in query_names:
            where = f"{method} {template} query {name}={hostile[:30]!r}"
            assert_api_answer(call(client, method, path_with({}), query={name: hostile}), where)
            swept += 1
        for name in body_fields:
            where = f"{method} {template} body {name}={hostile[:30]!r}"
            assert_api_answer(call(client, method, path_with({}), body={name: hostile}), where)
            # Where the schema wants a string: an operator object, a list, a huge number.
            for wrong in (
                ({"$ne": hostile}, [hostile], 10**30) if hostile == HOSTILE_STRINGS[0] else ()
            ):
                assert_api_answer(call(client, method, path_with({}), body={name: wrong}), where)
            swept += 1
        if method in ("POST", "PATCH"):
            raw = client.generic(method, path_with({}), hostile, content_type="application/json")
            assert_api_answer(raw, f"{method} {template} raw body")
    failures.assert_none()
    assert swept >= 30 * len(HOSTILE_STRINGS)
    world["ticket"].refresh_from_db()
    assert world["ticket"].last_seq >= 1


def test_unknown_api_paths_and_unknown_parameters_answer_json(support_agent):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    for hostile in HOSTILE_STRINGS:
        check_unknown(client, hostile)


def check_unknown(client: Client, hostile: str) -> None:
    assert_api_answer(client.get("/api/v1/" + quote(hostile, safe="")), "unknown path")
    assert_api_answer(
        client.get("/api/v1/tickets", {hostile[:100] or "x": "1"}), "unknown parameter"
    )
    assert_api_answer(
        client.get("/api/v1/tickets", {"status": [hostile, hostile]}), "repeated parameter"
    )


def page_answer_ok(response) -> bool:
    return response.status_code < 500 and "Traceback" not in response.content.decode(
        "utf-8", "replace"
    )


def test_every_page_parameter_takes_hostile_strings_without_a_5xx(world, customer, support_agent):
    customer_client = signed_in(customer[0])
    agent_client = signed_in(support_agent)
    failures = Failures()
    for hostile in HOSTILE_STRINGS:
        sweep_pages(world, hostile, customer_client, agent_client, Client(), failures)
    failures.assert_none()


def sweep_pages(
    world,
    hostile: str,
    customer_client: Client,
    agent_client: Client,
    anonymous: Client,
    failures: Failures,
) -> None:
    segment = quote(hostile, safe="")
    ticket = world["ticket"]
    requests = [
        (customer_client, "get", "/portal/", {"q": hostile}),
        (customer_client, "get", f"/portal/tickets/{segment}/", None),
        (customer_client, "post", f"/portal/tickets/{segment}/reply/", {"body": "x"}),
        (customer_client, "post", f"/portal/tickets/{ticket.number}/reply/", {"body": hostile}),
        (
            customer_client,
            "post",
            "/portal/tickets/new/",
            {"subject": hostile, "body": hostile, "department": hostile},
        ),
        (anonymous, "get", "/portal/login/", {"next": hostile}),
        (
            anonymous,
            "post",
            "/portal/login/",
            {"username": hostile, "password": hostile, "next": hostile},
        ),
        (anonymous, "post", "/portal/login/link/", {"email": hostile}),
        (anonymous, "get", f"/portal/login/link/{segment}/", None),
        (anonymous, "post", f"/portal/login/link/{segment}/", None),
        (anonymous, "get", "/widget-demo/", {"department": hostile, "locale": hostile}),
        (anonymous, "get", "/accounts/login/", {"next": hostile}),
        (
            agent_client,
            "get",
            "/console/tickets/",
            {
                "q": hostile,
                "status": hostile,
                "priority": hostile,
                "department": hostile,
                "assignee": hostile,
                "ordering": hostile,
                "page": hostile,
            },
        ),
        (agent_client, "get", f"/console/tickets/{segment}/", None),
        (agent_client, "post", f"/console/tickets/{segment}/reply/", {"body": "x"}),
        (
            agent_client,
            "post",
            f"/console/tickets/{ticket.number}/update/",
            {"status": hostile, "priority": hostile, "assignee": hostile, "department": hostile},
        ),
        (
            agent_client,
            "post",
            "/console/tickets/bulk/",
            {"tickets": hostile, "action": hostile, "status": hostile},
        ),
        (agent_client, "get", f"/console/panel/{segment}/", None),
        (agent_client, "get", "/console/canned/", {"q": hostile, "conversation": hostile}),
    ]
    for client, method, path, data in requests:
        response = getattr(client, method)(path, data or {})
        where = f"{method.upper()} {path[:60]} {sorted(data or {})} {hostile[:30]!r}: {response.status_code}"
        failures.check(page_answer_ok(response), where)


@pytest.mark.django_db(transaction=True)
async def test_socket_query_strings_take_hostile_strings(customer, support_agent):
    from tests.chat.conftest import session_headers

    agent_headers = await session_headers(support_agent)
    for hostile in HOSTILE_STRINGS:
        await sweep_socket_queries(customer, agent_headers, hostile)


async def sweep_socket_queries(customer, agent_headers, hostile: str) -> None:
    from channels.testing import WebsocketCommunicator

    from chatportal.asgi import application
    from tests.chat.conftest import HOST, ORIGIN
    from tests.security.conftest import session_cookie

    value = quote(hostile, safe="")
    cookie = await database_sync_to_async(session_cookie)(customer[0])
    portal = WebsocketCommunicator(
        application, f"/ws/portal/?ticket={value}&since={value}", headers=[ORIGIN, HOST, *cookie]
    )
    console = WebsocketCommunicator(
        application, f"/ws/console/tickets/?ticket={value}", headers=[ORIGIN, HOST, *agent_headers]
    )
    portal_open, _ = await portal.connect()
    console_open, _ = await console.connect()
    if "\x00" in hostile:
        # No page of ours builds such a URL: the handshake is refused outright.
        assert not portal_open and not console_open
        await portal.disconnect()
        await console.disconnect()
        return
    assert portal_open and console_open, hostile
    assert await portal.receive_nothing(0.1)
    await portal.disconnect()
    assert (await console.receive_output(2))["code"] == 4004


NUL_REQUESTS = [
    ("get", "/api/v1/tickets", {"assignee": "\x00"}, None),
    ("get", "/api/v1/tickets", {"department": "boris\x00"}, None),
    ("patch", "/api/v1/tickets/{number}", None, '{"assignee": "a\\u0000b"}'),
    ("post", "/api/v1/tickets/{number}/replies", None, '{"body": "\\u0000"}'),
    ("get", "/api/v1/crm/lookup", {"email\x00": "x"}, None),
]


@pytest.mark.parametrize(("method", "path", "query", "body"), NUL_REQUESTS)
def test_nul_in_api_input_is_a_json_400_on_every_database(
    world, support_agent, method, path, query, body
):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    path = path.format(number=world["ticket"].number)
    if body is None:
        response = client.get(path, query)
    else:
        response = client.generic(method.upper(), path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    world["ticket"].refresh_from_db()
    assert world["ticket"].last_seq == 1 and world["ticket"].assignee is None


def test_an_escaped_backslash_before_u0000_is_plain_text_and_accepted(world, support_agent):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    response = client.post(
        f"/api/v1/tickets/{world['ticket'].number}/replies",
        '{"body": "C:\\\\u0000 path", "internal": true}',
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["payload"]["body"] == "C:\\u0000 path"


def test_nul_in_page_input_is_a_400(world, customer, support_agent):
    customer_client = signed_in(customer[0])
    for response in (
        customer_client.get("/portal/", {"q": "relay\x00"}),
        customer_client.post(
            f"/portal/tickets/{world['ticket'].number}/reply/", {"body": "hi\x00"}
        ),
        signed_in(support_agent).get("/console/tickets/", {"q": "\x00"}),
        Client().post("/portal/login/", {"username": "\x00", "password": "x"}),
        Client().get("/portal/tickets/%00/"),
    ):
        assert response.status_code == 400
        assert "Traceback" not in response.content.decode()
    assert world["ticket"].last_seq == 1
