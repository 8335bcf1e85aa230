"""Agent API tokens: `cpt_<public_id>.<hex HMAC-SHA256(SECRET_KEY, "agent-token:"+public_id)>`.

The secret half is derived, never stored, so `chatportal agent-token USER`
prints the same token again and a database dump leaks no credential.
Deleting the AgentApiToken row revokes it; rotating SECRET_KEY revokes all.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from queues.models import AgentApiToken, AgentProfile

TOKEN_PREFIX = "cpt_"
TOKEN_RE = re.compile(r"cpt_([0-9a-f]{32})\.([0-9a-f]{64})")
# Writing last_used_at on every request would turn each API call into a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class NotAnAgent(ValueError):
    """Tokens are only for active users with an AgentProfile."""


def token_signature(public_id: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"agent-token:{public_id}".encode(), hashlib.sha256).hexdigest()


def format_token(public_id: str) -> str:
    return f"{TOKEN_PREFIX}{public_id}.{token_signature(public_id)}"


def issue_agent_token(user: AbstractBaseUser) -> str:
    """The user's token, creating its row on first use; the same string every time."""
    if not user.is_active or not AgentProfile.objects.filter(user=user).exists():
        raise NotAnAgent(f"{user.get_username()} is not an active agent")
    with transaction.atomic():
        # Lock the user row so two concurrent first calls cannot mint two tokens.
        type(user).objects.select_for_update().filter(pk=user.pk).first()
        token = AgentApiToken.objects.filter(user=user).order_by("created_at", "pk").first()
        if token is None:
            token = AgentApiToken.objects.create(user=user, public_id=secrets.token_hex(16))
    return format_token(token.public_id)


def authenticate_agent_token(raw: str | None) -> AbstractBaseUser | None:
    """The agent the token belongs to, or None (malformed, forged, revoked, inactive)."""
    if not isinstance(raw, str) or len(raw) != len(TOKEN_PREFIX) + 32 + 1 + 64:
        return None
    match = TOKEN_RE.fullmatch(raw)
    if match is None:
        return None
    public_id, signature = match.groups()
    # The signature depends only on public_id, so a forged token is refused
    # before it costs a query.
    if not hmac.compare_digest(signature, token_signature(public_id)):
        return None
    token = (
        AgentApiToken.objects.select_related("user")
        .filter(public_id=public_id, user__is_active=True, user__agent_profile__isnull=False)
        .first()
    )
    if token is None:
        return None
    user = token.user
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        AgentApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user
