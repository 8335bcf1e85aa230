"""Phone numbers to E.164, the one form the database keeps.

People and telephony systems write the same number many ways
(`+40 721 234 567`, `0040721234567`, `0721-234-567`); a local number only
means something together with a region, which is the organization's
`default_region` or, failing that, `settings.CHATPORTAL_DEFAULT_REGION`.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings

# Far longer than any real number with spaces and an extension; anything past
# this is not a phone number, and we refuse it before the parser sees it.
MAX_INPUT_LENGTH = 40


class InvalidPhoneNumber(ValueError):
    """The input is not a valid phone number (for the region it was read in)."""


def default_region() -> str:
    return (getattr(settings, "CHATPORTAL_DEFAULT_REGION", "") or "RO").upper()


def check_region(region: str) -> str:
    """Return `region` upper-cased, or raise if phonenumbers does not know it."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(f"unknown phone region {region!r}")
    return code


def is_international(raw: str) -> bool:
    """Whether the input carries its own country code (so no region is needed)."""
    stripped = (raw or "").strip()
    return stripped.startswith("+") or stripped.startswith("00")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """`raw` as E.164 (`+40721234567`); raises `InvalidPhoneNumber`.

    `region` reads local numbers; it defaults to the site's region. A leading
    `00` is read as `+`: it is the international prefix nearly everywhere,
    and no national number starts with it.
    """
    if not isinstance(raw, str):
        raise InvalidPhoneNumber("a phone number must be a string")
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("the phone number is empty")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber("the phone number is too long")
    if text.startswith("00"):
        text = "+" + text[2:]
    read_in = check_region(region) if region else default_region()
    try:
        parsed = phonenumbers.parse(text, read_in)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str, region: str | None = None) -> str | None:
    """E.164, or None when the input is not a valid number."""
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber:
        return None


def format_phone_international(e164: str) -> str:
    """`+40 721 234 567` for display; the input back when it does not parse."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
