"""Reading presence: who is live, and the routing view of agents.

Writes are in `queues/actions.py`. Presence lives in the database (one row per
connection with a heartbeat), so it survives a worker restart and any worker
sees the same truth.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from queues.models import AgentPresence, AgentProfile
from queues.routing import AgentState


def presence_ttl() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.CHATPORTAL_PRESENCE_TTL_S)


def reconnect_grace() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "CHATPORTAL_PRESENCE_GRACE_S", 15))


def live_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - presence_ttl()


def effective_status(presence: AgentPresence | None, live_connections: int) -> str:
    if presence is None or live_connections == 0:
        return AgentPresence.Status.OFFLINE
    return presence.chosen_status


def agent_states(
    department_slugs: list[str] | None = None,
    *,
    active_chats: dict[int, int],
    now: datetime.datetime | None = None,
) -> list[AgentState]:
    """The routing view of agents; `active_chats` comes from the chat app."""
    cutoff = live_cutoff(now)
    profiles = (
        AgentProfile.objects.select_related("user", "user__presence")
        .annotate(
            live=Count(
                "user__agent_connections", filter=Q(user__agent_connections__last_seen__gte=cutoff)
            )
        )
        .prefetch_related("departments")
    )
    if department_slugs is not None:
        profiles = profiles.filter(departments__slug__in=department_slugs).distinct()
    states = []
    for profile in profiles:
        if not profile.user.is_active:
            continue
        presence = getattr(profile.user, "presence", None)
        status = effective_status(presence, profile.live)
        states.append(
            AgentState(
                agent_id=profile.user_id,
                departments=frozenset(d.slug for d in profile.departments.all()),
                online=status == AgentPresence.Status.ONLINE,
                accepting=bool(presence and presence.accepting),
                active_chats=active_chats.get(profile.user_id, 0),
                max_chats=profile.max_chats,
                skills=frozenset(profile.skill_set),
                languages=frozenset(profile.language_set),
                last_assigned_at=presence.last_assigned_at if presence else None,
            )
        )
    return states
