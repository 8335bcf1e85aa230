"""From a phone call to a ticket: the console's button and `POST /api/v1/calls/{id}/ticket`.

One call becomes at most one ticket (`Ticket.call` is one-to-one): asking
again answers the ticket made the first time, so an integration may retry.
The `created` event carries the call (phone, duration, note), which is how
the console's and the portal's timelines show it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import CallRecord
from crm.phones import format_phone_international
from queues.models import Department
from tickets.actions.assets import asset_for
from tickets.actions.messages import create_ticket
from tickets.errors import TicketError
from tickets.models import Ticket


def ticket_from_call(
    call: CallRecord,
    *,
    by: AbstractBaseUser,
    department: Department | None = None,
    subject: str = "",
    body: str = "",
    priority: str = Ticket.Priority.NORMAL,
    asset_serial: str = "",
    assign_to_self: bool = True,
) -> tuple[Ticket, bool]:
    """The call's ticket, and whether this call made it (False: it existed already).

    The department defaults to the call's, then to the agent's first one; the
    unit (`asset_serial`) must be the caller's. The agent who turns the call
    into a ticket takes it, as one does after talking to the customer.
    """
    with transaction.atomic():
        # Only the call row is locked (the contact is a nullable join PostgreSQL will not lock).
        locked = (
            CallRecord.objects.select_for_update(of=("self",))
            .select_related("contact")
            .get(pk=call.pk)
        )
        existing = Ticket.objects.filter(call=locked).first()
        if existing is not None:
            return existing, False
        contact = locked.contact
        department = department or _department_of(locked, by)
        if department is None:
            raise TicketError(_("choose a department for the ticket"))
        asset = asset_for(contact, asset_serial) if asset_serial else None
        caller = contact.name if contact is not None else format_phone_international(locked.phone)
        # No words of ours are stored: an empty subject reads "Phone call from …" in
        # the reader's language (`subject_for_display`), an empty body "(no text)".
        ticket = create_ticket(
            subject=subject.strip(),
            body=body.strip() or locked.note.strip(),
            as_received=True,
            contact=contact,
            channel=Ticket.Channel.PHONE,
            department=department,
            priority=priority,
            author_role="agent",
            author_user=by,
            requester_name=caller,
            assignee=by if assign_to_self and hasattr(by, "agent_profile") else None,
            call=locked,
            asset=asset,
        )
    return ticket, True


def _department_of(call: CallRecord, user: AbstractBaseUser) -> Department | None:
    if call.department:
        found = Department.objects.filter(slug=call.department).first()
        if found is not None:
            return found
    profile = getattr(user, "agent_profile", None)
    if profile is None:
        return None
    return profile.departments.order_by("name").first()
