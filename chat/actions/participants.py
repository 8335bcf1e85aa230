"""What participants signal besides messages: read markers and typing.

Neither is an event of the log: a read marker is a row per participant
that only moves forward, announced after its commit; typing is never
stored at all.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from chat import events
from chat.models import ConversationEvent, ReadMarker, Visitor
from foundation.realtime import publish_on_commit

logger = logging.getLogger(__name__)

Role = ConversationEvent.Role


def mark_read(
    conversation_pk: int,
    public_id: uuid.UUID,
    *,
    seq: int,
    sender: str,
    visitor: Visitor | None = None,
    user: AbstractBaseUser | None = None,
) -> int:
    """Move the participant's read marker forward (never back).

    The caller clamps `seq` to what exists (what its socket was sent).
    """
    who: dict[str, Any] = {"visitor": visitor} if visitor is not None else {"user": user}
    role = Role.VISITOR if visitor is not None else Role.AGENT
    with transaction.atomic():
        markers = ReadMarker.objects.filter(conversation_id=conversation_pk, **who)
        if not markers.update(last_read_seq=Greatest(F("last_read_seq"), seq)):
            try:
                with transaction.atomic():
                    ReadMarker.objects.create(
                        conversation_id=conversation_pk, last_read_seq=seq, **who
                    )
            except IntegrityError:
                markers.update(last_read_seq=Greatest(F("last_read_seq"), seq))
        publish_on_commit(
            events.conversation_group(public_id),
            events.participant_read(public_id, role=role, seq=seq, sender=sender),
        )
    return seq


async def publish_typing(conversation: uuid.UUID, *, role: str, active: bool, sender: str) -> None:
    """Typing is ephemeral (never stored), so it goes to the layer directly."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            events.conversation_group(conversation),
            events.participant_typing(conversation, role=role, active=active, sender=sender),
        )
    except Exception:
        logger.exception("typing publish failed")
