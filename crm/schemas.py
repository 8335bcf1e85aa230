"""What the CRM part of the HTTP API accepts and answers (OpenAPI comes from these)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

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


# --- the company's CRM pushing its records (crm/upserts.py) ------------------------------
#
# A field left out keeps its stored value; a field sent (null included) is
# set. `phones` and `emails`, when sent, replace the contact's whole set,
# the first one becoming the primary.

ExternalId = Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
ShortText = Annotated[StrictStr, Field(max_length=200)]


class UpsertIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationIn(UpsertIn):
    model_config = ConfigDict(
        json_schema_extra={"example": {"name": "Electrica Nord SRL", "default_region": "RO"}}
    )

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    default_region: Annotated[StrictStr, Field(max_length=2)] | None = Field(
        None, description='ISO 3166 region that local phone numbers are read in, e.g. "RO"'
    )
    notes: Annotated[StrictStr, Field(max_length=10_000)] | None = None


class PhoneIn(UpsertIn):
    number: Annotated[StrictStr, Field(min_length=1, max_length=40)]
    label: Annotated[StrictStr, Field(max_length=40)] = ""


class ContactIn(UpsertIn):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Maria Popescu",
                "organization": "org-17",
                "emails": ["maria@example.com"],
                "phones": ["+40 721 234 567", {"number": "0212345678", "label": "office"}],
            }
        }
    )

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    organization: ExternalId | None = Field(None, description="The organization's external id")
    emails: Annotated[list[Annotated[StrictStr, Field(max_length=254)]], Field(max_length=20)] | (
        None
    ) = None
    phones: (
        Annotated[list[Annotated[StrictStr, Field(max_length=40)] | PhoneIn], Field(max_length=20)]
        | None
    ) = Field(None, description="Any common format; read in the organization's region")
    locale: Annotated[StrictStr, Field(min_length=2, max_length=10)] | None = None
    time_zone: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    account_owner: Annotated[StrictStr, Field(min_length=1, max_length=150)] | None = Field(
        None, description="Username of the agent who owns the account"
    )


class AssetIn(UpsertIn):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "product": "Router RZ-500",
                "product_line": "Routers",
                "purchase_date": "2024-03-01",
                "warranty_end": "2027-03-01",
                "contact": "crm-1",
            }
        }
    )

    product: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    product_line: Annotated[StrictStr, Field(max_length=100)] | None = None
    brand: Annotated[StrictStr, Field(max_length=100)] | None = None
    purchase_date: datetime.date | None = None
    warranty_end: datetime.date | None = None
    contact: ExternalId | None = Field(None, description="The owner contact's external id")
    organization: ExternalId | None = Field(
        None, description="The owner organization's external id"
    )


class ContractIn(UpsertIn):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "organization": "org-17",
                "plan": "Gold 24x7",
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
                "renewal_date": "2026-11-30",
                "price": "12000.00",
                "currency": "EUR",
            }
        }
    )

    organization: ExternalId = Field(description="The organization's external id")
    plan: Annotated[StrictStr, Field(min_length=1, max_length=100)] = Field(
        description="The SLA plan's name, as configured in Chatportal"
    )
    name: ShortText | None = None
    starts_on: datetime.date
    ends_on: datetime.date
    renewal_date: datetime.date | None = None
    price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None


class UpsertOut(Schema):
    outcome: Literal["created", "updated", "unchanged"]
    id: str = Field(description="Chatportal's id of the record (the serial number for an asset)")
    external_id: str


class BatchIn(UpsertIn):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "records": [
                    {"type": "organization", "external_id": "org-17", "name": "Electrica Nord SRL"},
                    {"type": "contact", "external_id": "crm-1", "name": "Maria Popescu"},
                ]
            }
        }
    )

    records: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=500)] = Field(
        description="Each: `type` (organization, contact, asset, contract), its key "
        "(`external_id`; an asset's `serial_number`) and the fields of the matching PUT body"
    )
    dry_run: bool = Field(False, description="Check every record, write nothing")
    all_or_nothing: bool = Field(False, description="One bad record and nothing is written")


class BatchErrorOut(Schema):
    index: int = Field(description="The record's position in `records`, from 1")
    field: str
    message: str


class BatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int
    written: bool = Field(
        description="False after a dry run or an all-or-nothing batch that failed"
    )
    errors: list[BatchErrorOut]


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
