"""What the CRM part of the HTTP API accepts and answers (OpenAPI comes from these)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict, StrictInt, StrictStr


class OrganizationOut(Schema):
    id: str
    name: str


class EmailOut(Schema):
    email: str
    is_primary: bool


class PhoneOut(Schema):
    number: str = Field(description="E.164")
    display: str = Field(description="International format, for people")
    label: str
    is_primary: bool


class ProductOut(Schema):
    name: str
    line: str
    brand: str


class AssetOut(Schema):
    serial_number: str
    product: ProductOut
    purchase_date: datetime.date | None
    warranty_end: datetime.date | None
    in_warranty: bool


class ContractOut(Schema):
    name: str
    plan: str
    first_response_minutes: int
    resolution_minutes: int
    is_24x7: bool
    priority: int
    starts_on: datetime.date
    ends_on: datetime.date
    renewal_date: datetime.date | None
    active: bool
    days_to_renewal: int | None = Field(description="Negative when the renewal date has passed")
    price: Decimal = Field(description='A decimal string, e.g. "12000.00"')
    currency: str


class OpenTicketOut(Schema):
    number: str
    subject: str
    status: str
    priority: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CallOut(Schema):
    id: str
    phone: str
    direction: str
    started_at: datetime.datetime
    duration_s: int | None
    agent: str | None = Field(description="Username")
    note: str


class ContactRecordOut(Schema):
    id: str
    name: str
    external_id: str | None
    locale: str
    time_zone: str
    account_owner: str | None = Field(description="Username")
    organization: OrganizationOut | None
    emails: list[EmailOut]
    phones: list[PhoneOut]
    assets: list[AssetOut]
    contracts: list[ContractOut]
    open_tickets: list[OpenTicketOut]
    recent_calls: list[CallOut]


class CallIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"phone": "0721234567", "direction": "inbound"}},
    )

    phone: Annotated[StrictStr, Field(min_length=1, max_length=40)]
    direction: Literal["inbound", "outbound"]
    started_at: AwareDatetime | None = None
    duration_s: Annotated[StrictInt, Field(ge=0, le=86400)] | None = None
    agent: Annotated[StrictStr, Field(min_length=1, max_length=150)] | None = Field(
        None, description="Username of the agent on the call"
    )
    note: Annotated[StrictStr, Field(max_length=10_000)] = ""


class RecordedCallOut(Schema):
    call: CallOut
    contact: ContactRecordOut | None


class TimelineEntryOut(Schema):
    kind: str
    at: datetime.datetime
    title: str
    summary: str
    ref: str


class NewContactIn(Schema):
    """What a new contact is made of; empty fields come from what the visitor typed."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, Field(max_length=200)] = ""
    email: Annotated[StrictStr, Field(max_length=254)] = ""
    phone: Annotated[StrictStr, Field(max_length=40)] = ""


class ContactLinkIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"new_contact": {"name": "Ion Popescu"}}},
    )
    contact: StrictStr | None = Field(None, description="An existing contact's id")
    new_contact: NewContactIn | None = Field(
        None,
        description="Create the contact from the requester / pre-chat details, these "
        "fields overriding them; a contact that already has the e-mail or phone is reused",
    )


class ContactLinkedOut(Schema):
    contact: OrganizationOut = Field(description="The contact linked: id and name")
    created: bool = Field(description="A new contact was made")
    changed: bool = Field(description="False: it was already linked to this contact")
