"""State changes of the CRM record."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.lookup import InvalidEmail, match_phone, normalize_email
from crm.models import CallRecord, Contact, ContactEmail, ContactPhone
from crm.phones import InvalidPhoneNumber

MAX_NOTE_LENGTH = 10_000
MAX_RAW_PHONE_LENGTH = 40
# A day: longer is a telephony bug, not a call.
MAX_CALL_DURATION_S = 24 * 3600


MAX_NAME_LENGTH = 200


class InvalidPrefill(ValueError):
    """What the visitor typed cannot make a contact (no name/e-mail/phone, or a bad one)."""


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


@dataclass(frozen=True, slots=True)
class ContactFromPrefill:
    contact: Contact
    # False: the e-mail or phone already belonged to this contact, which is reused.
    created: bool


def create_contact_from_prefill(
    *, name: str = "", email: str = "", phone: str = "", locale: str = ""
) -> ContactFromPrefill:
    """A contact from what a visitor typed (a chat's pre-chat form, a ticket's requester).

    The e-mail and phone are checked and normalized the way lookups read them;
    when either already belongs to a contact, that contact is returned
    instead of a duplicate (the e-mail wins over the phone, as it is the
    stronger identifier). A new contact gets them as its primary e-mail and
    phone; its name falls back to the e-mail. Raises `InvalidPrefill`.
    """
    name = " ".join((name or "").split())[:MAX_NAME_LENGTH]
    raw_email = (email or "").strip()
    raw_phone = (phone or "").strip()
    if not (name or raw_email or raw_phone):
        raise InvalidPrefill("give a name, an e-mail or a phone number")
    normalized_email = ""
    if raw_email:
        try:
            normalized_email = normalize_email(raw_email)
        except InvalidEmail as exc:
            raise InvalidPrefill(f"not an e-mail address: {raw_email[:60]!r}") from exc
    if len(raw_phone) > MAX_RAW_PHONE_LENGTH:
        raise InvalidPrefill("phone must be at most 40 characters")
    number = ""
    if raw_phone:
        try:
            match = match_phone(raw_phone)
        except InvalidPhoneNumber as exc:
            raise InvalidPrefill(f"not a phone number: {raw_phone!r}") from exc
        number = match.number
    existing = _contact_with(normalized_email, number)
    if existing is not None:
        return ContactFromPrefill(existing, created=False)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                name=name or normalized_email or number, locale=(locale or "en")[:10]
            )
            if normalized_email:
                ContactEmail.objects.create(
                    contact=contact, email=normalized_email, is_primary=True
                )
            if number:
                ContactPhone.objects.create(contact=contact, number=number, is_primary=True)
    except IntegrityError:
        # Someone else gave the e-mail to a contact a moment ago (it is unique): theirs it is.
        existing = _contact_with(normalized_email, number)
        if existing is None:
            raise
        return ContactFromPrefill(existing, created=False)
    return ContactFromPrefill(contact, created=True)


def _contact_with(email: str, number: str) -> Contact | None:
    """The contact that has the e-mail, else the phone number (E.164), if any."""
    if email:
        row = ContactEmail.objects.filter(email=email).select_related("contact").first()
        if row is not None:
            return row.contact
    if number:
        return match_phone(number).contact
    return None
