"""Linking a chat to the CRM contact it turned out to be.

A visitor who did not sign in is nobody to the CRM; the agent who recognizes
them (or creates their record from what they typed) links the conversation.
Only the conversation is linked, not the visitor: the visitor's identity is
set by a verified token alone (`chat.identity`), and a browser someone else
may share must not inherit a customer's record from an agent's guess.

The link is an internal event on the chat (agents see it in the timeline,
the visitor never does); its doorbell reaches every agent socket following
the chat, and the console reloads the CRM panel on it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.access import access_conversation_for_agent
from chat.errors import ChatError
from chat.log import Appended, Kind, agent_author, append_event
from chat.models import Conversation
from crm.actions import InvalidPrefill, announce_contact_linked, create_contact_from_prefill
from crm.models import Contact
from queues.agent_scope import AgentScope


def contact_wire(contact: Contact) -> dict[str, str]:
    return {"id": str(contact.public_id), "name": contact.name}


def link_conversation_to_contact(
    conversation: Conversation, contact: Contact, *, by: AbstractBaseUser
) -> Appended | None:
    """Link the chat to `contact`; None when it already is linked to it."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        if locked.contact_id == contact.pk:
            return None
        old = locked.contact
        Conversation.objects.filter(pk=locked.pk).update(contact=contact)
        author = agent_author(by)
        payload = {"contact": contact_wire(contact), "author": author.wire}
        if old is not None:
            payload["old"] = contact_wire(old)
        appended = append_event(
            locked,
            kind=Kind.CONTACT,
            payload=payload,
            author=author,
            internal=True,
            require_open=False,
        )
        announce_contact_linked(contact, kind="conversation", linked_id=str(locked.public_id))
    conversation.contact = contact
    return appended


def prefill_of(conversation: Conversation) -> dict[str, str]:
    """What the visitor typed, for a new contact's form."""
    visitor = conversation.visitor
    return {
        "name": visitor.name,
        "email": visitor.email,
        "phone": visitor.phone,
        "locale": conversation.locale or visitor.locale,
    }


def check_link_conversation(
    user: AbstractBaseUser,
    conversation_id: str,
    *,
    contact: Contact | None = None,
    prefill: dict[str, str] | None = None,
    scope: AgentScope | None = None,
) -> tuple[Appended | None, Contact, bool]:
    """Link to `contact`, or to a contact made from `prefill` (reusing one that has its
    e-mail or phone). Agents of the chat's department only. Returns the event (None if
    nothing changed), the contact and whether it was created."""
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    created = False
    # One transaction: a link that fails leaves no new contact behind.
    with transaction.atomic():
        if contact is None:
            typed = {k: v for k, v in (prefill or {}).items() if v}
            try:
                made = create_contact_from_prefill(**{**prefill_of(conversation), **typed})
            except InvalidPrefill as exc:
                raise ChatError(str(exc)) from exc
            contact, created = made.contact, made.created
        appended = link_conversation_to_contact(conversation, contact, by=user)
    return appended, contact, created
