"""Links that apps above tickets add to a ticket's console page.

The knowledge base (a higher layer) offers "Create article from this ticket"
and lists the articles that answer it; tickets cannot import it, so it
registers a source here at start-up (`KbConfig.ready`), like crm's timeline
sources. A source gets the ticket and the viewer and returns its links.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser

from tickets.models import Ticket


class TicketPageLink(NamedTuple):
    label: str
    url: str
    # "action" (a button-like link) or "related" (something the ticket led to).
    kind: str = "related"


LinkSource = Callable[[Ticket, AbstractBaseUser], list[TicketPageLink]]
_sources: dict[str, LinkSource] = {}


def register_ticket_page_links(name: str, source: LinkSource) -> None:
    _sources[name] = source


def ticket_page_links(ticket: Ticket, viewer: AbstractBaseUser) -> list[TicketPageLink]:
    links: list[TicketPageLink] = []
    for source in _sources.values():
        links.extend(source(ticket, viewer))
    return links
