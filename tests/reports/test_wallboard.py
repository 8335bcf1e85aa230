"""The wall-board's numbers (read from the rows, with a fixed clock) and who may open the page."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone

from chat.actions import conversations
from chat.actions.visitors import create_visitor
from chat.models import Conversation
from crm.models import SlaPlan
from queues.models import AgentConnection, AgentPresence
from reports.wallboard import duration, wallboard
from tests.factories import make_agent, make_department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 10, 14, 0, tzinfo=datetime.UTC)


def _online(user, *, status="online", accepting=True, now=NOW):
    AgentPresence.objects.update_or_create(
        user=user, defaults={"chosen_status": status, "accepting": accepting}
    )
    AgentConnection.objects.create(
        id=uuid.uuid4(), user=user, channel_name="x", connected_at=now, last_seen=now
    )


def _queued(department, *, queued_at):
    visitor = create_visitor(name="Ana")[0]
    conversation = conversations.start_conversation(visitor, department)[0]
    Conversation.objects.filter(pk=conversation.pk).update(
        queued_at=queued_at, created_at=queued_at
    )
    return conversation


def _ticket(department, **fields):
    ticket = create_ticket(
        subject="Relay",
        body="It clicks.",
        department=department,
        contact=None,
        channel="email",
        author_role="customer",
        requester_email="x@example.com",
    )
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return ticket


@pytest.fixture
def floor(db):
    SlaPlan.objects.all().delete()
    support = make_department("support", name="Support")
    sales = make_department("sales", name="Sales")
    boris = make_agent("boris", [support], first_name="Boris", max_chats=4)
    sara = make_agent("sara", [sales], first_name="Sara")
    make_agent("ion", [support], first_name="Ion")  # offline: no connection
    _online(boris)
    _online(sara, status="away")
    return support, sales, boris, sara


def test_it_counts_waiting_and_the_longest_wait_per_department(floor):
    support, sales, boris, _sara = floor
    _queued(support, queued_at=NOW - datetime.timedelta(seconds=95))
    _queued(support, queued_at=NOW - datetime.timedelta(seconds=20))
    _queued(sales, queued_at=NOW - datetime.timedelta(seconds=5))
    board = wallboard(NOW)
    rows = {row.slug: row for row in board.departments}
    assert (rows["support"].waiting, rows["support"].longest_wait_s) == (2, 95)
    assert (rows["sales"].waiting, rows["sales"].longest_wait_s) == (1, 5)
    assert (board.waiting, board.longest_wait_s, board.longest_wait) == (3, 95, "1:35")
    # The busiest department comes first.
    assert [row.slug for row in board.departments] == ["support", "sales"]


def test_it_counts_agents_by_status_and_their_chats(floor):
    support, _sales, boris, sara = floor
    chat = _queued(support, queued_at=NOW)
    Conversation.objects.filter(pk=chat.pk).update(state="active", assigned_agent=boris)
    board = wallboard(NOW)
    assert (board.agents_online, board.agents_accepting, board.agents_away) == (1, 1, 1)
    # Offline agents are not listed; online before away.
    assert [(a.name, a.status, a.chats, a.max_chats) for a in board.agents] == [
        ("Boris", "online", 1, 4),
        ("Sara", "away", 0, 3),
    ]
    rows = {row.slug: row for row in board.departments}
    assert (rows["support"].active_chats, rows["support"].agents_online) == (1, 1)
    assert rows["sales"].agents_online == 0


def test_an_online_agent_who_does_not_accept_is_not_accepting(floor):
    _support, _sales, boris, _sara = floor
    AgentPresence.objects.filter(user=boris).update(accepting=False)
    board = wallboard(NOW)
    assert (board.agents_online, board.agents_accepting) == (1, 0)


def test_it_counts_slas_at_risk_and_breached_on_running_clocks_only(floor, settings):
    settings.CHATPORTAL_SLA_WARN_BEFORE_S = 1800
    support, sales, *_ = floor
    minutes = datetime.timedelta(minutes=1)
    _ticket(support, status="open", resolution_due=NOW - minutes)  # breached
    _ticket(support, status="new", first_response_due=NOW + 10 * minutes)  # at risk
    _ticket(support, status="open", first_response_due=NOW - minutes, resolution_due=NOW + minutes)
    # ^ breached (first response late), not also at risk
    _ticket(support, status="pending", resolution_due=NOW - minutes)  # paused: neither
    _ticket(support, status="solved", resolution_due=NOW - minutes)  # done: neither
    _ticket(  # answered in time: the first-response clock no longer runs
        sales, status="open", first_response_due=NOW + minutes, first_responded_at=NOW
    )
    _ticket(sales, status="on_hold", resolution_due=NOW + 40 * minutes)  # beyond the warning
    board = wallboard(NOW)
    rows = {row.slug: row for row in board.departments}
    assert (rows["support"].sla_at_risk, rows["support"].sla_breached) == (1, 2)
    assert (rows["sales"].sla_at_risk, rows["sales"].sla_breached) == (0, 0)
    assert (board.sla_at_risk, board.sla_breached) == (1, 2)


def test_todays_counts_and_csat_start_at_local_midnight(floor, settings):
    settings.TIME_ZONE = "Europe/Bucharest"  # midnight there is 22:00 UTC the day before
    support, *_ = floor
    midnight = datetime.datetime(2026, 3, 9, 22, 0, tzinfo=datetime.UTC)
    before, after = (
        midnight - datetime.timedelta(minutes=1),
        midnight + datetime.timedelta(minutes=1),
    )
    old = _queued(support, queued_at=before)
    new = _queued(support, queued_at=after)
    Conversation.objects.filter(pk=old.pk).update(state="closed", rating_score=1, rated_at=before)
    Conversation.objects.filter(pk=new.pk).update(state="closed", rating_score=4, rated_at=after)
    third = _queued(support, queued_at=after)
    Conversation.objects.filter(pk=third.pk).update(rating_score=5, rated_at=after)
    _ticket(support, created_at=before, status="solved", solved_at=after)
    _ticket(support, created_at=after)
    _ticket(support, created_at=after, status="open", solved_at=after)  # reopened: not solved
    board = wallboard(NOW)
    assert (board.chats_today, board.tickets_opened_today, board.tickets_solved_today) == (2, 2, 1)
    assert (board.csat_today, board.ratings_today) == (4.5, 2)


def test_an_empty_floor_has_no_longest_wait_and_no_csat(floor):
    board = wallboard(NOW)
    assert (board.waiting, board.longest_wait_s, board.csat_today) == (0, None, None)
    assert duration(None) == "—" and duration(3725) == "1:02:05"


# --- the page ------------------------------------------------------------------------------


def test_a_supervisor_opens_the_board(client, floor, supervisor):
    support, *_ = floor
    _queued(support, queued_at=timezone.now())
    client.force_login(supervisor)
    response = client.get("/console/wallboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'ws-connect="/ws/console/wallboard/"' in html
    assert 'data-metric="waiting">1<' in html
    assert "hx-swap-oob" not in html


def test_an_agent_who_is_no_supervisor_is_refused(client, floor):
    _support, _sales, boris, _sara = floor
    client.force_login(boris)
    response = client.get("/console/wallboard/")
    assert response.status_code == 403
    assert "data-metric" not in response.content.decode()


def test_a_stranger_is_sent_to_sign_in(client, db):
    response = client.get("/console/wallboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_department_names_are_escaped(client, floor, supervisor):
    make_department("evil", name="<script>alert(1)</script>")
    client.force_login(supervisor)
    html = client.get("/console/wallboard/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_board_costs_the_same_queries_however_big_the_floor(
    floor, django_assert_max_num_queries
):
    support, sales, *_ = floor
    _queued(support, queued_at=NOW)
    _ticket(support, status="open", resolution_due=NOW)
    with django_assert_max_num_queries(10) as small:
        wallboard(NOW)
    for n in range(6):
        department = make_department(f"d{n}")
        agent = make_agent(f"agent{n}", [department, support])
        _online(agent)
        _queued(department, queued_at=NOW)
        _ticket(department, status="open", resolution_due=NOW)
    with django_assert_max_num_queries(len(small.captured_queries)):
        board = wallboard(NOW)
    assert board.waiting == 7 and board.sla_breached == 7
