"""Presence: aggregated over connections, swept on silence, published on transitions only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from queues import actions
from queues.models import AgentConnection, AgentPresence, AgentProfile, Department
from queues.presence import agent_states

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_short_ttl")]

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def _short_ttl():
    with override_settings(CHATPORTAL_PRESENCE_TTL_S=30, CHATPORTAL_PRESENCE_GRACE_S=10):
        yield


@pytest.fixture
def support_agent():
    dept = Department.objects.create(slug="support", name="Support", is_24x7=True)
    user = User.objects.create_user("boris", password="x")
    profile = AgentProfile.objects.create(user=user, max_chats=3)
    profile.departments.add(dept)
    return user


def statuses(published):
    return [e["status"] for g, e in published if g == "dept.support"]


def connect(user, at):
    cid = uuid.uuid4()
    actions.do_register_connection(user, connection_id=cid, channel_name=f"c.{cid}", now=at)
    return cid


def test_it_is_online_while_any_tab_is_connected(support_agent, published_events):
    actions.do_set_presence(support_agent, "online", now=T0)
    tab1, tab2 = connect(support_agent, T0), connect(support_agent, T0)
    actions.do_drop_connection(support_agent, connection_id=tab1, now=T0)
    [state] = agent_states(["support"], active_chats={}, now=T0)
    assert state.online
    actions.do_drop_connection(support_agent, connection_id=tab2, now=T0)
    [state] = agent_states(["support"], active_chats={}, now=T0)
    assert not state.online  # no live socket: never offered a chat
    assert statuses(published_events) == ["online"]  # one transition, not one per tab


def test_a_reload_within_the_grace_costs_nothing(support_agent, published_events):
    actions.do_set_presence(support_agent, "online", now=T0)
    tab = connect(support_agent, T0)
    actions.do_drop_connection(support_agent, connection_id=tab, now=T0)
    connect(support_agent, T0 + dt.timedelta(seconds=2))
    assert actions.sweep_presence(now=T0 + dt.timedelta(seconds=20)) == []
    assert statuses(published_events) == ["online"]


def test_a_silent_socket_is_dead_after_the_ttl_and_the_agent_gone_after_the_grace(
    support_agent, published_events
):
    actions.do_set_presence(support_agent, "online", now=T0)
    connect(support_agent, T0)  # never heartbeats again, never closes
    assert actions.sweep_presence(now=T0 + dt.timedelta(seconds=29)) == []
    assert AgentConnection.objects.count() == 1
    assert actions.sweep_presence(now=T0 + dt.timedelta(seconds=31)) == []  # dead, within grace
    assert AgentConnection.objects.count() == 0
    assert actions.sweep_presence(now=T0 + dt.timedelta(seconds=41)) == [support_agent.pk]
    assert statuses(published_events) == ["online", "offline"]


def test_heartbeats_keep_a_socket_alive(support_agent):
    actions.do_set_presence(support_agent, "online", now=T0)
    tab = connect(support_agent, T0)
    for s in (20, 40, 60):
        assert actions.do_heartbeat(tab, now=T0 + dt.timedelta(seconds=s))
    assert actions.sweep_presence(now=T0 + dt.timedelta(seconds=70)) == []
    [state] = agent_states(["support"], active_chats={}, now=T0 + dt.timedelta(seconds=70))
    assert state.online


def test_online_is_not_accepting(support_agent):
    actions.do_set_presence(support_agent, "online", accepting=False, now=T0)
    connect(support_agent, T0)
    [state] = agent_states(["support"], active_chats={}, now=T0)
    assert state.online and not state.accepting


def test_a_supervisor_can_set_an_agent_away(support_agent, published_events):
    actions.do_set_presence(support_agent, "online", now=T0)
    connect(support_agent, T0)
    actions.do_set_presence(support_agent, "away", set_by="supervisor", now=T0)
    presence = AgentPresence.objects.get(user=support_agent)
    assert (presence.chosen_status, presence.set_by) == ("away", "supervisor")
    assert statuses(published_events) == ["online", "away"]


def test_an_unknown_status_is_refused(support_agent):
    with pytest.raises(ValueError):
        actions.do_set_presence(support_agent, "busy")
