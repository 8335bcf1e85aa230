"""`/ws/console/tickets/?ticket=T-1001&seq=N`: a ticket's page (or the list's rows), live, for agents.

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
another (docs/decisions/pitfalls.md#reordering-in-the-layer) never rolls the
page back. A ticket moved to a
department the agent does not serve closes the socket with 4004 after a
last fragment saying so.

`?tickets=T-1001:5,T-1002:3` (the list page: its rows and their seqs, at
most 100) follows those rows instead: each change sends the row again
(`ticket_list.html#row`), a row the agent may no longer see is removed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.template.loader import render_to_string

from foundation.session_sockets import session_alive, session_group_of
from foundation.socket_language import language_of_scope
from queues.agent_scope import agent_scope
from tickets import events
from tickets.access import access_ticket_for_agent, tickets_for_agent
from tickets.console.rendering import render_ticket_sections, sla_clocks
from tickets.errors import TicketNotFound
from tickets.portal.consumers import (
    CLOSE_UNAUTHENTICATED,
    NUMBER_MAX_LENGTH,
    PortalConsumer,
)

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4004


MAX_LIST_TICKETS = 100


def _watch(user: Any, numbers: list[str]) -> dict[str, tuple[str, int]]:
    """{number: (group, last seq)} of the tickets among `numbers` the agent may see."""
    rows = tickets_for_agent(user).filter(number__in=numbers[:MAX_LIST_TICKETS])
    return {
        number: (events.ticket_group(public_id), last_seq)
        for number, public_id, last_seq in rows.values_list("number", "public_id", "last_seq")
    }


def _render(user: Any, number: str, view: str) -> tuple[int, str] | None:
    try:
        ticket = access_ticket_for_agent(user, number)
    except TicketNotFound:
        return None
    if view == "list":
        html = render_to_string(
            "tickets/console/ticket_list.html#row",
            {"ticket": ticket, "clocks": sla_clocks(ticket), "oob": True},
        )
        return ticket.last_seq, html
    return ticket.last_seq, render_ticket_sections(ticket, user)


def _gone(number: str, view: str) -> str:
    if view == "list":
        return render_to_string("tickets/console/_row_gone.html", {"number": number})
    return render_to_string("tickets/console/_ticket_gone.html", {"number": number})


def _seen(raw: str) -> dict[str, int]:
    """`T-1001:5,T-1002:3` (a list page's rows and their seqs) as a dict."""
    seen: dict[str, int] = {}
    for item in raw.split(",")[:MAX_LIST_TICKETS]:
        number, _sep, seq = item.partition(":")
        number = number.strip().upper()[:NUMBER_MAX_LENGTH]
        if number:
            seen[number] = int(seq) if seq.isdigit() and len(seq) < 12 else 0
    return seen


def _is_agent(user: Any) -> bool:
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
        self.language = language_of_scope(self.scope)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        listed = (query.get("tickets") or [""])[0][:4000]
        if listed:
            self.view = "list"
            seen = _seen(listed)
        else:
            self.view = "ticket"
            number = (query.get("ticket") or [""])[0][:NUMBER_MAX_LENGTH].strip().upper()
            raw_seq = (query.get("seq") or ["0"])[0]
            seen = {number: int(raw_seq) if raw_seq.isdigit() and len(raw_seq) < 12 else 0}
        if not await database_sync_to_async(_is_agent)(self.user):
            await self.accept()
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        await self.adopt_viewer_settings()
        watch = await database_sync_to_async(_watch)(self.user, list(seen))
        # A ticket page for a ticket the agent may not see is refused; a list
        # simply does not follow such rows (they were never on it).
        if not watch and self.view == "ticket":
            await self.accept()
            await self.refuse(CLOSE_NOT_FOUND)
            return
        # Join before accepting, then compare with what the page saw: nothing
        # that commits in between goes unheard.
        session = session_group_of(self.scope)
        for group in [
            *(group for group, _last_seq in watch.values()),
            *([session] if session else []),
        ]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept()
        for number in watch:
            self.sent_seq[number] = seen.get(number, 0)
        for number, (_group, last_seq) in watch.items():
            if last_seq > seen.get(number, 0):
                await self._push(number, last_seq)
        self.tasks.append(asyncio.create_task(self._maintenance()))

    async def ticket_changed(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        number = message.get("ticket")
        seq = message.get("seq")
        if number not in self.sent_seq or not isinstance(seq, int):
            return
        await self._push(number, seq)

    async def maintenance_tick(self) -> bool:
        # The followed tickets' seqs, against what was sent: a lost doorbell
        # costs at most one tick.
        alive = await database_sync_to_async(session_alive)(self.scope.get("session"), self.user)
        if not alive:
            return False
        watch = await database_sync_to_async(_watch)(self.user, list(self.sent_seq))
        for number, (_group, last_seq) in watch.items():
            await self._push(number, last_seq)
        return True

    async def _push(self, number: str, seq: int) -> None:
        if seq <= self.sent_seq.get(number, 0):
            return
        try:
            rendered = await database_sync_to_async(self.rendering(_render))(
                self.user, number, self.view
            )
        except Exception:
            # One failed render must not kill the socket; the next doorbell retries.
            logger.exception("console push for %s failed", number)
            return
        if self.closing:
            return
        if rendered is None:
            # Moved out of the agent's departments (or gone): say so.
            await self.send(
                text_data=await database_sync_to_async(self.rendering(_gone))(number, self.view)
            )
            self.sent_seq.pop(number, None)
            if self.view == "ticket":
                await self.refuse(CLOSE_NOT_FOUND)
            return
        last_seq, html = rendered
        if last_seq <= self.sent_seq.get(number, 0):
            return
        self.sent_seq[number] = last_seq
        await self.send(text_data=html)
