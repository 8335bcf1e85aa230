"""The conversation event log: the only code that writes `ConversationEvent` rows.

Every change to a conversation is an event with the next gapless `seq`
(`foundation.event_seq`, one statement on the conversation row), appended
inside the caller's transaction. Appending schedules the event's doorbell
(`conversation.event_appended`, carrying the frame when it is small) with
`publish_on_commit`: sockets hear of it only once it is committed, and read
the log past their last seq (chat.delivery).

Above this module the actions (`chat.actions`) decide *what* to append;
this one decides *how*: seq, row, frame, doorbell.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from chat import events
from chat.models import Conversation, ConversationEvent, Visitor
from foundation import event_seq
from foundation.realtime import publish_on_commit
from foundation.timestamps import iso_timestamp

Kind = ConversationEvent.Kind
Role = ConversationEvent.Role


@dataclass(frozen=True)
class Author:
    role: str
    name: str | None
    user_id: int | None = None
    visitor_id: int | None = None

    @property
    def wire(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name}


SYSTEM = Author(role=Role.SYSTEM, name=None)


def visitor_author(visitor: Visitor) -> Author:
    return Author(role=Role.VISITOR, name=visitor.display_name, visitor_id=visitor.pk)


def agent_author(user: AbstractBaseUser) -> Author:
    name = user.get_full_name() or user.get_username()
    return Author(role=Role.AGENT, name=name, user_id=user.pk)


@dataclass(frozen=True)
class Appended:
    """What a socket needs after an append: the ack and its own copy of the event."""

    conversation_pk: int
    conversation: uuid.UUID
    seq: int
    # The event as agents see it (with `internal`); visitors drop that key.
    frame: dict[str, Any]
    duplicate: bool = False
    started: bool = False


class NotOpen(Exception):
    """No seq was taken: the conversation is closed (or not assigned to the writer)."""


# Payload keys for the visitor alone: a `ticket` event's sign-in link for an
# identified visitor (tickets.links) would let an agent into the customer's portal.
VISITOR_ONLY_KEYS = frozenset({"portal_login_url"})


def event_frame(
    conversation: uuid.UUID | str,
    *,
    seq: int,
    kind: str,
    payload: dict[str, Any],
    created_at: datetime.datetime,
    internal: bool,
    for_agent: bool,
) -> dict[str, Any]:
    """An event of the log as a socket frame (`type: event`)."""
    frame: dict[str, Any] = {
        "type": "event",
        "conversation": str(conversation),
        "seq": seq,
        "at": iso_timestamp(created_at),
        "kind": kind,
    }
    frame.update(payload)
    if for_agent:
        for key in VISITOR_ONLY_KEYS.intersection(frame):
            del frame[key]
        frame["internal"] = internal
    return frame


# --- seq -----------------------------------------------------------------------------


def _seq_statement_args(
    *, now: datetime.datetime, require_open: bool, assigned_to: int | None
) -> dict[str, Any]:
    updates: dict[str, Any] = {"updated_at": now}
    only_if: dict[str, Any] = {}
    if require_open:
        only_if["state"] = Conversation.OPEN_STATES
    if assigned_to is not None:
        only_if["assigned_agent_id"] = assigned_to
        # The assigned agent writing answers a pending routing offer, in the
        # same statement (no extra query on the message path).
        updates["offered_at"] = None
    return {"updates": updates, "only_if": only_if}


def next_seq(
    conversation_pk: int,
    *,
    now: datetime.datetime,
    require_open: bool,
    assigned_to: int | None = None,
) -> int | None:
    """Take the conversation's next seq; None if it is gone (or closed, if asked).

    `assigned_to`: only while the conversation is assigned to that agent.
    """
    return event_seq.next_seq(
        Conversation,
        conversation_pk,
        **_seq_statement_args(now=now, require_open=require_open, assigned_to=assigned_to),
    )


# --- appending -----------------------------------------------------------------------


def _publish_appended(
    conversation_pk: int, public_id: uuid.UUID, seq: int, frame: dict[str, Any]
) -> Appended:
    publish_on_commit(
        events.conversation_group(public_id), events.event_appended(public_id, seq, frame=frame)
    )
    return Appended(conversation_pk=conversation_pk, conversation=public_id, seq=seq, frame=frame)


# The stored first moments of a conversation (Conversation.first_assigned_at and
# first_reply_at, read by the KPIs): which events set which, written with the
# event in the same transaction, only while still empty.
REPLY_KINDS = (Kind.MESSAGE, Kind.ATTACHMENT)


def _first_moment_field(kind: str, author: Author, internal: bool) -> str | None:
    if kind == Kind.ASSIGNED:
        return "first_assigned_at"
    if kind in REPLY_KINDS and author.role == Role.AGENT and not internal:
        return "first_reply_at"
    return None


def _note_first_moment(
    conversation_pk: int, kind: str, author: Author, internal: bool, at: datetime.datetime
) -> None:
    name = _first_moment_field(kind, author, internal)
    if name is not None:
        Conversation.objects.filter(pk=conversation_pk, **{f"{name}__isnull": True}).update(
            **{name: at}
        )


def _note_first_moments_of_claims(claims: list[Claim], author: Author) -> None:
    """One UPDATE per first-moment field for all claims: the moment is the
    `created_at` of the event just written, at the row's `last_seq`."""
    by_field: dict[str, list[int]] = {}
    for claim in claims:
        name = _first_moment_field(claim.kind, author, False)
        if name is not None:
            by_field.setdefault(name, []).append(claim.conversation_pk)
    for name, pks in by_field.items():
        just_written = ConversationEvent.objects.filter(
            conversation=OuterRef("pk"), seq=OuterRef("last_seq")
        ).values("created_at")[:1]
        Conversation.objects.filter(pk__in=pks, **{f"{name}__isnull": True}).update(
            **{name: Subquery(just_written)}
        )


def write_event(
    conversation_pk: int,
    public_id: uuid.UUID,
    *,
    seq: int,
    kind: str,
    payload: dict[str, Any],
    author: Author,
    now: datetime.datetime,
    client_id: uuid.UUID | None = None,
    internal: bool = False,
) -> Appended:
    """Insert the event with a seq already taken (`next_seq`, or 1 for a new conversation)."""
    event = ConversationEvent(
        conversation_id=conversation_pk,
        seq=seq,
        kind=kind,
        payload=payload,
        author_role=author.role,
        author_user_id=author.user_id,
        author_visitor_id=author.visitor_id,
        client_id=client_id,
        internal=internal,
    )
    event.save(force_insert=True)
    _note_first_moment(conversation_pk, kind, author, internal, event.created_at)
    frame = event_frame(
        public_id,
        seq=seq,
        kind=kind,
        payload=payload,
        created_at=event.created_at or now,
        internal=internal,
        for_agent=True,
    )
    return _publish_appended(conversation_pk, public_id, seq, frame)


def append_event(
    conversation: Conversation,
    *,
    kind: str,
    payload: dict[str, Any],
    author: Author = SYSTEM,
    client_id: uuid.UUID | None = None,
    internal: bool = False,
    require_open: bool = True,
) -> Appended:
    """Append one event with the next seq; call inside the caller's transaction."""
    now = timezone.now()
    seq = next_seq(conversation.pk, now=now, require_open=require_open)
    if seq is None:
        raise NotOpen
    return write_event(
        conversation.pk,
        conversation.public_id,
        seq=seq,
        kind=kind,
        payload=payload,
        author=author,
        now=now,
        client_id=client_id,
        internal=internal,
    )


@dataclass(frozen=True)
class Claim:
    """A conversation's change and the event that records it (`append_claims`)."""

    conversation_pk: int
    public_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    # Applied by the seq statement itself, only while `only_if` holds.
    updates: dict[str, Any]
    only_if: dict[str, Any]


def append_claims(claims: list[Claim], *, author: Author = SYSTEM) -> list[Appended | None]:
    """Change several conversations and log each change; call inside the caller's transaction.

    Each claim is one statement (the seq UPDATE applies the change and the
    first moment too), then all the events are one INSERT: a routing pass
    that assigns dozens of chats in a burst makes N + 1 round trips, not 5N,
    and so holds the agents' locks for less time. A claim whose condition no
    longer holds gets None and writes nothing.
    """
    now = timezone.now()
    taken = [
        event_seq.next_seq(
            Conversation,
            claim.conversation_pk,
            updates={"updated_at": now, **claim.updates},
            only_if=claim.only_if,
        )
        for claim in claims
    ]
    rows = ConversationEvent.objects.bulk_create(
        [
            ConversationEvent(
                conversation_id=claim.conversation_pk,
                seq=seq,
                kind=claim.kind,
                payload=claim.payload,
                author_role=author.role,
                author_user_id=author.user_id,
                author_visitor_id=author.visitor_id,
                internal=False,
            )
            for claim, seq in zip(claims, taken, strict=True)
            if seq is not None
        ]
    )
    _note_first_moments_of_claims(
        [c for c, seq in zip(claims, taken, strict=True) if seq is not None], author
    )
    created = iter(rows)
    appended: list[Appended | None] = []
    for claim, seq in zip(claims, taken, strict=True):
        if seq is None:
            appended.append(None)
            continue
        event = next(created)
        frame = event_frame(
            claim.public_id,
            seq=seq,
            kind=claim.kind,
            payload=claim.payload,
            created_at=event.created_at or now,
            internal=False,
            for_agent=True,
        )
        appended.append(_publish_appended(claim.conversation_pk, claim.public_id, seq, frame))
    return appended


def append_message(
    conversation_pk: int,
    public_id: uuid.UUID,
    *,
    author: Author,
    client_id: uuid.UUID,
    body: str,
    internal: bool,
    assigned_to: int | None,
    savepoint: bool = True,
) -> Appended:
    """Append a message to an open conversation, in as few round trips as the database allows.

    PostgreSQL: one statement (seq UPDATE and INSERT in a CTE), run in
    autocommit when no transaction is open, so a message costs one round
    trip. SQLite: the seq UPDATE … RETURNING and the INSERT in a transaction.
    Raises `NotOpen` (closed, or not assigned to `assigned_to`) or
    `IntegrityError` (the `client_id` is already in the log); either way no
    seq was used.

    `savepoint=False` (chat.group_commit, inside its transaction): no
    savepoint round trips; an `IntegrityError` then spoils the caller's
    whole transaction, while `NotOpen` wrote nothing and spoils nothing.
    """
    payload: dict[str, Any] = {"author": author.wire, "body": body, "client_id": str(client_id)}
    now = timezone.now()
    if connection.vendor == "postgresql":
        # A single statement is atomic by itself; inside a caller's
        # transaction a savepoint keeps a duplicate from aborting it.
        scope = (
            transaction.atomic(savepoint=savepoint)
            if connection.in_atomic_block
            else contextlib.nullcontext()
        )
        with scope:
            seq = _insert_message_postgresql(
                conversation_pk,
                now=now,
                assigned_to=assigned_to,
                payload=payload,
                author=author,
                client_id=client_id,
                internal=internal,
            )
        # Raised outside the block: leaving an atomic block without a
        # savepoint by an exception marks the caller's transaction for rollback.
        if seq is None:
            raise NotOpen
        frame = event_frame(
            public_id,
            seq=seq,
            kind=Kind.MESSAGE,
            payload=payload,
            created_at=now,
            internal=internal,
            for_agent=True,
        )
        return _publish_appended(conversation_pk, public_id, seq, frame)
    with transaction.atomic(savepoint=savepoint):
        seq = next_seq(conversation_pk, now=now, require_open=True, assigned_to=assigned_to)
        if seq is not None:
            appended = write_event(
                conversation_pk,
                public_id,
                seq=seq,
                kind=Kind.MESSAGE,
                payload=payload,
                author=author,
                now=now,
                client_id=client_id,
                internal=internal,
            )
    if seq is None:
        raise NotOpen
    return appended


def _insert_message_postgresql(
    conversation_pk: int,
    *,
    now: datetime.datetime,
    assigned_to: int | None,
    payload: dict[str, Any],
    author: Author,
    client_id: uuid.UUID,
    internal: bool,
) -> int | None:
    """Seq and INSERT in one statement (one round trip, and in autocommit no
    BEGIN/COMMIT round trips either): the hot path of
    docs/decisions/pitfalls.md#slow-naive-write-path.

    A data-modifying CTE runs in the statement's snapshot: if the INSERT
    fails (a retried client_id hits the partial unique index) the whole
    statement fails, the seq increment included, so no gap is left. No row
    from the UPDATE (closed, or not assigned to `assigned_to`) inserts
    nothing and returns None.
    """
    first = _first_moment_field(Kind.MESSAGE, author, internal)
    update_sql, params = event_seq.next_seq_sql(
        Conversation,
        conversation_pk,
        # The first agent reply's moment in the same UPDATE (the event's created_at is `now`).
        set_if_null={first: now} if first else None,
        **_seq_statement_args(now=now, require_open=True, assigned_to=assigned_to),
    )
    table = ConversationEvent._meta.db_table
    sql = (
        f"WITH next AS ({update_sql}) "  # noqa: S608 (table names are ours)
        f"INSERT INTO {table} (conversation_id, seq, kind, payload, author_role, author_user_id, "
        "author_visitor_id, client_id, internal, created_at) "
        "SELECT %s, last_seq, %s, %s::jsonb, %s, %s::integer, %s::bigint, %s::uuid, %s, %s FROM next "
        "RETURNING seq"
    )
    params += [
        conversation_pk,
        Kind.MESSAGE,
        json.dumps(payload),
        author.role,
        author.user_id,
        author.visitor_id,
        client_id,
        internal,
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None
