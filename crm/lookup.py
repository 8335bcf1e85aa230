"""Caller identification: which contact is this phone number or e-mail?

How a phone number is matched:

1. A number with its own country code (`+40 …`, `0040 …`) is normalized to
   E.164 and matched against every contact's phones.
2. A local number (`0721 234 567`) means nothing without a region, and we
   cannot know the caller's organization before we found the caller. So it is
   read first in the site region (`settings.CHATPORTAL_DEFAULT_REGION`) and
   matched against every contact.
3. If that finds nobody, it is read in each other region that some
   organization has as its `default_region` (alphabetical order), and matched
   only against contacts of organizations in that region: a local number is
   local to the organization that wrote it down that way.

The first step that finds a contact wins. When several contacts share a
number, a primary phone beats a secondary one, then the oldest contact wins,
so the answer is stable.

A number that is invalid in every region tried raises `InvalidPhoneNumber`;
a valid number that nobody has gives `None`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from crm.models import Contact, ContactEmail, ContactPhone, Organization
from crm.phones import (
    InvalidPhoneNumber,
    default_region,
    is_international,
    normalize_phone,
    try_normalize_phone,
)

logger = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254


class InvalidEmail(ValueError):
    """The input is not an e-mail address."""


@dataclass(frozen=True, slots=True)
class PhoneCandidate:
    number: str  # E.164
    # None: match any contact; otherwise only contacts of organizations whose
    # default_region is this one.
    region: str | None


def iter_phone_candidates(raw: str) -> Iterator[PhoneCandidate]:
    """The readings of `raw` to try, in order (see the module docstring).

    Lazy, so that the common case (the site-region reading matches) does not
    pay for the query over organization regions.
    """
    if is_international(raw):
        yield PhoneCandidate(normalize_phone(raw), None)
        return
    site_region = default_region()
    found_any = False
    first = try_normalize_phone(raw, site_region)
    if first is not None:
        found_any = True
        yield PhoneCandidate(first, None)
    regions = (
        Organization.objects.exclude(default_region="")
        .values_list("default_region", flat=True)
        .distinct()
    )
    for region in sorted({r.upper() for r in regions} - {site_region}):
        number = try_normalize_phone(raw, region) if _known_region(region) else None
        if number is not None:
            found_any = True
            yield PhoneCandidate(number, region)
    if not found_any:
        raise InvalidPhoneNumber(f"not a valid phone number: {raw!r}")


def phone_candidates(raw: str) -> list[PhoneCandidate]:
    return list(iter_phone_candidates(raw))


def _known_region(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    contact: Contact | None
    number: str  # E.164: the reading that matched, or the first reading when none did


def match_phone(raw: str) -> PhoneMatch:
    """The contact behind `raw` (or None) and the E.164 reading used."""
    first_number: str | None = None
    for candidate in iter_phone_candidates(raw):
        first_number = first_number or candidate.number
        phones = ContactPhone.objects.filter(number=candidate.number)
        if candidate.region is not None:
            phones = phones.filter(contact__organization__default_region__iexact=candidate.region)
        phone = phones.order_by("-is_primary", "contact_id").select_related("contact").first()
        if phone is not None:
            return PhoneMatch(phone.contact, candidate.number)
    assert first_number is not None  # the iterator raises when there is no reading
    return PhoneMatch(None, first_number)


def find_contact_by_phone(raw: str) -> Contact | None:
    return match_phone(raw).contact


def normalize_email(raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidEmail("an e-mail address must be a string")
    email = raw.strip().lower()
    if not email or len(email) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("not an e-mail address")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidEmail(f"not an e-mail address: {raw!r}") from exc
    return email


def find_contact_by_email(raw: str) -> Contact | None:
    email = normalize_email(raw)
    row = ContactEmail.objects.filter(email=email).select_related("contact").first()
    return row.contact if row is not None else None


# Open tickets: the tickets app sits above crm, so it registers a source here
# from its AppConfig.ready() and the lookup asks every source.


@dataclass(frozen=True, slots=True)
class OpenTicketSummary:
    number: str  # "T-1042"
    subject: str
    status: str
    priority: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


OpenTicketsSource = Callable[[Contact], Iterable[OpenTicketSummary]]

_open_ticket_sources: dict[str, OpenTicketsSource] = {}


def register_open_tickets_source(name: str, fn: OpenTicketsSource) -> None:
    """Add (or replace) a named source of a contact's open tickets."""
    _open_ticket_sources[name] = fn


def unregister_open_tickets_source(name: str) -> None:
    _open_ticket_sources.pop(name, None)


def open_tickets(contact: Contact) -> list[OpenTicketSummary]:
    """Every source's open tickets for the contact, most recently updated first.

    A failing source is logged and skipped: identifying the caller matters
    more than the complete list.
    """
    tickets: list[OpenTicketSummary] = []
    for name, fn in list(_open_ticket_sources.items()):
        try:
            tickets.extend(fn(contact))
        except Exception:
            logger.exception("open-tickets source %s failed for contact %s", name, contact.pk)
    tickets.sort(key=lambda ticket: ticket.updated_at, reverse=True)
    return tickets


class AssetNotTheirs(LookupError):
    """No unit with this serial belongs to the contact or to their organization."""


def owned_asset(contact: Contact | None, serial_number: str):
    """The contact's (or their organization's) unit with this serial; raises `AssetNotTheirs`.

    A serial that exists but is someone else's answers the same as one that
    does not: an agent picks from the caller's units, never anybody's.
    """
    from django.db.models import Q

    from crm.models import Asset

    serial = (serial_number or "").strip()
    if contact is None or not serial:
        raise AssetNotTheirs(serial)
    owned = Q(contact=contact)
    if contact.organization_id is not None:
        owned |= Q(organization_id=contact.organization_id)
    asset = Asset.objects.filter(owned, serial_number=serial).select_related("product").first()
    if asset is None:
        raise AssetNotTheirs(serial)
    return asset


# The console's "Link to customer" box: a short, simple lookup (the full search is elsewhere).

MIN_QUERY_LENGTH = 2


def find_contacts(query: str, *, limit: int = 10) -> list[Contact]:
    """Contacts whose name or e-mail contains `query`, or who have this phone number.

    A query that reads as a phone number (in any format `match_phone` reads)
    finds its contact first; then names and e-mail addresses that contain it.
    """
    query = " ".join((query or "").split())[:MAX_EMAIL_LENGTH]
    if len(query) < MIN_QUERY_LENGTH:
        return []
    found: list[Contact] = []
    if any(ch.isdigit() for ch in query):
        try:
            by_phone = match_phone(query).contact
        except InvalidPhoneNumber:
            by_phone = None
        if by_phone is not None:
            found.append(by_phone)
    others = (
        Contact.objects.filter(Q(name__icontains=query) | Q(emails__email__icontains=query.lower()))
        .exclude(pk__in=[c.pk for c in found])
        .select_related("organization")
        .distinct()
        .order_by("name", "pk")[: max(0, limit - len(found))]
    )
    return found + list(others)
