"""Naming the unit a chat is about: one of its contact's (or their organization's) assets.

Not an event of the conversation's log: the unit is a fact the agent
records beside the chat (like the contact), which the visitor never sees;
converting the chat into a ticket carries it over.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from chat import access
from chat.errors import ChatError
from chat.models import Conversation
from crm.lookup import AssetNotTheirs, owned_asset
from queues.agent_scope import AgentScope


def check_set_conversation_asset(
    user: AbstractBaseUser, conversation_id: str, serial_number: str | None, *, scope: AgentScope
) -> Conversation:
    """Name (or, with an empty serial, clear) the chat's unit; refuses anyone else's unit."""
    conversation = access.access_conversation_for_agent(user, conversation_id, scope=scope)
    serial = (serial_number or "").strip()
    asset = None
    if serial:
        try:
            asset = owned_asset(conversation.contact, serial)
        except AssetNotTheirs:
            raise ChatError(
                _("%(serial)s is not a unit of this customer") % {"serial": serial[:100]},
                code="invalid",
            ) from None
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(asset=asset)
    conversation.asset = asset
    return conversation
