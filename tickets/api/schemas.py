"""What the tickets part of the HTTP API accepts and answers (OpenAPI comes from these).

`ticket_data` and `event_data` turn a ticket and an event into what the
`*Out` schemas describe; both endpoint modules answer through them.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Path, Schema
from pydantic import ConfigDict, StrictBool, StrictStr

from foundation.public_url import rebase_links
from tickets.attachments import ATTACHMENT_LINKS
from tickets.models import Ticket, TicketEvent, customer_status_label, internal_status_label

StatusName = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["chat", "email", "phone", "web", "portal"]
Body = Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
# The example is a demo ticket: the document's examples reach real tickets in the contract test.
TicketNumber = Path[str, {"description": 'A ticket number, "T-1042"', "example": "T-1005"}]


class NamedRef(Schema):
    id: str
    name: str


class RequesterOut(Schema):
    name: str
    email: str


class AssetRefOut(Schema):
    serial_number: str
    product: str
    product_line: str


class TicketOut(Schema):
    number: str = Field(description='"T-1042"')
    subject: str
    status: StatusName
    status_label: str = Field(description="The agents' label")
    customer_status_label: str = Field(description="What the customer reads")
    priority: PriorityName
    channel: ChannelName
    contact: NamedRef | None
    organization: NamedRef | None
    requester: RequesterOut = Field(description="As the sender typed it (unverified)")
    assignee: str | None = Field(description="Username")
    department: str = Field(description="Slug")
    conversation: str | None = Field(description="The chat it came from")
    call: str | None = Field(description="The phone call it came from (call id)")
    asset: AssetRefOut | None = Field(description="The unit it is about")
    sla_plan: str | None
    first_response_due: datetime.datetime | None
    resolution_due: datetime.datetime | None
    first_responded_at: datetime.datetime | None
    solved_at: datetime.datetime | None
    last_seq: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TicketEventOut(Schema):
    seq: int
    kind: str
    at: datetime.datetime
    author_role: str
    author: str | None
    internal: bool
    payload: dict[str, Any]


class TicketDetailOut(TicketOut):
    events: list[TicketEventOut]


class TicketPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[TicketOut]


class TicketIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "subject": "The GW-4 gateway is offline",
                "body": "It stopped answering at 08:10.",
                "department": "support",
                "requester_name": "Ana Pop",
            }
        },
    )

    subject: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    body: Body
    department: Annotated[StrictStr, Field(min_length=1, max_length=50, description="Slug")]
    channel: ChannelName = "phone"
    priority: PriorityName = "normal"
    contact: Annotated[StrictStr, Field(max_length=36, description="Contact id")] | None = None
    requester_name: Annotated[StrictStr, Field(max_length=200)] = ""
    requester_email: Annotated[StrictStr, Field(max_length=254)] = ""
    assignee: Annotated[StrictStr, Field(min_length=1, max_length=150)] | None = Field(
        None, description="Username of an agent"
    )
    asset: Annotated[StrictStr, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Serial number of one of the contact's (or organization's) units"
    )


class TicketPatch(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"priority": "high"}})

    status: StatusName | None = None
    priority: PriorityName | None = None
    assignee: Annotated[StrictStr, Field(min_length=1, max_length=150)] | None = Field(
        None, description="Username; null unassigns"
    )
    asset: Annotated[StrictStr, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Serial number of one of the contact's units; null clears it"
    )


class ReplyIn(Schema):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"body": "We are looking into it."}}
    )

    body: Body
    internal: StrictBool = False


# --- answers ---------------------------------------------------------------------------


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    contact = ticket.contact
    organization = ticket.organization
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "status_label": internal_status_label(ticket.status),
        "customer_status_label": customer_status_label(ticket.status),
        "priority": ticket.priority,
        "channel": ticket.channel,
        "contact": {"id": str(contact.public_id), "name": contact.name} if contact else None,
        "organization": (
            {"id": str(organization.public_id), "name": organization.name} if organization else None
        ),
        "requester": {"name": ticket.requester_name, "email": ticket.requester_email},
        "assignee": ticket.assignee.get_username() if ticket.assignee else None,
        "department": ticket.department.slug,
        "conversation": str(ticket.conversation.public_id) if ticket.conversation else None,
        "call": str(ticket.call.public_id) if ticket.call_id else None,
        "asset": (
            {
                "serial_number": ticket.asset.serial_number,
                "product": ticket.asset.product.name,
                "product_line": ticket.asset.product.line,
            }
            if ticket.asset_id
            else None
        ),
        "sla_plan": ticket.sla_plan.name if ticket.sla_plan else None,
        "first_response_due": ticket.first_response_due,
        "resolution_due": ticket.resolution_due,
        "first_responded_at": ticket.first_responded_at,
        "solved_at": ticket.solved_at,
        "last_seq": ticket.last_seq,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def event_data(event: TicketEvent, *, link_base: str) -> dict[str, Any]:
    """The API form of an event; its attachment links on `link_base` (public_url.request_base)."""
    payload = dict(event.payload)
    author = payload.pop("author", None)
    if isinstance(payload.get("attachments"), list):
        payload["attachments"] = [
            rebase_links(item, ATTACHMENT_LINKS, link_base) if isinstance(item, dict) else item
            for item in payload["attachments"]
        ]
    return {
        "seq": event.seq,
        "kind": event.kind,
        "at": event.created_at,
        "author_role": event.author_role,
        "author": author,
        "internal": event.internal,
        "payload": payload,
    }
