"""Whose zone and language a page is rendered in: an agent's profile or a customer's contact.

One query for an agent, two for a customer, none for anyone signed out.
`queues` is the lowest app that knows both kinds of viewer (agents here,
contacts in `crm`); the middleware (chatportal) and the sockets (tickets)
ask it the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.models import Contact
from foundation.time_zones import is_unknown_zone, is_valid_zone, supported_language
from queues.models import AgentProfile


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: str  # "agent", "customer" or "" (signed out, or staff without a profile)
    time_zone: str  # a valid IANA name, or "" when nobody set one
    language: str  # a language the site offers, or "" for the browser's

    @property
    def zone_unknown(self) -> bool:
        """The browser's zone should fill this in (the page then reports it)."""
        return bool(self.kind) and not self.time_zone


NOBODY = Viewer(kind="", time_zone="", language="")


def _zone(name: str) -> str:
    return name if not is_unknown_zone(name) and is_valid_zone(name) else ""


def viewer_of(user: Any) -> Viewer:
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    profile = AgentProfile.objects.filter(user=user).values("time_zone", "language").first()
    if profile is not None:
        return Viewer(
            kind="agent",
            time_zone=_zone(profile["time_zone"]),
            language=supported_language(profile["language"]),
        )
    if user.is_staff or user.is_superuser:
        return NOBODY
    contact = Contact.objects.filter(portal_user=user).values("time_zone", "locale").first()
    if contact is None:
        return NOBODY
    return Viewer(
        kind="customer",
        time_zone=_zone(contact["time_zone"]),
        language=supported_language(contact["locale"]),
    )


# The zone the browser reported for this session (frontend.views_viewer), used
# while the profile or contact has none.
SESSION_BROWSER_ZONE = "viewer_browser_zone"


def browser_zone_of(session: Any) -> str:
    zone = session.get(SESSION_BROWSER_ZONE, "") if session is not None else ""
    return zone if is_valid_zone(zone) else ""


def zone_of(viewer: Viewer, session: Any) -> str:
    """The zone to render in: the stored one, else the browser's, else "" (UTC)."""
    if viewer is NOBODY:
        return ""
    return viewer.time_zone or browser_zone_of(session)
