"""Time zones and languages of whoever is looking: the names we accept and how a zone reads.

A zone is an IANA name (`Europe/Bucharest`) known to `zoneinfo` on this
machine; anything else (a browser's typo, an abbreviation like `EEST`, an
offset) is refused, never guessed. "UTC" and blank are what a record holds
before anyone knew better: `is_unknown_zone` says so, and the browser's
zone may then replace them. Kept free of app imports so every layer can
use it (the middleware, the sockets, the template tags).
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings

MAX_ZONE_LENGTH = 64
UNKNOWN_ZONES = frozenset({"", "UTC"})


@functools.cache
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def zone_choices() -> tuple[str, ...]:
    """The zones an agent may pick, sorted; the legacy aliases (`US/Eastern`, `EST5EDT`) left out."""
    regional = (
        name
        for name in available_zones()
        if "/" in name and not name.startswith(("Etc/", "US/", "SystemV/"))
    )
    return (*sorted(regional), "UTC")


def is_valid_zone(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_LENGTH and name in available_zones()


def is_unknown_zone(name: str | None) -> bool:
    return (name or "").strip() in UNKNOWN_ZONES


def zone_or_utc(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone a stored name means; UTC for blank or for a name this machine does not know."""
    if name and is_valid_zone(name):
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def city_of_zone(name: str) -> str:
    """`Asia/Vladivostok` -> `Vladivostok`, `America/Argentina/Buenos_Aires` -> `Buenos Aires`."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def supported_language(code: str | None) -> str:
    """`code` (or its base language: `ro-RO` -> `ro`) if the site offers it, else ""."""
    code = (code or "").strip().lower().replace("_", "-")
    offered = {lang for lang, _name in settings.LANGUAGES}
    if code in offered:
        return code
    base = code.split("-", 1)[0]
    return base if base in offered else ""
