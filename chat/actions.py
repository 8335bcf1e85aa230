"""Everything that changes a conversation, and the only place chat publishes.

Each action is synchronous ORM code in one short `transaction.atomic()`:
it writes the rows, appends the event with the next `seq`, and schedules
the doorbell with `publish_on_commit`. Consumers call one action per client
frame through a single `database_sync_to_async` hop.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from chat import conversion, events, limits, tokens
from chat.access import (
    access_conversation_for_agent,
    access_conversation_for_visitor,
    authenticate_visitor,
)
from chat.attachments import attachment_wire, visitor_upload_retry_after
from chat.coalescer import request_routing, request_snapshot
from chat.errors import ChatError, Conflict, Forbidden, NotAuthenticated, NotFound, RateLimited
from chat.identity import IdentityInvalid, VerifiedIdentity, verify_identity
from chat.locks import claim_queued_conversation, lock_agent_profile
from chat.models import ChatAttachment, Conversation, ConversationEvent, ReadMarker, Visitor
from chat.queries import department_for_visitor, event_frame, open_conversation_of
from crm.models import Contact
from foundation.realtime import publish_on_commit
from foundation.uploads import (
    CheckedUpload,
    discard_stored,
    new_download_token,
    store_upload,
    upload_from_request_file,
)
from queues.models import Department

logger = logging.getLogger(__name__)

Kind = ConversationEvent.Kind
Role = ConversationEvent.Role
State = Conversation.State


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


# --- the event log -----------------------------------------------------------------


def _next_seq(
    conversation_pk: int,
    *,
    now: datetime.datetime,
    require_open: bool,
    assigned_to: int | None = None,
) -> int | None:
    """Take the conversation's next seq; None if it is gone (or closed, if asked).

    One `UPDATE … RETURNING` on PostgreSQL and SQLite (≥ 3.35): the row lock
    it takes serializes concurrent appends, so seqs are gapless and unique
    without a SELECT FOR UPDATE round trip (docs/decisions/pitfalls.md#slow-naive-write-path).
    """
    if connection.vendor in {"postgresql", "sqlite"}:
        sql, params = _seq_update_sql(
            conversation_pk, now=now, require_open=require_open, assigned_to=assigned_to
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return row[0] if row else None
    rows = Conversation.objects.filter(pk=conversation_pk)
    if require_open:
        rows = rows.filter(state__in=Conversation.OPEN_STATES)
    extra: dict[str, Any] = {}
    if assigned_to is not None:
        rows = rows.filter(assigned_agent_id=assigned_to)
        extra["offered_at"] = None
    if not rows.update(last_seq=F("last_seq") + 1, updated_at=now, **extra):
        return None
    return Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation_pk)


def _seq_update_sql(
    conversation_pk: int, *, now: datetime.datetime, require_open: bool, assigned_to: int | None
) -> tuple[str, list[Any]]:
    table = Conversation._meta.db_table
    params: list[Any] = [connection.ops.adapt_datetimefield_value(now), conversation_pk]
    condition = ""
    if require_open:
        condition = " AND state IN (%s, %s)"
        params += [State.QUEUED, State.ACTIVE]
    settle = ""
    if assigned_to is not None:
        condition += " AND assigned_agent_id = %s"
        params.append(assigned_to)
        # The assigned agent writing answers a pending routing offer, in the
        # same statement (no extra query on the message path).
        settle = ", offered_at = NULL"
    sql = (
        f"UPDATE {table} SET last_seq = last_seq + 1, updated_at = %s{settle} "  # noqa: S608 (table name is ours)
        f"WHERE id = %s{condition} RETURNING last_seq"
    )
    return sql, params


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
    update_sql, params = _seq_update_sql(
        conversation_pk, now=now, require_open=True, assigned_to=assigned_to
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


class _NotOpen(Exception):
    pass


def _write_event(
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
    frame = event_frame(
        public_id,
        seq=seq,
        kind=kind,
        payload=payload,
        created_at=event.created_at or now,
        internal=internal,
        for_agent=True,
    )
    publish_on_commit(
        events.conversation_group(public_id), events.event_appended(public_id, seq, frame=frame)
    )
    return Appended(conversation_pk=conversation_pk, conversation=public_id, seq=seq, frame=frame)


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
    seq = _next_seq(conversation.pk, now=now, require_open=require_open)
    if seq is None:
        raise _NotOpen
    return _write_event(
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


# --- visitors ----------------------------------------------------------------------


def create_visitor(
    *, name: str = "", email: str = "", phone: str = "", locale: str = ""
) -> tuple[Visitor, str]:
    raw, digest = tokens.new_visitor_token()
    visitor = Visitor.objects.create(
        token_hash=digest, name=name, email=email, phone=phone, locale=locale
    )
    return visitor, raw


def update_visitor_profile(visitor: Visitor, **fields: str) -> None:
    """The pre-chat profile: stored as typed, never used to find a contact."""
    changed = [name for name, value in fields.items() if value and getattr(visitor, name) != value]
    for name in changed:
        setattr(visitor, name, fields[name])
    if changed:
        visitor.save(update_fields=[*changed, "last_seen_at"])


def identify_visitor(visitor: Visitor, identity: VerifiedIdentity) -> tuple[Visitor, str | None]:
    """Attach a verified identity; returns the acting visitor and a new token if one was issued.

    The verified visitor of an external id is unique. An anonymous visitor
    who proves that id is merged onto it (its conversations move over; if
    both have an open one, the anonymous one is closed as `merged`), and its
    token keeps working as an alias. A visitor already verified as someone
    else is never merged: a fresh visitor is issued for the new identity.
    The contact is linked only when crm already has one with that external
    id; no contact is created from a widget.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _identify(visitor, identity)
        except IntegrityError:
            # Two sockets proved the same new identity at once; the other
            # one created the verified visitor, so this time we merge.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _identify(visitor: Visitor, identity: VerifiedIdentity) -> tuple[Visitor, str | None]:
    new_token = None
    external_id = identity.external_id
    if visitor.external_id != external_id:
        if visitor.external_id is not None:
            visitor, new_token = create_visitor(locale=visitor.locale)
        canonical = (
            Visitor.objects.select_for_update()
            .filter(external_id=external_id, merged_into__isnull=True)
            .first()
        )
        if canonical is None:
            visitor.external_id = external_id
            visitor.save(update_fields=["external_id"])
            canonical = visitor
        else:
            _merge_visitor(visitor, into=canonical)
        visitor = canonical
    contact = Contact.objects.filter(external_id=external_id).first()
    updates = {"contact_id": contact.pk if contact else visitor.contact_id}
    if identity.name:
        updates["name"] = identity.name
    if identity.email:
        updates["email"] = identity.email
    changed = [k for k, v in updates.items() if getattr(visitor, k) != v]
    for key in changed:
        setattr(visitor, key, updates[key])
    if changed:
        visitor.save(update_fields=changed)
    if contact:
        Conversation.objects.filter(
            visitor=visitor, state__in=Conversation.OPEN_STATES, contact__isnull=True
        ).update(contact=contact)
    return visitor, new_token


def _merge_visitor(alias: Visitor, *, into: Visitor) -> None:
    alias_open = Conversation.objects.filter(
        visitor=alias, state__in=Conversation.OPEN_STATES
    ).first()
    if (
        alias_open
        and Conversation.objects.filter(visitor=into, state__in=Conversation.OPEN_STATES).exists()
    ):
        _close(alias_open, by=Role.SYSTEM, reason="merged", author=SYSTEM)
        alias_open = None
    Conversation.objects.filter(visitor=alias).update(visitor=into, contact=into.contact_id)
    Visitor.objects.filter(merged_into=alias).update(merged_into=into)
    alias.merged_into = into
    alias.save(update_fields=["merged_into"])
    if alias_open:
        # Tabs of the verified visitor follow the moved conversation.
        publish_on_commit(
            events.visitor_group(into.public_id), events.conversation_started(alias_open.public_id)
        )


# --- conversations -----------------------------------------------------------------


def start_conversation(
    visitor: Visitor,
    department: Department,
    *,
    page_url: str = "",
    page_title: str = "",
    locale: str = "",
) -> tuple[Conversation, bool]:
    """The visitor's open conversation, creating it (queued) if there is none."""
    existing = open_conversation_of(visitor)
    if existing:
        return existing, False
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
            _write_event(
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
            publish_queue_changed(department)
            department_pk = department.pk
            transaction.on_commit(lambda: request_routing([department_pk]), robust=True)
    except IntegrityError:
        # Another tab or worker opened one a moment ago: the partial unique
        # index kept it to one, and that one is ours too.
        existing = open_conversation_of(visitor)
        if existing is None:
            raise
        return existing, False
    conversation.department = department
    return conversation, True


def publish_queue_changed(department: Department) -> None:
    """Agents re-read the queue figures; waiting visitors get their new place."""
    publish_on_commit(
        events.department_group(department.slug), events.queue_changed(department.slug)
    )
    department_pk = department.pk
    transaction.on_commit(lambda: request_snapshot(department_pk), robust=True)


def _published_message(
    conversation_pk: int,
    public_id: uuid.UUID,
    seq: int,
    payload: dict[str, Any],
    now: datetime.datetime,
    internal: bool,
) -> Appended:
    frame = event_frame(
        public_id,
        seq=seq,
        kind=Kind.MESSAGE,
        payload=payload,
        created_at=now,
        internal=internal,
        for_agent=True,
    )
    publish_on_commit(
        events.conversation_group(public_id), events.event_appended(public_id, seq, frame=frame)
    )
    return Appended(conversation_pk=conversation_pk, conversation=public_id, seq=seq, frame=frame)


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

    PostgreSQL: one statement (seq UPDATE and INSERT in a CTE), run in
    autocommit when no transaction is open, so a message costs one round
    trip. SQLite: the seq UPDATE … RETURNING and the INSERT in a transaction.
    A duplicate client_id fails the INSERT on the partial unique index; the
    statement or transaction (and its seq) rolls back and the original is
    looked up.
    """
    payload: dict[str, Any] = {"author": author.wire, "body": body, "client_id": str(client_id)}
    now = timezone.now()
    try:
        if connection.vendor == "postgresql":
            # A single statement is atomic by itself; inside a caller's
            # transaction a savepoint keeps a duplicate from aborting it.
            scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
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
                if seq is None:
                    raise _NotOpen
                return _published_message(conversation_pk, public_id, seq, payload, now, internal)
        with transaction.atomic():
            seq = _next_seq(conversation_pk, now=now, require_open=True, assigned_to=assigned_to)
            if seq is None:
                raise _NotOpen
            return _write_event(
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
    except (IntegrityError, _NotOpen) as exc:
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
            if not isinstance(exc, _NotOpen):
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


def check_visitor_message(
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
    """
    retry_after = limits.visitor_message_retry_after(visitor.pk)
    if retry_after:
        raise RateLimited(retry_after)
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
            department_online = department_for_visitor(department)["online"]
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


def _close(conversation: Conversation, *, by: str, reason: str, author: Author) -> Appended:
    now = timezone.now()
    claimed = Conversation.objects.filter(
        pk=conversation.pk, state__in=Conversation.OPEN_STATES
    ).update(state=State.CLOSED, closed_at=now, updated_at=now)
    if not claimed:
        raise Conflict("the conversation is already closed")
    appended = append_event(
        conversation,
        kind=Kind.CLOSED,
        payload={"by": by, "reason": reason},
        author=author,
        require_open=False,
    )
    if conversation.state == State.QUEUED:
        publish_queue_changed(conversation.department)
    elif conversation.state == State.ACTIVE and conversation.assigned_agent_id:
        # A slot freed: the agent may now take a chat of any of its departments.
        from chat.assignment import route_agent_departments_after_commit

        route_agent_departments_after_commit(conversation.assigned_agent_id)
    return appended


def close_conversation(
    conversation: Conversation, *, by: str, reason: str = "", author: Author = SYSTEM
) -> Appended:
    with transaction.atomic():
        return _close(conversation, by=by, reason=reason, author=author)


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


# --- composite checks: one socket frame, one database hop ---------------------------


@dataclass(frozen=True)
class WidgetSession:
    visitor: Visitor
    token: str
    department: Department | None
    conversation: Conversation | None
    identity_invalid: bool


def check_widget_hello(
    *,
    token: str | None,
    department_slug: str | None,
    profile: dict[str, str],
    identity: dict[str, str] | None,
    locale: str,
) -> WidgetSession:
    """Who this visitor is (token, verified identity), and what is open for them."""
    requested = None
    if department_slug:
        requested = Department.objects.filter(slug=department_slug).first()
        if requested is None:
            raise NotFound("unknown department")
    if token:
        visitor = authenticate_visitor(token)
        if visitor is None:
            raise NotAuthenticated
        raw = token
    else:
        visitor, raw = create_visitor(locale=locale)
    update_visitor_profile(
        visitor,
        name=profile.get("name", ""),
        email=profile.get("email", ""),
        phone=profile.get("phone", ""),
        locale=locale,
    )
    identity_invalid = False
    if identity:
        try:
            verified = verify_identity(identity)
        except IdentityInvalid as exc:
            logger.info("visitor identity refused: %s", exc)
            identity_invalid = True
        else:
            visitor, new_token = identify_visitor(visitor, verified)
            raw = new_token or raw
    conversation = open_conversation_of(visitor)
    department = conversation.department if conversation else requested
    return WidgetSession(visitor, raw, department, conversation, identity_invalid)


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
    user: AbstractBaseUser, conversation_id: str, *, reason: str, **scope: Any
) -> Appended:
    conversation = access_conversation_for_agent(user, conversation_id, **scope)
    return close_conversation(conversation, by=Role.AGENT, reason=reason, author=agent_author(user))


def check_accept(
    user: AbstractBaseUser, conversation_id: str, **scope: Any
) -> tuple[Conversation, Appended | None]:
    conversation = access_conversation_for_agent(user, conversation_id, **scope)
    if conversation.state == State.ACTIVE and conversation.assigned_agent_id == user.pk:
        # Routing offered it to this agent: accepting answers the offer.
        from chat.assignment import settle_offer

        settle_offer(conversation.pk, user.pk)
        return conversation, None
    appended = accept_conversation(conversation, user)
    conversation = Conversation.objects.select_related(
        "department", "visitor", "assigned_agent"
    ).get(pk=conversation.pk)
    return conversation, appended


# --- attachments ---------------------------------------------------------------------


def post_attachment(
    conversation: Conversation,
    upload: CheckedUpload,
    *,
    author: Author,
    internal: bool = False,
    assigned_to: int | None = None,
) -> tuple[ChatAttachment, Appended]:
    """A checked file into the open conversation, announced by an `attachment` event.

    The bytes are stored first (no file I/O inside the transaction); if the
    row does not commit the stored file is removed again. `assigned_to`, as
    for messages: an agent's public file needs the conversation assigned to
    that agent, checked in the statement that takes the seq.
    """
    stored = store_upload(upload, area="chat")
    try:
        with transaction.atomic():
            now = timezone.now()
            seq = _next_seq(conversation.pk, now=now, require_open=True, assigned_to=assigned_to)
            if seq is None:
                if (
                    assigned_to is not None
                    and Conversation.objects.filter(
                        pk=conversation.pk, state__in=Conversation.OPEN_STATES
                    ).exists()
                ):
                    raise Forbidden("accept the conversation before sending files")
                raise Conflict("the conversation is closed")
            attachment = ChatAttachment.objects.create(
                conversation_id=conversation.pk,
                download_token=new_download_token(),
                file=stored,
                filename=upload.filename,
                content_type=upload.content_type,
                size=upload.size,
                internal=internal,
                seq=seq,
                author_role=author.role,
                author_user_id=author.user_id,
                author_visitor_id=author.visitor_id,
            )
            payload = {"author": author.wire, **attachment_wire(attachment, conversation.public_id)}
            appended = _write_event(
                conversation.pk,
                conversation.public_id,
                seq=seq,
                kind=Kind.ATTACHMENT,
                payload=payload,
                author=author,
                now=now,
                internal=internal,
            )
    except BaseException:
        discard_stored(stored)
        raise
    return attachment, appended


def check_visitor_attachment(visitor: Visitor, conversation_id: object, uploaded: Any) -> Appended:
    """A visitor's file (a Django UploadedFile): rate limit, access, content checks, post."""
    retry_after = visitor_upload_retry_after(visitor.pk)
    if retry_after:
        raise RateLimited(retry_after)
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    upload = upload_from_request_file(uploaded)
    return post_attachment(conversation, upload, author=visitor_author(visitor))[1]


def check_agent_attachment(
    user: AbstractBaseUser, conversation_id: object, uploaded: Any, *, internal: bool
) -> Appended:
    """An agent's file; public ones need the conversation assigned to this agent."""
    conversation = access_conversation_for_agent(user, conversation_id)
    upload = upload_from_request_file(uploaded)
    return post_attachment(
        conversation,
        upload,
        author=agent_author(user),
        internal=internal,
        assigned_to=None if internal else user.pk,
    )[1]
