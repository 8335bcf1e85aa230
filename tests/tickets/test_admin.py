"""The ticket admin changes status, priority, assignee and department through the actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.admin_forms import change_form_data
from tickets import events
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.admin import TicketAdmin
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer, support, standard_plan):
    return create_ticket(
        subject="Relay clicks",
        body="The relay clicks twice.",
        contact=customer,
        channel="portal",
        department=support,
        author_role="customer",
        author_contact=customer,
    )


def _change_url(ticket: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def _opened_form(admin_client, ticket: Ticket) -> dict:
    response = admin_client.get(_change_url(ticket))
    assert response.status_code == 200
    return change_form_data(response)


def _events(ticket: Ticket) -> list[tuple[str, dict]]:
    return [
        (event.kind, {k: v for k, v in event.payload.items() if k in ("old", "new")})
        for event in TicketEvent.objects.filter(ticket=ticket, seq__gt=1).order_by("seq")
    ]


def test_a_status_change_in_the_admin_appends_its_event_and_rings_the_sockets(
    admin_client, operator, ticket, published_events
):
    data = _opened_form(admin_client, ticket)
    data["status"] = "pending"
    response = admin_client.post(_change_url(ticket), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_seq) == ("pending", 2)
    event = ticket.events.get(seq=2)
    assert (event.kind, event.payload["old"], event.payload["new"]) == ("status", "new", "pending")
    # The operator acted for the team, not as a customer.
    assert (event.author_role, event.author_user) == ("agent", operator)
    # Pending stops the resolution clock, as from the console.
    assert ticket.paused_since is not None
    doorbell = events.ticket_changed(ticket.number, 2)
    assert (events.ticket_group(ticket.public_id), doorbell) in list(published_events)
    assert (events.customer_group(ticket.contact), doorbell) in list(published_events)


def test_priority_department_and_assignee_changes_are_one_event_each(
    admin_client, ticket, sales, sales_agent
):
    data = _opened_form(admin_client, ticket)
    data.update(priority="urgent", department=str(sales.pk), assignee=str(sales_agent.pk))
    response = admin_client.post(_change_url(ticket), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_rank) == ("urgent", 3)
    assert (ticket.department, ticket.assignee) == (sales, sales_agent)
    assert _events(ticket) == [
        ("department", {"old": "support", "new": "sales"}),
        ("assignee", {"old": None, "new": "sara"}),
        ("priority", {"old": "normal", "new": "urgent"}),
    ]


def test_a_subject_edit_appends_no_event(admin_client, ticket):
    data = _opened_form(admin_client, ticket)
    data["subject"] = "Relay clicks twice at start-up"
    assert admin_client.post(_change_url(ticket), data).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.last_seq, _events(ticket)) == (
        "Relay clicks twice at start-up",
        1,
        [],
    )


def test_a_refused_transition_is_a_form_error(admin_client, ticket, support_agent):
    change_status(ticket, "closed", by=support_agent)
    data = _opened_form(admin_client, ticket)
    data["status"] = "open"
    response = admin_client.post(_change_url(ticket), data)
    assert response.status_code == 200
    assert "cannot become" in str(response.context["adminform"].form.errors["status"])
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_seq) == ("closed", 2)


def test_an_assignee_outside_the_department_is_a_form_error(admin_client, ticket, sales_agent):
    data = _opened_form(admin_client, ticket)
    data["assignee"] = str(sales_agent.pk)
    response = admin_client.post(_change_url(ticket), data)
    assert response.status_code == 200
    assert "does not work in Support" in str(response.context["adminform"].form.errors["assignee"])
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_only_agents_can_be_chosen_as_assignee(admin_client, ticket, customer):
    data = _opened_form(admin_client, ticket)
    data["assignee"] = str(customer.portal_user.pk)
    response = admin_client.post(_change_url(ticket), data)
    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors


def test_a_page_opened_before_a_colleagues_change_does_not_undo_it(
    admin_client, ticket, support_agent
):
    data = _opened_form(admin_client, ticket)
    change_status(ticket, "pending", by=support_agent)
    data["priority"] = "high"
    assert admin_client.post(_change_url(ticket), data).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "high")


def test_tickets_are_neither_added_nor_deleted_in_the_admin(admin_client, ticket):
    assert admin_client.get(reverse("admin:tickets_ticket_add")).status_code == 403
    delete = reverse("admin:tickets_ticket_delete", args=[ticket.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_the_event_log_and_files_are_read_only(admin_client, ticket):
    response = admin_client.get(_change_url(ticket))
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission


def test_a_colleagues_change_during_the_save_is_reported_not_a_500(
    admin_client, ticket, support_agent, monkeypatch
):
    save_model = TicketAdmin.save_model

    def colleague_closes_it_first(self, request, obj, form, change):
        change_status(Ticket.objects.get(pk=obj.pk), "closed", by=support_agent)
        save_model(self, request, obj, form, change)

    monkeypatch.setattr(TicketAdmin, "save_model", colleague_closes_it_first)
    data = _opened_form(admin_client, ticket)
    data.update(status="pending", subject="Relay clicks at start-up")
    response = admin_client.post(_change_url(ticket), data, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("was not changed: a closed ticket cannot become pending" in m for m in shown), shown
    ticket.refresh_from_db()
    assert (ticket.status, ticket.subject) == ("closed", "Relay clicks at start-up")
