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
from crm.record import call_webhook_data, contact_reference
from foundation.time_zones import UNKNOWN_ZONES, is_valid_zone, supported_language
from foundation.webhooks import enqueue_webhook

MAX_NOTE_LENGTH = 10_000
MAX_RAW_PHONE_LENGTH = 40
MAX_CALL_ID_LENGTH = 100
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
    # False when `call_id` named a call we already had (a later state, a retry).
    created: bool = True
    # Whether anything an open pop shows moved (state, agent, duration, note).
    changed: bool = True


State = CallRecord.State


def record_call(
    *,
    phone: str,
    direction: str,
    started_at: datetime.datetime | None = None,
    duration_s: int | None = None,
    agent: AbstractBaseUser | str | None = None,
    note: str = "",
    call_id: str | None = None,
    state: str | None = None,
    department: str = "",
    contact: Contact | None = None,
) -> RecordedCall:
    """Log a call, or move the call the PBX names by `call_id` to a later state.

    The contact is found by number. A number nobody has, or one that does
    not parse (withheld, "anonymous"), is kept as an unknown caller: `phone`
    holds E.164 when it parsed, otherwise what the telephony system sent.
    `agent` is a user or a username; an unknown username raises `UnknownAgent`.
    `contact`, when given (an agent logging a call by hand), wins over the lookup.

    States only move forward (ringing → answered → ended): a retried post or
    one that arrives late (a `ringing` after the `answered`) changes no state;
    its other fields (agent, note, duration) still fill what is missing. No
    `state` means a finished call, as before call lifecycles existed.
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
    state = state or State.ENDED
    if state not in State.values:
        raise ValueError(f"state must be one of {', '.join(State.values)}")
    call_id = (call_id or "").strip() or None
    if call_id is not None and len(call_id) > MAX_CALL_ID_LENGTH:
        raise ValueError(f"call_id must be at most {MAX_CALL_ID_LENGTH} characters")

    with transaction.atomic():
        agent_user = _resolve_agent(agent)
        if call_id is not None:
            existing = CallRecord.objects.select_for_update().filter(external_id=call_id).first()
            if existing is not None:
                return _advance(
                    existing, state=state, agent=agent_user, duration_s=duration_s, note=note
                )
        if contact is not None:
            stored_phone = _try_e164(raw)
        else:
            try:
                match = match_phone(raw)
            except InvalidPhoneNumber:
                contact, stored_phone = None, raw
            else:
                contact, stored_phone = match.contact, match.number
        now = timezone.now()
        call = CallRecord(
            contact=contact,
            phone=stored_phone,
            direction=direction,
            started_at=started_at or now,
            duration_s=duration_s,
            agent=agent_user,
            note=note,
            external_id=call_id,
            state=state,
            department=department,
            answered_at=now if state != State.RINGING else None,
            ended_at=now if state == State.ENDED else None,
        )
        if call_id is None:
            call.save(force_insert=True)
        else:
            try:
                # A savepoint: two retries of one new call race to insert; the loser updates.
                with transaction.atomic():
                    call.save(force_insert=True)
            except IntegrityError:
                existing = CallRecord.objects.select_for_update().get(external_id=call_id)
                return _advance(
                    existing, state=state, agent=agent_user, duration_s=duration_s, note=note
                )
        if state == State.ENDED:
            _announce_ended(call)
    return RecordedCall(call=call, contact=contact)


def _advance(
    call: CallRecord,
    *,
    state: str,
    agent: AbstractBaseUser | None,
    duration_s: int | None,
    note: str,
) -> RecordedCall:
    """Move a known call forward; never back. Runs under the caller's row lock."""
    now = timezone.now()
    changed: list[str] = []
    if CallRecord.ORDER.index(state) > CallRecord.ORDER.index(call.state):
        call.state = state
        changed.append("state")
        if call.answered_at is None and state == State.ANSWERED:
            call.answered_at = now
            changed.append("answered_at")
        if state == State.ENDED:
            call.ended_at = now
            changed.append("ended_at")
            _announce_ended(call)
            if duration_s is None and call.duration_s is None and call.answered_at is not None:
                # Talk time, from the answer: what the timeline shows. Never
                # answered (missed): no duration.
                duration_s = int((now - call.answered_at).total_seconds())
    if agent is not None and call.agent_id != agent.pk:
        call.agent = agent
        changed.append("agent")
    if duration_s is not None and call.duration_s != duration_s:
        call.duration_s = min(duration_s, MAX_CALL_DURATION_S)
        changed.append("duration_s")
    if note and note != call.note:
        call.note = note
        changed.append("note")
    if changed:
        call.save(update_fields=changed)
    return RecordedCall(call=call, contact=call.contact, created=False, changed=bool(changed))


def _announce_ended(call: CallRecord) -> None:
    # Once per call: only the post that moves it to `ended` (a retry changes no state).
    enqueue_webhook("call.ended", lambda: call_webhook_data(call))


def announce_contact_linked(contact: Contact, *, kind: str, linked_id: str) -> None:
    """The `contact.linked` webhook; the linking action calls it inside its transaction."""
    enqueue_webhook(
        "contact.linked",
        lambda: {"contact": contact_reference(contact), "linked": {"kind": kind, "id": linked_id}},
    )


def attach_call_to_contact(call: CallRecord, contact: Contact) -> CallRecord:
    """An unknown caller turned out to be `contact` (created from the pop, or found)."""
    with transaction.atomic():
        locked = CallRecord.objects.select_for_update().get(pk=call.pk)
        changed = locked.contact_id != contact.pk
        locked.contact = contact
        locked.save(update_fields=["contact"])
        if changed:
            announce_contact_linked(contact, kind="call", linked_id=str(locked.public_id))
    call.contact = contact
    return call


def _try_e164(raw: str) -> str:
    try:
        return match_phone(raw).number
    except InvalidPhoneNumber:
        return raw


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


class ContactConflict(ValueError):
    """The e-mail address already belongs to another contact."""


def create_contact(
    *, name: str, phone: str = "", email: str = "", organization_name: str = ""
) -> Contact:
    """A new contact typed by an agent (an unknown caller's pop): name, one phone, one e-mail.

    The organization is found by name (case-insensitive) or created. An
    e-mail that is someone else's is refused rather than moved.
    """
    from crm.lookup import normalize_email
    from crm.models import ContactEmail, ContactPhone, Organization
    from crm.phones import normalize_phone

    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValueError("name must be 1 to 200 characters")
    number = normalize_phone(phone) if phone.strip() else ""
    address = normalize_email(email) if email.strip() else ""
    organization_name = " ".join((organization_name or "").split())[:200]
    with transaction.atomic():
        if address and ContactEmail.objects.filter(email=address).exists():
            raise ContactConflict("this e-mail address belongs to another contact")
        organization = None
        if organization_name:
            organization = Organization.objects.filter(name__iexact=organization_name).first()
            if organization is None:
                organization = Organization.objects.create(name=organization_name)
        contact = Contact.objects.create(name=name, organization=organization)
        if number:
            ContactPhone.objects.create(contact=contact, number=number, is_primary=True)
        if address:
            ContactEmail.objects.create(contact=contact, email=address, is_primary=True)
    return contact


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


# --- the customer's own zone and language ------------------------------------------


def set_contact_time_zone(contact: Contact, name: str, *, only_if_unknown: bool = False) -> bool:
    """Store the contact's IANA zone; True if it changed.

    `only_if_unknown`: the browser's report on a visit fills in a zone nobody
    knew (blank or the "UTC" default) and never overrides one that was set.
    The compare-and-set `UPDATE` makes two tabs reporting at once harmless.
    """
    if not is_valid_zone(name):
        raise ValueError("not a time zone known here")
    rows = Contact.objects.filter(pk=contact.pk).exclude(time_zone=name)
    if only_if_unknown:
        rows = rows.filter(time_zone__in=UNKNOWN_ZONES)
    changed = rows.update(time_zone=name) == 1
    if changed:
        contact.time_zone = name
    return changed


def set_contact_locale(contact: Contact, language: str) -> bool:
    """Store the language the contact chose (one the site offers); True if it changed."""
    code = supported_language(language)
    if not code:
        raise ValueError("not a language offered here")
    changed = Contact.objects.filter(pk=contact.pk).exclude(locale=code).update(locale=code) == 1
    if changed:
        contact.locale = code
    return changed
