"""The contact a link request names: shared by the chat and ticket link endpoints.

`{"contact": "<id>"}` names an existing contact; `{"new_contact": {…}}` asks
for one made from what the visitor typed (the caller's action does that).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.models import Contact
from crm.record import contact_by_public_id
from crm.schemas import ContactLinkIn


class BadLinkRequest(ValueError):
    """Neither or both of `contact` and `new_contact`, or an unknown contact."""


@dataclass(frozen=True)
class LinkRequest:
    contact: Contact | None  # None: make one from `prefill`
    prefill: dict[str, str]


def link_request(payload: ContactLinkIn) -> LinkRequest:
    if (payload.contact is None) == (payload.new_contact is None):
        raise BadLinkRequest("give exactly one of contact and new_contact")
    if payload.contact is not None:
        contact = contact_by_public_id(payload.contact)
        if contact is None:
            raise BadLinkRequest("unknown contact")
        return LinkRequest(contact=contact, prefill={})
    new = payload.new_contact
    assert new is not None
    return LinkRequest(
        contact=None, prefill={"name": new.name, "email": new.email, "phone": new.phone}
    )
