"""The routing policy on plain values: no database, no sockets."""

from __future__ import annotations

import datetime as dt

from queues.routing import (
    AgentState,
    WaitingChat,
    choose_agent,
    estimate_wait_s,
    order_queue,
    plan_assignments,
    queue_position,
)

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def agent(agent_id, *, depts=("support",), online=True, accepting=True, active=0, cap=3, **kw):
    return AgentState(
        agent_id=agent_id,
        departments=frozenset(depts),
        online=online,
        accepting=accepting,
        active_chats=active,
        max_chats=cap,
        **kw,
    )


def chat(cid, *, dept="support", minute=0, priority=0, **kw):
    return WaitingChat(
        conversation_id=cid,
        department=dept,
        arrived_at=T0 + dt.timedelta(minutes=minute),
        priority=priority,
        **kw,
    )


def test_it_orders_by_priority_then_arrival():
    chats = [chat(1, minute=0), chat(2, minute=1, priority=3), chat(3, minute=2, priority=3)]
    assert [c.conversation_id for c in order_queue(chats)] == [2, 3, 1]


def test_it_gives_the_chat_to_the_least_loaded_agent():
    agents = [agent(1, active=2), agent(2, active=0), agent(3, active=1)]
    assert choose_agent(chat(1), agents).agent_id == 2


def test_it_rotates_fairly_between_equally_loaded_agents():
    earlier = T0 - dt.timedelta(minutes=10)
    agents = [agent(1, last_assigned_at=T0), agent(2, last_assigned_at=earlier)]
    assert choose_agent(chat(1), agents).agent_id == 2


def test_it_prefers_the_account_owner_then_the_last_agent_when_eligible():
    agents = [agent(1), agent(2, active=2), agent(3, active=1)]
    assert choose_agent(chat(1, preferred_agent_ids=(2, 3)), agents).agent_id == 2
    agents[1] = agent(2, active=3)  # owner full: the last agent serves
    assert choose_agent(chat(1, preferred_agent_ids=(2, 3)), agents).agent_id == 3


def test_it_never_picks_an_ineligible_agent():
    agents = [
        agent(1, online=False),
        agent(2, accepting=False),
        agent(3, depts=("sales",)),
        agent(4, active=3, cap=3),
        agent(5, skills=frozenset()),
    ]
    assert choose_agent(chat(1, required_skills=frozenset({"relay"})), agents) is None
    assert choose_agent(chat(1), agents).agent_id == 5


def test_it_respects_excluded_agents_after_a_missed_offer():
    agents = [agent(1), agent(2, active=1)]
    assert choose_agent(chat(1, excluded_agent_ids=frozenset({1})), agents).agent_id == 2


def test_a_plan_never_exceeds_max_chats_and_drains_fifo():
    agents = [agent(i, cap=3) for i in range(1, 5)]
    chats = [chat(i, minute=i) for i in range(1, 21)]
    plan = plan_assignments(chats, agents, now=T0)
    assert len(plan) == 12
    assert [c.conversation_id for c, _ in plan] == list(range(1, 13))
    load: dict[int, int] = {}
    for _, a in plan:
        load[a.agent_id] = load.get(a.agent_id, 0) + 1
    assert max(load.values()) == 3


def test_a_chat_nobody_can_take_does_not_block_the_queue_behind_it():
    agents = [agent(1, depts=("billing",))]
    chats = [chat(1, dept="support", minute=0), chat(2, dept="billing", minute=1)]
    assert [c.conversation_id for c, _ in plan_assignments(chats, agents, now=T0)] == [2]


def test_position_counts_only_the_same_department():
    waiting = [chat(1, minute=0), chat(2, dept="sales", minute=1), chat(3, minute=2)]
    assert queue_position(waiting[2], waiting) == 2


def test_the_wait_estimate_is_zero_with_free_capacity_and_unknown_with_nobody():
    assert estimate_wait_s(1, recent_waits_s=[], capacity=3, free_slots=1) == 0
    assert estimate_wait_s(1, recent_waits_s=[], capacity=0, free_slots=0) is None


def test_the_wait_estimate_grows_with_position():
    kwargs = {"recent_waits_s": [], "recent_handle_s": [600, 600, 900], "capacity": 6}
    assert estimate_wait_s(1, free_slots=0, **kwargs) == 100
    assert estimate_wait_s(4, free_slots=0, **kwargs) == 400
