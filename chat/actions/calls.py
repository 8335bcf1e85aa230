"""Phone calls with a life: record each PBX post, ring the consoles that should pop it.

Why here: the call itself is a CRM row (`crm.actions.record_call` keeps it
and its forward-only states), but deciding whose console rings needs
presence and departments, which live in `queues`, one layer above crm, and
ringing means the agent socket's groups, which `chat` owns. So the part
that finds whom to ring sits in chat, the lowest layer that sees both;
tickets (call → ticket) and the API build on it from above.

Who is rung: the named agent, or else every agent of the department who
is online now. The set is kept on the call (`rang_user_ids`) so that
`answered` and `ended` update the pop for exactly those consoles (and for
the agent who answered, if somebody else picked up).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat import events
from crm.actions import RecordedCall, attach_call_to_contact, record_call
from crm.models import CallRecord, Contact
from foundation.realtime import publish_on_commit
from queues.models import Department
from queues.presence import agent_states


class UnknownDepartment(LookupError):
    """The slug names no department."""


@dataclass(frozen=True, slots=True)
class ReportedCall:
    recorded: RecordedCall
    rang: tuple[int, ...]


def report_call(
    *,
    phone: str,
    direction: str,
    started_at: datetime.datetime | None = None,
    duration_s: int | None = None,
    agent: AbstractBaseUser | str | None = None,
    note: str = "",
    call_id: str | None = None,
    state: str | None = None,
    department: str | None = None,
    contact: Contact | None = None,
) -> ReportedCall:
    """Record (or advance) a call; ring the consoles it concerns after the commit.

    Raises `UnknownDepartment`, `crm.actions.UnknownAgent` or `ValueError`.
    """
    slug = (department or "").strip()
    with transaction.atomic():
        if slug and not Department.objects.filter(slug=slug).exists():
            raise UnknownDepartment(f"no such department: {slug!r}")
        recorded = record_call(
            phone=phone,
            direction=direction,
            started_at=started_at,
            duration_s=duration_s,
            agent=agent,
            note=note,
            call_id=call_id,
            state=state,
            department=slug,
            contact=contact,
        )
        call = recorded.call
        rang = set(call.rang_user_ids)
        if call.state != CallRecord.State.ENDED or rang:
            # A live call pops on first sight; a call logged after the fact pops nowhere.
            wanted = rang | set(_whom_to_ring(call))
            if wanted != rang:
                call.rang_user_ids = sorted(wanted)
                call.save(update_fields=["rang_user_ids"])
            if recorded.changed or wanted != rang:
                for user_id in call.rang_user_ids:
                    publish_on_commit(
                        events.agent_group(user_id), events.call_changed(call.public_id)
                    )
    return ReportedCall(recorded=recorded, rang=tuple(call.rang_user_ids))


def _whom_to_ring(call: CallRecord) -> list[int]:
    if call.agent_id is not None:
        return [call.agent_id]
    if not call.department or call.state != CallRecord.State.RINGING:
        return []
    return [
        state.agent_id for state in agent_states([call.department], active_chats={}) if state.online
    ]


def ring_call_again(call: CallRecord) -> None:
    """Tell every console that popped `call` to read it again (its contact changed)."""
    for user_id in call.rang_user_ids:
        publish_on_commit(events.agent_group(user_id), events.call_changed(call.public_id))


def identify_caller(call: CallRecord, contact: Contact) -> CallRecord:
    """An unknown caller is `contact` (created from the pop): attach, and refresh every pop."""
    with transaction.atomic():
        attach_call_to_contact(call, contact)
        ring_call_again(call)
    return call
