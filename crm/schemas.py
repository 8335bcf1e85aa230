"""What the CRM part of the HTTP API accepts and answers (OpenAPI comes from these)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, StrictInt, StrictStr


def _iso_text_only(value: object) -> object:
    # Pydantic reads a number as a Unix time; the API documents an ISO 8601 string.
    if value is not None and not isinstance(value, str):
        raise ValueError("started_at must be an ISO 8601 string with a time zone")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text_only)]


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
    state: str = Field(description="ringing, answered or ended")
    external_id: str | None = Field(description="The PBX's call_id, when it gave one")
    department: str | None = Field(description="Department slug")
    answered_at: datetime.datetime | None
    ended_at: datetime.datetime | None


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
    started_at: IsoDatetime | None = None
    duration_s: Annotated[StrictInt, Field(ge=0, le=86400)] | None = None
    agent: Annotated[StrictStr, Field(min_length=1, max_length=150)] | None = Field(
        None, description="Username of the agent on the call"
    )
    note: Annotated[StrictStr, Field(max_length=10_000)] = ""
    call_id: Annotated[StrictStr, Field(min_length=1, max_length=100)] | None = Field(
        None, description="The PBX's id of the call: a post with a known id updates that call"
    )
    state: Literal["ringing", "answered", "ended"] | None = Field(
        None, description="Omitted: a finished call (ended). States never go backwards."
    )
    department: Annotated[StrictStr, Field(min_length=1, max_length=50)] | None = Field(
        None, description="Department slug: rings its online agents when no agent is named"
    )


class RecordedCallOut(Schema):
    call: CallOut
    contact: ContactRecordOut | None


class TimelineEntryOut(Schema):
    kind: str
    at: datetime.datetime
    title: str
    summary: str
    ref: str


class SearchHitOut(Schema):
    kind: Literal["contact", "ticket"]
    id: str = Field(description="The contact's id, or the ticket number")
    title: str
    detail: str = Field(description="What matched, and the organization")
    matched: Literal["ticket", "phone", "email", "serial", "name", "organization"]
    exact: bool
    contact_id: str | None = Field(description="The contact it belongs to, if any")
    url: str = Field(description="Where the agent console opens it")

    @classmethod
    def from_hit(cls, hit) -> SearchHitOut:
        return cls(
            kind=hit.kind,
            id=hit.id,
            title=hit.title,
            detail=hit.detail,
            matched=hit.matched,
            exact=hit.tier == 0,
            contact_id=hit.contact_id,
            url=hit.url,
        )


class SearchOut(Schema):
    results: list[SearchHitOut] = Field(description="Best first: exact matches, then prefixes")
