"""Find anyone: one query box over contacts and, through registered sources, tickets.

What a query is compared with, and how each comparison stays on an index
(PostgreSQL, 100,000 contacts; see migration 0005_search_indexes and
bench/search_contacts.py):

- phone: a complete number is read the way caller identification reads it
  (crm/lookup.py: site region first, then the organizations' regions) and
  matched exactly in E.164; a partial one (`0721 23`, `+40 721`) is turned
  into an E.164 prefix and matched with `LIKE '+4072123%'`;
- e-mail: prefix of the lower-cased address;
- serial number: case-insensitive prefix (on `UPPER(serial_number)`);
- name (when the query has no digit) and organization: exact, then prefix
  (on `UPPER(name)`), then substring (pg_trgm GIN index on `UPPER(name)`)
  from four characters on, where the trigram index narrows the search down;
- ticket number and anything else of a higher app: a source registered with
  `register_search_source` (tickets registers its own in `TicketsConfig.ready()`).

Every prefix query is `WHERE x LIKE 'abc%' ORDER BY x COLLATE "C" LIMIT n`
over an index in the "C" collation: the index finds the range and gives
the order, so a two-letter prefix matching 10,000 rows reads ten of them.

Ranking: exact matches first, then prefixes, then substrings; within a tier
the field order of `FIELD_ORDER` (a phone match says more than a name that
happens to contain the query), then the name. One contact appears once,
under its best match.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers
from django.db.models import Q
from django.db.models.functions import Collate, Upper
from django.urls import reverse

from crm.lookup import iter_phone_candidates
from crm.models import Asset, Contact, ContactEmail, ContactPhone, Organization
from crm.phones import InvalidPhoneNumber, default_region, format_phone_international

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# A trigram index narrows nothing down below three characters, and with three
# (one trigram) PostgreSQL rightly prefers a sequential scan: from four on,
# a substring search is an index scan.
MIN_SUBSTRING_CHARS = 4
# Fewer digits than this is no phone number, not even the start of one.
MIN_PHONE_DIGITS = 4

EXACT, PREFIX, SUBSTRING = 0, 1, 2
FIELD_ORDER = ("ticket", "phone", "email", "serial", "name", "organization")

PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


class Bytewise(Collate):
    """`x COLLATE "C"` on PostgreSQL, the order the prefix indexes keep; SQLite
    has no "C" collation and compares bytes anyway."""

    def __init__(self, expression):
        super().__init__(expression, "C")

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.get_source_expressions()[0])


class InvalidQuery(ValueError):
    """The query is empty, too short or too long."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One thing found: a contact, or what a source finds (a ticket)."""

    kind: str  # "contact", "ticket"
    id: str  # the contact's public id, the ticket number
    title: str
    detail: str  # what matched, for people: "+40 721 234 567", "RZA-2024-0001"
    matched: str  # one of FIELD_ORDER
    tier: int  # EXACT, PREFIX, SUBSTRING
    contact_id: str | None  # the public id of the contact it belongs to
    url: str  # where the console opens it

    @property
    def rank(self) -> tuple[int, int, str]:
        field = FIELD_ORDER.index(self.matched) if self.matched in FIELD_ORDER else len(FIELD_ORDER)
        return (self.tier, field, self.title.casefold())


SearchSource = Callable[[str, "AbstractBaseUser | None", int], Iterable[SearchHit]]

_sources: dict[str, SearchSource] = {}


def register_search_source(name: str, fn: SearchSource) -> None:
    """Add (or replace) a named source: fn(query, user, limit) -> hits the user may see."""
    _sources[name] = fn


def unregister_search_source(name: str) -> None:
    _sources.pop(name, None)


def clean_query(raw: object) -> str:
    text = " ".join(str(raw or "").split())
    if len(text) < MIN_QUERY_CHARS:
        raise InvalidQuery(f"the query needs at least {MIN_QUERY_CHARS} characters")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the query may have at most {MAX_QUERY_CHARS} characters")
    return text


def contact_url(public_id: str) -> str:
    # The console's contact page (frontend/urls.py): a URL name, not an import,
    # so crm stays below frontend; every result says where the console opens it.
    return reverse("console_contact", args=[public_id])


def search(
    raw: object, *, user: AbstractBaseUser | None, limit: int = DEFAULT_LIMIT
) -> list[SearchHit]:
    """The best `limit` hits for the query, best first; raises `InvalidQuery`."""
    query = clean_query(raw)
    limit = max(1, min(int(limit), MAX_LIMIT))
    found: list[tuple[int, str, int, str]] = []  # (contact pk, field, tier, detail)
    if "@" in query:
        # Only an e-mail address has one: no name, serial or number to look for.
        found += _email_matches(query, limit)
    else:
        if PHONE_LIKE.match(query) and sum(c.isdigit() for c in query) >= MIN_PHONE_DIGITS:
            found += _phone_matches(query, limit)
        if any(c.isalnum() for c in query):
            found += _email_matches(query, limit)
            found += _serial_matches(query, limit)
        if any(c.isalpha() for c in query):
            # People's names have no digits; serials, tickets and numbers do.
            if not any(c.isdigit() for c in query):
                found += _name_matches(query, limit)
            found += _organization_matches(query, limit)
    hits = _contact_hits(found)
    for name, fn in list(_sources.items()):
        try:
            hits.extend(fn(query, user, limit))
        except Exception:
            logger.exception("search source %s failed", name)
    hits.sort(key=lambda hit: hit.rank)
    return hits[:limit]


def _contact_hits(found: list[tuple[int, str, int, str]]) -> list[SearchHit]:
    best: dict[int, tuple[int, int, str, str]] = {}
    for pk, field, tier, detail in found:
        key = (tier, FIELD_ORDER.index(field), field, detail)
        if pk not in best or key < best[pk]:
            best[pk] = key
    if not best:
        return []
    contacts = Contact.objects.filter(pk__in=best).values_list(
        "pk", "public_id", "name", "organization__name"
    )
    hits = []
    for pk, uuid, name, organization in contacts:
        tier, _, field, detail = best[pk]
        public_id = str(uuid)
        if field != "organization" and organization:
            detail = f"{detail} · {organization}" if detail else organization
        hits.append(
            SearchHit(
                kind="contact",
                id=public_id,
                title=name,
                detail=detail,
                matched=field,
                tier=tier,
                contact_id=public_id,
                url=contact_url(public_id),
            )
        )
    return hits


# --- phones ---------------------------------------------------------------------------


def _phone_matches(query: str, limit: int) -> list[tuple[int, str, int, str]]:
    try:
        for candidate in iter_phone_candidates(query):
            phones = ContactPhone.objects.filter(number=candidate.number)
            if candidate.region is not None:
                phones = phones.filter(
                    contact__organization__default_region__iexact=candidate.region
                )
            rows = list(phones.values_list("contact_id", "number")[:limit])
            if rows:
                return [
                    (pk, "phone", EXACT, format_phone_international(number)) for pk, number in rows
                ]
    except InvalidPhoneNumber:
        pass  # not a complete number: perhaps the start of one
    prefix = phone_prefix(query)
    if prefix is None:
        return []
    rows = (
        ContactPhone.objects.filter(number__startswith=prefix)
        .order_by(Bytewise("number"))
        .values_list("contact_id", "number")[:limit]
    )
    return [(pk, "phone", PREFIX, format_phone_international(number)) for pk, number in rows]


def phone_prefix(query: str) -> str | None:
    """The E.164 start of a partial number: `0721 23` -> `+4072123` (site region)."""
    digits = "".join(c for c in query if c.isdigit())
    text = query.strip()
    if text.startswith("+"):
        return "+" + digits
    if text.startswith("00"):
        return "+" + digits[2:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(default_region())
    national_prefix = metadata.national_prefix if metadata is not None else None
    if metadata is None or not national_prefix or not digits.startswith(national_prefix):
        return None
    return f"+{metadata.country_code}{digits[len(national_prefix) :]}"


# --- e-mails, serial numbers, names ---------------------------------------------------


def _email_matches(query: str, limit: int) -> list[tuple[int, str, int, str]]:
    needle = query.lower()
    if " " in needle:
        return []
    rows = (
        ContactEmail.objects.filter(email__startswith=needle)
        .order_by(Bytewise("email"))
        .values_list("contact_id", "email")[:limit]
    )
    return [(pk, "email", EXACT if email == needle else PREFIX, email) for pk, email in rows]


def _serial_matches(query: str, limit: int) -> list[tuple[int, str, int, str]]:
    needle = query.upper()
    if " " in needle:
        return []
    rows = (
        Asset.objects.annotate(serial_upper=Upper("serial_number"))
        .filter(serial_upper__startswith=needle)
        .filter(Q(contact__isnull=False) | Q(organization__isnull=False))
        .order_by(Bytewise(Upper("serial_number")))
        .values_list("contact_id", "organization_id", "serial_number")[:limit]
    )
    found = []
    organizations: dict[int, tuple[int, str]] = {}
    for contact_id, organization_id, serial in rows:
        tier = EXACT if serial.upper() == needle else PREFIX
        if contact_id is not None:
            found.append((contact_id, "serial", tier, serial))
        else:
            organizations.setdefault(organization_id, (tier, serial))
    # A unit of the organization as a whole: whoever looks after it there.
    for contact_id, organization_id in _organization_people(organizations, limit):
        tier, serial = organizations[organization_id]
        found.append((contact_id, "serial", tier, serial))
    return found


def _name_matches(query: str, limit: int) -> list[tuple[int, str, int, str]]:
    needle = query.upper()
    rows = _ranked_names(Contact.objects.all(), needle, limit)
    return [(pk, "name", tier, "") for pk, tier, _ in rows]


def _organization_matches(query: str, limit: int) -> list[tuple[int, str, int, str]]:
    needle = query.upper()
    organizations = {
        pk: (tier, name)
        for pk, tier, name in _ranked_names(Organization.objects.all(), needle, limit)
    }
    return [
        (
            contact_id,
            "organization",
            organizations[organization_id][0],
            organizations[organization_id][1],
        )
        for contact_id, organization_id in _organization_people(organizations, limit)
    ]


def _ranked_names(rows, needle: str, limit: int) -> list[tuple[int, int, str]]:
    """(pk, tier, name) of rows whose name equals, starts with or contains `needle`."""
    named = rows.annotate(name_upper=Upper("name"))
    found = [
        (pk, EXACT if upper == needle else PREFIX, name)
        for pk, name, upper in named.filter(name_upper__startswith=needle)
        .order_by(Bytewise(Upper("name")), "pk")
        .values_list("pk", "name", "name_upper")[:limit]
    ]
    if len(found) < limit and len(needle) >= MIN_SUBSTRING_CHARS:
        seen = [pk for pk, _, _ in found]
        # No ORDER BY: any order would let PostgreSQL walk that order's index and
        # filter, reading the whole table when few rows match. The final ranking
        # sorts these by name.
        found += [
            (pk, SUBSTRING, name)
            for pk, name in named.filter(name_upper__contains=needle)
            .exclude(pk__in=seen)
            .order_by()
            .values_list("pk", "name")[: limit - len(found)]
        ]
    return found


def _organization_people(organizations: dict[int, object], limit: int) -> list[tuple[int, int]]:
    """(contact pk, organization pk) of the organizations' people, admins first."""
    if not organizations:
        return []
    return list(
        Contact.objects.filter(organization_id__in=list(organizations))
        .order_by("-is_organization_admin", "pk")
        .values_list("pk", "organization_id")[:limit]
    )
