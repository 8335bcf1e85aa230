"""Every admin page a superuser can reach renders, with rows of every registered model."""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from chat.actions.attachments import post_attachment
from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import ChatAttachment, Conversation
from chatportal.demo_data import seed_demo
from crm.gdpr import erase_contact
from crm.models import Contact, ContactErasure, Organization, Product, ServiceLine
from foundation.uploads import check_upload
from integrations.models import WebhookEndpoint
from queues.actions import do_set_presence
from queues.models import AgentProfile, Department, PresenceInterval, ProductRoute
from queues.tokens import issue_agent_token
from reports.models import SupportExpense
from tests import attachment_files as files
from tickets.actions.messages import add_reply
from tickets.models import Ticket, TicketAttachment

REGISTERED = [model for model in apps.get_models() if admin.site.is_registered(model)]


def _png():
    return check_upload(io.BytesIO(files.png()), filename="screen.png")


@pytest.fixture
def every_kind_of_row(db, settings, tmp_path):
    """The demo data plus a row of each model the demo leaves empty."""
    settings.MEDIA_ROOT = tmp_path / "media"
    demo = seed_demo()
    boris = get_user_model().objects.get(username="boris")
    Group.objects.create(name="Night shift")
    issue_agent_token(boris)
    do_set_presence(boris, "online")
    ProductRoute.objects.create(
        product=Product.objects.first(), department=Department.objects.first()
    )
    # The KPIs' inputs (reports/, crm.ServiceLine, queues.PresenceInterval).
    ServiceLine.objects.create(
        kind="repair", date=datetime.date(2026, 3, 2), amount=Decimal("300"), currency="EUR",
        organization=Organization.objects.first(), description="Relay repair",
    )  # fmt: skip
    SupportExpense.objects.create(
        period_start=datetime.date(2026, 3, 1), period_end=datetime.date(2026, 3, 31),
        department=Department.objects.first(), amount=Decimal("3100"), currency="EUR",
    )  # fmt: skip
    PresenceInterval.objects.create(
        user=boris,
        status="online",
        started_at=datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC),
    )
    visitor, _token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, Department.objects.get(slug="support"))
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Hello",
    )
    post_attachment(conversation, _png(), author=visitor_author(visitor))
    # The reply below queues a webhook delivery for this endpoint (sent by nobody here).
    settings.CHATPORTAL_WEBHOOK_AFTER_COMMIT = "off"
    WebhookEndpoint.objects.create(
        name="Company CRM", url="https://crm.example.com/hooks", event_types=["ticket.updated"]
    )
    ticket = Ticket.objects.first()
    add_reply(
        ticket, body="See the photo", author_role="agent", author_user=boris, attachments=[_png()]
    )
    erase_contact(Contact.objects.exclude(tickets__isnull=False).first(), by="dpo@example.com")
    return demo


@pytest.fixture
def admin_client(client, every_kind_of_row):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def _page_failures(client, model) -> list[str]:
    info = (model._meta.app_label, model._meta.model_name)
    row = model._default_manager.order_by("pk").first()
    if row is None:
        return [f"{model._meta.label}: no row to open"]
    pages = [
        (reverse("admin:{}_{}_changelist".format(*info)), {}),
        (reverse("admin:{}_{}_changelist".format(*info)), {"q": "relay"}),
        (reverse("admin:{}_{}_change".format(*info), args=[row.pk]), {}),
    ]
    failures = []
    for url, query in pages:
        status = client.get(url, query).status_code
        if status != 200:
            failures.append(f"{model._meta.label}: {url} {query or ''} answered {status}")
    return failures


def test_every_changelist_search_and_change_page_renders(admin_client):
    # One test over all models: the demo data takes seconds to seed.
    failures = [failure for model in REGISTERED for failure in _page_failures(admin_client, model)]
    assert failures == []
    assert len(REGISTERED) >= 20


def test_operators_can_see_conversations_files_erasures_and_agent_profiles(admin_client):
    for model in (Conversation, ChatAttachment, TicketAttachment, ContactErasure):
        assert admin.site.is_registered(model), model._meta.label
    boris = get_user_model().objects.get(username="boris")
    response = admin_client.get(reverse("admin:auth_user_change", args=[boris.pk]))
    inlines = [inline.formset.model for inline in response.context["inline_admin_formsets"]]
    assert inlines == [AgentProfile]
