"""Who is a portal customer, and the one-time sign-in links they can ask for.

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
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.shortcuts import redirect
from django.utils.crypto import constant_time_compare, salted_hmac

from crm.models import Contact, ContactEmail
from queues.models import AgentProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest, HttpResponse

PORTAL_LINK_MAX_AGE_S = int(getattr(settings, "CHATPORTAL_PORTAL_LINK_MAX_AGE_S", 15 * 60))
# Named after this module's old path: a new salt would void every link in flight.
_LINK_SALT = "tickets.portal_auth.login-link"

# Asking for links: per address (someone else's inbox must not be flooded)
# and per client address (nobody may probe thousands of addresses).
LINKS_PER_ADDRESS = 3
LINKS_PER_ADDRESS_WINDOW_S = 15 * 60
LINKS_PER_CLIENT = 10
LINKS_PER_CLIENT_WINDOW_S = 60 * 60


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


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Portal pages: customers only; everyone else goes to the portal sign-in."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = customer_contact(request.user)
        if contact is None:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path(), "portal_login")
        request.contact = contact  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


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


# --- one-time links ------------------------------------------------------------------


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


def _hit(key: str, window_s: int) -> int:
    # add() is atomic where it matters (Redis, locmem); incr() then counts.
    if cache.add(key, 1, timeout=window_s):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window_s)
        return 1


def allow_link_request(address: str, client: str) -> bool:
    """Count a link request; False once the address or the client asked too often."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]
    by_address = _hit(f"portal-link:addr:{digest}", LINKS_PER_ADDRESS_WINDOW_S)
    by_client = _hit(f"portal-link:client:{client}", LINKS_PER_CLIENT_WINDOW_S)
    return by_address <= LINKS_PER_ADDRESS and by_client <= LINKS_PER_CLIENT


def client_address(request: HttpRequest) -> str:
    # Behind a proxy REMOTE_ADDR is the proxy; deployments that trust one set
    # CHATPORTAL_TRUST_X_FORWARDED_FOR and we take the proxy's view of the client.
    if getattr(settings, "CHATPORTAL_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def redirect_signed_in_customer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in pages: a signed-in customer goes straight to their tickets."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if customer_contact(request.user) is not None:
            return redirect("portal")
        return view(request, *args, **kwargs)

    return wrapper
