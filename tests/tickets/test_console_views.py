"""The console's ticket list and ticket page over HTTP: who sees what, filters, forms, escaping."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Asset, Product
from tests.factories import make_agent, make_contact
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def open_ticket(
    department,
    contact=None,
    *,
    subject="Relay trips at night",
    body="It trips.",
    channel=Ticket.Channel.PORTAL,
    priority="normal",
    **extra,
) -> Ticket:
    return create_ticket(
        subject=subject,
        body=body,
        contact=contact,
        channel=channel,
        department=department,
        priority=priority,
        author_role=TicketEvent.Role.CUSTOMER if contact else TicketEvent.Role.SYSTEM,
        author_contact=contact,
        **extra,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def numbers_in(response) -> list[str]:
    """Ticket numbers of the list's rows, in order."""
    return re.findall(r'<tr id="row-(T-\d+)"', response.content.decode())


@pytest.fixture
def world(support, sales, support_agent, sales_agent, customer, standard_plan):
    support_ticket = open_ticket(support, customer, subject="Relay trips at night")
    sales_ticket = open_ticket(sales, customer, subject="Quote for ten more relays")
    return {"support_ticket": support_ticket, "sales_ticket": sales_ticket}


# --- who may open the console --------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(world):
    response = Client().get(reverse("console_tickets"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_customer_cannot_open_console_pages(world, customer):
    client = signed_in(customer.portal_user)
    number = world["support_ticket"].number
    for url in (reverse("console_tickets"), reverse("console_ticket", args=[number])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("portal")
    response = client.post(reverse("console_ticket_reply", args=[number]), {"body": "hi"})
    assert response.status_code == 302
    assert not TicketEvent.objects.filter(ticket=world["support_ticket"], kind="reply").exists()


def test_a_signed_in_user_who_is_no_agent_is_refused(world):
    user = get_user_model().objects.create_user("nobody", password="x-pass-123")
    response = signed_in(user).get(reverse("console_tickets"))
    assert response.status_code == 403


def test_an_agent_of_another_department_gets_404_for_the_ticket(world, sales_agent):
    client = signed_in(sales_agent)
    number = world["support_ticket"].number
    assert client.get(reverse("console_ticket", args=[number])).status_code == 404
    assert (
        client.post(reverse("console_ticket_reply", args=[number]), {"body": "x"}).status_code
        == 404
    )
    response = client.post(
        reverse("console_ticket_update", args=[number]),
        {"status": "solved", "priority": "normal", "department": "support", "was_status": "new"},
    )
    assert response.status_code == 404
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "new"
    assert ticket.last_seq == 1


def test_the_list_shows_only_the_agents_departments(world, support_agent, supervisor):
    assert numbers_in(signed_in(support_agent).get(reverse("console_tickets"))) == [
        world["support_ticket"].number
    ]
    everything = numbers_in(signed_in(supervisor).get(reverse("console_tickets")))
    assert sorted(everything) == sorted(
        [world["support_ticket"].number, world["sales_ticket"].number]
    )


def test_a_department_filter_outside_the_agents_departments_is_invalid(world, support_agent):
    response = signed_in(support_agent).get(reverse("console_tickets"), {"department": "sales"})
    assert response.status_code == 400
    assert numbers_in(response) == []
    assert "Some filters are not valid" in response.content.decode()


# --- filters, sorting, pagination ----------------------------------------------------


@pytest.fixture
def many(support, support_agent, customer, other_customer, standard_plan):
    colleague = make_agent("chen", [support], first_name="Chen")
    tickets = {
        "mine": open_ticket(support, customer, subject="Display flickers", priority="high"),
        "chens": open_ticket(support, other_customer, subject="Firmware question", priority="low"),
        "phone": open_ticket(
            support,
            None,
            subject="Caller without a record",
            channel=Ticket.Channel.PHONE,
            requester_name="Unknown Caller",
        ),
        "urgent": open_ticket(support, customer, subject="Substation down", priority="urgent"),
    }
    assign_ticket(tickets["mine"], support_agent, by=support_agent)
    assign_ticket(tickets["chens"], colleague, by=colleague)
    change_status(tickets["chens"], "pending", by=colleague)
    return tickets


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": ["pending"]}, ["chens"]),
        ({"status": ["new", "pending"]}, ["chens", "mine", "phone", "urgent"]),
        ({"priority": ["urgent", "high"]}, ["mine", "urgent"]),
        ({"assignee": "me"}, ["mine"]),
        ({"assignee": "unassigned"}, ["phone", "urgent"]),
        ({"assignee": "chen"}, ["chens"]),
        ({"channel": "phone"}, ["phone"]),
        ({"department": "support"}, ["chens", "mine", "phone", "urgent"]),
        ({"q": "firmware"}, ["chens"]),
        ({"q": "ivan"}, ["chens"]),
        ({"q": "unknown caller"}, ["phone"]),
        ({"q": "maria@example.com"}, ["mine", "urgent"]),
    ],
)
def test_filters_narrow_the_list(many, support_agent, query, expected):
    response = signed_in(support_agent).get(reverse("console_tickets"), query)
    assert response.status_code == 200
    assert sorted(numbers_in(response)) == sorted(many[name].number for name in expected)


def test_search_finds_a_ticket_by_its_number_with_or_without_prefix(many, support_agent):
    client = signed_in(support_agent)
    number = many["phone"].number
    assert numbers_in(client.get(reverse("console_tickets"), {"q": number.lower()})) == [number]
    assert numbers_in(client.get(reverse("console_tickets"), {"q": number[2:]})) == [number]


def test_an_unknown_filter_value_answers_400_with_the_reason(many, support_agent):
    response = signed_in(support_agent).get(reverse("console_tickets"), {"status": "exploded"})
    assert response.status_code == 400
    assert "Status" in response.content.decode()
    assert numbers_in(response) == []


def test_it_sorts_by_priority_and_by_creation(many, support_agent):
    client = signed_in(support_agent)
    by_priority = numbers_in(client.get(reverse("console_tickets"), {"sort": "-priority"}))
    assert by_priority[0] == many["urgent"].number
    assert by_priority[1] == many["mine"].number
    assert by_priority[-1] == many["chens"].number
    oldest_first = numbers_in(client.get(reverse("console_tickets"), {"sort": "created"}))
    assert oldest_first == sorted(oldest_first, key=lambda n: int(n[2:]))
    newest_first = numbers_in(client.get(reverse("console_tickets"), {"sort": "-created"}))
    assert newest_first == list(reversed(oldest_first))


def test_it_sorts_by_due_times_with_clockless_tickets_last(many, support_agent):
    soon = timezone.now() + datetime.timedelta(minutes=5)
    Ticket.objects.filter(pk=many["chens"].pk).update(first_response_due=soon, resolution_due=soon)
    Ticket.objects.filter(pk=many["phone"].pk).update(first_response_due=None, resolution_due=None)
    client = signed_in(support_agent)
    for sort in ("first_response_due", "resolution_due"):
        ordered = numbers_in(client.get(reverse("console_tickets"), {"sort": sort}))
        assert ordered[0] == many["chens"].number
        assert ordered[-1] == many["phone"].number


def test_it_paginates_and_keeps_the_filters_in_the_page_links(
    support, support_agent, customer, standard_plan
):
    for n in range(30):
        open_ticket(support, customer, subject=f"Batch ticket {n}")
    client = signed_in(support_agent)
    first = client.get(reverse("console_tickets"), {"q": "batch", "sort": "created"})
    assert len(numbers_in(first)) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert re.search(r'href="\?q=batch&amp;sort=created&amp;page=2"', first.content.decode())
    second = client.get(reverse("console_tickets"), {"q": "batch", "sort": "created", "page": 2})
    assert len(numbers_in(second)) == 5
    assert not set(numbers_in(first)) & set(numbers_in(second))


def test_an_htmx_filter_request_gets_only_the_results(many, support_agent):
    response = signed_in(support_agent).get(
        reverse("console_tickets"),
        {"priority": "urgent"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket-results",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="ticket-results"')
    assert "<html" not in body
    assert numbers_in(response) == [many["urgent"].number]


def test_rows_are_coloured_by_their_sla_clock(many, support_agent, settings):
    settings.CHATPORTAL_SLA_WARN_BEFORE_S = 1800
    now = timezone.now()
    Ticket.objects.filter(pk=many["urgent"].pk).update(
        first_response_due=now - datetime.timedelta(minutes=1)
    )
    Ticket.objects.filter(pk=many["mine"].pk).update(
        first_response_due=now + datetime.timedelta(minutes=10)
    )
    Ticket.objects.filter(pk=many["phone"].pk).update(
        first_response_due=now + datetime.timedelta(hours=5),
        resolution_due=now + datetime.timedelta(hours=9),
    )
    body = signed_in(support_agent).get(reverse("console_tickets")).content.decode()

    def row_class(ticket):
        return re.search(rf'<tr id="row-{ticket.number}" class="tk-row sla-(\w+)"', body).group(1)

    assert row_class(many["urgent"]) == "breached"
    assert row_class(many["mine"]) == "warning"
    assert row_class(many["chens"]) == "paused"  # pending: waiting on the customer
    assert row_class(many["phone"]) == "running"


# --- the ticket page -------------------------------------------------------------------


@pytest.fixture
def record(customer, gold_contract):
    product = Product.objects.create(name="RZA-500")
    Asset.objects.create(
        product=product,
        organization=customer.organization,
        serial_number="RZA-2024-0001",
        warranty_end=datetime.date.today() + datetime.timedelta(days=900),
    )
    gold_contract.renewal_date = datetime.date.today() + datetime.timedelta(days=40)
    gold_contract.save()
    return gold_contract


def test_the_ticket_page_shows_replies_notes_clocks_and_the_crm_record(
    support, support_agent, customer, record
):
    ticket = open_ticket(support, customer)
    add_reply(ticket, body="Public answer", author_role="agent", author_user=support_agent)
    add_reply(
        ticket, body="Only for us", internal=True, author_role="agent", author_user=support_agent
    )
    body = (
        signed_in(support_agent)
        .get(reverse("console_ticket", args=[ticket.number]))
        .content.decode()
    )
    note = re.search(
        r'<li class="tk-event tk-event-note is-internal[^"]*"[^>]*data-internal="true">(.*?)</li>',
        body,
        re.S,
    )
    assert note and "Only for us" in note.group(1) and "Internal note" in note.group(1)
    reply = re.search(r'<li class="tk-event tk-event-reply[^"]*"[^>]*>(.*?)</li>', body, re.S)
    assert reply and "Public answer" in reply.group(1) and "Public reply" in reply.group(1)
    assert 'data-clock="first_response" data-sla="met"' in body
    assert 'data-clock="resolution" data-sla="running"' in body
    assert "RZA-2024-0001" in body and "In warranty" in body
    assert "Gold 24x7" in body and "in 40 days" in body
    assert 'ws-connect="/ws/console/tickets/?ticket=' in body


def test_the_assignee_control_lists_only_agents_of_the_department(
    world, support_agent, sales_agent
):
    body = (
        signed_in(support_agent)
        .get(reverse("console_ticket", args=[world["support_ticket"].number]))
        .content.decode()
    )
    select = re.search(r'<select name="assignee"[^>]*>(.*?)</select>', body, re.S).group(1)
    assert 'value="boris"' in select
    assert 'value="sara"' not in select


def test_an_agent_replies_and_the_ticket_opens(world, support_agent):
    ticket = world["support_ticket"]
    response = signed_in(support_agent).post(
        reverse("console_ticket_reply", args=[ticket.number]), {"body": "We are on it."}
    )
    assert response.status_code == 302
    event = TicketEvent.objects.get(ticket=ticket, kind="reply")
    assert event.payload["body"] == "We are on it." and not event.internal
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_an_internal_note_stays_internal_and_does_not_meet_the_first_response(world, support_agent):
    ticket = world["support_ticket"]
    response = signed_in(support_agent).post(
        reverse("console_ticket_reply", args=[ticket.number]),
        {"body": "Check the firmware.", "internal": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<form id="reply-form"')
    assert 'id="ticket-timeline" class="tk-timeline" hx-swap-oob="true"' in body
    event = TicketEvent.objects.get(ticket=ticket, kind="note")
    assert event.internal
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.first_responded_at is None and fresh.status == "new"


def test_an_empty_reply_is_refused_with_a_clear_error(world, support_agent):
    ticket = world["support_ticket"]
    response = signed_in(support_agent).post(
        reverse("console_ticket_reply", args=[ticket.number]),
        {"body": "   "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Write a reply or a note first." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).last_seq == 1


def test_a_reply_to_a_closed_ticket_answers_409(world, support_agent):
    ticket = world["support_ticket"]
    change_status(ticket, "closed", by=support_agent)
    response = signed_in(support_agent).post(
        reverse("console_ticket_reply", args=[ticket.number]), {"body": "Hello?"}
    )
    assert response.status_code == 409
    assert "this ticket is closed" in response.content.decode()


def _update(client, ticket, **values):
    ticket.refresh_from_db()
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee.username if ticket.assignee else "",
        "department": ticket.department.slug,
    }
    data.update({f"was_{k}": v for k, v in data.items()})
    data.update(values)
    return client.post(
        reverse("console_ticket_update", args=[ticket.number]), data, HTTP_HX_REQUEST="true"
    )


def test_the_controls_change_status_priority_and_assignee_in_one_go(world, support_agent):
    ticket = world["support_ticket"]
    response = _update(
        signed_in(support_agent), ticket, status="on_hold", priority="high", assignee="boris"
    )
    assert response.status_code == 200
    assert "Saved." in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("on_hold", "high", support_agent)
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True)
    )
    assert kinds == ["created", "assignee", "priority", "status"]


def test_a_stale_form_does_not_undo_a_colleagues_change(world, support_agent):
    ticket = world["support_ticket"]
    client = signed_in(support_agent)
    ticket.refresh_from_db()
    stale = {
        "status": "new",
        "priority": "normal",
        "assignee": "",
        "department": "support",
        "was_status": "new",
        "was_priority": "normal",
        "was_assignee": "",
        "was_department": "support",
    }
    # A colleague sets it pending after this form was rendered.
    change_status(ticket, "pending", by=support_agent)
    response = client.post(
        reverse("console_ticket_update", args=[ticket.number]), {**stale, "priority": "urgent"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "urgent")


def test_the_assignee_must_work_in_the_department(world, support_agent, sales_agent):
    ticket = world["support_ticket"]
    response = _update(signed_in(support_agent), ticket, assignee="sara")
    assert response.status_code == 400
    assert "does not work in Support" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_submitting_unchanged_controls_says_nothing_changed(world, support_agent):
    response = _update(signed_in(support_agent), world["support_ticket"])
    assert response.status_code == 400
    assert "Nothing to change" in response.content.decode()


def test_a_forbidden_transition_answers_409_and_changes_nothing(world, support_agent):
    ticket = world["support_ticket"]
    change_status(ticket, "solved", by=support_agent)
    body = (
        signed_in(support_agent)
        .get(reverse("console_ticket", args=[ticket.number]))
        .content.decode()
    )
    offered = re.search(r'<select name="status"[^>]*>(.*?)</select>', body, re.S).group(1)
    assert re.findall(r'value="(\w+)"', offered) == ["open", "solved", "closed"]
    # "pending" is not offered after solved; a hand-made request gets the action's refusal.
    response = _update(signed_in(support_agent), ticket, status="pending")
    assert response.status_code == 409
    assert "cannot become pending" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_moving_a_ticket_to_another_department_leaves_the_agents_view(world, support_agent):
    ticket = world["support_ticket"]
    assign_ticket(ticket, support_agent, by=support_agent)
    response = _update(signed_in(support_agent), ticket, department="sales", assignee="")
    # Boris does not serve sales and is no longer its assignee: the page sends him to the list.
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("console_tickets")
    ticket.refresh_from_db()
    assert ticket.department.slug == "sales" and ticket.assignee is None
    event = TicketEvent.objects.get(ticket=ticket, kind="department")
    assert event.payload["old"] == "support" and event.payload["new"] == "sales" and event.internal


# --- escaping and CSRF -----------------------------------------------------------------


def test_subjects_bodies_and_names_are_escaped(support, support_agent, standard_plan):
    contact = make_contact(XSS, email="evil@example.com")
    ticket = open_ticket(support, contact, subject=XSS, body=XSS)
    add_reply(ticket, body=XSS, internal=True, author_role="agent", author_user=support_agent)
    client = signed_in(support_agent)
    for url in (reverse("console_tickets"), reverse("console_ticket", args=[ticket.number])):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_posts_without_a_csrf_token_are_refused(world, support_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)
    number = world["support_ticket"].number
    assert (
        client.post(reverse("console_ticket_reply", args=[number]), {"body": "x"}).status_code
        == 403
    )
    assert (
        client.post(reverse("console_ticket_update", args=[number]), {"status": "open"}).status_code
        == 403
    )
    assert (
        client.post(
            reverse("console_tickets_bulk"), {"tickets": [number], "status": "open"}
        ).status_code
        == 403
    )
    assert Ticket.objects.get(number=number).last_seq == 1


def test_a_post_with_the_pages_csrf_token_goes_through(world, support_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)
    number = world["support_ticket"].number
    page = client.get(reverse("console_ticket", args=[number])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("console_ticket_reply", args=[number]),
        {"body": "With a token", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert TicketEvent.objects.filter(ticket__number=number, kind="reply").exists()


def test_a_form_swapped_in_without_a_token_posts_with_the_pages_header_token(world, support_agent):
    # Pushed fragments are rendered without a request; htmx sends the page's token
    # (hx-headers on the page) as X-CSRFToken.
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)
    ticket = world["support_ticket"]
    page = client.get(reverse("console_ticket", args=[ticket.number])).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    data = {
        "status": "on_hold",
        "priority": "normal",
        "assignee": "",
        "department": "support",
        "was_status": "new",
        "was_priority": "normal",
        "was_assignee": "",
        "was_department": "support",
    }
    url = reverse("console_ticket_update", args=[ticket.number])
    assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).status == "on_hold"


# --- query budgets ---------------------------------------------------------------------


def _count_queries(client, url, params=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_one_row_or_a_full_page(
    support, support_agent, customer, other_customer, standard_plan
):
    client = signed_in(support_agent)
    url = reverse("console_tickets")
    first = open_ticket(support, customer)
    assign_ticket(first, support_agent, by=support_agent)
    one_row = _count_queries(client, url)
    for n in range(30):
        ticket = open_ticket(support, other_customer if n % 2 else customer, subject=f"More {n}")
        if n % 3 == 0:
            assign_ticket(ticket, support_agent, by=support_agent)
    full_page = _count_queries(client, url)
    assert full_page == one_row
    assert full_page <= 10, full_page


def test_the_ticket_page_costs_the_same_queries_however_long_its_timeline(
    support, support_agent, customer, record
):
    client = signed_in(support_agent)
    ticket = open_ticket(support, customer)
    url = reverse("console_ticket", args=[ticket.number])
    short = _count_queries(client, url)
    for n in range(20):
        add_reply(
            ticket,
            body=f"Reply {n}",
            internal=bool(n % 2),
            author_role="agent",
            author_user=support_agent,
        )
    long = _count_queries(client, url)
    assert long == short
    # 19: one of them is the viewer's zone and language (chatportal.viewer_middleware).
    assert long <= 19, long


def test_the_list_follows_exactly_its_visible_rows(many, support_agent):
    client = signed_in(support_agent)
    body = client.get(reverse("console_tickets"), {"priority": "urgent"}).content.decode()
    urgent = many["urgent"]
    assert f'ws-connect="/ws/console/tickets/?tickets={urgent.number}%3A{urgent.last_seq}"' in body
    empty = client.get(reverse("console_tickets"), {"q": "nothing like this"}).content.decode()
    assert "ws-connect" not in empty


@pytest.mark.parametrize("language", ["ro", "ru"])
def test_the_console_pages_render_in_romanian_and_russian(
    support, support_agent, customer, record, language
):
    ticket = open_ticket(support, customer)
    add_reply(ticket, body="Notă", internal=True, author_role="agent", author_user=support_agent)
    client = signed_in(support_agent)
    for url in (reverse("console_tickets"), reverse("console_ticket", args=[ticket.number])):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert f'<html lang="{language}">' in response.content.decode()


def test_a_refused_change_rolls_back_the_others_submitted_with_it(world, support_agent, supervisor):
    ticket = world["support_ticket"]
    change_status(ticket, "closed", by=support_agent)
    response = _update(
        signed_in(supervisor), ticket, priority="urgent", department="sales", status="open"
    )
    assert response.status_code == 409
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.department.slug) == (
        "closed",
        "normal",
        "support",
    )
    assert not TicketEvent.objects.filter(
        ticket=ticket, kind__in=["priority", "department"]
    ).exists()
    # The answer shows the ticket as it is, not as the refused change left the object.
    assert 'value="support" selected' in response.content.decode()


def test_a_ticket_from_an_unknown_sender_shows_what_they_typed(many, support_agent):
    body = (
        signed_in(support_agent)
        .get(reverse("console_ticket", args=[many["phone"].number]))
        .content.decode()
    )
    assert "Unknown sender: no CRM record." in body
    assert "Unknown Caller" in body
