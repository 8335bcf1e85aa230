"""The widget socket (`/ws/widget/`): one visitor's tab.

A thin adapter: validate the frame on the event loop, make one database
hop to an action (`chat.actions`) or a read (`chat.queries`, `chat.queue`),
send what it returns. The shared plumbing (limits, dispatch, the delivery
rule) is in `chat.delivery`.
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from chat import access, frames, queries, queue
from chat.actions import conversations, deflection, participants, visitors
from chat.delivery import ChatSocket, Handler, hot_path
from chat.errors import ChatError
from chat.events import visitor_group
from chat.group_commit import group_commit
from foundation import metrics
from foundation.socket_language import language_of_scope


class WidgetConsumer(ChatSocket):
    schemas = frames.WIDGET_FRAMES
    for_agent = False

    def frame_handlers(self) -> dict[str, Handler]:
        return {
            "hello": self.on_hello,
            "message": self.on_message,
            "typing": self.on_typing,
            "read": self.on_read,
            "resume": self.on_resume,
            "close": self.on_close,
            "rate": self.on_rate,
            "deflected": self.on_deflected,
            "history": self.on_history,
            "ping": self.on_ping,
        }

    # The visitor's open conversation as this socket knows it: (pk, public id).
    open_conversation: tuple[int, uuid.UUID] | None = None
    department_online: bool = True
    # The hello proved who the visitor is (a verified JWT or HMAC), on this socket.
    identified: bool = False

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if self.ready:
            raise ChatError(_("hello was already received"))
        page = frame.get("page") or {}
        self.page = (page.get("url", ""), page.get("title", ""))
        self.locale = frame.get("locale") or ""
        session, welcome, queue_place = await hot_path(widget_hello)(frame, self.locale)
        self.visitor = session.visitor
        self.identified = session.identified
        self.department = session.department
        # What the visitor is told; the message action turns a chat started offline into a ticket.
        self.department_online = bool(welcome["department"] and welcome["department"]["online"])
        if session.identity_invalid:
            await self.send_error("identity_invalid", _("the identity could not be verified"))
        await self.join(visitor_group(self.visitor.public_id))
        conversation = session.conversation
        if conversation is not None:
            self.open_conversation = (conversation.pk, conversation.public_id)
            # A client that does not name its open conversation in `resume` has
            # none of it (the ack of its first message was lost, or another tab
            # or device started it): it gets the conversation from its first
            # event, after the welcome and before any live event.
            known = str(conversation.public_id) in (frame.get("resume") or {})
            await self.follow(
                str(conversation.public_id),
                conversation.pk,
                last_sent=conversation.last_seq if known else 0,
            )
        await self.send_json(welcome)
        await self.became_ready()
        replayed = set()
        for conversation_id, after_seq in (frame.get("resume") or {}).items():
            try:
                replayed.add(await self.replay(conversation_id, after_seq))
            except ChatError as exc:
                await self.send_error(exc.code, exc.detail, {"conversation": conversation_id})
        if conversation is not None:
            if str(conversation.public_id) not in replayed:
                # Whatever was appended between the snapshot and the group join
                # (a replay read the log after the join already).
                await self.deliver(str(conversation.public_id))
            await self.send_queue_place(queue_place)

    async def replay(self, conversation_id: str, after_seq: int) -> str:
        """Send a conversation's events after `after_seq`; its public id."""
        if self.open_conversation is not None and conversation_id == str(self.open_conversation[1]):
            # The hello found it this visitor's open chat: no second access check.
            pk, public_id = self.open_conversation[0], conversation_id
        else:
            conversation = await hot_path(access.access_conversation_for_visitor)(
                self.visitor, conversation_id
            )
            pk, public_id = conversation.pk, str(conversation.public_id)
        await self.follow(public_id, pk, last_sent=after_seq)
        await self.deliver(public_id, after_seq=after_seq)
        return public_id

    async def on_message(self, frame: dict[str, Any]) -> None:
        if self.open_conversation is None and self.department is not None:
            # This message may start a chat: listen for the queue's places
            # before it exists, so the first snapshot after it cannot be missed.
            await self.join(queue.waiting_group(self.department.slug))
        message = dict(
            conversation=self.open_conversation,
            department=self.department,
            client_id=uuid.UUID(frame["client_id"]),
            body=frame["body"],
            page_url=self.page[0],
            page_title=self.page[1],
            locale=self.locale,
            department_online=self.department_online,
        )
        if self.open_conversation is None:
            appended = await hot_path(conversations.check_visitor_message)(self.visitor, **message)
        else:
            # Into the open chat: with the worker's other waiting messages, in one commit.
            appended = await group_commit().write(
                conversations.visitor_message_write(self.visitor, **message)
            )
        public_id = str(appended.conversation)
        if self.open_conversation is None or self.open_conversation[0] != appended.conversation_pk:
            self.open_conversation = (appended.conversation_pk, appended.conversation)
            # A new conversation: send it from its first event (`queued`).
            await self.follow(public_id, appended.conversation_pk, last_sent=0)
        await self.ack(appended, frame["client_id"])
        metrics.MESSAGES_POSTED.labels("visitor").inc(0 if appended.duplicate else 1)
        await self.deliver_own(appended)
        if appended.started:
            await self.send_suggestions(appended.conversation_pk, public_id, frame["body"])

    def suggestion_locale(self) -> str:
        """The visitor's language: what the page told the widget, else the socket's."""
        return (self.locale or language_of_scope(self.scope) or "en")[:2].lower()

    async def send_suggestions(self, conversation_pk: int, public_id: str, body: str) -> None:
        # After the ack and the visitor's own event: a search never delays them.
        articles = await database_sync_to_async(deflection.suggest_articles)(
            conversation_pk, body, locale=self.suggestion_locale()
        )
        if articles:
            await self.send_json(
                {"type": "suggestions", "conversation": public_id, "articles": articles}
            )

    async def on_deflected(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(deflection.check_visitor_deflected)(
            self.visitor, frame["conversation"], frame["article"]
        )
        await self.send_json(
            {"type": "ack", "conversation": str(appended.conversation), "seq": appended.seq}
        )
        await self.deliver_own(appended)

    async def on_history(self, frame: dict[str, Any]) -> None:
        access.access_history_for_visitor(self.visitor, identified=self.identified)
        conversations = await database_sync_to_async(queries.previous_conversations)(self.visitor)
        await self.send_json({"type": "history", "conversations": conversations})

    # --- honest waiting ---------------------------------------------------------------

    last_queue_frame: dict[str, Any] | None = None

    async def send_queue_place(
        self, known: tuple[str | None, dict[str, Any] | None] | None = None
    ) -> None:
        """Join the department's waiting visitors and say where this one stands.

        `known`: the (slug, frame) the hello's hop already read.
        """
        if self.open_conversation is None:
            return
        slug, frame = known or await hot_path(queue.visitor_queue_frame)(self.open_conversation[0])
        if slug is not None:
            await self.join(queue.waiting_group(slug))
        await self.send_queue_frame(frame)

    async def send_queue_frame(self, frame: dict[str, Any] | None) -> None:
        if frame is not None and frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await self.send_json(frame)

    async def queue_snapshot(self, message: dict[str, Any]) -> None:
        if self.open_conversation is not None:
            await self.send_queue_frame(
                queue.position_frame(message, str(self.open_conversation[1]))
            )

    async def on_typing(self, frame: dict[str, Any]) -> None:
        if self.open_conversation is not None:
            await participants.publish_typing(
                self.open_conversation[1],
                role="visitor",
                active=frame["active"],
                sender=self.channel_name,
            )

    async def on_read(self, frame: dict[str, Any]) -> None:
        followed = self.followed.get(frame["conversation"])
        if followed is None:
            conversation = await database_sync_to_async(access.access_conversation_for_visitor)(
                self.visitor, frame["conversation"]
            )
            pk, top = conversation.pk, conversation.last_seq
        else:
            pk, top = followed.pk, followed.last_sent
        await hot_path(participants.mark_read)(
            pk,
            uuid.UUID(frame["conversation"]),
            seq=min(frame["seq"], top),
            sender=self.channel_name,
            visitor=self.visitor,
        )

    async def on_resume(self, frame: dict[str, Any]) -> None:
        await self.replay(frame["conversation"], frame["after_seq"])

    async def on_close(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(conversations.check_visitor_close)(
            self.visitor, frame["conversation"]
        )
        await self.deliver_own(appended)

    async def on_rate(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(conversations.check_visitor_rate)(
            self.visitor,
            frame["conversation"],
            score=frame["score"],
            comment=frame.get("comment") or "",
        )
        await self.send_json(
            {"type": "ack", "conversation": str(appended.conversation), "seq": appended.seq}
        )
        await self.deliver_own(appended)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.rejoin_groups()
        pks = [f.pk for f in self.followed.values()]
        conversation, seqs = await database_sync_to_async(queries.visitor_ping_state)(
            self.visitor, pks
        )
        if conversation is not None:
            public_id = str(conversation.public_id)
            if public_id not in self.followed:
                # Started in another tab and its notice was lost: follow it now.
                await self.follow(public_id, conversation.pk, last_sent=0)
            self.open_conversation = (conversation.pk, conversation.public_id)
            seqs[conversation.pk] = conversation.last_seq
        await self.catch_up(seqs)
        if self.last_queue_frame is not None:
            # It was waiting when we last knew: refresh its place (a transfer
            # or a lost snapshot), at most once per ping.
            await self.send_queue_place()
        last_seq = {str(conversation.public_id): conversation.last_seq} if conversation else {}
        await self.send_json({"type": "pong", "last_seq": last_seq})

    async def conversation_started(self, message: dict[str, Any]) -> None:
        """Another tab of this visitor opened a conversation: this tab follows it."""
        public_id = message["conversation"]
        if public_id in self.followed:
            return
        try:
            conversation = await database_sync_to_async(access.access_conversation_for_visitor)(
                self.visitor, public_id
            )
        except ChatError:
            return
        self.open_conversation = (conversation.pk, conversation.public_id)
        await self.follow(public_id, conversation.pk, last_sent=0)
        await self.deliver(public_id)


def widget_hello(
    frame: dict[str, Any], locale: str
) -> tuple[visitors.WidgetSession, dict[str, Any], tuple[str | None, dict[str, Any] | None] | None]:
    """A hello's database work in one hop: who the visitor is, the welcome frame and,
    for a visitor with an open chat, its place in the queue (`queue.visitor_queue_frame`).

    Runs in the thread pool on PostgreSQL (`hot_path`): a reconnect storm's
    hellos then wait for the database side by side, not one after another
    on the shared sync thread. Its queries do not grow with the queue or
    the number of agents (`queue.department_estimate`).
    """
    session = visitors.check_widget_hello(
        token=frame.get("token"),
        department_slug=frame.get("department"),
        profile=frame.get("profile") or {},
        identity=frame.get("identity"),
        locale=locale,
        offered=frame.get("departments"),
    )
    conversation = session.conversation
    welcome: dict[str, Any] = {
        "type": "welcome",
        "token": session.token,
        "visitor": {
            "id": str(session.visitor.public_id),
            "name": session.visitor.display_name,
            "identified": session.identified,
        },
        "department": queue.department_for_visitor(session.department)
        if session.department
        else None,
        "conversation": queries.conversation_for_visitor(conversation) if conversation else None,
        "suggestions": [],
    }
    if frame.get("departments"):
        # The site's choice, with names and whether each is online; unknown slugs left out.
        welcome["departments"] = queue.departments_for_visitor(frame["departments"])
    place = queue.visitor_queue_frame(conversation.pk) if conversation is not None else None
    return session, welcome, place
