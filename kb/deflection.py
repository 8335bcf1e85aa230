"""Self-service counts: what the widget suggests, what solved a chat, what the portal read.

Wired into chat from KbConfig.ready(): `suggest_for_chat` is chat's
suggestion source, `count_deflection` its deflection listener.

A portal deflection: a customer opens an article suggested while typing a
new ticket's subject (a `PortalArticleRead`) and sends no ticket within the
window after it. Reads are stored as they happen; whether one deflected is
a query over reads and tickets, so a ticket sent later in the window still
cancels it and nothing needs a timer.
"""

from __future__ import annotations

import datetime
import html
import uuid

from django.db.models import Exists, F, OuterRef, QuerySet
from django.urls import reverse
from django.utils.html import strip_tags

from crm.models import Contact
from kb.models import Article, Locale, PortalArticleRead
from kb.search import ArticleHit, search_articles
from tickets.models import Ticket

PORTAL_DEFLECTION_WINDOW = datetime.timedelta(hours=24)


def kb_locale(locale: str) -> str:
    code = (locale or "")[:2].lower()
    return code if code in Locale.values else Locale.EN


def hit_json(hit: ArticleHit) -> dict[str, str]:
    article = hit.article
    return {
        "id": str(article.public_id),
        "title": article.title,
        "url": reverse("kb_embed", args=[article.public_id]),
        # Plain text: the widget renders it as a text node.
        "snippet": html.unescape(strip_tags(hit.snippet_html)),
    }


def suggest_for_chat(text: str, locale: str, department_id: int | None) -> list[dict[str, str]]:
    hits = search_articles(text, locale=kb_locale(locale), department_id=department_id, limit=3)
    found = [hit_json(hit) for hit in hits]
    if found:
        Article.objects.filter(public_id__in=[a["id"] for a in found]).update(
            suggested_count=F("suggested_count") + 1
        )
    return found


def count_deflection(article_id: uuid.UUID) -> None:
    Article.objects.filter(public_id=article_id).update(deflection_count=F("deflection_count") + 1)


def record_portal_read(article: Article, contact: Contact) -> PortalArticleRead:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    return PortalArticleRead.objects.create(article=article, contact=contact)


def portal_deflections(
    *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> QuerySet[PortalArticleRead]:
    """Reads not followed by a ticket from the same customer within the window."""
    reads = PortalArticleRead.objects.all()
    if since is not None:
        reads = reads.filter(read_at__gte=since)
    if until is not None:
        reads = reads.filter(read_at__lt=until)
    ticket_after = Ticket.objects.filter(
        contact_id=OuterRef("contact_id"),
        created_at__gte=OuterRef("read_at"),
        created_at__lt=OuterRef("read_at") + PORTAL_DEFLECTION_WINDOW,
    )
    return reads.exclude(Exists(ticket_after))
