"""Who is a customer, and the one-time sign-in links mailed to them.

A customer is an active Django user linked from `crm.Contact.portal_user`
who is not an agent (no `AgentProfile`) and not staff: one person is never
both, so a customer session cannot open the console and an agent session
cannot read the portal.

One-time links carry a signed, timestamped token
(`django.core.signing.TimestampSigner`) of the user id and a fingerprint of
the user's password hash and last login. Signing in updates `last_login`
(Django's own `update_last_login` receiver), which changes the fingerprint:
the link, and every other link sent before it, stops working the moment one
is used, with no token table to sweep. Links also expire after
`PORTAL_LINK_MAX_AGE_S`.

Domain, below the actions: the notification mails (tickets/notifications/outbound.py,
outbox.py) put links in what they send, the portal (tickets/portal/auth.py)
signs customers in with them, the console tells customers from agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from crm.models import Contact, ContactEmail
from queues.models import AgentProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PORTAL_LINK_MAX_AGE_S = int(getattr(settings, "CHATPORTAL_PORTAL_LINK_MAX_AGE_S", 15 * 60))
# Named after the module that first signed links: a new salt would void every link in flight.
_LINK_SALT = "tickets.portal_auth.login-link"


def customer_contact(user: Any) -> Contact | None:
    """The contact a signed-in customer is, or None for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_staff or user.is_superuser:
        return None
    contact = Contact.objects.filter(portal_user=user).select_related("organization").first()
    if contact is None:
        return None
    if AgentProfile.objects.filter(user=user).exists():
        return None
    return contact


def customer_for_email(address: str) -> AbstractBaseUser | None:
    """The portal user behind an e-mail address, if it is a customer's."""
    address = (address or "").strip().lower()
    if not address or "@" not in address:
        return None
    row = (
        ContactEmail.objects.filter(email=address, contact__portal_user__isnull=False)
        .select_related("contact__portal_user")
        .first()
    )
    user = row.contact.portal_user if row is not None else None
    if user is None:
        user = get_user_model().objects.filter(email__iexact=address, contact__isnull=False).first()
    if user is None or customer_contact(user) is None:
        return None
    return user


def username_for_login(identifier: str) -> str:
    """Customers sign in with an e-mail address; map it to their username."""
    user = customer_for_email(identifier) if "@" in (identifier or "") else None
    return user.get_username() if user is not None else identifier


def _fingerprint(user: AbstractBaseUser) -> str:
    last_login = user.last_login.replace(microsecond=0, tzinfo=None) if user.last_login else ""
    value = f"{user.pk}:{user.password}:{last_login}:{user.is_active}"
    return salted_hmac(_LINK_SALT, value, algorithm="sha256").hexdigest()[:32]


def make_login_token(user: AbstractBaseUser) -> str:
    return signing.TimestampSigner(salt=_LINK_SALT).sign_object(
        {"u": user.pk, "f": _fingerprint(user)}
    )


def user_for_login_token(token: str, *, max_age_s: int | None = None) -> AbstractBaseUser | None:
    """The customer a link signs in, or None if it is forged, used or expired."""
    if not token or len(token) > 300:
        return None
    try:
        data = signing.TimestampSigner(salt=_LINK_SALT).unsign_object(
            token, max_age=PORTAL_LINK_MAX_AGE_S if max_age_s is None else max_age_s
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = get_user_model().objects.filter(pk=data["u"]).first()
    if user is None or customer_contact(user) is None:
        return None
    if not constant_time_compare(str(data.get("f", "")), _fingerprint(user)):
        return None
    return user
