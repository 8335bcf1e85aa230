"""The supervisor on the floor: whisper to the agent, take a chat over, hand it on.

Who is a supervisor: `AgentProfile.is_supervisor` (the `queues` app; set in
the admin). A supervisor sees every department's conversations
(`chat.access`), so watching a chat is just following it (`resume` on the
agent socket): it needs no action and makes the supervisor no participant.

A whisper is an event of kind `whisper`, always `internal`: agents' sockets
deliver it like an internal note, visitors' sockets never (chat.delivery
drops internal events for them, live and in replays), and it is no
`message`, so no transcript, ticket or portal copies it
(tickets.actions.conversion copies messages only).

Taking over and reassigning reuse the transfer to an agent
(`chat.actions.transfer`): one compare-and-set on the open conversation
sets the one assignee, and the previous agent gets `unassigned`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from chat.access import access_conversation_for_agent
from chat.actions.transfer import check_transfer, transfer_to_agent
from chat.errors import ChatError, Conflict, Forbidden
from chat.log import Appended, Kind, NotOpen, agent_author, append_event
from chat.models import Conversation
from queues.agent_scope import AgentScope, agent_scope

MAX_WHISPER_CHARS = 2_000


def require_supervisor(user, scope: AgentScope | None = None) -> AgentScope:
    """The supervisor's scope; `forbidden` for anyone else."""
    scope = scope or agent_scope(user)
    if scope is None or not scope.is_supervisor:
        raise Forbidden("only a supervisor does that")
    return scope


def clean_whisper(body: object) -> str:
    """A whisper is plain text, 1–2,000 characters, no NUL."""
    if not isinstance(body, str) or not body.strip():
        raise ChatError("write something to whisper")
    if len(body) > MAX_WHISPER_CHARS:
        raise ChatError(f"a whisper is at most {MAX_WHISPER_CHARS} characters")
    if "\x00" in body:
        raise ChatError("a whisper must not contain NUL characters")
    return body


def do_whisper(conversation: Conversation, body: str, *, acting_user) -> Appended:
    """Append the whisper (internal) to an open conversation."""
    author = agent_author(acting_user)
    with transaction.atomic():
        try:
            return append_event(
                conversation,
                kind=Kind.WHISPER,
                payload={"author": author.wire, "body": body},
                author=author,
                internal=True,
            )
        except NotOpen:
            raise Conflict("the conversation is closed") from None


def check_whisper(
    user, conversation_id: str, body: object, *, scope: AgentScope | None = None
) -> Appended:
    scope = require_supervisor(user, scope)
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    return do_whisper(conversation, clean_whisper(body), acting_user=user)


def check_take_over(user, conversation_id: str, *, scope: AgentScope | None = None) -> Appended:
    """The supervisor becomes the chat's assignee (whatever their own presence or load:
    they chose this chat); the agent who had it gets `unassigned`."""
    scope = require_supervisor(user, scope)
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    if conversation.state == Conversation.State.CLOSED:
        raise Conflict("the conversation is closed")
    user = get_user_model().objects.get(pk=user.pk)
    return transfer_to_agent(conversation, user, by=user, take_over=True)


def check_reassign(
    user, conversation_id: str, agent: str, *, scope: AgentScope | None = None
) -> Appended:
    """Hand the chat to another agent (online, accepting, with room), as a transfer."""
    scope = require_supervisor(user, scope)
    return check_transfer(user, conversation_id, agent=agent, scope=scope)
