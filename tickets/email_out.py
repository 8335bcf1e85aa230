"""E-mail to customers: ticket notifications and portal sign-in links.

Everything goes through Django's mail API, so the deployment picks the
backend (SMTP, console, a file, locmem in tests). Notifications are sent
after the commit (`notify_customer_on_commit`): a rolled-back reply never
mails anyone, and a mail server that is down never fails the request that
committed the reply (the failure is logged).

Replies thread back by address: the Reply-To is `support+<reply_token>@domain`
(from DEFAULT_FROM_EMAIL, or CHATPORTAL_SUPPORT_ADDRESS), which
`tickets.email_in` reads; the subject also carries `[T-1001]`.
"""

from __future__ import annotations

import logging
from email.utils import make_msgid, parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from chatportal.public_url import offline_base
from tickets.models import Ticket, TicketEvent, customer_status_label

if TYPE_CHECKING:
    from crm.models import Contact

logger = logging.getLogger(__name__)

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


def thread_message_id(ticket: Ticket) -> str:
    # The same root Message-ID in References lets mail clients thread every
    # notification of one ticket together.
    return f"<ticket-{ticket.public_id.hex}@{support_address().partition('@')[2] or 'chatportal'}>"


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


def build_notification(ticket: Ticket, event: TicketEvent) -> EmailMultiAlternatives | None:
    """The message for one event, in the contact's language, or None if nobody hears."""
    if not should_notify(event):
        return None
    to = recipient_for(ticket)
    if not to:
        return None
    locale = (ticket.contact.locale if ticket.contact else "") or settings.LANGUAGE_CODE
    supported = {code for code, _name in settings.LANGUAGES}
    with translation.override(locale if locale in supported else settings.LANGUAGE_CODE):
        context = {
            "ticket": ticket,
            "event": event,
            "body": str((event.payload or {}).get("body", "")),
            "status_label": customer_status_label(ticket.status),
            "ticket_url": ticket_url(ticket),
            "name": ticket.contact.first_name if ticket.contact else ticket.requester_name,
        }
        if event.kind == TicketEvent.Kind.REPLY:
            subject = _("[%(number)s] New reply: %(subject)s")
        else:
            subject = _("[%(number)s] %(status)s: %(subject)s")
        subject = subject % {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": context["status_label"],
        }
        text = render_to_string("tickets/email/notification.txt", context)
        html = render_to_string("tickets/email/notification.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # no header injection through the subject
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_address(ticket)],
        headers={
            "Message-ID": make_msgid(domain=support_address().partition("@")[2] or None),
            "References": thread_message_id(ticket),
            "In-Reply-To": thread_message_id(ticket),
            # Vacation responders must not answer (and loop with email_in).
            "Auto-Submitted": "auto-generated",
            "X-Chatportal-Ticket": ticket.number,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def notify_customer(ticket: Ticket, event: TicketEvent) -> bool:
    """Send the notification for `event` now; True if a message went out."""
    message = build_notification(ticket, event)
    if message is None:
        return False
    try:
        message.send()
    except Exception:
        logger.exception("notification for %s #%s not sent", ticket.number, event.seq)
        return False
    return True


def notify_customer_on_commit(ticket: Ticket, event: TicketEvent) -> None:
    """For actions: mail the customer once the transaction holding `event` commits."""
    if not should_notify(event):
        return
    ticket_pk, event_pk = ticket.pk, event.pk

    def send() -> None:
        # Re-read: the action may have changed the ticket after appending.
        fresh = Ticket.objects.select_related("contact").filter(pk=ticket_pk).first()
        fresh_event = TicketEvent.objects.filter(pk=event_pk).first()
        if fresh is not None and fresh_event is not None:
            notify_customer(fresh, fresh_event)

    transaction.on_commit(send, robust=True)


def send_login_link(to: str, *, link: str, locale: str = "") -> None:
    supported = {code for code, _name in settings.LANGUAGES}
    with translation.override(locale if locale in supported else settings.LANGUAGE_CODE):
        context = {"link": link, "minutes": _link_minutes()}
        subject = _("Your sign-in link for the support portal")
        text = render_to_string("tickets/email/login_link.txt", context)
        html = render_to_string("tickets/email/login_link.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()


def _link_minutes() -> int:
    from tickets.portal_auth import PORTAL_LINK_MAX_AGE_S

    return max(1, PORTAL_LINK_MAX_AGE_S // 60)
