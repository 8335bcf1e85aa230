"""Group names and event builders for departments and agents.

Group names: letters, digits, `.`, `_`, `-`; under 100 characters; no colons.
"""

from __future__ import annotations

from typing import Literal, TypedDict


def department_group(slug: str) -> str:
    return f"dept.{slug}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


class PresenceChanged(TypedDict):
    type: Literal["agent.presence_changed"]
    agent: str
    user_id: int
    status: str
    accepting: bool


def presence_changed(
    *, username: str, user_id: int, status: str, accepting: bool
) -> PresenceChanged:
    return {
        "type": "agent.presence_changed",
        "agent": username,
        "user_id": user_id,
        "status": status,
        "accepting": accepting,
    }
