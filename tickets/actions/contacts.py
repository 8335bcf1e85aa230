"""Linking a ticket to the CRM contact it belongs to.

A ticket from an unknown address (an e-mail nobody has, a form without
sign-in) carries only its requester's name and e-mail. The agent links it to
the contact, or creates the contact from the requester; the ticket then
belongs to the contact (and their organization), so it shows on their
record and in their portal. The event is internal (the customer sees the
ticket, not how it got to them); its doorbell goes to the new contact's and
organization's portal sockets with the agents', so the ticket appears in the
customer's list live (`tickets.portal.consumers`).

The SLA clocks are kept: the promise made when the ticket came in stands.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from crm.actions import InvalidPrefill, announce_contact_linked, create_contact_from_prefill
from crm.models import Contact
from queues.agent_scope import AgentScope
from tickets import customers
from tickets.access import access_ticket_for_agent
from tickets.actions.log import append_event, locked_ticket, role_of, sync_ticket
from tickets.errors import TicketError
from tickets.models import Ticket, TicketEvent
from tickets.notifications.outbound import contact_address

Kind = TicketEvent.Kind


def contact_wire(contact: Contact) -> dict[str, str]:
    return {"id": str(contact.public_id), "name": contact.name}


def link_ticket_to_contact(
    ticket: Ticket, contact: Contact, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """The ticket becomes `contact`'s (and their organization's); None if it already is."""
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if locked.contact_id == contact.pk:
            return None
        payload: dict[str, Any] = {"contact": contact_wire(contact)}
        if locked.contact is not None:
            payload["old"] = contact_wire(locked.contact)
        event = append_event(
            locked,
            kind=Kind.CONTACT,
            payload=payload,
            author_role=role_of(by),
            author_user=by,
            internal=True,
            fields={"contact_id": contact.pk, "organization_id": contact.organization_id},
        )
        announce_contact_linked(contact, kind="ticket", linked_id=locked.number)
        sync_ticket(ticket, locked)
        ticket.contact = contact
    return event


def prefill_of(ticket: Ticket) -> dict[str, str]:
    """The requester as the ticket knows them, for a new contact's form."""
    prefill = {"name": ticket.requester_name, "email": ticket.requester_email, "phone": ""}
    conversation = ticket.conversation if ticket.conversation_id else None
    if conversation is not None:
        # A ticket made from a chat: the visitor's pre-chat answers fill the gaps.
        visitor = conversation.visitor
        prefill = {
            "name": prefill["name"] or visitor.name,
            "email": prefill["email"] or visitor.email,
            "phone": visitor.phone,
        }
    return prefill


def check_link_ticket(
    user: AbstractBaseUser,
    number: str,
    *,
    contact: Contact | None = None,
    prefill: dict[str, str] | None = None,
    scope: AgentScope | None = None,
) -> tuple[Ticket, TicketEvent | None, Contact, bool]:
    """Link to `contact`, or to a contact made from `prefill` over the requester's details
    (reusing the contact that has the e-mail or phone). Agents of the ticket's department
    only (`access_ticket_for_agent`: not found otherwise)."""
    ticket = access_ticket_for_agent(user, number, scope=scope)
    created = False
    # One transaction: a link that fails leaves no new contact behind.
    with transaction.atomic():
        if contact is None:
            typed = {k: v for k, v in (prefill or {}).items() if v}
            try:
                made = create_contact_from_prefill(**{**prefill_of(ticket), **typed})
            except InvalidPrefill as exc:
                raise TicketError(str(exc)) from exc
            contact, created = made.contact, made.created
        event = link_ticket_to_contact(ticket, contact, by=user)
    return ticket, event, contact, created


def portal_user_for(contact: Contact) -> AbstractBaseUser | None:
    """The contact's portal user, created (no password: links only) when they have none.

    None when the linked user cannot be a customer (an agent, staff, a
    disabled account): a link never signs anyone into the console.
    """
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.portal_user_id is None:
            user_model = get_user_model()
            user = user_model(
                username=f"portal-{locked.public_id.hex[:16]}",
                email=contact_address(locked)[:254],
                first_name=(locked.first_name or "")[:150],
            )
            user.set_unusable_password()
            user.save()
            Contact.objects.filter(pk=locked.pk).update(portal_user=user)
            contact.portal_user = user
            return user
        user = locked.portal_user
    return user if customers.customer_contact(user) is not None else None


def confirm_requester(ticket: Ticket, email: str) -> Contact | None:
    """The requester proved `email` (a confirm link): the ticket becomes that address's contact's.

    The contact that has the address is reused, or one is made from the
    requester's details. None when the ticket already belongs to someone
    else, or the address is not the one the ticket was opened with.
    """
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if (locked.requester_email or "").strip().lower() != email:
            return None
        if locked.contact_id is not None:
            # Already someone's (an agent linked it): theirs only if the address is.
            owner = locked.contact
            return owner if owner.emails.filter(email=email).exists() else None
        try:
            made = create_contact_from_prefill(
                name=locked.requester_name, email=email, locale=_requester_locale(locked)
            )
        except InvalidPrefill:
            return None
        link_ticket_to_contact(ticket, made.contact, by=None)
    return made.contact


def _requester_locale(ticket: Ticket) -> str:
    if ticket.conversation_id is not None:
        return ticket.conversation.locale or ticket.conversation.visitor.locale
    return ""
