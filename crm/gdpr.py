"""GDPR: everything about one contact, exported as JSON or erased (anonymized).

crm sits at the bottom of the import chain, so it cannot read chats or
tickets itself. Each app registers its part from `AppConfig.ready()`
(the pattern of crm/timeline.py):

    register_gdpr_part("chat", export=export_chats, erase=erase_chats)

`export(contact)` returns JSON-ready data; `erase(contact)` anonymizes in the
caller's transaction and returns counts. `export_contact` adds the CRM record
(identity, e-mails, phones, assets, calls, erasure); `erase_contact` runs
every part's erase and then clears the contact's own personal fields, in one
transaction, and keeps a `ContactErasure` record. Erasing is idempotent: a
second run changes nothing more and keeps the first record. Rows stay (the
contact, its conversations, tickets and calls, with their times, states and
scores) so that KPI counts do not change; what identifies or describes the
person goes: names, e-mail addresses, phone numbers, message bodies, subjects,
comments, page addresses, file contents and names, the portal login, the
links from the host site's visitors.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from foundation.timestamps import iso_timestamp

if TYPE_CHECKING:
    from crm.models import Contact, ContactErasure

FORMAT = 1
REDACTED = "[erased]"
# String values under these keys, anywhere in an event payload, are personal.
REDACTED_KEYS = frozenset(
    {
        "body",
        "subject",
        "comment",
        "filename",
        "email",
        "phone",
        "url",
        "title",
        "page_url",
        "page_title",
        "reason",
        "requester_name",
        "requester_email",
        "from",
        "to_address",
    }
)
# In an author or transcript line of these roles, the name is the person's.
PERSON_ROLES = frozenset({"visitor", "customer"})

GdprExport = Callable[["Contact"], Any]
GdprErase = Callable[["Contact"], dict[str, int]]


@dataclass(frozen=True)
class GdprPart:
    export: GdprExport
    erase: GdprErase


_parts: dict[str, GdprPart] = {}


class ContactNotFound(LookupError):
    pass


def register_gdpr_part(name: str, *, export: GdprExport, erase: GdprErase) -> None:
    """Add (or replace, so a repeated `ready()` is harmless) a named part."""
    _parts[name] = GdprPart(export=export, erase=erase)


def iso(value: datetime.datetime | datetime.date | None) -> str | None:
    """Exports hold optional dates as well as moments; moments as on the wire."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return iso_timestamp(value)
    return value.isoformat()


def event_record(event: Any) -> dict[str, Any]:
    """A conversation or ticket event as exported: both logs share this shape."""
    return {
        "seq": event.seq,
        "kind": event.kind,
        "at": iso(event.created_at),
        "author_role": event.author_role,
        "internal": event.internal,
        **event.payload,
    }


def attachment_record(attachment: Any) -> dict[str, Any]:
    """A chat or ticket attachment's metadata as exported (never its bytes)."""
    return {
        "id": str(attachment.public_id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "internal": attachment.internal,
        "at": iso(attachment.created_at),
    }


def redact_payload(value: Any, *, author_role: str = "") -> Any:
    """The payload with personal strings replaced (structure, ids and numbers kept).

    `author_role` is the event row's: for the person's own events, the author
    named in the payload (a string or `{"name": ...}`) is the person too.
    """
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    if not isinstance(value, dict):
        return value
    person = value.get("role") in PERSON_ROLES or author_role in PERSON_ROLES
    redacted: dict[str, Any] = {}
    for key, item in value.items():
        if key in REDACTED_KEYS and isinstance(item, str) and item:
            redacted[key] = REDACTED
        elif key in {"name", "author"} and person and isinstance(item, str):
            redacted[key] = None
        elif key == "author" and person and isinstance(item, dict):
            redacted[key] = (
                {**redact_payload(item), "name": None} if "name" in item else redact_payload(item)
            )
        else:
            redacted[key] = redact_payload(item)
    return redacted


def find_contact(reference: str) -> Contact:
    """A contact by public id, e-mail address or external id."""
    from crm.models import Contact, ContactEmail

    reference = reference.strip()
    if not reference:
        raise ContactNotFound("give a contact id, e-mail address or external id")
    try:
        public_id = uuid.UUID(reference)
    except ValueError:
        public_id = None
    if public_id is not None:
        contact = Contact.objects.filter(public_id=public_id).first()
    elif "@" in reference:
        email = (
            ContactEmail.objects.filter(email=reference.lower()).select_related("contact").first()
        )
        contact = email.contact if email else None
    else:
        contact = Contact.objects.filter(external_id=reference).first()
    if contact is None:
        raise ContactNotFound(f"no contact matches {reference!r}")
    return contact


def crm_record(contact: Contact) -> dict[str, Any]:
    organization = contact.organization
    erasure = getattr(contact, "erasure", None) if contact.pk else None
    return {
        "id": str(contact.public_id),
        "name": contact.name,
        "external_id": contact.external_id,
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "organization": {"id": str(organization.public_id), "name": organization.name}
        if organization
        else None,
        "is_organization_admin": contact.is_organization_admin,
        "account_owner": contact.account_owner.get_username() if contact.account_owner else None,
        "portal_login": contact.portal_user.get_username() if contact.portal_user else None,
        "emails": [{"email": e.email, "is_primary": e.is_primary} for e in contact.emails.all()],
        "phones": [
            {"number": p.number, "label": p.label, "is_primary": p.is_primary}
            for p in contact.phones.all()
        ],
        "assets": [
            {
                "product": asset.product.name,
                "serial_number": asset.serial_number,
                "purchase_date": iso(asset.purchase_date),
                "warranty_end": iso(asset.warranty_end),
            }
            for asset in contact.assets.select_related("product").order_by("serial_number")
        ],
        "calls": [
            {
                "id": str(call.public_id),
                "phone": call.phone,
                "direction": call.direction,
                "started_at": iso(call.started_at),
                "duration_s": call.duration_s,
                "agent": call.agent.get_username() if call.agent else None,
                "note": call.note,
            }
            for call in contact.calls.select_related("agent").order_by("started_at")
        ],
        "created_at": iso(contact.created_at),
        "erased_at": iso(erasure.erased_at) if erasure else None,
    }


def export_contact(contact: Contact) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": iso(datetime.datetime.now(tz=datetime.UTC)),
        "contact": crm_record(contact),
    }
    for name, part in sorted(_parts.items()):
        data[name] = part.export(contact)
    return data


def _erase_crm_record(contact: Contact) -> dict[str, int]:
    counts = {
        "emails": contact.emails.count(),
        "phones": contact.phones.count(),
    }
    contact.emails.all().delete()
    contact.phones.all().delete()
    counts["calls"] = contact.calls.exclude(phone="", note="").update(phone="", note="")
    # The asset belongs to the organization (its warranty still matters); the person goes.
    counts["assets_unlinked"] = contact.assets.update(contact=None)
    user = contact.portal_user
    if user is not None:
        user.username = f"erased-{uuid.uuid4().hex[:20]}"
        user.email = ""
        user.first_name = ""
        user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        counts["portal_logins"] = 1
    contact.portal_user = None
    contact.name = f"Erased contact {str(contact.public_id)[:8]}"
    contact.external_id = None
    contact.account_owner = None
    contact.save()
    return counts


@transaction.atomic
def erase_contact(contact: Contact, *, by: str) -> tuple[ContactErasure, bool]:
    """Anonymize the contact everywhere; (the erasure record, whether it was created now)."""
    from crm.models import Contact, ContactErasure

    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    summary: dict[str, Any] = {}
    for name, part in sorted(_parts.items()):
        summary[name] = part.erase(contact)
    summary["crm"] = _erase_crm_record(contact)
    erasure, created = ContactErasure.objects.get_or_create(
        contact=contact, defaults={"erased_by": by[:150] or "unknown", "summary": summary}
    )
    return erasure, created
