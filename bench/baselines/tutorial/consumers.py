"""The tutorial's consumer, grown just enough to speak the benchmark's frames.

One AsyncJsonWebsocketConsumer, a Channels group per conversation ("room"),
and for every message: one ORM insert through database_sync_to_async, then
group_send to the room, then the ack. Every member of the room gets the
group message and forwards it unless it wrote it. The message row's id is
the seq (increasing within a room, as the tutorial's ordering by id).

Agents are not in the tutorial: a Redis list of the agent sockets' channel
names and a counter give the round-robin assignment across daphne processes.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis.asyncio as redis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from bench.baselines import frames
from bench.baselines.tutorial.models import Message

_redis: redis.Redis | None = None


def agent_registry() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


AGENTS_KEY = f"{settings.REDIS_PREFIX}tutorial:agents"
TURN_KEY = f"{settings.REDIS_PREFIX}tutorial:turn"


def room_group(room: str) -> str:
    return f"room_{room.replace('-', '')}"


@database_sync_to_async
def save_message(room: str, author: str, body: str) -> int:
    return Message.objects.create(room=room, author=author, body=body).id


class ChatConsumer(AsyncJsonWebsocketConsumer):
    def __init__(self, *args: Any, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        self.rooms: set[str] = set()
        self.own_room: str | None = None  # a visitor's conversation

    async def connect(self) -> None:
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.role == frames.AGENT:
            await agent_registry().lrem(AGENTS_KEY, 0, self.channel_name)
        for room in self.rooms:
            await self.channel_layer.group_discard(room_group(room), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self.on_frame(frames.parse(text_data or bytes_data or b""))
        except frames.FrameError as exc:
            await self.send_json(frames.error(exc.code, exc.detail, exc.client_id))

    @classmethod
    async def encode_json(cls, content: dict[str, Any]) -> str:
        return frames.encode(content)

    async def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "hello":
            token = frame.get("token") if isinstance(frame.get("token"), str) else None
            if self.role == frames.AGENT:
                await agent_registry().rpush(AGENTS_KEY, self.channel_name)
            await self.send_json(frames.welcome(self.role, token or uuid.uuid4().hex))
        elif kind == "ping":
            await self.send_json(frames.pong())
        elif kind == "presence":
            pass
        elif kind == "accept" and self.role == frames.AGENT:
            room = frame.get("conversation")
            if not isinstance(room, str):
                raise frames.FrameError("bad_frame", "accept names a conversation")
            await self.join(room)
        elif kind == "message":
            await self.on_message(*frames.message_fields(frame, self.role))
        else:
            raise frames.FrameError("bad_frame", f"unexpected {kind!r} on a {self.role} socket")

    async def on_message(self, client_id: str, body: str, room: str | None) -> None:
        if self.role == frames.VISITOR:
            if self.own_room is None:
                self.own_room = str(uuid.uuid4())
                self.rooms.add(self.own_room)
                await self.channel_layer.group_add(room_group(self.own_room), self.channel_name)
                await self.offer_to_an_agent(self.own_room)
            room = self.own_room
        elif room not in self.rooms:
            raise frames.FrameError("forbidden", "not your conversation", client_id)
        assert room is not None
        seq = await save_message(room, self.role, body)
        await self.channel_layer.group_send(
            room_group(room),
            {
                "type": "chat.message",
                "room": room,
                "seq": seq,
                "author": self.role,
                "client_id": client_id,
                "body": body,
            },
        )
        await self.send_json(frames.ack(client_id, room, seq))

    async def offer_to_an_agent(self, room: str) -> None:
        registry = agent_registry()
        count = await registry.llen(AGENTS_KEY)
        if not count:
            return  # nobody online: an agent may still `accept` it
        turn = await registry.incr(TURN_KEY)
        agent = await registry.lindex(AGENTS_KEY, (turn - 1) % count)
        if agent is not None:
            await self.channel_layer.send(agent.decode(), {"type": "chat.assign", "room": room})

    async def join(self, room: str) -> None:
        if room not in self.rooms:
            self.rooms.add(room)
            await self.channel_layer.group_add(room_group(room), self.channel_name)
        await self.send_json(frames.assigned(room))

    # Channel layer handlers

    async def chat_assign(self, message: dict[str, Any]) -> None:
        await self.join(message["room"])

    async def chat_message(self, message: dict[str, Any]) -> None:
        if message["author"] != self.role:
            await self.send_json(
                frames.event(
                    message["room"],
                    message["seq"],
                    message["author"],
                    message["client_id"],
                    message["body"],
                )
            )
