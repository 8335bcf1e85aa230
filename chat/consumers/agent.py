"""The agent socket (`/ws/agent/`): one console of one agent.

A thin adapter: validate the frame on the event loop, make one database
hop to an action (`chat.actions`) or a read (`chat.queries`, `chat.queue`),
send what it returns. The shared plumbing (limits, dispatch, the delivery
rule) is in `chat.delivery`.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import access, conversion, frames, queries
from chat.actions import conversations, floor, participants, presence, transfer
from chat.consumers.agent_groups import AgentGroupMessages
from chat.delivery import ChatSocket, Handler, hot_path
from chat.errors import ChatError, NotAuthenticated
from chat.events import agent_group, conversation_group, department_group
from chat.group_commit import group_commit
from chat.log import agent_author
from crm.record import live_call_frames
from foundation import metrics
from foundation.session_sockets import session_group_of
from queues.actions import do_drop_connection, do_heartbeat, do_register_connection
from queues.agent_scope import scope_of_profile
from queues.presence import presence_ttl

logger = logging.getLogger(__name__)


class AgentConsumer(AgentGroupMessages, ChatSocket):
    schemas = frames.AGENT_FRAMES
    for_agent = True
    connection_id: uuid.UUID | None = None
    heard_reported: datetime.datetime | None = None

    def frame_handlers(self) -> dict[str, Handler]:
        return {
            "hello": self.on_hello,
            "presence": self.on_presence,
            "accept": self.on_accept,
            "message": self.on_message,
            "typing": self.on_typing,
            "read": self.on_read,
            "resume": self.on_resume,
            "transfer": self.on_transfer,
            "close": self.on_close,
            "to_ticket": self.on_to_ticket,
            "whisper": self.on_whisper,
            "ping": self.on_ping,
        }

    async def connected(self) -> None:
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            profile = await database_sync_to_async(access.agent_profile)(user)
            if profile is not None:
                # Signed in by the console's session: signing out closes this socket.
                group = session_group_of(self.scope)
                if group is not None:
                    self.session_user = user
                    await self.join(group)
                await self.start_session(user, profile)

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if self.ready:
            await self.send_welcome()
        else:
            token = frame.get("token")
            user, profile = await hot_path(access.agent_of_token)(token) if token else (None, None)
            if profile is None:
                raise NotAuthenticated
            await self.start_session(user, profile)
        if frame.get("resume") is not None:
            await self.replay_for_hello(frame["resume"])

    async def replay_for_hello(self, resume: dict[str, int]) -> None:
        """hello.resume: each listed conversation after its seq, and each assigned one the
        client did not list from the start, all before any live event (one handler): a
        `resume` sent after the welcome would be overtaken by live events above the snapshot."""
        entries = {public_id: 0 for public_id in self.announced}
        entries.update(resume)
        for conversation_id, after_seq in entries.items():
            try:
                await self.on_resume({"conversation": conversation_id, "after_seq": after_seq})
            except ChatError as exc:
                await self.send_error(exc.code, exc.detail, {"conversation": conversation_id})

    async def start_session(self, user, profile) -> None:
        self.user = user
        self.author = agent_author(user)
        self.max_chats = profile.max_chats
        self.departments = {d.slug: d for d in profile.departments.all()}
        self.agent_scope = scope_of_profile(profile)
        self.announced: set[str] = set()
        # Conversations this socket followed and may no longer see (moved to
        # another department): their events are not sent, their frames refused.
        self.revoked: set[str] = set()
        self.stale_queues: set[str] = set()
        self.connection_id = uuid.uuid4()
        # The hello's hops run in the thread pool (`hot_path`): a reconnect
        # storm's consoles wait for the database side by side.
        self.presence = await hot_path(presence.agent_connected)(
            user, connection_id=self.connection_id, channel_name=self.channel_name
        )
        await self.join(agent_group(user.pk))
        for slug in self.departments:
            await self.join(department_group(slug))
        await self.send_welcome()
        await self.became_ready()

    async def send_welcome(self) -> None:
        assigned, queue_figures = await hot_path(queries.agent_snapshot)(
            self.user, self.agent_scope.department_ids
        )
        for conversation in assigned:
            await self.follow(
                str(conversation.public_id), conversation.pk, last_sent=conversation.last_seq
            )
            self.announced.add(str(conversation.public_id))
        await self.send_json(
            {
                "type": "welcome",
                "agent": {
                    "id": self.user.get_username(),
                    "name": self.author.name,
                    "departments": sorted(self.departments),
                    "max_chats": self.max_chats,
                    "status": self.presence.published_status,
                },
                "conversations": [queries.conversation_for_agent(c) for c in assigned],
                "queues": [{k: v for k, v in q.items() if k != "type"} for q in queue_figures],
            }
        )
        await self.catch_up({c.pk: c.last_seq for c in assigned})
        # Calls ringing or in progress for this agent: a reload mid-call pops them again.
        for call in await hot_path(live_call_frames)(self.user.pk):
            await self.send_json({"type": "call", "call": call})

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.connection_id is not None:
            await database_sync_to_async(do_drop_connection)(
                self.user, connection_id=self.connection_id
            )

    async def keep_alive(self) -> None:
        """The connection's `last_seen` is the client's last frame, not this timer.

        A laptop with its lid shut keeps the TCP connection open and sends
        nothing: its agent must go offline one TTL after the last frame, as a
        closed socket would, not when daphne's ping timeout finally closes it.
        Once silent past the TTL the sweep drops the connection; a frame after
        that (the lid opens) registers it again.
        """
        heard = self.last_frame_at
        if self.connection_id is None or heard == self.heard_reported:
            return
        if timezone.now() - heard >= presence_ttl():
            return
        alive = await database_sync_to_async(do_heartbeat)(self.connection_id, now=heard)
        if not alive:
            self.presence = await database_sync_to_async(do_register_connection)(
                self.user,
                connection_id=self.connection_id,
                channel_name=self.channel_name,
                now=heard,
            )
        self.heard_reported = heard

    async def follow(self, public_id: str, pk: int, *, last_sent: int):
        # Only ever called after an access check passed (or an assignment).
        self.revoked.discard(public_id)
        return await super().follow(public_id, pk, last_sent=last_sent)

    async def send_json(self, content: Any, close: bool = False) -> None:
        # A followed conversation stays followed after a transfer to another
        # department unless the socket checks again: access is re-checked when
        # such a transfer goes by, and nothing of a lost conversation is sent.
        event_of = content.get("conversation") if content.get("type") == "event" else None
        if event_of is not None and event_of in self.revoked:
            return
        await super().send_json(content, close=close)
        if (
            event_of is not None
            and content.get("kind") == "transferred"
            and "department" in (content.get("to") or {})
        ):
            await self.forget_if_no_longer_allowed(event_of)

    async def forget_if_no_longer_allowed(self, public_id: str) -> None:
        try:
            await self.access(public_id)
        except ChatError:
            self.revoked.add(public_id)
            self.followed.pop(public_id, None)
            group = conversation_group(public_id)
            self.joined.discard(group)
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("group_discard failed for %s", group, exc_info=True)

    async def access(self, conversation_id: str):
        return await hot_path(access.access_conversation_for_agent)(
            self.user, conversation_id, scope=self.agent_scope
        )

    async def on_presence(self, frame: dict[str, Any]) -> None:
        changed = await database_sync_to_async(presence.check_set_presence)(
            self.user,
            frame["status"],
            accepting=frame.get("accepting"),
            agent_username=frame.get("agent"),
        )
        if changed.user_id == self.user.pk:
            self.presence = changed
        await self.send_json(
            {
                "type": "presence",
                "agent": changed.user.get_username(),
                "status": changed.published_status,
                "accepting": changed.accepting,
            }
        )

    async def on_transfer(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(transfer.check_transfer)(
            self.user,
            frame["conversation"],
            department=frame.get("department"),
            agent=frame.get("agent"),
            scope=self.agent_scope,
        )
        await self.deliver_own(appended)

    async def on_accept(self, frame: dict[str, Any]) -> None:
        conversation, appended = await database_sync_to_async(conversations.check_accept)(
            self.user, frame["conversation"], scope=self.agent_scope
        )
        if appended is None:
            # An offer routing made: now answered. Announce it if this socket
            # had not heard of it yet.
            if str(conversation.public_id) not in self.announced:
                await self.announce_assigned(conversation)
            return
        await self.announce_assigned(conversation)
        await self.deliver_own(appended)

    async def announce_assigned(self, conversation) -> None:
        public_id = str(conversation.public_id)
        self.announced.add(public_id)
        await self.send_json(
            {"type": "assigned", "conversation": queries.conversation_for_agent(conversation)}
        )
        # The history up to the assignment, from the first event.
        await self.follow(public_id, conversation.pk, last_sent=0)
        await self.deliver(public_id)

    async def on_message(self, frame: dict[str, Any]) -> None:
        followed = self.followed.get(frame["conversation"])
        if followed is None:
            conversation = await self.access(frame["conversation"])
            followed = await self.follow(
                frame["conversation"], conversation.pk, last_sent=conversation.last_seq
            )
        internal = frame.get("internal", False)
        # With the worker's other waiting messages, in one commit (chat.group_commit).
        appended = await group_commit().write(
            conversations.message_write(
                followed.pk,
                uuid.UUID(frame["conversation"]),
                author=self.author,
                client_id=uuid.UUID(frame["client_id"]),
                body=frame["body"],
                internal=internal,
                assigned_to=None if internal else self.user.pk,
            )
        )
        await self.ack(appended, frame["client_id"])
        metrics.MESSAGES_POSTED.labels("agent").inc(0 if appended.duplicate else 1)
        await self.deliver_own(appended)

    async def on_typing(self, frame: dict[str, Any]) -> None:
        if frame["conversation"] not in self.followed:
            await self.access(frame["conversation"])
        await participants.publish_typing(
            uuid.UUID(frame["conversation"]),
            role="agent",
            active=frame["active"],
            sender=self.channel_name,
        )

    async def on_read(self, frame: dict[str, Any]) -> None:
        followed = self.followed.get(frame["conversation"])
        if followed is None:
            conversation = await self.access(frame["conversation"])
            pk, top = conversation.pk, conversation.last_seq
        else:
            pk, top = followed.pk, followed.last_sent
        await hot_path(participants.mark_read)(
            pk,
            uuid.UUID(frame["conversation"]),
            seq=min(frame["seq"], top),
            sender=self.channel_name,
            user=self.user,
        )

    async def on_resume(self, frame: dict[str, Any]) -> None:
        conversation = await self.access(frame["conversation"])
        public_id = str(conversation.public_id)
        await self.follow(public_id, conversation.pk, last_sent=frame["after_seq"])
        await self.deliver(public_id, after_seq=frame["after_seq"])

    async def on_close(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(conversations.check_agent_close)(
            self.user,
            frame["conversation"],
            reason=frame.get("reason") or "",
            scope=self.agent_scope,
        )
        await self.follow(
            str(appended.conversation), appended.conversation_pk, last_sent=appended.seq - 1
        )
        await self.deliver_own(appended)

    async def on_whisper(self, frame: dict[str, Any]) -> None:
        appended = await database_sync_to_async(floor.check_whisper)(
            self.user, frame["conversation"], frame["body"], scope=self.agent_scope
        )
        await self.send_json(
            {"type": "ack", "conversation": str(appended.conversation), "seq": appended.seq}
        )
        public_id = str(appended.conversation)
        if public_id not in self.followed:
            await self.follow(public_id, appended.conversation_pk, last_sent=appended.seq - 1)
        await self.deliver_own(appended)

    async def on_to_ticket(self, frame: dict[str, Any]) -> None:
        conversation = await self.access(frame["conversation"])
        appended = await database_sync_to_async(conversion.convert_on_request)(
            conversation, subject=frame.get("subject"), priority=frame.get("priority"), by=self.user
        )
        if appended is None:
            raise ChatError(_("this server does not offer that yet"), code="not_available")
        public_id = str(conversation.public_id)
        if public_id not in self.followed:
            await self.follow(public_id, conversation.pk, last_sent=appended.seq - 1)
        if appended.duplicate:
            # Converted before: its `ticket` event was delivered then (resume gets it back).
            raise ChatError(
                _("this chat is already ticket %(number)s")
                % {"number": appended.frame.get("number")},
                code="conflict",
            )
        await self.deliver_own(appended)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.rejoin_groups()
        await self.keep_alive()
        states = await self.catch_up_from_log()
        open_seqs = {
            public_id: states[f.pk][0]
            for public_id, f in self.followed.items()
            if f.pk in states and states[f.pk][1] != "closed"
        }
        await self.send_json({"type": "pong", "last_seq": open_seqs})

    async def catch_up_from_log(self) -> dict[int, tuple[int, str]]:
        """What a ping catches up (also after the layer lost our groups): lost
        assignment notices, then every followed conversation's missed events."""
        pks = [f.pk for f in self.followed.values()]
        assigned, states = await database_sync_to_async(queries.agent_ping_state)(self.user, pks)
        for public_id in assigned - self.announced:
            # Assigned through another socket and the notice was lost.
            with contextlib.suppress(ChatError):
                await self.announce_assigned(await self.access(public_id))
        await self.catch_up({pk: seq for pk, (seq, _state) in states.items()})
        return states
