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
    }


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
