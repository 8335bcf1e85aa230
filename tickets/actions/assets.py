"""Naming the unit a ticket is about, and what a ticket's log keeps of a call and a unit.

The unit comes from the contact's (or their organization's) assets only
(`crm.lookup.owned_asset`); its product and product line follow from it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from crm.lookup import AssetNotTheirs, owned_asset
from crm.models import Asset, CallRecord, Contact
from tickets.actions.log import append_event, locked_ticket, role_of, sync_ticket
from tickets.errors import TicketError
from tickets.models import Ticket, TicketEvent


def asset_wire(asset: Asset) -> dict[str, Any]:
    return {
        "serial_number": asset.serial_number,
        "product": asset.product.name,
        "product_line": asset.product.line,
    }


def call_wire(call: CallRecord) -> dict[str, Any]:
    # Plain JSON in the event payload: the timeline renders it as it was then.
    return {
        "id": str(call.public_id),
        "phone": call.phone,
        "direction": call.direction,
        "started_at": call.started_at.isoformat(),
        "duration_s": call.duration_s,
        "note": call.note[:500],
    }


def asset_for(contact: Contact | None, serial_number: str) -> Asset:
    """The contact's unit with this serial, or a 400 `TicketError` naming the serial."""
    try:
        return owned_asset(contact, serial_number)
    except AssetNotTheirs:
        raise TicketError(
            _("%(serial)s is not a unit of this customer") % {"serial": serial_number[:100]}
        ) from None


def set_ticket_asset(
    ticket: Ticket, serial_number: str | None, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Name (or, with None, clear) the unit; logs an `asset` event when it changes."""
    with transaction.atomic():
        fresh = locked_ticket(ticket)
        asset = asset_for(fresh.contact, serial_number) if serial_number else None
        if (asset.pk if asset else None) == fresh.asset_id:
            sync_ticket(ticket, fresh)
            return None
        event = append_event(
            fresh,
            kind=TicketEvent.Kind.ASSET,
            payload={"asset": asset_wire(asset) if asset else None},
            author_role=role_of(by),
            author_user=by,
            fields={"asset_id": asset.pk if asset else None},
        )
        sync_ticket(ticket, fresh)
    return event
