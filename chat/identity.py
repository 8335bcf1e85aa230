"""Verifying who a signed-in user of the host site is (PROTOCOL §2.1).

Two proofs, both keyed by CHATPORTAL_IDENTITY_SECRET (empty: verification
is off and every proof is refused):

- an HS256 JWT: `sub` = external id, `exp` required and at most one hour
  ahead (a proof that never expires is a stolen proof forever), optional
  `email` and `name`; with CHATPORTAL_IDENTITY_AUDIENCE set, `aud` must name
  it (a host that signs tokens for several services with one key cannot
  have another service's token accepted here);
- `external_id` + `hmac`: HMAC-SHA256 hex of the external id. It cannot
  expire; hosts that can should send the JWT.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_JWT_LIFETIME = datetime.timedelta(hours=1)
LEEWAY = datetime.timedelta(seconds=10)
MAX_EXTERNAL_ID = 100


@dataclass(frozen=True)
class VerifiedIdentity:
    external_id: str
    email: str | None = None
    name: str | None = None


class IdentityInvalid(ValueError):
    """Bad, expired or unverifiable identity; the visitor stays anonymous."""


def _secret() -> bytes:
    secret = getattr(settings, "CHATPORTAL_IDENTITY_SECRET", "") or ""
    if not secret:
        raise IdentityInvalid("identity verification is not configured")
    return secret.encode()


def _external_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_EXTERNAL_ID:
        raise IdentityInvalid("bad external id")
    return value


def identity_hmac(external_id: str, secret: str | bytes) -> str:
    """What the host site computes (documented for integrators and tests)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()


def verify_hmac(external_id: str, signature: str) -> VerifiedIdentity:
    secret = _secret()
    external_id = _external_id(external_id)
    expected = identity_hmac(external_id, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise IdentityInvalid("bad signature")
    return VerifiedIdentity(external_id=external_id)


def verify_jwt(token: str, *, now: datetime.datetime | None = None) -> VerifiedIdentity:
    secret = _secret()
    now = now or timezone.now()
    audience = getattr(settings, "CHATPORTAL_IDENTITY_AUDIENCE", "") or ""
    required = ["exp", "sub", "aud"] if audience else ["exp", "sub"]
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience or None,
            options={"require": required, "verify_aud": bool(audience)},
            leeway=LEEWAY,
        )
    except jwt.PyJWTError as exc:
        raise IdentityInvalid(f"bad token: {type(exc).__name__}") from None
    exp = claims["exp"]
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise IdentityInvalid("bad exp")
    if datetime.datetime.fromtimestamp(exp, tz=datetime.UTC) > now + MAX_JWT_LIFETIME + LEEWAY:
        raise IdentityInvalid("exp too far ahead")
    email = claims.get("email")
    if email is not None:
        try:
            if not isinstance(email, str) or len(email) > 254:
                raise ValidationError("bad e-mail")
            validate_email(email)
        except ValidationError:
            raise IdentityInvalid("bad email claim") from None
    name = claims.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise IdentityInvalid("bad name claim")
    return VerifiedIdentity(
        external_id=_external_id(claims["sub"]),
        email=email or None,
        name=(name or "").strip() or None,
    )


def verify_identity(proof: dict) -> VerifiedIdentity:
    """`proof` is the validated `hello.identity` object."""
    if proof.get("jwt"):
        return verify_jwt(proof["jwt"])
    if proof.get("external_id") and proof.get("hmac"):
        return verify_hmac(proof["external_id"], proof["hmac"])
    raise IdentityInvalid("identity needs either jwt, or external_id and hmac")
