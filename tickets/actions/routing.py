"""Who a new ticket goes to: its products' department and the contact's account owner.

Continuity as chats have it (`chat.actions.routing`): a ticket that came in
by e-mail, through the portal or by phone goes to the contact's account
owner when the owner serves its department; otherwise the owner gets an
agent alert by mail (through the outbox) and the ticket stays with the
department, with an internal `owner_notified` event saying so. The rules
are `queues.routing` (`ticket_continuity`, `product_department`); this
module reads the state and writes the events, inside `create_ticket`'s
transaction.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from crm.models import Contact
from foundation.public_url import offline_base
from queues import routing
from queues.models import AgentProfile, Department
from queues.product_routes import department_for_contact
from tickets.actions.log import append_event
from tickets.models import OutboundEmail, Ticket, TicketEvent
from tickets.notifications.outbound import AUTOMATIC_HEADERS, ComposedEmail
from tickets.notifications.outbox import enqueue_email

Channel = Ticket.Channel
Kind = TicketEvent.Kind

# Where the customer came to us on their own; a chat has its own routing.
CONTINUITY_CHANNELS = frozenset({Channel.EMAIL, Channel.PORTAL, Channel.PHONE})


def department_for_new_ticket(
    department: Department, contact: Contact | None, *, channel: str, chosen_by_agent: bool
) -> Department:
    """The department a new ticket opens in: its products' one, unless an agent chose."""
    if chosen_by_agent or channel not in CONTINUITY_CHANNELS or contact is None:
        return department
    return department_for_contact(department, contact.pk)


def _owner_state(contact: Contact | None) -> routing.TicketOwner | None:
    if contact is None or contact.account_owner_id is None:
        return None
    profile = (
        AgentProfile.objects.select_related("user")
        .prefetch_related("departments")
        .filter(user_id=contact.account_owner_id)
        .first()
    )
    if profile is None:
        return None
    return routing.TicketOwner(
        agent_id=profile.user_id,
        departments=frozenset(d.slug for d in profile.departments.all()),
        active=profile.user.is_active,
        supervisor=profile.is_supervisor,
    )


def apply_continuity(ticket: Ticket, *, channel: str) -> None:
    """Give the new, unassigned ticket to its account owner, or tell the owner of it."""
    if channel not in CONTINUITY_CHANNELS or ticket.assignee_id is not None:
        return
    decision = routing.ticket_continuity(ticket.department.slug, _owner_state(ticket.contact))
    if decision.assign_to is not None:
        owner = get_user_model().objects.get(pk=decision.assign_to)
        append_event(
            ticket,
            kind=Kind.ASSIGNEE,
            payload={"old": None, "new": owner.get_username(), "cause": "account_owner"},
            fields={"assignee_id": owner.pk},
        )
        ticket.assignee = owner
    elif decision.notify is not None:
        owner = get_user_model().objects.get(pk=decision.notify)
        event = append_event(
            ticket,
            kind=Kind.OWNER_NOTIFIED,
            internal=True,
            payload={"owner": owner.get_username(), "department": ticket.department.slug},
        )
        _alert_owner(ticket, owner, event)


def _alert_owner(ticket: Ticket, owner, event: TicketEvent) -> None:
    if not owner.email:
        return
    subject = _("New ticket from your customer: %(number)s") % {"number": ticket.number}
    body = _(
        "%(customer)s opened ticket %(number)s (%(subject)s) in %(department)s, "
        "a department you do not serve. It waits there for its agents.\n%(url)s\n"
    ) % {
        "customer": ticket.contact.name if ticket.contact else "",
        "number": ticket.number,
        "subject": ticket.display_subject,
        "department": ticket.department.name,
        "url": offline_base() + f"/console/tickets/{ticket.number}/",
    }
    composed = ComposedEmail(
        to=[owner.email], subject=subject, text=body, headers=dict(AUTOMATIC_HEADERS)
    )
    enqueue_email(OutboundEmail.Kind.AGENT_ALERT, composed, ticket=ticket, event=event)
