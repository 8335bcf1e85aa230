"""A contact's whole CRM record as plain data: what an agent sees while answering.

The API serializes it; the agent console can render the same dict. Ids are
public UUID strings, never integer keys.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from crm.lookup import open_tickets
from crm.models import Asset, CallRecord, Contact, Organization, SupportContract
from crm.phones import format_phone_international

RECENT_CALLS = 10


def contact_record(contact: Contact, *, today: datetime.date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    contact = (
        Contact.objects.select_related("organization", "account_owner")
        .prefetch_related("emails", "phones")
        .get(pk=contact.pk)
    )
    organization = contact.organization
    owned = Q(contact=contact)
    if organization is not None:
        # Whoever calls from an organization may be calling about any of its units.
        owned |= Q(organization=organization)
    assets = Asset.objects.filter(owned).select_related("product").order_by("serial_number")
    contracts = (
        SupportContract.objects.filter(organization=organization).select_related("plan")
        if organization is not None
        else SupportContract.objects.none()
    )
    calls = CallRecord.objects.filter(contact=contact).select_related("agent")[:RECENT_CALLS]
    return {
        "id": str(contact.public_id),
        "name": contact.name,
        "external_id": contact.external_id,
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "account_owner": contact.account_owner.get_username() if contact.account_owner else None,
        "organization": (
            {"id": str(organization.public_id), "name": organization.name}
            if organization is not None
            else None
        ),
        "emails": [{"email": e.email, "is_primary": e.is_primary} for e in contact.emails.all()],
        "phones": [
            {
                "number": p.number,
                "display": format_phone_international(p.number),
                "label": p.label,
                "is_primary": p.is_primary,
            }
            for p in contact.phones.all()
        ],
        "assets": [asset_data(asset, today) for asset in assets],
        "contracts": [contract_data(contract, today) for contract in contracts],
        "open_tickets": [dataclasses.asdict(ticket) for ticket in open_tickets(contact)],
        "recent_calls": [call_data(call) for call in calls],
    }


def asset_data(asset: Asset, today: datetime.date) -> dict[str, Any]:
    return {
        "serial_number": asset.serial_number,
        "product": {
            "name": asset.product.name,
            "line": asset.product.line,
            "brand": asset.product.brand,
        },
        "purchase_date": asset.purchase_date,
        "warranty_end": asset.warranty_end,
        "in_warranty": asset.in_warranty(today),
    }


def contract_data(contract: SupportContract, today: datetime.date) -> dict[str, Any]:
    plan = contract.plan
    return {
        "name": str(contract),
        "plan": plan.name,
        "first_response_minutes": plan.first_response_minutes,
        "resolution_minutes": plan.resolution_minutes,
        "is_24x7": plan.is_24x7,
        "priority": plan.priority,
        "starts_on": contract.starts_on,
        "ends_on": contract.ends_on,
        "renewal_date": contract.renewal_date,
        "active": contract.is_active(today),
        "days_to_renewal": (
            (contract.renewal_date - today).days if contract.renewal_date is not None else None
        ),
        "price": contract.price,
        "currency": contract.currency,
    }


def call_data(call: CallRecord) -> dict[str, Any]:
    return {
        "id": str(call.public_id),
        "phone": call.phone,
        "direction": call.direction,
        # An instance fresh from create() keeps the caller's offset; answer in UTC.
        "started_at": call.started_at.astimezone(datetime.UTC),
        "duration_s": call.duration_s,
        "agent": call.agent.get_username() if call.agent is not None else None,
        "note": call.note,
        "state": call.state,
        "external_id": call.external_id,
        "department": call.department or None,
        "answered_at": call.answered_at.astimezone(datetime.UTC) if call.answered_at else None,
        "ended_at": call.ended_at.astimezone(datetime.UTC) if call.ended_at else None,
    }


def contact_summary(contact: Contact, *, today: datetime.date | None = None) -> dict[str, Any]:
    """What a call pop shows at once: who, their organization, units and contract."""
    today = today or timezone.localdate()
    organization = contact.organization
    owned = Q(contact=contact)
    if organization is not None:
        owned |= Q(organization=organization)
    assets = Asset.objects.filter(owned).select_related("product").order_by("serial_number")
    contract = None
    if organization is not None:
        contracts = SupportContract.objects.filter(organization=organization).select_related("plan")
        # The contract in force, the best plan first; failing that, the latest one.
        ranked = sorted(
            contracts,
            key=lambda c: (not c.is_active(today), -c.plan.priority, -c.ends_on.toordinal()),
        )
        if ranked:
            contract = ranked[0]
    return {
        "id": str(contact.public_id),
        "name": contact.name,
        "organization": (
            {"id": str(organization.public_id), "name": organization.name}
            if organization is not None
            else None
        ),
        "assets": [
            {
                "serial_number": asset.serial_number,
                "product": asset.product.name,
                "product_line": asset.product.line,
                "warranty_end": asset.warranty_end.isoformat() if asset.warranty_end else None,
                "in_warranty": asset.in_warranty(today),
            }
            for asset in assets
        ],
        "contract": (
            {
                "name": str(contract),
                "plan": contract.plan.name,
                "is_24x7": contract.plan.is_24x7,
                "active": contract.is_active(today),
                "ends_on": contract.ends_on.isoformat(),
            }
            if contract is not None
            else None
        ),
    }


def call_frame(call: CallRecord) -> dict[str, Any]:
    """The `call` of a `call` frame: plain JSON (strings, no datetimes), small."""

    def iso(value: datetime.datetime | None) -> str | None:
        return value.astimezone(datetime.UTC).isoformat() if value is not None else None

    contact = (
        Contact.objects.select_related("organization").get(pk=call.contact_id)
        if call.contact_id is not None
        else None
    )
    return {
        "id": str(call.public_id),
        "state": call.state,
        "phone": call.phone,
        "direction": call.direction,
        "department": call.department or None,
        "agent": call.agent.get_username() if call.agent_id is not None else None,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "duration_s": call.duration_s,
        "contact": contact_summary(contact) if contact is not None else None,
    }


LIVE_CALL_WINDOW = datetime.timedelta(hours=2)


def live_call_frames(user_id: int) -> list[dict[str, Any]]:
    """The `call` of every call still ringing or in progress that rang this agent.

    A console that (re)connects mid-call pops it again. Older than two hours
    is a PBX that never sent `ended`, not a live call.
    """
    since = timezone.now() - LIVE_CALL_WINDOW
    calls = CallRecord.objects.filter(
        state__in=(CallRecord.State.RINGING, CallRecord.State.ANSWERED), started_at__gte=since
    ).select_related("agent")
    # Filtered here: JSON containment is not portable (SQLite), and live calls are few.
    return [
        call_frame(call) for call in calls.order_by("started_at") if user_id in call.rang_user_ids
    ]


def call_by_public_id(public_id: str) -> CallRecord | None:
    import uuid

    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return CallRecord.objects.select_related("agent", "contact").filter(public_id=key).first()


def contact_reference(contact: Contact | None) -> dict[str, Any] | None:
    """A contact as the company's other systems know it (webhook payloads): both ids, the name."""
    if contact is None:
        return None
    return {"id": str(contact.public_id), "external_id": contact.external_id, "name": contact.name}


def organization_reference(organization: Organization | None) -> dict[str, Any] | None:
    if organization is None:
        return None
    return {
        "id": str(organization.public_id),
        "external_id": organization.external_id,
        "name": organization.name,
    }


def call_webhook_data(call: CallRecord) -> dict[str, Any]:
    """`call.ended`'s payload: the call and who was on it."""
    return {"call": {**call_data(call), "contact": contact_reference(call.contact)}}


def contact_by_public_id(public_id: str) -> Contact | None:
    import uuid

    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Contact.objects.filter(public_id=key).first()
