"""Who the visitor is: a token, a pre-chat profile, and maybe a verified identity.

A widget's `hello` (`check_widget_hello`) finds or creates the visitor,
stores the profile as typed, and attaches a verified identity
(`chat.identity`), merging an anonymous visitor onto the verified one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from chat import events, tokens
from chat.access import authenticate_visitor
from chat.actions.conversations import close_in_transaction
from chat.errors import NotAuthenticated, NotFound
from chat.identity import IdentityInvalid, VerifiedIdentity, verify_identity
from chat.log import SYSTEM
from chat.models import Conversation, ConversationEvent, Visitor
from chat.queries import open_conversation_of
from crm.models import Contact
from foundation.realtime import publish_on_commit
from queues.models import Department

logger = logging.getLogger(__name__)

Role = ConversationEvent.Role


def create_visitor(
    *, name: str = "", email: str = "", phone: str = "", locale: str = ""
) -> tuple[Visitor, str]:
    raw, digest = tokens.new_visitor_token()
    visitor = Visitor.objects.create(
        token_hash=digest, name=name, email=email, phone=phone, locale=locale
    )
    return visitor, raw


def update_visitor_profile(visitor: Visitor, **fields: str) -> None:
    """The pre-chat profile: stored as typed, never used to find a contact."""
    changed = [name for name, value in fields.items() if value and getattr(visitor, name) != value]
    for name in changed:
        setattr(visitor, name, fields[name])
    if changed:
        visitor.save(update_fields=[*changed, "last_seen_at"])


def request_transcript(visitor: Visitor, wanted: bool) -> None:
    """The widget's "Email me a transcript" checkbox, as the visitor left it."""
    if visitor.transcript_requested != wanted:
        visitor.transcript_requested = wanted
        visitor.save(update_fields=["transcript_requested", "last_seen_at"])


def identify_visitor(visitor: Visitor, identity: VerifiedIdentity) -> tuple[Visitor, str | None]:
    """Attach a verified identity; returns the acting visitor and a new token if one was issued.

    The verified visitor of an external id is unique. An anonymous visitor
    who proves that id is merged onto it (its conversations move over; if
    both have an open one, the anonymous one is closed as `merged`), and its
    token keeps working as an alias. A visitor already verified as someone
    else is never merged: a fresh visitor is issued for the new identity.
    The contact is linked only when crm already has one with that external
    id; no contact is created from a widget.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _identify(visitor, identity)
        except IntegrityError:
            # Two sockets proved the same new identity at once; the other
            # one created the verified visitor, so this time we merge.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _identify(visitor: Visitor, identity: VerifiedIdentity) -> tuple[Visitor, str | None]:
    new_token = None
    external_id = identity.external_id
    if visitor.external_id != external_id:
        if visitor.external_id is not None:
            visitor, new_token = create_visitor(locale=visitor.locale)
        canonical = (
            Visitor.objects.select_for_update()
            .filter(external_id=external_id, merged_into__isnull=True)
            .first()
        )
        if canonical is None:
            visitor.external_id = external_id
            visitor.save(update_fields=["external_id"])
            canonical = visitor
        else:
            _merge_visitor(visitor, into=canonical)
        visitor = canonical
    contact = Contact.objects.filter(external_id=external_id).first()
    updates = {"contact_id": contact.pk if contact else visitor.contact_id}
    if identity.name:
        updates["name"] = identity.name
    if identity.email:
        updates["email"] = identity.email
    changed = [k for k, v in updates.items() if getattr(visitor, k) != v]
    for key in changed:
        setattr(visitor, key, updates[key])
    if changed:
        visitor.save(update_fields=changed)
    if contact:
        Conversation.objects.filter(
            visitor=visitor, state__in=Conversation.OPEN_STATES, contact__isnull=True
        ).update(contact=contact)
    return visitor, new_token


def _merge_visitor(alias: Visitor, *, into: Visitor) -> None:
    alias_open = Conversation.objects.filter(
        visitor=alias, state__in=Conversation.OPEN_STATES
    ).first()
    if (
        alias_open
        and Conversation.objects.filter(visitor=into, state__in=Conversation.OPEN_STATES).exists()
    ):
        close_in_transaction(alias_open, by=Role.SYSTEM, reason="merged", author=SYSTEM)
        alias_open = None
    Conversation.objects.filter(visitor=alias).update(visitor=into, contact=into.contact_id)
    Visitor.objects.filter(merged_into=alias).update(merged_into=into)
    alias.merged_into = into
    alias.save(update_fields=["merged_into"])
    if alias_open:
        # Tabs of the verified visitor follow the moved conversation.
        publish_on_commit(
            events.visitor_group(into.public_id), events.conversation_started(alias_open.public_id)
        )


# --- the widget's hello: one socket frame, one database hop -------------------------


@dataclass(frozen=True)
class WidgetSession:
    visitor: Visitor
    token: str
    department: Department | None
    conversation: Conversation | None
    identity_invalid: bool
    # This hello proved who the visitor is (JWT or HMAC): earlier conversations may be shown.
    identified: bool = False


def check_widget_hello(
    *,
    token: str | None,
    department_slug: str | None,
    profile: dict[str, str],
    identity: dict[str, str] | None,
    locale: str,
    offered: list[str] | None = None,
) -> WidgetSession:
    """Who this visitor is (token, verified identity), and what is open for them.

    `offered` is the host page's choice of departments: the one asked for must be among them.
    """
    requested = None
    if offered and department_slug and department_slug not in offered:
        raise NotFound("the department is not among the offered ones")
    if department_slug:
        requested = Department.objects.filter(slug=department_slug).first()
        if requested is None:
            raise NotFound("unknown department")
    created = None
    if token:
        visitor = authenticate_visitor(token)
        if visitor is None:
            raise NotAuthenticated
        raw = token
    else:
        visitor, raw = create_visitor(locale=locale)
        created = visitor
    update_visitor_profile(
        visitor,
        name=profile.get("name", ""),
        email=profile.get("email", ""),
        phone=profile.get("phone", ""),
        locale=locale,
    )
    if "transcript" in profile:
        request_transcript(visitor, bool(profile["transcript"]))
    identity_invalid = identified = False
    if identity:
        try:
            verified = verify_identity(identity)
        except IdentityInvalid as exc:
            logger.info("visitor identity refused: %s", exc)
            identity_invalid = True
        else:
            visitor, new_token = identify_visitor(visitor, verified)
            raw = new_token or raw
            identified = True
    # A visitor created by this hello (and not merged onto another) has nothing open yet.
    conversation = None if visitor is created else open_conversation_of(visitor)
    department = conversation.department if conversation else requested
    return WidgetSession(visitor, raw, department, conversation, identity_invalid, identified)
