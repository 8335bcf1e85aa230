"""The console's pages: who may open them, the customer panel's authorization and escaping, canned search."""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from chat.actions.visitors import create_visitor
from chat.canned import fill_variables
from chat.models import CannedResponse, Conversation
from crm.models import Asset, Organization, Product, SlaPlan, SupportContract
from tests.factories import make_agent, make_contact, make_department

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


@pytest.fixture
def billing():
    return make_department("billing", name="Billing")


@pytest.fixture
def billing_agent(billing):
    # Must not see support's conversations.
    return make_agent("dana", [billing], first_name="Dana")


@pytest.fixture
def maria():
    organization = Organization.objects.create(name="Electrica Nord SRL")
    contact = make_contact("Maria Popescu", external_id="crm-1", email="customer1@example.com")
    contact.organization = organization
    contact.save()
    today = timezone.localdate()
    Asset.objects.create(
        contact=contact,
        product=Product.objects.create(name="RZA-500"),
        serial_number="RZA-2024-0001",
        warranty_end=today + datetime.timedelta(days=3000),
    )
    Asset.objects.create(
        organization=organization,
        product=Product.objects.create(name="MRU-200"),
        serial_number="MRU-2019-0042",
        warranty_end=today - datetime.timedelta(days=10),
    )
    plan = SlaPlan.objects.create(
        name="Gold 24x7", first_response_minutes=60, resolution_minutes=480, is_24x7=True
    )
    SupportContract.objects.create(
        organization=organization,
        plan=plan,
        starts_on=today - datetime.timedelta(days=100),
        ends_on=today + datetime.timedelta(days=200),
        renewal_date=today + datetime.timedelta(days=45),
    )
    return contact


def conversation_in(
    department,
    *,
    contact=None,
    visitor_name="Maria",
    page_url="https://shop.example.com/item/9",
    page_title="RZA-500",
    locale="ro",
):
    visitor, _token = create_visitor(name=visitor_name, email="typed@example.com")
    return Conversation.objects.create(
        department=department,
        visitor=visitor,
        contact=contact,
        page_url=page_url,
        page_title=page_title,
        locale=locale,
        queued_at=timezone.now(),
    )


def panel_url(conversation) -> str:
    return reverse("console_panel", args=[str(conversation.public_id)])


# --- the page ---------------------------------------------------------------------


def test_it_sends_anonymous_users_to_the_sign_in_page(client):
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_sends_a_customer_to_the_portal(client, maria):
    user = get_user_model().objects.create_user(
        username="customer1@example.com", password="x-pass-123"
    )
    maria.portal_user = user
    maria.save()
    client.force_login(user)
    for url in ("/console/", reverse("console_canned"), f"/console/panel/{uuid.uuid4()}/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("portal")


def test_it_refuses_a_signed_in_user_who_is_not_an_agent(client):
    client.force_login(
        get_user_model().objects.create_user(username="intruder", password="x-pass-123")
    )
    response = client.get("/console/")
    assert response.status_code == 403
    assert b"not an agent" in response.content


def test_it_renders_the_console_with_the_controls_the_protocol_names(
    client, support_agent, support
):
    client.force_login(support_agent)
    response = client.get("/console/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-label="Presence"' in page
    assert '<label for="reply" class="visually-hidden">Reply</label>' in page
    assert re.search(
        r'<input type="checkbox" id="internal" role="switch">\s*<span>Internal note</span>', page
    )
    for name in ("Send", "Accept", "Transfer", "Close chat", "Convert to ticket", "Enable sound"):
        assert f">{name}</button>" in page, name
    assert 'href="/console/tickets/"' in page
    assert 'data-department="support"' in page
    # The script's words come as JSON data, never as script source.
    config = json.loads(
        re.search(
            r'<script id="console-config" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert config["socketPath"] == "/ws/agent/"
    assert config["strings"]["reconnecting"] == "Reconnecting…"
    assert "django_htmx/htmx" in page


@pytest.mark.parametrize(("ttl_s", "ping_ms"), [(30, 10000), (6, 2000), (120, 15000)])
def test_the_console_pings_well_inside_the_presence_ttl(
    client, support_agent, support, settings, ttl_s, ping_ms
):
    settings.CHATPORTAL_PRESENCE_TTL_S = ttl_s
    client.force_login(support_agent)
    page = client.get("/console/").content.decode()
    config = json.loads(
        re.search(
            r'<script id="console-config" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert config["pingEveryMs"] == ping_ms


def test_it_speaks_romanian_and_russian(client, support_agent, support):
    client.force_login(support_agent)
    for language in ("ro", "ru"):
        response = client.get("/console/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert f'<html lang="{language}">' in response.content.decode()


def test_the_sign_in_page_looks_like_the_product(client):
    response = client.get("/accounts/login/?next=/console/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "frontend/console.css" in page
    assert '<label for="id_username">Username</label>' in page
    assert 'autocomplete="current-password"' in page


# --- the customer panel ---------------------------------------------------------------


def test_the_panel_shows_the_whole_record_of_the_contact(client, support_agent, support, maria):
    conversation = conversation_in(support, contact=maria)
    client.force_login(support_agent)
    response = client.get(panel_url(conversation))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Electrica Nord SRL" in page
    assert "RZA-2024-0001" in page and "MRU-2019-0042" in page
    assert "In warranty" in page and "Out of warranty" in page
    assert "Gold 24x7" in page
    assert "(in 45 days)" in page
    assert "https://shop.example.com/item/9" in page
    assert ">ro<" in page


def test_the_panel_says_when_a_visitor_is_not_linked_to_the_crm(client, support_agent, support):
    conversation = conversation_in(support, contact=None, visitor_name="Someone")
    client.force_login(support_agent)
    page = client.get(panel_url(conversation)).content.decode()
    assert "Not linked to a CRM contact" in page
    assert "typed@example.com" in page


def test_an_agent_of_another_department_cannot_open_the_panel(
    client, billing_agent, support, maria
):
    conversation = conversation_in(support, contact=maria)
    client.force_login(billing_agent)
    response = client.get(panel_url(conversation))
    assert response.status_code == 403
    assert b"RZA-2024-0001" not in response.content
    assert b"Electrica" not in response.content


def test_the_agent_a_chat_is_assigned_to_may_open_its_panel(client, billing_agent, support, maria):
    conversation = conversation_in(support, contact=maria)
    conversation.assigned_agent = billing_agent
    conversation.save()
    client.force_login(billing_agent)
    assert client.get(panel_url(conversation)).status_code == 200


def test_unknown_or_malformed_conversations_are_not_found(client, support_agent, support):
    client.force_login(support_agent)
    assert client.get(f"/console/panel/{uuid.uuid4()}/").status_code == 404
    assert client.get("/console/panel/1/").status_code == 404
    assert client.get("/console/panel/%3Cscript%3E/").status_code == 404


def test_every_field_of_the_panel_is_escaped(client, support_agent, support):
    organization = Organization.objects.create(name=f"Org {XSS}")
    contact = make_contact(f"Name {XSS}", email="evil@example.com")
    contact.organization = organization
    contact.save()
    Asset.objects.create(
        contact=contact, product=Product.objects.create(name=f"P {XSS}"), serial_number=f"S-{XSS}"
    )
    plan = SlaPlan.objects.create(
        name=f"Plan {XSS}", first_response_minutes=60, resolution_minutes=480
    )
    SupportContract.objects.create(
        organization=organization,
        plan=plan,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
    )
    conversation = conversation_in(
        support,
        contact=contact,
        visitor_name=XSS,
        page_url=f"javascript:{XSS}",
        page_title=XSS,
        locale="<b>",
    )
    client.force_login(support_agent)
    page = client.get(panel_url(conversation)).content.decode()
    assert "<img" not in page
    assert "<script" not in page
    assert "<b>" not in page
    assert 'href="javascript' not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6


# --- canned responses ---------------------------------------------------------------


def test_canned_search_fills_the_variables_from_the_contact(
    client, support_agent, support, billing, maria
):
    CannedResponse.objects.create(
        shortcut="hello",
        title="Greeting",
        body="Hello {first_name}, {agent_name} here ({organization}).",
    )
    CannedResponse.objects.create(
        department=billing, shortcut="help-invoice", title="Invoice", body="Billing only"
    )
    conversation = conversation_in(support, contact=maria)
    client.force_login(support_agent)
    response = client.get(
        reverse("console_canned"), {"q": "hel", "conversation": str(conversation.public_id)}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["shortcut"] for r in results] == ["hello"]
    assert results[0]["body"] == "Hello Maria, Boris here (Electrica Nord SRL)."


def test_a_departments_canned_response_hides_the_global_one(client, support_agent, support):
    CannedResponse.objects.create(shortcut="bye", title="Global", body="Global bye")
    CannedResponse.objects.create(
        department=support, shortcut="bye", title="Support", body="Support bye"
    )
    conversation = conversation_in(support)
    client.force_login(support_agent)
    results = client.get(
        reverse("console_canned"), {"q": "/bye", "conversation": str(conversation.public_id)}
    ).json()["results"]
    assert [(r["title"], r["body"]) for r in results] == [("Support", "Support bye")]


def test_canned_search_is_refused_for_another_departments_conversation(
    client, billing_agent, support
):
    conversation = conversation_in(support)
    client.force_login(billing_agent)
    response = client.get(
        reverse("console_canned"), {"q": "", "conversation": str(conversation.public_id)}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.get(reverse("console_canned"), {"conversation": "nope"}).status_code == 404
    assert (
        client.get(reverse("console_canned"), {"q": "x" * 100, "conversation": "nope"}).status_code
        == 400
    )


def test_variables_are_looked_up_never_formatted():
    values = {"first_name": "Maria", "agent_name": "Boris"}
    assert fill_variables("{first_name}/{agent_name.__class__}/{unknown}/{0}", values) == (
        "Maria/{agent_name.__class__}/{unknown}/{0}"
    )


def test_the_transfer_dialog_lists_colleagues_of_my_departments_with_their_presence(
    client, support_agent, support, billing_agent
):
    from queues.models import AgentPresence

    colleague = make_agent("ana", [support], first_name="Ana")
    AgentPresence.objects.create(user=colleague, chosen_status="online", published_status="online")
    client.force_login(support_agent)
    page = client.get("/console/").content.decode()
    assert re.search(
        r'<option value="ana" data-name="Ana" data-status="online">Ana — Online</option>', page
    )
    # Dana works only in billing: not a colleague to hand a support chat to by name.
    assert 'value="dana"' not in page
    assert 'value="boris"' not in page  # not oneself
    assert '<option value="billing">Billing</option>' in page
