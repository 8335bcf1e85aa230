"""`/ws/portal/`: a customer's tickets, live, as htmx out-of-band fragments.

The socket only listens. It joins the customer's group (and the
organization's, for an organization admin); a `ticket.changed` doorbell
makes it re-read that ticket through `access_ticket_for_customer` — the rule
the pages use — and send the fragment rendered from the page's own partial,
so what arrives is exactly what a reload would show. The doorbell carries no
content, and internal notes ring it too: they change nothing the customer can
see, so the fragment is simply re-rendered without them.

`?since=<ISO time>` (the page's read time) makes a (re)connecting socket
first send every ticket changed after it: a socket closed by a restart or a
limit reconnects (htmx does) and misses nothing.
`?ticket=T-1001` (a ticket's page) sends that ticket's section with its
timeline; without it (the list) every change sends the ticket's table row.
Doorbells can overtake each other in Redis
(docs/decisions/pitfalls.md#reordering-in-the-layer): each push renders
the current state, and a doorbell at or below the seq already rendered is
dropped, so a late one never rolls the page back.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone, translation

from foundation import metrics
from foundation.session_sockets import SESSION_ENDED, session_alive, session_group_of
from foundation.socket_language import has_language_cookie, language_of_scope, rendering_in
from foundation.sockets import (
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
    SocketLifecycle,
    hot_path,
    spread_ticks,
)
from queues.viewer import viewer_of, zone_of
from tickets import events
from tickets.access import access_ticket_for_customer, tickets_for_customer
from tickets.access import customer_contact as ticket_viewer
from tickets.customers import customer_contact
from tickets.errors import TicketNotFound
from tickets.portal.rendering import render_ticket_fragment

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The portal never expects frames from the browser; a few stray ones are
# tolerated (htmx may send on forms marked ws-send), a flood is not.
MAX_INBOUND_FRAMES = 20
MAX_INBOUND_BYTES = 4096
NUMBER_MAX_LENGTH = 20
CATCH_UP_LIMIT = 200


def _groups(user: Any) -> list[str] | None:
    """The groups a customer's socket joins, or None for anyone but a customer."""
    contact = customer_contact(user)
    if contact is None:
        return None
    groups = [events.customer_group(contact)]
    if contact.is_organization_admin and contact.organization is not None:
        groups.append(events.organization_group(contact.organization))
    return groups


def viewer_settings(
    user: Any, session: SessionBase | None, language: str, chosen: bool
) -> tuple[str, str]:
    """(language, zone) to render in, as the viewer's pages are (chatportal.viewer_middleware)."""
    viewer = viewer_of(user)
    if viewer.language and not chosen:
        language = viewer.language
    return language, zone_of(viewer, session)


def _render(user: Any, number: str, view: str) -> tuple[int, str] | None:
    try:
        ticket = access_ticket_for_customer(user, number)
    except TicketNotFound:
        return None
    return ticket.last_seq, _fragment(ticket, view=view, viewer_contact_id=_viewer_id(user))


def _push(language: str, zone: str, user: Any, number: str, view: str) -> tuple[int, str] | None:
    """`_render` in the viewer's language and zone: one function for `hot_path` to keep."""
    return rendering_in(language, _render, zone)(user, number, view)


# One change seen by many sockets of a worker (a customer's tabs, a team on
# one ticket, everyone catching up after a restart) is rendered once: the
# same ticket state, view, viewer, language and time zone make the same HTML.
# Each socket still runs the access check itself. Reused for a second at
# most: a fragment may say how long ago something happened.
FRAGMENT_REUSE_S = 1.0
FRAGMENTS_KEPT = 512
_fragments: dict[tuple, tuple[float, str]] = {}
# The same for one viewer's sockets (tabs) on this worker, access check
# included: (when, for which seq, the render) by viewer, ticket, view,
# language and zone. Only the event loop touches it.
_recent_pushes: dict[tuple, tuple[float, int, asyncio.Future[tuple[int, str] | None]]] = {}


def _fragment(ticket: Any, *, view: str, viewer_contact_id: int | None) -> str:
    key = (
        ticket.pk,
        ticket.last_seq,
        ticket.updated_at,
        view,
        # Only the list's row names the viewer ("you" asked, or a colleague).
        viewer_contact_id if view == "list" else None,
        translation.get_language(),
        timezone.get_current_timezone_name(),
    )
    now = time.monotonic()
    kept = _fragments.get(key)
    if kept is not None and now - kept[0] < FRAGMENT_REUSE_S:
        return kept[1]
    html = render_ticket_fragment(ticket, view=view, viewer_contact_id=viewer_contact_id)
    if len(_fragments) >= FRAGMENTS_KEPT:
        _fragments.clear()
    _fragments[key] = (now, html)
    return html


def _viewer_id(user: Any) -> int | None:
    # The access rule's own lookup: `user.contact`, cached on the user once read.
    contact = ticket_viewer(user)
    return contact.pk if contact is not None else None


def _catch_up(
    user: Any, view: str, watched: str, since: datetime.datetime
) -> list[tuple[str, int, str]]:
    """Fragments for what changed after `since`: a reconnect misses nothing."""
    tickets = tickets_for_customer(user).filter(updated_at__gt=since)
    if view == "ticket":
        tickets = tickets.filter(number=watched)
    viewer = _viewer_id(user)
    return [
        (
            ticket.number,
            ticket.last_seq,
            _fragment(ticket, view=view, viewer_contact_id=viewer),
        )
        for ticket in tickets.order_by("updated_at")[:CATCH_UP_LIMIT]
    ]


def _recent_seqs(user: Any, since: datetime.datetime) -> dict[str, int]:
    """What the page already shows of tickets changed lately, so ticks don't resend it."""
    return dict(
        tickets_for_customer(user).filter(updated_at__gt=since).values_list("number", "last_seq")
    )


def _maintenance_pass(
    session: SessionBase | None, user: Any, view: str, watched: str, since: datetime.datetime
) -> list[tuple[str, int, str]] | None:
    """One hop per tick: None if the session has ended, else what changed since `since`."""
    if not session_alive(session, user):
        return None
    return _catch_up(user, view, watched, since)


def parse_since(raw: str) -> datetime.datetime | None:
    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    # A page never asks for more than a day back; older is a stale tab that
    # would only make this socket re-render everything.
    return max(value, timezone.now() - datetime.timedelta(days=1))


class PortalConsumer(SocketLifecycle, AsyncWebsocketConsumer):
    maintenance_interval_s: float = 25
    # A change committed just before a tick may carry an updated_at a little
    # older than the tick: look back this far, the seqs drop what was sent.
    catch_up_overlap_s: float = 10

    async def connect(self) -> None:
        self.closing = False
        self.joined: list[str] = []
        self.sent_seq: dict[str, int] = {}
        self.inbound = 0
        self.tasks: list[asyncio.Task] = []
        self.user = self.scope.get("user")
        self.language = language_of_scope(self.scope)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        watched = (query.get("ticket") or [""])[0][:NUMBER_MAX_LENGTH].strip().upper()
        self.view = "ticket" if watched else "list"
        self.watched = watched
        since = parse_since((query.get("since") or [""])[0][:40])
        groups = await database_sync_to_async(_groups)(self.user)
        if groups is None:
            # Accept, then refuse: a refusal before accept is an HTTP 403 that
            # browsers report as 1006, and htmx would keep retrying.
            await self.accept()
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        await self.adopt_viewer_settings()
        # Join before accepting: once the page sees the socket open, no change
        # can slip by unheard. Signing out rings the session's group.
        for group in [*groups, session_group_of(self.scope)]:
            if group is None:
                continue
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept()
        metrics.connection_opened(self, "portal")
        self.checked_at = timezone.now()
        overlap = datetime.timedelta(seconds=self.catch_up_overlap_s)
        self.sent_seq.update(
            await database_sync_to_async(_recent_seqs)(self.user, self.checked_at - overlap)
        )
        if since is not None:
            pending = await database_sync_to_async(self.rendering(_catch_up))(
                self.user, self.view, watched, since
            )
            for number, last_seq, html in pending:
                self.sent_seq[number] = last_seq
                await self.send(text_data=html)
        self.tasks.append(asyncio.create_task(self._maintenance()))

    async def adopt_viewer_settings(self) -> None:
        """The viewer's language and time zone, as their pages have them."""
        self.language, self.zone = await database_sync_to_async(viewer_settings)(
            self.user, self.scope.get("session"), self.language, has_language_cookie(self.scope)
        )

    def rendering(self, fn: Callable[..., T]) -> Callable[..., T]:
        """`fn` rendering in the page's language and the viewer's zone, not LANGUAGE_CODE and UTC."""
        return rendering_in(self.language, fn, getattr(self, "zone", ""))

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Groups may carry message types added later; an unknown one must not
        # kill the socket (the base class raises).
        if message.get("type") in {
            "websocket.connect",
            "websocket.receive",
            "websocket.disconnect",
            "ticket.changed",
            "server.shutdown",
            SESSION_ENDED,
        }:
            await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_INBOUND_BYTES:
            await self.refuse(CLOSE_TOO_BIG)
            return
        self.inbound += 1
        if self.inbound > MAX_INBOUND_FRAMES:
            await self.refuse(CLOSE_RATE_LIMITED)

    async def _maintenance(self) -> None:
        # A Redis restart forgets memberships silently
        # (docs/decisions/pitfalls.md#redis-restart): re-join on
        # a timer (group_add is idempotent), check the session still stands,
        # send what changed without a doorbell reaching us (a failed publish,
        # a full channel, Redis down), and send a comment as a heartbeat that
        # idle proxies see as traffic (htmx swaps nothing for it).
        async for _ in spread_ticks(self.maintenance_interval_s):
            if self.closing:
                return
            try:
                if not await self.maintenance_tick():
                    await self.refuse(CLOSE_UNAUTHENTICATED)
                    return
                for group in self.joined:
                    await self.channel_layer.group_add(group, self.channel_name)
                await self.send(text_data="<!-- heartbeat -->")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("portal socket maintenance failed", exc_info=True)

    async def maintenance_tick(self) -> bool:
        """Send what changed since the last tick; False once the session has ended."""
        started = timezone.now()
        since = self.checked_at - datetime.timedelta(seconds=self.catch_up_overlap_s)
        pending = await database_sync_to_async(self.rendering(_maintenance_pass))(
            self.scope.get("session"), self.user, self.view, self.watched, since
        )
        if pending is None:
            return False
        self.checked_at = started
        for number, last_seq, html in pending:
            if last_seq > self.sent_seq.get(number, 0) and not self.closing:
                self.sent_seq[number] = last_seq
                await self.send(text_data=html)
        return True

    async def ticket_changed(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        number = message.get("ticket")
        seq = message.get("seq")
        if not isinstance(number, str) or not isinstance(seq, int):
            return
        if self.view == "ticket" and number != self.watched:
            return
        if seq <= self.sent_seq.get(number, 0):
            return
        # The viewer's other sockets on this worker (tabs) share one render,
        # access check included, begun within the last second for a doorbell
        # of this change or a later one (so it read this change).
        key = (self.user.pk, number, self.view, self.language, getattr(self, "zone", ""))
        shared = _recent_pushes.get(key)
        if shared is None or shared[1] < seq or time.monotonic() - shared[0] > FRAGMENT_REUSE_S:
            if len(_recent_pushes) >= FRAGMENTS_KEPT:
                _recent_pushes.clear()
            shared = _recent_pushes[key] = (
                time.monotonic(),
                seq,
                asyncio.ensure_future(self._render_push(number)),
            )
        rendered = await asyncio.shield(shared[2])
        if rendered is None or self.closing:
            return
        last_seq, html = rendered
        if last_seq <= self.sent_seq.get(number, 0):
            return
        self.sent_seq[number] = last_seq
        await self.send(text_data=html)

    async def _render_push(self, number: str) -> tuple[int, str] | None:
        try:
            # In the thread pool on PostgreSQL (`hot_path`): a change watched by
            # many sockets makes as many access checks, which wait for the
            # database side by side instead of in turn on the one sync thread.
            rendered = await hot_path(_push)(
                self.language, getattr(self, "zone", ""), self.user, number, self.view
            )
        except Exception:
            logger.exception("portal push for %s failed", number)
            return None
        return rendered
