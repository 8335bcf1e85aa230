"""Automatic routing applied to conversations: who gets which chat, and when."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from chat.actions.conversations import close_conversation, post_message, start_conversation
from chat.actions.presence import expire_offers, requeue_agent_conversations
from chat.actions.routing import route_waiting
from chat.actions.visitors import create_visitor
from chat.log import agent_author, visitor_author
from chat.models import Conversation, ConversationEvent
from chat.queue import department_estimate, position_frame, queue_snapshot
from chat.sweeper import run_sweeps
from crm.models import Organization, SlaPlan, SupportContract
from queues import actions as presence
from queues.models import AgentPresence, Department
from tests.factories import make_agent, make_contact, make_department

pytestmark = pytest.mark.django_db


def go_online(user, *, accepting=True):
    presence.do_set_presence(user, "online", accepting=accepting)
    cid = uuid.uuid4()
    presence.do_register_connection(user, connection_id=cid, channel_name=f"test.{cid}")
    return cid


def new_chat(department, *, contact=None, body="hello"):
    visitor, _token = create_visitor()
    if contact is not None:
        visitor.contact = contact
        visitor.save(update_fields=["contact"])
    conversation, _ = start_conversation(visitor, department)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body=body,
    )
    return conversation


def state_of(conversation):
    conversation.refresh_from_db()
    return conversation.state, conversation.assigned_agent_id


def test_it_gives_a_new_chat_to_the_least_loaded_online_agent(support, published_events):
    boris, chen = make_agent("boris", [support]), make_agent("chen", [support])
    go_online(boris), go_online(chen)
    first = new_chat(support)
    list(published_events)  # commit: routing runs on the start's commit
    second = new_chat(support)
    list(published_events)
    assert {state_of(first)[1], state_of(second)[1]} == {boris.pk, chen.pk}
    kinds = list(
        ConversationEvent.objects.filter(conversation=first).values_list("kind", flat=True)
    )
    assert kinds == ["queued", "message", "assigned"]
    assert ("agent." + str(state_of(first)[1])) in {g for g, _ in published_events}


def test_nobody_gets_more_than_max_chats_and_the_queue_drains_in_order(support, published_events):
    agents = [make_agent(f"agent{i}", [support], max_chats=3) for i in range(2)]
    for agent in agents:
        go_online(agent)
    chats = [new_chat(support) for _ in range(8)]
    list(published_events)
    served = [c for c in chats if state_of(c)[0] == "active"]
    assert served == chats[:6]
    load = Conversation.objects.filter(state="active").values_list("assigned_agent", flat=True)
    assert sorted(load) == sorted([agents[0].pk] * 3 + [agents[1].pk] * 3)
    # Closing one frees a slot: the longest-waiting chat is served at once.
    close_conversation(chats[0], by="agent")
    list(published_events)
    assert state_of(chats[6])[0] == "active"
    assert state_of(chats[7])[0] == "queued"


def test_an_agent_without_a_live_socket_or_not_accepting_gets_nothing(support, published_events):
    boris, chen = make_agent("boris", [support]), make_agent("chen", [support])
    presence.do_set_presence(boris, "online")  # chosen online, but no socket
    go_online(chen, accepting=False)
    chat = new_chat(support)
    list(published_events)
    assert state_of(chat) == ("queued", None)
    assert department_estimate(support)["online"] is False


def test_the_account_owner_is_preferred(support, published_events):
    boris, chen = make_agent("boris", [support]), make_agent("chen", [support])
    go_online(boris), go_online(chen)
    contact = make_contact()
    contact.account_owner = chen
    contact.save()
    new_chat(support)  # boris or chen, load 1
    list(published_events)
    owned = new_chat(support, contact=contact)
    list(published_events)
    assert state_of(owned)[1] == chen.pk


def test_gold_customers_are_served_before_earlier_arrivals(support, published_events):
    boris = make_agent("boris", [support], max_chats=1)
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
    contact = make_contact()
    contact.organization = org
    contact.save()
    early = new_chat(support)
    vip = new_chat(support, contact=contact)
    list(published_events)
    go_online(boris)
    route_waiting()
    assert state_of(vip) == ("active", boris.pk)
    assert state_of(early) == ("queued", None)
    snapshot = queue_snapshot(support)
    assert position_frame(snapshot, str(early.public_id))["position"] == 1


def test_a_closed_department_or_manual_mode_routes_nothing(published_events):
    sales = make_department("sales", is_24x7=False)  # no hours: closed
    manual = make_department("manual")
    manual.routing_mode = Department.RoutingMode.MANUAL
    manual.save()
    ana = make_agent("ana", [sales, manual])
    go_online(ana)
    a, b = new_chat(sales), new_chat(manual)
    list(published_events)
    assert state_of(a)[0] == state_of(b)[0] == "queued"


def test_a_gone_agents_chats_go_back_to_the_head_of_the_queue_and_to_a_colleague(
    support, published_events
):
    boris, chen = make_agent("boris", [support], max_chats=1), make_agent("chen", [support])
    tab = go_online(boris)
    chat = new_chat(support)
    list(published_events)
    assert state_of(chat) == ("active", boris.pk)
    presence.do_set_presence(chen, "online", accepting=False)
    go_online(chen, accepting=False)
    later = new_chat(support)
    list(published_events)
    presence.do_drop_connection(boris, connection_id=tab)
    assert requeue_agent_conversations(boris.pk, reason="agent_offline") == 1
    list(published_events)
    assert state_of(chat) == ("queued", None)
    unassigned = [e for g, e in published_events if e.get("type") == "conversation.unassigned"]
    assert unassigned and unassigned[0]["conversation"] == str(chat.public_id)
    presence.do_set_presence(chen, "online", accepting=True)
    route_waiting()
    assert state_of(chat) == ("active", chen.pk)  # head of the queue, before `later`
    assert state_of(later)[0] == "active"  # chen has room for both


def test_an_unanswered_offer_sets_the_agent_away_and_moves_the_chat(support, published_events):
    support.offer_timeout_s = 30
    support.save()
    boris, chen = make_agent("boris", [support]), make_agent("chen", [support])
    go_online(boris)
    chat = new_chat(support)
    list(published_events)
    assert state_of(chat) == ("active", boris.pk)
    go_online(chen)
    assert expire_offers(now=timezone.now() + dt.timedelta(seconds=10)) == 0
    assert expire_offers(now=timezone.now() + dt.timedelta(seconds=31)) == 1
    list(published_events)
    assert state_of(chat) == ("active", chen.pk)
    assert AgentPresence.objects.get(user=boris).chosen_status == "away"


def test_an_answered_offer_stays(support, published_events):
    boris = make_agent("boris", [support])
    go_online(boris)
    chat = new_chat(support)
    list(published_events)
    post_message(
        chat.pk,
        chat.public_id,
        author=agent_author(boris),
        client_id=uuid.uuid4(),
        body="Hi, Boris here",
        assigned_to=boris.pk,
    )
    assert expire_offers(now=timezone.now() + dt.timedelta(minutes=5)) == 0
    assert state_of(chat) == ("active", boris.pk)


def test_the_sweep_is_a_safety_net_for_a_lost_trigger(support, published_events):
    boris = make_agent("boris", [support])
    chat = new_chat(support)
    list(published_events)
    go_online(boris)  # no trigger routes here in this test
    Conversation.objects.filter(pk=chat.pk).update(state="queued")
    assert run_sweeps()["routed"] >= 0
    assert state_of(chat) == ("active", boris.pk)
