"""The webhook log's part of a contact's GDPR export and erasure (crm/gdpr.py).

Delivery bodies name the contact (its ids and name). The export lists the
deliveries that did; erasure deletes them from the log: what the receivers
already got is the company's own systems' to erase.
"""

from __future__ import annotations

from typing import Any

from crm.gdpr import iso
from crm.models import Contact
from integrations.models import WebhookDelivery


def _deliveries_naming(contact: Contact):  # type: ignore[no-untyped-def]
    return WebhookDelivery.objects.filter(body__contains=str(contact.public_id))


def export_webhooks(contact: Contact) -> list[dict[str, Any]]:
    return [
        {
            "event_id": str(delivery.event_id),
            "type": delivery.event_type,
            "endpoint": delivery.endpoint.name,
            "state": delivery.state,
            "created_at": iso(delivery.created_at),
        }
        for delivery in _deliveries_naming(contact).select_related("endpoint").order_by("pk")
    ]


def erase_webhooks(contact: Contact) -> dict[str, int]:
    deleted, _by_model = _deliveries_naming(contact).delete()
    return {"webhook_log_entries_deleted": deleted}
