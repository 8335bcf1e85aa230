"""Row claims for tickets: which worker sends which outbox mail."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import F

from tickets.models import OutboundEmail

Pending = OutboundEmail.State.PENDING


def claim_due_email(
    *, now: datetime.datetime, lease_until: datetime.datetime
) -> OutboundEmail | None:
    """Take the oldest due outbox row for this worker, or None when nothing is due.

    On PostgreSQL `select_for_update(skip_locked=True)` lets several workers
    pick different rows at once. The compare-and-set on `attempts` is the
    lock on both databases (SQLite ignores FOR UPDATE): of two workers that
    read the same row, only one `UPDATE … WHERE attempts = n` changes it.
    The claim moves `next_attempt_at` to `lease_until`, so a worker that dies
    mid-send leaves a row that falls due again, never one stuck "sending".
    """
    while True:
        with transaction.atomic():
            row = (
                OutboundEmail.objects.select_for_update(skip_locked=True)
                .filter(state=Pending, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")
                .first()
            )
            if row is None:
                return None
            claimed = OutboundEmail.objects.filter(
                pk=row.pk, state=Pending, attempts=row.attempts
            ).update(attempts=F("attempts") + 1, next_attempt_at=lease_until)
        if claimed == 1:
            row.attempts += 1
            row.next_attempt_at = lease_until
            return row
