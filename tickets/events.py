"""Group names and the doorbell tickets ring through the channel layer.

Group names: letters, digits, `.`, `_`, `-`; under 100 characters; no colons.
The doorbell carries no content: a socket re-reads the ticket (and the events
it may see) from the database, so an internal note rings every group but is
only ever rendered for agents.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from crm.models import Contact, Organization


def customer_group(contact: Contact) -> str:
    """Every portal socket of one contact."""
    return f"customer.{uuid.UUID(str(contact.public_id)).hex}"


def organization_group(organization: Organization) -> str:
    """Portal sockets of the organization's admins (they see all its tickets)."""
    return f"org.{uuid.UUID(str(organization.public_id)).hex}"


def department_tickets_group(slug: str) -> str:
    """Everyone watching a department's tickets as a whole (the supervisors' wall-board)."""
    return f"tickets.dept.{slug}"


def ticket_group(public_id: uuid.UUID | str) -> str:
    """Agents (console) watching one ticket."""
    return f"ticket.{uuid.UUID(str(public_id)).hex}"


class TicketChanged(TypedDict):
    type: Literal["ticket.changed"]
    ticket: str
    seq: int


def ticket_changed(number: str, seq: int) -> TicketChanged:
    return {"type": "ticket.changed", "ticket": number, "seq": seq}
