"""A widget hello's database work does not grow with the queue or the agents (issue 17).

Every hello tells the visitor whether the department is online and how long
a new chat would wait; a reconnect storm asks that thousands of times, so it
comes from aggregates (a count, the agents' capacity), not from the queue's
rows or one row per agent.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.consumers.widget import widget_hello
from chat.models import Conversation, Visitor
from chat.queue import (
    SNAPSHOT_LIMIT,
    department_estimate,
    estimate_for_position,
    position_frame,
    queue_snapshot,
    serving_capacity,
    visitor_queue_frame,
)
from crm.models import Organization, SlaPlan, SupportContract
from queues import actions as presence
from queues import routing
from tests.factories import make_agent, make_contact, make_department

pytestmark = pytest.mark.django_db


def go_online(user, *, accepting=True):
    presence.do_set_presence(user, "online", accepting=accepting)
    cid = uuid.uuid4()
    presence.do_register_connection(user, connection_id=cid, channel_name=f"test.{cid}")


def chats(department, count, *, state=Conversation.State.QUEUED, agent=None):
    visitors = Visitor.objects.bulk_create(
        Visitor(token_hash=uuid.uuid4().hex + uuid.uuid4().hex) for _ in range(count)
    )
    now = timezone.now()
    Conversation.objects.bulk_create(
        Conversation(
            department=department,
            visitor=visitor,
            state=state,
            queued_at=now if state == Conversation.State.QUEUED else None,
            assigned_agent=agent,
            assigned_at=now if agent else None,
        )
        for visitor in visitors
    )


def agents_online(department, count, *, prefix, max_chats=1):
    users = [make_agent(f"{prefix}{i}", [department], max_chats=max_chats) for i in range(count)]
    for user in users:
        go_online(user)
    return users


def new_visitor_hello_queries() -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        _session, welcome, _place = widget_hello({"type": "hello", "department": "support"}, "en")
    assert welcome["department"]["online"] is True
    return [q["sql"] for q in captured.captured_queries]


def test_a_new_visitors_hello_costs_the_same_queries_whatever_the_queue_and_the_agents(support):
    [busy] = agents_online(support, 1, prefix="busy")
    chats(support, 1, state=Conversation.State.ACTIVE, agent=busy)
    chats(support, 5)
    small = new_visitor_hello_queries()

    agents_online(support, 20, prefix="more", max_chats=0)
    chats(support, 200)
    large = new_visitor_hello_queries()

    assert len(large) == len(small)
    # The department, the visitor's INSERT, one statement for the waiting count and the
    # agents' capacity, the two reads of recent durations (no free slot here).
    assert len(small) <= 5, small


def test_the_welcome_counts_every_waiting_chat_not_only_the_snapshots_first_ones(support):
    [busy] = agents_online(support, 1, prefix="busy")
    chats(support, 1, state=Conversation.State.ACTIVE, agent=busy)
    chats(support, SNAPSHOT_LIMIT + 20)
    estimate = department_estimate(support)
    # One agent, one slot, taken: the new chat is number 521 in line.
    expected = routing.estimate_wait_s(
        SNAPSHOT_LIMIT + 21, recent_waits_s=[], capacity=1, free_slots=0
    )
    assert estimate["online"] is True
    assert estimate["estimated_wait_s"] == expected


def test_the_capacity_aggregate_agrees_with_the_routing_view_of_agents(support):
    sales = make_department("sales")
    [ana] = agents_online(support, 1, prefix="ana", max_chats=3)
    chats(support, 1, state=Conversation.State.ACTIVE, agent=ana)
    [bob] = agents_online(support, 1, prefix="bob", max_chats=2)
    chats(support, 3, state=Conversation.State.ACTIVE, agent=bob)  # over its limit: no free slot
    [cat] = agents_online(support, 1, prefix="cat")
    presence.do_set_presence(cat, "online", accepting=False)
    dan = make_agent("dan", [support])
    presence.do_set_presence(dan, "online")  # chose online, no live connection
    [eve] = agents_online(support, 1, prefix="eve")
    eve.is_active = False
    eve.save()
    agents_online(sales, 1, prefix="sam", max_chats=5)
    chats(support, 4)

    now = timezone.now()
    snapshot = queue_snapshot(support, now=now)
    assert (
        serving_capacity(support, now)
        == (snapshot["capacity"], snapshot["free_slots"])
        == (
            5,
            2,
        )
    )
    assert department_estimate(support, now=now)["estimated_wait_s"] == estimate_for_position(
        snapshot, len(snapshot["order"]) + 1
    )


def test_a_closed_department_is_offline_without_asking_for_agents(db):
    closed = make_department("night", is_24x7=False)  # no hours: never open
    agents_online(closed, 1, prefix="owl", max_chats=5)
    assert serving_capacity(closed, timezone.now()) == (0, 0)
    assert department_estimate(closed)["online"] is False


def test_a_returning_visitors_place_is_counted_as_the_snapshot_orders_it(support):
    org = Organization.objects.create(name="Electrica Nord SRL")
    gold = SlaPlan.objects.create(
        name="Gold", first_response_minutes=60, resolution_minutes=480, is_24x7=True, priority=3
    )
    today = timezone.localdate()
    SupportContract.objects.create(
        organization=org,
        plan=gold,
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=300),
    )
    vip = make_contact()
    vip.organization = org
    vip.save()
    [busy] = agents_online(support, 1, prefix="busy", max_chats=2)
    chats(support, 1, state=Conversation.State.ACTIVE, agent=busy)
    chats(support, 3)  # same arrival instant: served by pk
    Conversation.objects.filter(pk=Conversation.objects.filter(state="queued").last().pk).update(
        contact=vip
    )
    earlier = timezone.now() - dt.timedelta(minutes=5)
    chats(support, 2)
    latest = Conversation.objects.filter(state="queued").order_by("-pk").first()
    Conversation.objects.filter(pk=latest.pk).update(queued_at=earlier)  # arrived first

    snapshot = queue_snapshot(support)
    waiting = Conversation.objects.filter(state="queued")
    assert len(snapshot["order"]) == waiting.count() == 5
    for conversation in waiting:
        slug, frame = visitor_queue_frame(conversation.pk)
        assert slug == "support"
        assert frame == position_frame(snapshot, str(conversation.public_id))
    vip_chat = waiting.get(contact=vip)
    assert visitor_queue_frame(vip_chat.pk)[1]["position"] == 1
