"""Signed portal links bound to one ticket: the way in without a password.

Three kinds, each a `django.core.signing` token under its own salt (a
token of one kind is never read as another) with its own lifetime:

- `ticket`: put in every mail about a ticket to a contact (the
  acknowledgement, the notifications). It names the contact and the
  ticket number; following it signs the browser in as that contact's
  portal user and opens that ticket. Not one-time: a customer clicks the
  same notification again next week. Lifetime
  `CHATPORTAL_TICKET_LINK_MAX_AGE_S` (7 days).
- `widget`: the same binding, handed to an identified (JWT) widget
  visitor in the chat's `ticket` event. Short-lived:
  `CHATPORTAL_WIDGET_LINK_MAX_AGE_S` (15 minutes).
- `confirm`: mailed to an anonymous requester who typed an e-mail address
  (the widget's e-mail field, the offline form). It names the address and
  the ticket; following it proves the address is theirs, so the ticket
  becomes the contact's that has the address (created if none has), and
  opens it. Lifetime `CHATPORTAL_TICKET_LINK_MAX_AGE_S`.

The number is in the URL as well as in the token, and they must agree: a
link edited to name another ticket, a forged or expired one, reads as None
(the link-invalid page), never as someone else's ticket.

Domain, below the actions: outbound mail and the chat conversion make
links, the portal view (`tickets.portal.views.portal_ticket_link`) reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from foundation.public_url import offline_base
from tickets.access import normalize_number
from tickets.errors import TicketNotFound

TICKET = "ticket"
WIDGET = "widget"
CONFIRM = "confirm"
PURPOSES = (TICKET, WIDGET, CONFIRM)
MAX_TOKEN_CHARS = 400


def max_age_s(purpose: str) -> int:
    if purpose == WIDGET:
        return int(getattr(settings, "CHATPORTAL_WIDGET_LINK_MAX_AGE_S", 15 * 60))
    return int(getattr(settings, "CHATPORTAL_TICKET_LINK_MAX_AGE_S", 7 * 24 * 3600))


def _signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"tickets.links.{purpose}")


@dataclass(frozen=True)
class TicketLink:
    purpose: str
    number: str
    contact_id: int | None = None
    email: str = ""


def make_token(purpose: str, number: str, *, contact_id: int = 0, email: str = "") -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    data: dict[str, object] = {"p": purpose, "t": number}
    if purpose == CONFIRM:
        data["e"] = email.strip().lower()
    else:
        data["c"] = contact_id
    return _signer(purpose).sign_object(data, compress=True)


def read_token(token: str, number: str) -> TicketLink | None:
    """What a link grants, or None: forged, expired, or naming another ticket than `number`."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        number = normalize_number(number)
    except TicketNotFound:
        return None
    for purpose in PURPOSES:
        try:
            data = _signer(purpose).unsign_object(token, max_age=max_age_s(purpose))
        except (signing.BadSignature, ValueError, TypeError):
            continue
        if not isinstance(data, dict) or data.get("p") != purpose or data.get("t") != number:
            return None
        if purpose == CONFIRM:
            email = data.get("e")
            if not isinstance(email, str) or "@" not in email:
                return None
            return TicketLink(purpose, number, email=email)
        contact_id = data.get("c")
        if not isinstance(contact_id, int) or isinstance(contact_id, bool) or contact_id <= 0:
            return None
        return TicketLink(purpose, number, contact_id=contact_id)
    return None


def link_path(purpose: str, number: str, *, contact_id: int = 0, email: str = "") -> str:
    token = make_token(purpose, number, contact_id=contact_id, email=email)
    return reverse("portal_ticket_link", args=[number, token])


def link_url(purpose: str, number: str, *, contact_id: int = 0, email: str = "") -> str:
    return offline_base() + link_path(purpose, number, contact_id=contact_id, email=email)
