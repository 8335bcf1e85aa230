"""State changes of the CRM record."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from crm.lookup import match_phone
from crm.models import CallRecord, Contact
from crm.phones import InvalidPhoneNumber
from crm.record import call_webhook_data
from foundation.webhooks import enqueue_webhook

MAX_NOTE_LENGTH = 10_000
MAX_RAW_PHONE_LENGTH = 40
# A day: longer is a telephony bug, not a call.
MAX_CALL_DURATION_S = 24 * 3600


class UnknownAgent(LookupError):
    """The username names no active user."""


@dataclass(frozen=True, slots=True)
class RecordedCall:
    call: CallRecord
    contact: Contact | None


def record_call(
    *,
    phone: str,
    direction: str,
    started_at: datetime.datetime | None = None,
    duration_s: int | None = None,
    agent: AbstractBaseUser | str | None = None,
    note: str = "",
) -> RecordedCall:
    """Log a call and attach it to the contact found by number.

    A number nobody has, or one that does not parse (withheld, "anonymous"),
    is kept as an unknown caller: `phone` holds E.164 when it parsed,
    otherwise what the telephony system sent. `agent` is a user or a
    username; an unknown username raises `UnknownAgent`.
    """
    raw = (phone or "").strip()
    if not raw or len(raw) > MAX_RAW_PHONE_LENGTH:
        raise ValueError("phone must be 1 to 40 characters")
    if direction not in CallRecord.Direction.values:
        raise ValueError(f"direction must be one of {', '.join(CallRecord.Direction.values)}")
    if duration_s is not None and not 0 <= duration_s <= MAX_CALL_DURATION_S:
        raise ValueError("duration_s is out of range")
    if started_at is not None and timezone.is_naive(started_at):
        raise ValueError("started_at must carry a time zone")
    if len(note) > MAX_NOTE_LENGTH:
        raise ValueError("note is too long")

    with transaction.atomic():
        agent_user = _resolve_agent(agent)
        try:
            match = match_phone(raw)
        except InvalidPhoneNumber:
            contact, stored_phone = None, raw
        else:
            contact, stored_phone = match.contact, match.number
        call = CallRecord.objects.create(
            contact=contact,
            phone=stored_phone,
            direction=direction,
            started_at=started_at or timezone.now(),
            duration_s=duration_s,
            agent=agent_user,
            note=note,
        )
        # A reported call is a finished one (the PBX posts it when it ends).
        enqueue_webhook("call.ended", lambda: call_webhook_data(call))
    return RecordedCall(call=call, contact=contact)


def _resolve_agent(agent: AbstractBaseUser | str | None) -> AbstractBaseUser | None:
    if agent is None or isinstance(agent, AbstractBaseUser):
        return agent
    user_model = get_user_model()
    user = user_model.objects.filter(
        **{user_model.USERNAME_FIELD: agent.strip()}, is_active=True
    ).first()
    if user is None:
        raise UnknownAgent(f"no such agent: {agent!r}")
    return user
