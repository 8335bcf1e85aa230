"""Ticket files in the console (attach, list) and image thumbnails on tickets, portal and API."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from chat.actions.attachments import post_attachment
from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from foundation.uploads import check_upload
from tests import attachment_files as files
from tests.tickets.test_attachments import (
    _media,
    agent_api,
    api_upload,
    content_of,
    local,
    portal,
    ticket,
)
from tickets.actions.conversion import convert_conversation
from tickets.models import TicketAttachment

__all__ = ["_media", "ticket"]
pytestmark = pytest.mark.django_db


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1000, 500), "blue").save(out, format="PNG")
    return out.getvalue()


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reply(client: Client, ticket, *uploads, htmx: bool = True, **fields):
    data = {"body": "", **fields}
    data["attachments"] = [SimpleUploadedFile(name, content) for name, content in uploads]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("console_ticket_reply", args=[ticket.number]), data, **headers)


# --- thumbnails on the API and the portal ------------------------------------------------


def test_an_image_on_a_ticket_has_a_thumbnail_for_whoever_may_see_the_file(
    ticket, support_agent, sales_agent, customer, other_customer
):
    response = api_upload(ticket, support_agent, ("wiring.png", photo()), ("a.pdf", files.PDF))
    assert response.status_code == 201, response.content
    image, pdf = response.json()["payload"]["attachments"]
    assert image["thumbnail_url"] == image["url"] + "/thumbnail"
    assert image["thumbnail_url"].startswith("https://support.example.com/api/v1/tickets/")
    assert "thumbnail_url" not in pdf
    path = local(image["thumbnail_url"])

    answer = portal(customer).get(path)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(content_of(answer))).size == (320, 160)
    assert Client().get(path, **agent_api(support_agent)).status_code == 200
    assert portal(other_customer).get(path).status_code == 404
    assert Client().get(path, **agent_api(sales_agent)).status_code == 404
    assert Client().get(path).status_code == 401
    assert (
        Client().get(local(pdf["url"]) + "/thumbnail", **agent_api(support_agent)).status_code
        == 404
    )


def test_an_internal_images_thumbnail_stays_with_the_agents(ticket, support_agent, customer):
    response = api_upload(ticket, support_agent, ("board.png", photo()), internal="true", body="x")
    path = local(response.json()["payload"]["attachments"][0]["thumbnail_url"])
    assert portal(customer).get(path).status_code == 404
    assert Client().get(path, **agent_api(support_agent)).status_code == 200


def test_the_portal_shows_the_thumbnail_and_links_in_the_text(ticket, support_agent, customer):
    api_upload(
        ticket, support_agent, ("wiring.png", photo()), body="Manual: https://example.com/m.pdf."
    )
    page = portal(customer).get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    row = TicketAttachment.objects.get(filename="wiring.png")
    assert (
        f'<img src="/api/v1/tickets/{ticket.number}/attachments/{row.public_id}/thumbnail"' in page
    )
    assert (
        '<a href="https://example.com/m.pdf" rel="noopener noreferrer nofollow" '
        'target="_blank">https://example.com/m.pdf</a>.'
    ) in page


def test_a_chat_image_keeps_its_thumbnail_on_the_ticket(support, support_agent, customer):
    visitor, _token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    conversation.contact = customer
    conversation.save(update_fields=["contact"])
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Hi",
    )
    chat_file, _ = post_attachment(
        conversation,
        check_upload(io.BytesIO(photo()), filename="relay.png"),
        author=visitor_author(visitor),
    )
    ticket = convert_conversation(conversation, by=support_agent, reason="agent")
    carried = TicketAttachment.objects.get(ticket=ticket, chat_attachment=chat_file)
    assert carried.thumbnail.name == chat_file.thumbnail.name != ""
    path = f"/api/v1/tickets/{ticket.number}/attachments/{carried.public_id}/thumbnail"
    assert portal(customer).get(path).status_code == 200


# --- the console's ticket page ---------------------------------------------------------


def test_the_console_ticket_page_lists_the_files_with_thumbnails(ticket, support_agent):
    api_upload(ticket, support_agent, ("wiring.png", photo()), ("schema.pdf", files.PDF))
    api_upload(ticket, support_agent, ("contract.pdf", files.PDF), internal="true", body="x")
    page = console(support_agent).get(reverse("console_ticket", args=[ticket.number]))
    html = page.content.decode()
    files_card = html[html.index('id="ticket-files"') :]
    files_card = files_card[: files_card.index("</section>")]
    for row in TicketAttachment.objects.filter(ticket=ticket):
        assert f"/api/v1/tickets/{ticket.number}/attachments/{row.public_id}" in files_card
        assert row.filename in files_card
    wiring = TicketAttachment.objects.get(filename="wiring.png")
    assert (
        f'src="/api/v1/tickets/{ticket.number}/attachments/{wiring.public_id}/thumbnail"'
        in files_card
    )
    assert "is-internal" in files_card  # the note's file is marked
    assert files_card.count('class="attachment-size"') == 3  # each with its size


def test_an_agent_attaches_files_from_the_console_reply_form(ticket, support_agent, customer):
    client = console(support_agent)
    response = reply(client, ticket, ("wiring.png", photo()), ("log.txt", files.TEXT))
    assert response.status_code == 200, response.content
    html = response.content.decode()
    assert 'id="ticket-files"' in html and "wiring.png" in html  # the files card is swapped in
    event = ticket.events.get(kind="reply", author_user=support_agent)
    assert [a["filename"] for a in event.payload["attachments"]] == ["wiring.png", "log.txt"]
    assert event.payload["body"] == ""  # files alone are a reply
    assert "thumbnail_url" in event.payload["attachments"][0]
    # The customer sees it on the portal.
    assert portal(customer).get(local(event.payload["attachments"][0]["url"])).status_code == 200


def test_the_console_refuses_a_disguised_file_with_its_reason(ticket, support_agent):
    response = reply(console(support_agent), ticket, ("cat.png", files.HTML), body="see")
    assert response.status_code == 415
    assert "cannot be attached" in response.content.decode()
    assert not TicketAttachment.objects.exists()


def test_the_console_refuses_an_oversized_file(ticket, support_agent, settings):
    settings.CHATPORTAL_ATTACHMENT_MAX_BYTES = 1000
    response = reply(console(support_agent), ticket, ("big.png", photo()), body="see")
    assert response.status_code == 413
    assert not TicketAttachment.objects.exists()


def test_the_console_reply_without_text_or_files_is_refused(ticket, support_agent):
    response = reply(console(support_agent), ticket)
    assert response.status_code == 400
    assert "Write a reply or a note first." in response.content.decode()


def test_the_console_needs_the_csrf_token_for_files(ticket, support_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)
    response = client.post(
        reverse("console_ticket_reply", args=[ticket.number]),
        {"body": "x", "attachments": [SimpleUploadedFile("a.pdf", files.PDF)]},
    )
    assert response.status_code == 403
    assert not TicketAttachment.objects.exists()


def test_links_in_the_console_timeline_are_escaped_and_safe(ticket, support_agent):
    reply(
        console(support_agent), ticket, body='https://a.example/x"><img src=x onerror=alert(1)> ok'
    )
    html = (
        console(support_agent).get(reverse("console_ticket", args=[ticket.number])).content.decode()
    )
    assert "<img src=x" not in html
    assert (
        '<a href="https://a.example/x" rel="noopener noreferrer nofollow" target="_blank">'
        "https://a.example/x</a>&quot;&gt;&lt;img"
    ) in html
