"""What the knowledge base adds to a ticket's console page (registered in KbConfig.ready)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.translation import gettext as _

from kb.actions import SOLVED_STATUSES
from tickets.console.page_links import TicketPageLink
from tickets.models import Ticket


def article_links(ticket: Ticket, viewer: AbstractBaseUser) -> list[TicketPageLink]:
    # Articles come from solved tickets: an open ticket's page costs no query here.
    if ticket.status not in SOLVED_STATUSES:
        return []
    links = [
        TicketPageLink(
            _("Article: %(title)s") % {"title": article.title},
            reverse("console_kb_article", args=[article.public_id]),
        )
        for article in ticket.kb_articles.order_by("locale", "title")
    ]
    url = reverse("console_kb_new") + "?" + urlencode({"ticket": ticket.number})
    return [TicketPageLink(_("Create article from this ticket"), url, "action"), *links]
