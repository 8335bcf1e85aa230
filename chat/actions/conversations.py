"""A conversation's life, from the visitor's first message to the rating.

Each action is synchronous ORM code in one short `transaction.atomic()`:
it writes the rows, appends the event (`chat.log`, which rings the doorbell
after the commit) and, once committed, asks the scheduler for what follows
(`chat.actions.scheduling`: a routing pass, the waiting visitors' places).
Consumers call one action per client frame through a single
`database_sync_to_async` hop (the `check_*` functions: access check and
action in one hop).

What happens when a chat is closed (`close_conversation`): the state and
the `closed` event in one transaction; a queued chat leaves the queue
(agents' figures, visitors' places); an active one frees its agent's slot
(a routing pass over the agent's departments). A visitor who leaves a chat
nobody answered gets a ticket (`check_visitor_close`), as does a chat
started while nobody could answer (`check_visitor_message`): both through
`chat.conversion`, after the commit.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, Value, When
from django.utils import timezone

from chat import conversion, events, limits
from chat.access import access_conversation_for_agent, access_conversation_for_visitor
from chat.actions.routing import publish_queue_changed_to_agents, settle_offer
from chat.actions.scheduling import (
    publish_queue_changed,
    route_after_commit,
    route_agent_departments_after_commit,
)
from chat.errors import ChatError, Conflict, Forbidden, RateLimited
from chat.group_commit import MessageWrite
from chat.locks import claim_queued_conversation, lock_agent_profile
from chat.log import (
    SYSTEM,
    Appended,
    Author,
    NotOpen,
    agent_author,
    append_event,
    append_message,
    event_frame,
    visitor_author,
    write_event,
)
from chat.models import Conversation, ConversationEvent, Visitor
from chat.queries import open_conversation_of
from chat.queue import department_for_visitor
from chat.transcripts import transcript_on_close
from crm.record import contact_reference, organization_reference
from foundation.realtime import publish_on_commit
from foundation.webhooks import enqueue_webhook
from queues.agent_scope import AgentScope
from queues.models import Department
from queues.product_routes import department_for_contact

Kind = ConversationEvent.Kind
Role = ConversationEvent.Role
State = Conversation.State


def start_conversation(
    visitor: Visitor,
    department: Department,
    *,
    page_url: str = "",
    page_title: str = "",
    locale: str = "",
) -> tuple[Conversation, bool]:
    """The visitor's open conversation, creating it (queued) if there is none.

    A known contact's chat goes to the department their products are routed
    to (`ProductRoute.department`, when those routes agree on one).
    """
    existing = open_conversation_of(visitor)
    if existing:
        return existing, False
    department = department_for_contact(department, visitor.contact_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                department=department,
                visitor=visitor,
                contact_id=visitor.contact_id,
                state=State.QUEUED,
                queued_at=now,
                last_seq=1,
                page_url=page_url,
                page_title=page_title,
                locale=locale or visitor.locale,
            )
            write_event(
                conversation.pk,
                conversation.public_id,
                seq=1,
                kind=Kind.QUEUED,
                payload={"department": department.slug},
                author=SYSTEM,
                now=now,
            )
            publish_on_commit(
                events.visitor_group(visitor.public_id),
                events.conversation_started(conversation.public_id),
            )
            # The routing pass also gives the waiting visitors their places.
            publish_queue_changed_to_agents(department)
            route_after_commit([department.pk])
    except IntegrityError:
        # Another tab or worker opened one a moment ago: the partial unique
        # index kept it to one, and that one is ours too.
        existing = open_conversation_of(visitor)
        if existing is None:
            raise
        return existing, False
    conversation.department = department
    return conversation, True


def post_message(
    conversation_pk: int,
    public_id: uuid.UUID,
    *,
    author: Author,
    client_id: uuid.UUID,
    body: str,
    internal: bool = False,
    assigned_to: int | None = None,
) -> Appended:
    """Append a message; a retried `client_id` returns the original seq.

    `assigned_to`: the message is only written while the conversation is
    assigned to that agent, checked in the same UPDATE that takes the seq
    (an agent's public reply; internal notes need only access).

    The hot path: one round trip on PostgreSQL (`chat.log.append_message`).
    A duplicate client_id fails the INSERT on the partial unique index; the
    statement or transaction (and its seq) rolls back and the original is
    looked up.
    """
    try:
        return append_message(
            conversation_pk,
            public_id,
            author=author,
            client_id=client_id,
            body=body,
            internal=internal,
            assigned_to=assigned_to,
        )
    except (IntegrityError, NotOpen) as exc:
        original = (
            ConversationEvent.objects.filter(conversation_id=conversation_pk, client_id=client_id)
            .only(
                "seq",
                "kind",
                "payload",
                "created_at",
                "internal",
                "author_role",
                "author_user_id",
                "author_visitor_id",
            )
            .first()
        )
        if original is None:
            if not isinstance(exc, NotOpen):
                raise
            if (
                assigned_to is not None
                and Conversation.objects.filter(
                    pk=conversation_pk, state__in=Conversation.OPEN_STATES
                ).exists()
            ):
                raise Forbidden("accept the conversation before replying") from None
            raise Conflict("the conversation is closed") from None
    # Only the conversation's visitor (or a merged alias of it) writes as a
    # visitor here, so for visitors the role is the author.
    same_author = original.author_role == author.role and (
        author.role != Role.AGENT or original.author_user_id == author.user_id
    )
    if not same_author:
        raise ChatError("client_id is already used in this conversation")
    frame = event_frame(
        public_id,
        seq=original.seq,
        kind=original.kind,
        payload=original.payload,
        created_at=original.created_at,
        internal=original.internal,
        for_agent=True,
    )
    return Appended(conversation_pk, public_id, original.seq, frame, duplicate=True)


def check_visitor_message(visitor: Visitor, **message: Any) -> Appended:
    """`write_visitor_message`, counted first in the visitor's window (`chat.limits`)."""
    retry_after = limits.visitor_message_retry_after(visitor.pk)
    if retry_after:
        raise RateLimited(retry_after)
    return write_visitor_message(visitor, **message)


def visitor_message_write(
    visitor: Visitor,
    *,
    conversation: tuple[int, uuid.UUID],
    client_id: uuid.UUID,
    body: str,
    **rest,
) -> MessageWrite:
    """`check_visitor_message` into an open conversation, for the worker's group commit.

    `rest`: the other arguments of `write_visitor_message`, for when the
    message has to start a new chat after all.
    """
    return MessageWrite(
        *conversation,
        author=visitor_author(visitor),
        client_id=client_id,
        body=body,
        counted_visitor=visitor.pk,
        alone=functools.partial(
            write_visitor_message,
            visitor,
            conversation=conversation,
            client_id=client_id,
            body=body,
            **rest,
        ),
    )


def message_write(
    conversation_pk: int, public_id: uuid.UUID, *, author: Author, **fields
) -> MessageWrite:
    """`post_message`, for the worker's group commit."""
    return MessageWrite(
        conversation_pk,
        public_id,
        author=author,
        alone=functools.partial(post_message, conversation_pk, public_id, author=author, **fields),
        **fields,
    )


def write_visitor_message(
    visitor: Visitor,
    *,
    conversation: tuple[int, uuid.UUID] | None,
    department: Department | None,
    client_id: uuid.UUID,
    body: str,
    page_url: str = "",
    page_title: str = "",
    locale: str = "",
    department_online: bool | None = None,
) -> Appended:
    """A visitor's message: into its open conversation, or a new one.

    `conversation` is the (pk, public id) the socket believes is open; a
    closed one (the agent ended it) makes this message start a new chat,
    unless it is a retry of a message that conversation already holds.

    A chat started while nobody can answer is a message for a ticket: it is
    converted right after the message commits. `department_online` is what
    the visitor was told (the widget's welcome); None asks the department now.

    Not rate-limited here: callers count the message in the visitor's window
    first (`check_visitor_message`, or the group commit for a batch).
    """
    author = visitor_author(visitor)
    if conversation is not None:
        try:
            return post_message(*conversation, author=author, client_id=client_id, body=body)
        except Conflict:
            pass
    if department is None:
        raise ChatError("say which department to talk to (hello.department)")
    # The current row: the visitor may have been merged since the socket loaded it.
    visitor = Visitor.objects.select_related("merged_into").get(pk=visitor.pk)
    visitor = visitor.merged_into or visitor
    opened, started = start_conversation(
        visitor, department, page_url=page_url, page_title=page_title, locale=locale
    )
    appended = post_message(
        opened.pk, opened.public_id, author=author, client_id=client_id, body=body
    )
    if started:
        if department_online is None:
            department_online = department_for_visitor(opened.department)["online"]
        if not department_online:
            # The `ticket` and `closed` events reach the visitor through the log.
            conversion.convert_automatically(appended.conversation_pk, reason="offline")
    return Appended(
        appended.conversation_pk,
        appended.conversation,
        appended.seq,
        appended.frame,
        duplicate=appended.duplicate,
        started=started,
    )


# The close reason of "This solved my problem" (chat.actions.deflection).
DEFLECTED_REASON = "deflected"


def outcome_at_close(conversation_pk: int, reason: str) -> Case:
    """The outcome a close writes, computed by the UPDATE itself (no extra query).

    Deflected when the visitor said an article solved it; missed when no
    agent ever wrote to the visitor (internal notes do not count); else
    transferred if a transfer marked it so; else resolved (docs/kpis.md).
    """
    Outcome = Conversation.Outcome
    if reason == DEFLECTED_REASON:
        return Value(Outcome.DEFLECTED)
    agent_replied = Exists(
        ConversationEvent.objects.filter(
            conversation_id=conversation_pk,
            kind__in=(Kind.MESSAGE, Kind.ATTACHMENT),
            author_role=Role.AGENT,
            internal=False,
        )
    )
    return Case(
        When(~agent_replied, then=Value(Outcome.MISSED)),
        When(outcome=Outcome.TRANSFERRED, then=Value(Outcome.TRANSFERRED)),
        default=Value(Outcome.RESOLVED),
    )


def close_in_transaction(
    conversation: Conversation, *, by: str, reason: str, author: Author
) -> Appended:
    """`close_conversation` inside the caller's transaction (a visitor merge closes one)."""
    now = timezone.now()
    claimed = Conversation.objects.filter(
        pk=conversation.pk, state__in=Conversation.OPEN_STATES
    ).update(
        state=State.CLOSED,
        closed_at=now,
        updated_at=now,
        outcome=outcome_at_close(conversation.pk, reason),
    )
    if not claimed:
        raise Conflict("the conversation is already closed")
    appended = append_event(
        conversation,
        kind=Kind.CLOSED,
        payload={"by": by, "reason": reason},
        author=author,
        require_open=False,
    )
    enqueue_webhook(
        "conversation.closed",
        lambda: conversation_closed_data(conversation.pk, by=by, reason=reason),
    )
    transcript_on_close(conversation.pk, reason=reason)
    if conversation.state == State.QUEUED:
        publish_queue_changed(conversation.department)
    elif conversation.state == State.ACTIVE and conversation.assigned_agent_id:
        # A slot freed: the agent may now take a chat of any of its departments.
        route_agent_departments_after_commit(conversation.assigned_agent_id)
    return appended


def close_conversation(
    conversation: Conversation, *, by: str, reason: str = "", author: Author = SYSTEM
) -> Appended:
    with transaction.atomic():
        return close_in_transaction(conversation, by=by, reason=reason, author=author)


def accept_conversation(conversation: Conversation, agent: AbstractBaseUser) -> Appended:
    """An agent takes a queued conversation (manual pick), within max_chats."""
    with transaction.atomic():
        profile = lock_agent_profile(agent)
        active = Conversation.objects.filter(assigned_agent=agent, state=State.ACTIVE).count()
        if active >= profile.max_chats:
            raise Conflict("you already have as many chats as you can take (max_chats)")
        if not claim_queued_conversation(conversation.pk, agent, now=timezone.now()):
            raise Conflict("the conversation is no longer waiting")
        author = agent_author(agent)
        appended = append_event(
            conversation,
            kind=Kind.ASSIGNED,
            payload={"agent": {"name": author.name}},
            author=author,
            require_open=False,
        )
        publish_on_commit(
            events.agent_group(agent.pk), events.conversation_assigned(conversation.public_id)
        )
        publish_queue_changed(conversation.department)
    return appended


def rate_conversation(
    conversation: Conversation, visitor: Visitor, *, score: int, comment: str
) -> Appended:
    """The visitor's satisfaction rating: once, after the chat is closed."""
    with transaction.atomic():
        now = timezone.now()
        rated = Conversation.objects.filter(
            pk=conversation.pk, state=State.CLOSED, rating_score__isnull=True
        ).update(rating_score=score, rating_comment=comment, rated_at=now, updated_at=now)
        if not rated:
            raise Conflict("only a closed conversation can be rated, and only once")
        return append_event(
            conversation,
            kind=Kind.RATED,
            payload={"score": score, "comment": comment},
            author=visitor_author(visitor),
            require_open=False,
        )


# --- composite checks: one socket frame, one database hop ---------------------------


def check_visitor_close(visitor: Visitor, conversation_id: str) -> Appended:
    """The visitor ends the chat; one left while still waiting becomes a ticket.

    The conversion runs after the close commits and is a no-op for a chat an
    agent answered; its `ticket` event reaches the sockets through the log.
    """
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    closed = close_conversation(conversation, by=Role.VISITOR, author=visitor_author(visitor))
    conversion.convert_automatically(closed.conversation_pk, reason="left")
    return closed


def check_visitor_rate(
    visitor: Visitor, conversation_id: str, *, score: int, comment: str
) -> Appended:
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    return rate_conversation(conversation, visitor, score=score, comment=comment)


def check_agent_close(
    user: AbstractBaseUser, conversation_id: str, *, reason: str, scope: AgentScope | None = None
) -> Appended:
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    return close_conversation(conversation, by=Role.AGENT, reason=reason, author=agent_author(user))


def check_accept(
    user: AbstractBaseUser, conversation_id: str, *, scope: AgentScope | None = None
) -> tuple[Conversation, Appended | None]:
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    if conversation.state == State.ACTIVE and conversation.assigned_agent_id == user.pk:
        # Routing offered it to this agent: accepting answers the offer.
        settle_offer(conversation.pk, user.pk)
        return conversation, None
    appended = accept_conversation(conversation, user)
    conversation = Conversation.objects.select_related(
        "department", "visitor", "assigned_agent"
    ).get(pk=conversation.pk)
    return conversation, appended


def conversation_closed_data(conversation_pk: int, *, by: str, reason: str) -> dict[str, Any]:
    """`conversation.closed`'s payload: the chat as it closed, its people, why."""
    conversation = Conversation.objects.select_related(
        "department", "contact", "contact__organization", "assigned_agent"
    ).get(pk=conversation_pk)
    contact = conversation.contact
    agent = conversation.assigned_agent
    return {
        "conversation": {
            "id": str(conversation.public_id),
            "department": conversation.department.slug,
            "agent": agent.get_username() if agent is not None else None,
            "contact": contact_reference(contact),
            "organization": organization_reference(contact.organization if contact else None),
            "created_at": conversation.created_at,
            "closed_at": conversation.closed_at,
            "last_seq": conversation.last_seq,
        },
        "closed_by": by,
        "reason": reason,
    }
