"""What Chatportal mails: ticket notifications, portal sign-in links, agent alerts.

This module composes; `tickets.notifications.outbox` stores and `tickets.email.sending`
sends. A notification is composed in the transaction of its event
(`tickets.notifications.outbox.notify_customer_on_commit`), so it says what happened
then, and goes into the outbox with it: a rolled-back reply mails nobody, and
a relay that is down, slow or hanging never holds up or fails the request.

Every mail of a ticket threads as one conversation: the subject is always
`[T-1001] <ticket subject>` (the event goes in the body), and References /
In-Reply-To name the ticket's root Message-ID. Replies thread back by
address too: the Reply-To is `support+<reply_token>@domain` (from
DEFAULT_FROM_EMAIL, or CHATPORTAL_SUPPORT_ADDRESS), which `tickets.email.inbound`
reads. Every mail is marked automatic so vacation responders stay quiet.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from dataclasses import dataclass, field
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from foundation.public_url import offline_base
from tickets import customers, links, rating
from tickets.models import (
    Ticket,
    TicketEvent,
    customer_status_label,
    message_text_for_display,
)

if TYPE_CHECKING:
    from crm.models import Contact

logger = logging.getLogger(__name__)

# What RFC 3834 responders, Exchange/Outlook and list software honour: no
# out-of-office or auto-reply to a notification (which tickets.email.inbound would file).
AUTOMATIC_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "OOF, AutoReply",
    "Precedence": "bulk",
}

# Events a customer hears about by e-mail; everything else (notes, SLA
# clocks, assignments, their own replies) stays quiet.
NOTIFYING_KINDS = frozenset({TicketEvent.Kind.REPLY, TicketEvent.Kind.STATUS})


def support_address() -> str:
    configured = getattr(settings, "CHATPORTAL_SUPPORT_ADDRESS", "") or settings.DEFAULT_FROM_EMAIL
    return parseaddr(configured)[1] or "support@chatportal.localhost"


def reply_address(ticket: Ticket) -> str:
    local, _at, domain = support_address().partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{ticket.reply_token}@{domain}"


def portal_url(path: str = "/portal/") -> str:
    return offline_base() + path


def ticket_url(ticket: Ticket) -> str:
    return portal_url(f"/portal/tickets/{ticket.number}/")


def customer_link(ticket: Ticket) -> str:
    """The link a mail about `ticket` carries: it signs its reader in on that ticket.

    A contact's ticket: a `ticket` link for that contact. An anonymous
    requester's: a `confirm` link for the address they typed (following it
    proves the address, `tickets.links`). Nobody's: the plain page.
    """
    if ticket.contact_id is not None:
        return links.link_url(links.TICKET, ticket.number, contact_id=ticket.contact_id)
    address = (ticket.requester_email or "").strip().lower()
    if address and "@" in address:
        return links.link_url(links.CONFIRM, ticket.number, email=address)
    return ticket_url(ticket)


def mail_domain() -> str:
    # Message-IDs name our mail domain, never the host's name (`@localhost`).
    return support_address().partition("@")[2] or "chatportal.localhost"


def new_message_id() -> str:
    return make_msgid(domain=mail_domain())


def thread_message_id(ticket: Ticket) -> str:
    # The same root Message-ID in References lets mail clients thread every
    # notification of one ticket together.
    return f"<ticket-{ticket.public_id.hex}@{mail_domain()}>"


def thread_subject(ticket: Ticket) -> str:
    """The one subject of all of a ticket's mails: clients thread by it."""
    # Collapsed whitespace: no header injection through the subject.
    return " ".join(f"[{ticket.number}] {ticket.display_subject}".split())


def contact_address(contact: Contact | None) -> str:
    if contact is None:
        return ""
    row = contact.emails.order_by("-is_primary", "email").first()
    if row is not None:
        return row.email
    user = contact.portal_user
    return user.email if user is not None and user.email else ""


def recipient_for(ticket: Ticket) -> str:
    return contact_address(ticket.contact) or ticket.requester_email


def should_notify(event: TicketEvent) -> bool:
    if event.internal or event.kind not in NOTIFYING_KINDS:
        return False
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.kind == TicketEvent.Kind.STATUS:
        # A reply's own status side effect is told by the reply (or was the
        # customer's doing); new -> open reads the same to a customer.
        if payload.get("cause") == "reply":
            return False
        return customer_status_label(str(payload.get("old", ""))) != customer_status_label(
            str(payload.get("new", ""))
        )
    # The customer wrote it: no echo of their own reply.
    return event.author_role == TicketEvent.Role.AGENT


@dataclass(frozen=True)
class ComposedEmail:
    """A mail ready for the outbox: Message-ID and Date are added by the sender."""

    to: list[str]
    subject: str
    text: str
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reply_to: list[str] = field(default_factory=list)


def _language(locale: str) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    return locale if locale in supported else settings.LANGUAGE_CODE


def asks_for_rating(event: TicketEvent) -> bool:
    """The mail that says a ticket is solved carries the one-click rating links."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    return event.kind == TicketEvent.Kind.STATUS and payload.get("new") == Ticket.Status.SOLVED


def rating_links(ticket: Ticket) -> list[dict[str, object]]:
    """One link per score (1–5), each landing on the rating page with that score chosen."""
    return [
        {"score": score, "url": portal_url(rating.rating_path(ticket, score))}
        for score in rating.SCORES
    ]


def compose_notification(ticket: Ticket, event: TicketEvent) -> ComposedEmail | None:
    """The customer's mail for one event, in their language, or None if nobody hears."""
    if not should_notify(event):
        return None
    to = recipient_for(ticket)
    if not to:
        return None
    payload = event.payload if isinstance(event.payload, dict) else {}
    # A status mail names the status its event made, not whatever the ticket is now.
    status = str(payload.get("new", "")) if event.kind == TicketEvent.Kind.STATUS else ticket.status
    locale = (ticket.contact.locale if ticket.contact else "") or settings.LANGUAGE_CODE
    with translation.override(_language(locale)):
        context = {
            "ticket": ticket,
            "event": event,
            "body": message_text_for_display(payload, kind=event.kind, channel=ticket.channel),
            "status_label": customer_status_label(status),
            "ticket_url": customer_link(ticket),
            "name": ticket.contact.first_name if ticket.contact else ticket.requester_name,
            "rating_links": rating_links(ticket) if asks_for_rating(event) else [],
        }
        text = render_to_string("tickets/email/notification.txt", context)
        html = render_to_string("tickets/email/notification.html", context)
        # A missing subject is named in the customer's language, the same in every mail.
        subject = thread_subject(ticket)
    return ComposedEmail(
        to=[to],
        subject=subject,
        text=text,
        html=html,
        reply_to=[reply_address(ticket)],
        headers={
            "References": thread_message_id(ticket),
            "In-Reply-To": thread_message_id(ticket),
            **AUTOMATIC_HEADERS,
            "X-Chatportal-Ticket": ticket.number,
        },
    )


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_time_text(moment: datetime.datetime | None, zone_name: str) -> str:
    """`moment` in the reader's zone and (active) language, the zone named: for mails."""
    if moment is None:
        return ""
    zone = _zone(zone_name)
    local = moment.astimezone(zone)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({zone.key})"


def requester_locale(ticket: Ticket) -> str:
    if ticket.contact is not None and ticket.contact.locale:
        return ticket.contact.locale
    conversation = ticket.conversation if ticket.conversation_id else None
    if conversation is not None:
        return conversation.locale or conversation.visitor.locale
    return ""


def compose_acknowledgement(ticket: Ticket) -> ComposedEmail | None:
    """The mail that tells a requester their ticket was opened, or None with no address.

    One per ticket, whatever opened it. It is the root of the ticket's mail
    thread: it goes out with `thread_message_id(ticket)` as its Message-ID,
    which every later notification names in In-Reply-To and References.
    """
    to = recipient_for(ticket)
    if not to:
        return None
    contact = ticket.contact
    zone_name = contact.time_zone if contact is not None else ""
    with translation.override(_language(requester_locale(ticket))):
        context = {
            "ticket": ticket,
            "name": contact.first_name if contact else ticket.requester_name,
            "link": customer_link(ticket),
            "confirm": contact is None,
            "due": local_time_text(ticket.first_response_due, zone_name),
        }
        text = render_to_string("tickets/email/acknowledgement.txt", context)
        html = render_to_string("tickets/email/acknowledgement.html", context)
        subject = thread_subject(ticket)
    return ComposedEmail(
        to=[to],
        subject=subject,
        text=text,
        html=html,
        reply_to=[reply_address(ticket)],
        headers={**AUTOMATIC_HEADERS, "X-Chatportal-Ticket": ticket.number},
    )


def compose_transcript(conversation: Any) -> ComposedEmail | None:
    """A chat's visible messages for its visitor, in their language; None with no address.

    Only what the visitor saw: public messages, never internal notes. Times
    in the contact's zone when there is one. A chat that became a ticket
    threads with the ticket's mails.
    """
    from chat.models import ConversationEvent  # a lower layer: tickets may read chat

    visitor = conversation.visitor
    contact = conversation.contact or (visitor.contact if visitor.contact_id else None)
    to = (visitor.email or "").strip() or contact_address(contact)
    if not to:
        return None
    messages = ConversationEvent.objects.filter(
        conversation=conversation, kind=ConversationEvent.Kind.MESSAGE, internal=False
    ).order_by("seq")
    zone = _zone(contact.time_zone if contact is not None else "")
    locale = conversation.locale or visitor.locale or (contact.locale if contact else "")
    ticket = Ticket.objects.filter(conversation=conversation).first()
    with translation.override(_language(locale)):
        lines = []
        for message in messages:
            author = message.payload.get("author") if isinstance(message.payload, dict) else None
            name = author.get("name") if isinstance(author, dict) else None
            if message.author_role == "visitor":
                name = _("You")
            lines.append(
                {
                    "name": name or _("Agent"),
                    "at": formats.date_format(message.created_at.astimezone(zone), "H:i"),
                    "body": str(message.payload.get("body", "")),
                }
            )
        context = {
            "name": contact.first_name if contact is not None else visitor.name,
            "lines": lines,
            "date": formats.date_format(conversation.created_at.astimezone(zone), "DATE_FORMAT"),
            "zone": zone.key,
            "ticket": ticket,
        }
        subject = (
            thread_subject(ticket)
            if ticket is not None
            else _("Your chat with us on %(date)s") % {"date": context["date"]}
        )
        text = render_to_string("tickets/email/transcript.txt", context)
        html = render_to_string("tickets/email/transcript.html", context)
    headers = {**AUTOMATIC_HEADERS}
    if ticket is not None:
        headers.update(
            {
                "References": thread_message_id(ticket),
                "In-Reply-To": thread_message_id(ticket),
                "X-Chatportal-Ticket": ticket.number,
            }
        )
    return ComposedEmail(
        to=[to],
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        reply_to=[reply_address(ticket) if ticket is not None else support_address()],
        headers=headers,
    )


def email_message(composed: ComposedEmail, *, message_id: str) -> EmailMultiAlternatives:
    """The Django message the backend sends, dated now."""
    message = EmailMultiAlternatives(
        subject=composed.subject,
        body=composed.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(composed.to),
        reply_to=list(composed.reply_to),
        headers={
            **composed.headers,
            "Message-ID": message_id,
            # RFC 5322 with a real offset (Django's own Date says "-0000": zone unknown).
            "Date": format_datetime(timezone.localtime()),
        },
    )
    if composed.html:
        message.attach_alternative(composed.html, "text/html")
    return message


def build_notification(ticket: Ticket, event: TicketEvent) -> EmailMultiAlternatives | None:
    """The customer's message for one event as it would be sent, or None if nobody hears."""
    composed = compose_notification(ticket, event)
    return None if composed is None else email_message(composed, message_id=new_message_id())


def compose_sign_in_link(address: str) -> ComposedEmail | None:
    """The sign-in mail for a customer's address, with a fresh link; None for anyone else."""
    user = customers.customer_for_email(address)
    if user is None:
        return None
    contact = customers.customer_contact(user)
    link = portal_url(reverse("portal_link_confirm", args=[customers.make_login_token(user)]))
    with translation.override(_language(contact.locale if contact else "")):
        context = {"link": link, "minutes": _link_minutes()}
        subject = _("Your sign-in link for the support portal")
        text = render_to_string("tickets/email/login_link.txt", context)
        html = render_to_string("tickets/email/login_link.html", context)
    return ComposedEmail(
        to=[address],
        subject=subject,
        text=text,
        html=html,
        # An answer to a sign-in mail reaches support, not a no-reply void.
        reply_to=[support_address()],
        headers=dict(AUTOMATIC_HEADERS),
    )


def _link_minutes() -> int:
    return max(1, customers.PORTAL_LINK_MAX_AGE_S // 60)
