"""The durable webhook outbox: a row per subscribed endpoint, in the change's transaction.

`enqueue_webhook_deliveries` is what `foundation.webhooks.enqueue_webhook`
calls (registered in `IntegrationsConfig.ready`). The rows commit or roll
back with the change that caused them; after the commit this process's
sender is woken (`integrations.sending.kick_delivery`), and every worker's
sweep picks up retries and whatever a crashed worker left.
"""

from __future__ import annotations

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from foundation.webhooks import PayloadSource
from integrations import sending
from integrations.models import WebhookDelivery, WebhookEndpoint


def enqueue_webhook_deliveries(event: str, payload: PayloadSource) -> list[WebhookDelivery]:
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if endpoint.subscribes_to(event)
    ]
    if not endpoints:
        return []
    data = payload() if callable(payload) else payload
    now = timezone.now()
    event_id = uuid.uuid4()
    body = json.dumps(
        {"id": str(event_id), "type": event, "created_at": now.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_id=event_id,
            event_type=event,
            body=body,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    transaction.on_commit(sending.kick_delivery, robust=True)
    return rows
