"""`POST /api/v1/conversations/{id}/contact`: link a chat to a CRM contact (agents only).

The same action as the console's "Link to customer" (`chat.actions.contacts`);
the agent API token authenticates (the API's default auth).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from chat.actions.contacts import check_link_conversation
from chat.errors import ChatError
from crm.linking import BadLinkRequest, link_request
from crm.schemas import ContactLinkedOut, ContactLinkIn
from foundation.api_errors import error_responses
from queues.agent_scope import agent_scope

router = Router(tags=["chat contacts"])


@router.post(
    "/{conversation_id}/contact",
    response={200: ContactLinkedOut, **error_responses(403, 404)},
    summary="Link the conversation to a contact, or to one made from the pre-chat details",
)
def link_contact(request: HttpRequest, conversation_id: str, payload: ContactLinkIn):
    scope = agent_scope(request.user)
    if scope is None:
        raise HttpError(403, "only agents link conversations")
    try:
        wanted = link_request(payload)
    except BadLinkRequest as exc:
        raise HttpError(400, str(exc)) from exc
    try:
        appended, contact, created = check_link_conversation(
            request.user,
            conversation_id,
            contact=wanted.contact,
            prefill=wanted.prefill,
            scope=scope,
        )
    except ChatError as exc:
        raise HttpError(exc.status, exc.detail) from exc
    return {
        "contact": {"id": str(contact.public_id), "name": contact.name},
        "created": created,
        "changed": appended is not None,
    }
