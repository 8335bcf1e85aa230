"""Presence writes: connections, heartbeats, chosen status, sweeping.

Only transitions of the visible status are published (never every
heartbeat). Requeueing the chats of an agent who is gone is the chat app's
job: `sweep_presence` returns who is gone and `chat` acts on it.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from foundation.realtime import publish_on_commit
from queues import events
from queues.models import AgentConnection, AgentPresence, PresenceInterval
from queues.presence import live_cutoff, presence_ttl, reconnect_grace

Status = AgentPresence.Status


def _presence_for_update(user_id: int) -> AgentPresence:
    AgentPresence.objects.get_or_create(user_id=user_id)
    return AgentPresence.objects.select_for_update().select_related("user").get(user_id=user_id)


def _visible_status(presence: AgentPresence, live: int, now: datetime.datetime) -> str:
    if live:
        return presence.chosen_status
    if presence.disconnected_since and now - presence.disconnected_since < reconnect_grace():
        # A reload or a short blip: colleagues keep seeing the last status.
        return presence.published_status
    return Status.OFFLINE


def _publish_transition(presence: AgentPresence, now: datetime.datetime) -> str | None:
    live = AgentConnection.objects.filter(
        user_id=presence.user_id, last_seen__gte=live_cutoff(now)
    ).count()
    status = _visible_status(presence, live, now)
    if status == presence.published_status:
        return None
    presence.published_status = status
    presence.save(update_fields=["published_status", "changed_at"])
    # Gone after a disconnect: offline since the last connection went away.
    since = presence.disconnected_since if status == Status.OFFLINE else None
    _record_interval(presence.user_id, status, min(since, now) if since else now)
    event = events.presence_changed(
        username=presence.user.get_username(),
        user_id=presence.user_id,
        status=status,
        accepting=presence.accepting,
    )
    slugs = list(presence.user.agent_profile.departments.values_list("slug", flat=True))
    for slug in slugs:
        publish_on_commit(events.department_group(slug), event)
    if not slugs:
        # The agent's own sockets are in its department groups; without any
        # department they still need to hear their own status.
        publish_on_commit(events.agent_group(presence.user_id), event)
    return status


def _record_interval(user_id: int, status: str, now: datetime.datetime) -> None:
    """Presence history: close the open stretch, open the next (none while offline)."""
    PresenceInterval.objects.filter(user_id=user_id, ended_at__isnull=True).update(
        ended_at=Greatest(F("started_at"), Value(now))
    )
    if status != Status.OFFLINE:
        PresenceInterval.objects.create(user_id=user_id, status=status, started_at=now)


def do_register_connection(
    user: AbstractBaseUser,
    *,
    connection_id: uuid.UUID,
    channel_name: str,
    now: datetime.datetime | None = None,
) -> AgentPresence:
    now = now or timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(user.pk)
        AgentConnection.objects.update_or_create(
            id=connection_id,
            defaults={"user_id": user.pk, "channel_name": channel_name, "last_seen": now},
            create_defaults={
                "user_id": user.pk,
                "channel_name": channel_name,
                "last_seen": now,
                "connected_at": now,
            },
        )
        if presence.disconnected_since is not None:
            presence.disconnected_since = None
            presence.save(update_fields=["disconnected_since", "changed_at"])
        _publish_transition(presence, now)
    return presence


def do_heartbeat(connection_id: uuid.UUID, *, now: datetime.datetime | None = None) -> bool:
    """False when the connection was swept meanwhile: the caller registers again."""
    return (
        AgentConnection.objects.filter(id=connection_id).update(last_seen=now or timezone.now())
        == 1
    )


def do_drop_connection(
    user: AbstractBaseUser, *, connection_id: uuid.UUID, now: datetime.datetime | None = None
) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(user.pk)
        AgentConnection.objects.filter(id=connection_id).delete()
        remaining = AgentConnection.objects.filter(user_id=user.pk, last_seen__gte=live_cutoff(now))
        if not remaining.exists() and presence.disconnected_since is None:
            presence.disconnected_since = now
            presence.save(update_fields=["disconnected_since", "changed_at"])
        _publish_transition(presence, now)


def do_set_presence(
    user: AbstractBaseUser,
    status: str,
    *,
    accepting: bool | None = None,
    set_by: str = AgentPresence.SetBy.AGENT,
    now: datetime.datetime | None = None,
) -> AgentPresence:
    """Set the chosen status (by the agent, a supervisor or the system)."""
    if status not in Status.values:
        raise ValueError(f"unknown presence status {status!r}")
    now = now or timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(user.pk)
        presence.chosen_status = status
        presence.set_by = set_by
        if accepting is not None:
            presence.accepting = accepting
        presence.save(update_fields=["chosen_status", "set_by", "accepting", "changed_at"])
        _publish_transition(presence, now)
    return presence


def sweep_presence(*, now: datetime.datetime | None = None) -> list[int]:
    """Remove dead connections; return the ids of agents gone past the grace.

    A socket silent past the TTL is dead even without a close frame (lid
    shut, network cut). An agent is gone once no connection has been live for
    the grace period; the caller requeues that agent's chats.
    """
    now = now or timezone.now()
    cutoff = live_cutoff(now)
    dead = AgentConnection.objects.filter(last_seen__lt=cutoff)
    touched = dict(
        dead.values("user_id").annotate(last=Max("last_seen")).values_list("user_id", "last")
    )
    dead.delete()
    pending = set(
        AgentPresence.objects.filter(disconnected_since__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    gone: list[int] = []
    for user_id in set(touched) | pending:
        with transaction.atomic():
            presence = _presence_for_update(user_id)
            live = AgentConnection.objects.filter(user_id=user_id, last_seen__gte=cutoff).exists()
            if live:
                continue
            if presence.disconnected_since is None:
                # It went silent at its last heartbeat and counts as dead one
                # TTL later; the grace runs from there.
                last = touched.get(user_id)
                presence.disconnected_since = last + presence_ttl() if last else now
                presence.save(update_fields=["disconnected_since", "changed_at"])
            if now - presence.disconnected_since >= reconnect_grace():
                gone.append(user_id)
            _publish_transition(presence, now)
    return gone
