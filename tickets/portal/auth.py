"""The portal's doors: customers-only pages, and who may ask for a sign-in link how often.

Who a customer is and the links themselves live in `tickets.customers`
(the domain, which the notification mails use too).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import redirect

from tickets.customers import customer_contact

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


# Asking for links: per address (someone else's inbox must not be flooded)
# and per client address (nobody may probe thousands of addresses).
LINKS_PER_ADDRESS = 3
LINKS_PER_ADDRESS_WINDOW_S = 15 * 60
LINKS_PER_CLIENT = 10
LINKS_PER_CLIENT_WINDOW_S = 60 * 60


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


# --- asking for links ---------------------------------------------------------------


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
