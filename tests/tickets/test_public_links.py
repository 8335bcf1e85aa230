"""Links in answers point at the server that answered when no public URL is configured.

`chatportal serve --port 8123` used to hand out `http://127.0.0.1:8000/…`
links whatever its port; with `CHATPORTAL_PUBLIC_URL` set every link uses
it; mail (no request) uses the public URL or a documented fallback.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chatportal.asgi import application
from foundation.public_url import OFFLINE_FALLBACK_BASE, rebased, socket_base
from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.chat.conftest import Socket, say
from tickets.actions.conversion import convert_conversation
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent
from tickets.notifications.outbound import portal_url

DEV_SERVER = "localhost:8123"


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.CHATPORTAL_PUBLIC_URL = ""


def upload_to_chat(conversation_id: str, token: str, **headers):
    return Client().post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        {"file": SimpleUploadedFile("screen.png", files.png())},
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


async def widget_on(host: str) -> tuple[Socket, dict]:
    socket = Socket("/ws/widget/")
    socket.communicator = WebsocketCommunicator(
        application,
        "/ws/widget/",
        headers=[(b"origin", f"http://{host}".encode()), (b"host", host.encode())],
    )
    await socket.connect()
    await socket.send({"type": "hello", "department": "support"})
    return socket, await socket.expect("welcome")


@pytest.mark.django_db(transaction=True)
async def test_the_upload_answer_and_the_socket_event_link_to_the_server_that_answered(support):
    socket, welcome = await widget_on(DEV_SERVER)
    conversation = (await say(socket, "Hello"))["conversation"]
    sent = await database_sync_to_async(upload_to_chat)(
        conversation, welcome["token"], HTTP_HOST=DEV_SERVER
    )
    assert sent.status_code == 201, sent.content
    path = f"/api/v1/conversations/{conversation}/attachments/"
    assert sent.json()["attachment"]["url"].startswith(f"http://{DEV_SERVER}{path}")
    event = await socket.expect("event", seq=sent.json()["seq"])
    assert event["url"] == sent.json()["attachment"]["url"]
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_configured_public_url_names_every_link(settings, support):
    settings.CHATPORTAL_PUBLIC_URL = "https://chat.example.com/"
    settings.CSRF_TRUSTED_ORIGINS = [f"http://{DEV_SERVER}"]  # the page this socket comes from
    socket, welcome = await widget_on(DEV_SERVER)
    conversation = (await say(socket, "Hello"))["conversation"]
    sent = await database_sync_to_async(upload_to_chat)(
        conversation, welcome["token"], HTTP_HOST=DEV_SERVER
    )
    url = sent.json()["attachment"]["url"]
    assert url.startswith(f"https://chat.example.com/api/v1/conversations/{conversation}/")
    assert (await socket.expect("event", seq=sent.json()["seq"]))["url"] == url
    await socket.close()


@pytest.mark.django_db
def test_the_tickets_api_links_files_on_the_server_that_answered(customer, support, support_agent):
    ticket = create_ticket(
        subject="Relay trips",
        body="It trips.",
        contact=customer,
        channel=Ticket.Channel.PORTAL,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=customer,
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_agent_token(support_agent)}"}
    reply = Client().post(
        f"/api/v1/tickets/{ticket.number}/attachments",
        {"file": [SimpleUploadedFile("log.txt", b"trip at 03:12\n")], "body": "Here."},
        HTTP_HOST=DEV_SERVER,
        **auth,
    )
    assert reply.status_code == 201, reply.content
    base = f"http://{DEV_SERVER}/api/v1/tickets/{ticket.number}/attachments/"
    assert reply.json()["payload"]["attachments"][0]["url"].startswith(base)
    detail = Client().get(f"/api/v1/tickets/{ticket.number}", HTTP_HOST=DEV_SERVER, **auth)
    links = [a["url"] for e in detail.json()["events"] for a in e["payload"].get("attachments", [])]
    assert links and all(link.startswith(base) for link in links)


@pytest.mark.django_db
def test_mail_without_a_public_url_uses_the_documented_fallback(settings, customer, support):
    assert portal_url("/portal/") == f"{OFFLINE_FALLBACK_BASE}/portal/"
    settings.CHATPORTAL_PUBLIC_URL = "https://chat.example.com"
    assert portal_url("/portal/") == "https://chat.example.com/portal/"


def test_a_socket_host_that_is_not_ours_never_makes_a_link():
    scope = {"scheme": "wss", "headers": [(b"host", b"evil.example")]}
    assert socket_base(scope) == OFFLINE_FALLBACK_BASE
    scope = {"scheme": "wss", "headers": [(b"host", b"localhost:8443")]}
    assert socket_base(scope) == "https://localhost:8443"


@pytest.mark.both_passes  # the deployment checks inspect the cache (Redis in pass 2)
def test_check_deploy_warns_while_the_public_url_is_unset(settings):
    assert "chatportal.W001" in {m.id for m in run_checks(include_deployment_checks=True)}
    settings.CHATPORTAL_PUBLIC_URL = "https://chat.example.com"
    assert "chatportal.W001" not in {m.id for m in run_checks(include_deployment_checks=True)}


@pytest.mark.django_db(transaction=True)
async def test_the_ticket_link_in_the_chat_names_the_server_the_visitor_reached(
    support, support_agent, standard_plan
):
    from chat.models import Conversation

    socket, _welcome = await widget_on(DEV_SERVER)
    conversation_id = (await say(socket, "My relay shows E42."))["conversation"]

    def convert() -> str:
        conversation = Conversation.objects.get(public_id=conversation_id)
        return convert_conversation(
            conversation, subject="E42", by=support_agent, reason="agent"
        ).number

    number = await database_sync_to_async(convert)()
    event = await socket.expect("event", kind="ticket")
    assert event["portal_url"] == f"http://{DEV_SERVER}/portal/tickets/{number}/"
    await socket.close()


def test_a_stored_link_is_rebased_whatever_base_it_was_written_with(settings):
    path = "/api/v1/tickets/T-1001/attachments/0b8e"
    for written in (path, f"{OFFLINE_FALLBACK_BASE}{path}", f"http://old.example:8000{path}"):
        assert rebased(written, "http://localhost:8123") == f"http://localhost:8123{path}"
    settings.CHATPORTAL_PUBLIC_URL = "https://example.com/support"
    written = f"https://example.com/support{path}"
    assert rebased(written, "https://example.com/support") == written
