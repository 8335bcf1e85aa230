"""Who may see which conversation: one rule for sockets, views and the API.

Visitors: only their own conversations; anything else is `not_found`, so a
visitor cannot even learn whether someone else's conversation id exists.
Agents: conversations of their departments and the ones assigned to them;
supervisors see all. A malformed or unknown id is `not_found`.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser

from chat import tokens
from chat.errors import Forbidden, NotFound
from chat.models import Conversation, Visitor
from queues.agent_scope import AgentScope, agent_scope
from queues.models import AgentProfile
from queues.tokens import authenticate_agent_token as authenticate


def _public_id(raw: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("no such conversation") from None


def access_conversation_for_visitor(visitor: Visitor, conversation_id: object) -> Conversation:
    conversation = (
        Conversation.objects.select_related("department")
        .filter(public_id=_public_id(conversation_id), visitor=visitor)
        .first()
    )
    if conversation is None:
        raise NotFound("no such conversation")
    return conversation


def access_history_for_visitor(visitor: Visitor, *, identified: bool) -> Visitor:
    """Earlier conversations are shown only to a visitor whose socket proved its identity.

    A bare visitor token is not enough: it lives in a browser's storage, which
    a shared computer hands to the next person at the keyboard.
    """
    if not identified or visitor.external_id is None:
        raise Forbidden("previous conversations need a verified identity")
    return visitor


def access_conversation_for_agent(
    user: AbstractBaseUser,
    conversation_id: object,
    *,
    scope: AgentScope | None = None,
) -> Conversation:
    """`scope` may be passed by a caller that already knows it (a socket, a console view)."""
    conversation = (
        Conversation.objects.select_related("department", "visitor", "assigned_agent")
        .filter(public_id=_public_id(conversation_id))
        .first()
    )
    if conversation is None:
        raise NotFound("no such conversation")
    if conversation.assigned_agent_id == user.pk:
        return conversation
    scope = scope or agent_scope(user)
    if scope is None:
        raise Forbidden("not an agent")
    if scope.serves(conversation.department_id):
        return conversation
    raise Forbidden("this conversation belongs to another department")


def authenticate_visitor(raw_token: str) -> Visitor | None:
    """The visitor the token belongs to (following a merge), or None."""
    if not tokens.is_well_formed(raw_token):
        return None
    digest = tokens.token_digest(raw_token)
    visitor = Visitor.objects.select_related("merged_into").filter(token_hash=digest).first()
    if visitor is None or not tokens.digests_match(visitor.token_hash, digest):
        return None
    return visitor.merged_into or visitor


def authenticate_agent_token(raw_token: str) -> AbstractBaseUser | None:
    return authenticate(raw_token)


def agent_of_token(raw_token: str) -> tuple[AbstractBaseUser | None, AgentProfile | None]:
    """The agent an API token signs in, and its profile (None when it is not an agent)."""
    user = authenticate_agent_token(raw_token)
    return user, (agent_profile(user) if user is not None else None)


def agent_profile(user: AbstractBaseUser) -> AgentProfile | None:
    if not user.is_authenticated or not user.is_active:
        return None
    return AgentProfile.objects.filter(user=user).prefetch_related("departments").first()


def access_call_for_agent(user: AbstractBaseUser, call_id: object, *, scope: AgentScope):
    """A phone call this agent may see and act on; NotFound otherwise (also when it exists).

    Whose: the agent it rang or who took it, the agents of its department,
    supervisors; a call with no department (logged by hand, or posted
    without one) is the whole team's, like the caller's CRM record.
    """
    from crm.models import CallRecord
    from queues.models import Department

    call = (
        CallRecord.objects.select_related("contact", "agent")
        .filter(public_id=_public_id(call_id))
        .first()
    )
    if call is None:
        raise NotFound("no such call")
    if scope.is_supervisor or user.pk in call.rang_user_ids or call.agent_id == user.pk:
        return call
    if not call.department:
        return call
    department = Department.objects.filter(slug=call.department).only("pk").first()
    if department is not None and scope.serves(department.pk):
        return call
    raise NotFound("no such call")
