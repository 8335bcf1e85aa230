"""What an agent may work on: the one definition chat, tickets and the console share.

A supervisor works on every department; any other agent on the departments
of its profile. Anyone without an active agent profile has no scope at all.
A `NamedTuple`, so callers that unpack `(is_supervisor, department_ids)` keep
working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from queues.models import AgentProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class AgentScope(NamedTuple):
    is_supervisor: bool
    department_ids: frozenset[int]

    def serves(self, department_id: int | None) -> bool:
        return self.is_supervisor or department_id in self.department_ids


def agent_scope(user: AbstractBaseUser | None) -> AgentScope | None:
    """The agent's scope in one query, or None for customers, strangers and inactive users."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    profile = AgentProfile.objects.filter(user=user).prefetch_related("departments").first()
    if profile is None:
        return None
    return scope_of_profile(profile)


def scope_of_profile(profile: AgentProfile) -> AgentScope:
    """The scope of a profile the caller already loaded (its departments prefetched)."""
    return AgentScope(
        is_supervisor=profile.is_supervisor,
        department_ids=frozenset(department.pk for department in profile.departments.all()),
    )
