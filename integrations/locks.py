"""Row claims for webhooks: which worker sends which delivery."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import F

from integrations.models import WebhookDelivery

Pending = WebhookDelivery.State.PENDING


def claim_due_delivery(
    *, now: datetime.datetime, lease_until: datetime.datetime
) -> WebhookDelivery | None:
    """Take the oldest due delivery for this worker, or None when nothing is due.

    The same claim as the mail outbox (tickets/locks.py): on PostgreSQL
    `select_for_update(skip_locked=True)` lets several workers take
    different rows at once; the compare-and-set on `attempts` is the lock on
    both databases; the lease in `next_attempt_at` makes a row whose worker
    died fall due again.
    """
    while True:
        with transaction.atomic():
            row = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .filter(state=Pending, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")
                .first()
            )
            if row is None:
                return None
            claimed = WebhookDelivery.objects.filter(
                pk=row.pk, state=Pending, attempts=row.attempts
            ).update(attempts=F("attempts") + 1, next_attempt_at=lease_until)
        if claimed == 1:
            row.attempts += 1
            row.next_attempt_at = lease_until
            return row
