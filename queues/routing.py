"""Routing policy: who may take a chat, in what order, and which agent.

Plain code over plain values, no database: `chat/` loads the state, asks this
module, and applies the answer in one short transaction. Keeping the policy
here makes it testable in microseconds and keeps every rule in one place.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class AgentState:
    agent_id: int
    departments: frozenset[str]
    online: bool
    accepting: bool
    active_chats: int
    max_chats: int
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    # When the agent last got a chat: among equally loaded agents the one
    # who has waited longest for work goes first (fair rotation).
    last_assigned_at: datetime.datetime | None = None

    @property
    def free_slots(self) -> int:
        return max(0, self.max_chats - self.active_chats)


@dataclass(frozen=True)
class WaitingChat:
    conversation_id: int
    department: str
    arrived_at: datetime.datetime
    priority: int = 0
    # Continuity: the contact's account owner, then the agent who last served them.
    preferred_agent_ids: tuple[int, ...] = ()
    required_skills: frozenset[str] = frozenset()
    locale: str = ""
    excluded_agent_ids: frozenset[int] = field(default_factory=frozenset)


def queue_order_key(chat: WaitingChat) -> tuple:
    return (-chat.priority, chat.arrived_at, chat.conversation_id)


def order_queue(chats: Iterable[WaitingChat]) -> list[WaitingChat]:
    """Priority first (the contact's SLA tier), then arrival (FIFO)."""
    return sorted(chats, key=queue_order_key)


def is_eligible(agent: AgentState, chat: WaitingChat) -> bool:
    return (
        agent.online
        and agent.accepting
        and chat.department in agent.departments
        and agent.active_chats < agent.max_chats
        and chat.required_skills <= agent.skills
        and agent.agent_id not in chat.excluded_agent_ids
    )


def language_of(locale: str) -> str:
    """`de-AT`, `de_AT`, `DE` -> `de`: agents list languages, visitors send locales."""
    return locale.strip().replace("_", "-").split("-")[0].lower()


def speaks(agent: AgentState, locale: str) -> bool:
    language = language_of(locale)
    return bool(language) and language in {language_of(x) for x in agent.languages}


def _least_loaded_key(agent: AgentState) -> tuple:
    never = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return (agent.active_chats, agent.last_assigned_at or never, agent.agent_id)


def choose_agent(chat: WaitingChat, agents: Iterable[AgentState]) -> AgentState | None:
    """Continuity first (the account owner, then the last agent), then language, then load.

    Language comes before load: an agent with a free slot who speaks the
    visitor's language serves the chat better than a less busy one who does
    not, and every eligible agent has a free slot anyway. With nobody who
    speaks it, the least loaded agent takes it: a chat is never held back for
    a language.
    """
    eligible = [a for a in agents if is_eligible(a, chat)]
    if not eligible:
        return None
    by_id = {a.agent_id: a for a in eligible}
    for preferred in chat.preferred_agent_ids:
        if preferred in by_id:
            return by_id[preferred]
    return min(eligible, key=lambda a: (not speaks(a, chat.locale), *_least_loaded_key(a)))


def plan_assignments(
    chats: Iterable[WaitingChat], agents: Sequence[AgentState], *, now: datetime.datetime
) -> list[tuple[WaitingChat, AgentState]]:
    """Assign as many waiting chats as capacity allows, in queue order.

    A chat nobody can take does not block the ones behind it (another
    department or skill may still be served).
    """
    pool = {a.agent_id: a for a in agents}
    plan: list[tuple[WaitingChat, AgentState]] = []
    for chat in order_queue(chats):
        agent = choose_agent(chat, pool.values())
        if agent is None:
            continue
        plan.append((chat, agent))
        pool[agent.agent_id] = replace(
            agent, active_chats=agent.active_chats + 1, last_assigned_at=now
        )
    return plan


def product_department(
    requested: str, *, named: str | None = None, owned: Iterable[str] = ()
) -> str:
    """The department a chat or ticket goes to when products route it (`ProductRoute`).

    `named`: the routed department of the product the chat or ticket is
    about (the asset it names), which wins. `owned`: the routed departments of
    the products the contact owns; they decide only when they agree on one
    department, since a customer with products of two departments may be
    writing about either. Otherwise the requested department stands.
    """
    if named:
        return named
    departments = {slug for slug in owned if slug}
    if len(departments) == 1:
        return departments.pop()
    return requested


@dataclass(frozen=True)
class TicketOwner:
    """The contact's account owner as ticket routing sees them."""

    agent_id: int
    departments: frozenset[str]
    active: bool = True
    supervisor: bool = False


@dataclass(frozen=True)
class TicketContinuity:
    assign_to: int | None = None
    notify: int | None = None


def ticket_continuity(department: str, owner: TicketOwner | None) -> TicketContinuity:
    """Continuity for a new ticket (e-mail, portal, phone), as chats have it.

    The account owner takes the ticket when they serve its department (a
    supervisor serves them all); an owner who does not (or whose account is
    disabled) is told about it instead and the ticket stays with the
    department. Presence does not matter: a ticket waits for its owner.
    """
    if owner is None:
        return TicketContinuity()
    if owner.active and (owner.supervisor or department in owner.departments):
        return TicketContinuity(assign_to=owner.agent_id)
    if owner.active:
        return TicketContinuity(notify=owner.agent_id)
    return TicketContinuity()


def queue_position(chat: WaitingChat, waiting: Iterable[WaitingChat]) -> int:
    """1 = next in line, among chats of the same department."""
    same = [c for c in waiting if c.department == chat.department]
    key = queue_order_key(chat)
    return 1 + sum(1 for c in same if queue_order_key(c) < key)


DEFAULT_HANDLE_S = 300.0


def estimate_wait_s(
    position: int,
    *,
    recent_waits_s: Sequence[float],
    recent_handle_s: Sequence[float] = (),
    capacity: int,
    free_slots: int,
) -> int | None:
    """Honest estimate of the wait for the chat at `position`.

    `capacity` is the number of chat slots of the agents serving the queue.
    With a free slot for it the chat is served at once. Otherwise a slot frees
    roughly every (median handle time / capacity); without recent handle times
    we fall back to recent waits. None means nobody can serve it now, so no
    number would be honest.
    """
    if position <= free_slots:
        return 0
    if capacity <= 0:
        return None
    ahead = position - free_slots
    if recent_handle_s:
        return round(statistics.median(recent_handle_s) / capacity * ahead)
    if recent_waits_s:
        return round(statistics.median(recent_waits_s))
    return round(DEFAULT_HANDLE_S / capacity * ahead)
