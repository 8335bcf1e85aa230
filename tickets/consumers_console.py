"""`/ws/console/tickets/?ticket=T-1001&seq=N`: one ticket's page, live, for agents.

The agents' half of the portal socket. It joins the ticket's group
(`events.ticket_group`, which every ticket action already rings) after
`access_ticket_for_agent` — the rule the page itself uses — and answers each
`ticket.changed` doorbell by re-reading the ticket and sending the page's
live sections (header, SLA and controls, timeline) rendered from the page's
own partials for this agent, as htmx out-of-band fragments. Two agents on
one ticket see each other's replies, notes and changes without a reload.

`seq` is the last event the page rendered: a socket that connects after a
change (or reconnects after a restart) sends the sections at once. Pushes at
or below the seq already sent are dropped, so a doorbell that overtook
another (PITFALLS 3) never rolls the page back. A ticket moved to a
department the agent does not serve closes the socket with 4004 after a
last fragment saying so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.template.loader import render_to_string

from tickets import events
from tickets.access import access_ticket_for_agent
from tickets.console_rendering import render_ticket_sections
from tickets.consumers import CLOSE_UNAUTHENTICATED, NUMBER_MAX_LENGTH, PortalConsumer
from tickets.errors import TicketNotFound

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4004


def _watch(user: Any, number: str) -> tuple[str, int] | None:
    """(group, last seq) of a ticket the agent may see, else None."""
    try:
        ticket = access_ticket_for_agent(user, number)
    except TicketNotFound:
        return None
    return events.ticket_group(ticket.public_id), ticket.last_seq


def _render(user: Any, number: str) -> tuple[int, str] | None:
    try:
        ticket = access_ticket_for_agent(user, number)
    except TicketNotFound:
        return None
    return ticket.last_seq, render_ticket_sections(ticket, user)


def _gone(number: str) -> str:
    return render_to_string("tickets/console/_ticket_gone.html", {"number": number})


def _is_agent(user: Any) -> bool:
    from tickets.access import agent_scope

    return agent_scope(user) is not None


class ConsoleTicketConsumer(PortalConsumer):
    """Listens only; the page's forms post over HTTP to the same actions."""

    async def connect(self) -> None:
        self.closing = False
        self.joined: list[str] = []
        self.sent_seq: dict[str, int] = {}
        self.inbound = 0
        self.tasks: list[asyncio.Task] = []
        self.user = self.scope.get("user")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.watched = (query.get("ticket") or [""])[0][:NUMBER_MAX_LENGTH].strip().upper()
        try:
            seen = int((query.get("seq") or ["0"])[0][:12])
        except ValueError:
            seen = 0
        if not await database_sync_to_async(_is_agent)(self.user):
            await self.accept()
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        watch = (
            await database_sync_to_async(_watch)(self.user, self.watched) if self.watched else None
        )
        if watch is None:
            await self.accept()
            await self.refuse(CLOSE_NOT_FOUND)
            return
        group, last_seq = watch
        # Join before accepting, then compare with what the page saw: nothing
        # that commits in between goes unheard.
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)
        await self.accept()
        self.sent_seq[self.watched] = max(seen, 0)
        if last_seq > seen:
            await self._push(last_seq)
        self.tasks.append(asyncio.create_task(self._maintenance()))

    async def ticket_changed(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        seq = message.get("seq")
        if message.get("ticket") != self.watched or not isinstance(seq, int):
            return
        await self._push(seq)

    async def _push(self, seq: int) -> None:
        if seq <= self.sent_seq.get(self.watched, 0):
            return
        try:
            rendered = await database_sync_to_async(_render)(self.user, self.watched)
        except Exception:
            # One failed render must not kill the socket; the next doorbell retries.
            logger.exception("console push for %s failed", self.watched)
            return
        if self.closing:
            return
        if rendered is None:
            # Moved out of the agent's departments (or gone): say so, then stop.
            await self.send(text_data=await database_sync_to_async(_gone)(self.watched))
            await self.refuse(CLOSE_NOT_FOUND)
            return
        last_seq, html = rendered
        if last_seq <= self.sent_seq.get(self.watched, 0):
            return
        self.sent_seq[self.watched] = last_seq
        await self.send(text_data=html)
