"""Token forgery and replay: visitor tokens, agent API tokens, identity proofs, portal links.

Covered elsewhere, not repeated here:
- a random well-formed or malformed visitor token (4001 before any data):
  tests/chat/test_widget_consumer.py::test_a_forged_token_closes_with_4001_before_any_data,
  ::test_a_malformed_token_closes_with_4001;
- API tokens over HTTP (bad, tampered, revoked, deactivated agent, forged
  signature refused without a query): tests/api/test_auth_and_errors.py;
  a forged agent token on the socket: tests/chat/test_agent_consumer.py;
- JWT unit checks (expired, too long-lived, wrong key, no exp/sub, HS512,
  alg none) and HMAC of another id: tests/chat/test_identity.py;
- a portal link used twice, expired by max_age, mangled, or voided by a newer
  one: tests/tickets/test_portal_views.py.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time

import jwt
import pytest
from channels.db import database_sync_to_async
from django.core import signing
from django.test import Client
from django.urls import reverse

from chat.models import Visitor
from chat.tokens import token_digest
from queues.models import AgentApiToken, AgentProfile
from queues.tokens import format_token, issue_agent_token
from tests.chat.conftest import Socket, open_widget, say
from tests.factories import make_agent, make_contact
from tickets.customers import make_login_token

SECRET = "identity-secret-for-the-security-suite-" + "0123456789abcdef" * 2


@pytest.fixture(autouse=True)
def identity_secret(settings):
    settings.CHATPORTAL_IDENTITY_SECRET = SECRET


def identity_jwt(sub: str = "crm-1", *, lifetime_s: int = 600, key: str = SECRET, **claims) -> str:
    return jwt.encode(
        {"sub": sub, "exp": int(time.time()) + lifetime_s, **claims}, key, algorithm="HS256"
    )


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def with_claims(token: str, **claims) -> str:
    """The same signature over a payload the attacker rewrote."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join([header, b64({**decoded, **claims}), signature])


def signed_by_hand(key: bytes, sub: str = "crm-1") -> str:
    """An HS256 token PyJWT would refuse to make (an empty key, for one)."""
    signing_input = (
        f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': sub, 'exp': int(time.time()) + 60})}"
    )
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def alg_none(sub: str = "crm-1"):
    for alg in ("none", "None", "NONE"):
        yield f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64({'sub': sub, 'exp': int(time.time()) + 60})}."


async def first_error_and_visitor(**hello):
    socket, welcome = await open_widget(**hello)
    errors = [f for f in socket.received if f["type"] == "error"]
    visitor = await database_sync_to_async(Visitor.objects.get)(public_id=welcome["visitor"]["id"])
    return socket, welcome, errors, visitor


# --- visitor tokens ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tamper", ["last character", "first character after prefix", "case", "digest"]
)
async def test_a_tampered_or_leaked_digest_visitor_token_closes_with_4001(support, tamper):
    first, welcome = await open_widget()
    await say(first, "mine")
    await first.close()
    token = welcome["token"]
    forged = {
        "last character": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "first character after prefix": token[:3] + ("A" if token[3] != "A" else "B") + token[4:],
        "case": token[:3] + token[3:].swapcase(),
        # What a database dump holds is not a credential.
        "digest": token_digest(token),
    }[tamper]
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "support", "token": forged})
    assert await socket.closed_with() == 4001
    assert socket.received == []


# --- agent API tokens on the socket --------------------------------------------------


async def agent_hello(token: str) -> int | None:
    socket = Socket("/ws/agent/")
    await socket.connect()
    await socket.send({"type": "hello", "token": token})
    code = await socket.closed_with()
    assert socket.received == []
    return code


@pytest.mark.django_db(transaction=True)
async def test_a_revoked_agent_token_closes_the_agent_socket_with_4001(support_agent):
    token = await database_sync_to_async(issue_agent_token)(support_agent)
    await database_sync_to_async(AgentApiToken.objects.all().delete)()
    assert await agent_hello(token) == 4001


@pytest.mark.django_db(transaction=True)
async def test_an_agent_token_with_a_wrong_hmac_closes_with_4001(support_agent, settings):
    token = await database_sync_to_async(issue_agent_token)(support_agent)
    public_id = token.split(".")[0].removeprefix("cpt_")
    wrong_key = hmac.new(b"not-our-secret-key", f"agent-token:{public_id}".encode(), hashlib.sha256)
    assert await agent_hello(f"cpt_{public_id}.{wrong_key.hexdigest()}") == 4001
    # Signed with an old SECRET_KEY (rotation revokes every token).
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    assert format_token(public_id) != token
    assert await agent_hello(token) == 4001


@pytest.mark.django_db(transaction=True)
async def test_a_supervisors_token_id_with_a_colleagues_signature_is_refused(support):
    boris = await database_sync_to_async(make_agent)("boris", [support])
    sofia = await database_sync_to_async(make_agent)("sofia", [], is_supervisor=True)
    boris_token = await database_sync_to_async(issue_agent_token)(boris)
    sofia_token = await database_sync_to_async(issue_agent_token)(sofia)
    spliced = sofia_token.split(".")[0] + "." + boris_token.split(".")[1]
    assert await agent_hello(spliced) == 4001


# --- identity proofs -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "identity",
    [
        *({"jwt": token} for token in alg_none()),
        {"jwt": with_claims(identity_jwt(sub="crm-2"), sub="crm-1")},
        {"jwt": with_claims(identity_jwt(lifetime_s=-60), exp=int(time.time()) + 600)},
        {"jwt": signed_by_hand(b"")},
        {
            "jwt": jwt.encode(
                {"sub": "crm-1", "exp": int(time.time()) + 60}, SECRET, algorithm="HS384"
            )
        },
        {"jwt": identity_jwt(sub=["crm-1"])},
        {"external_id": "crm-1", "hmac": hmac.new(b"", b"crm-1", hashlib.sha256).hexdigest()},
        {
            "external_id": "crm-1",
            "hmac": hmac.new(SECRET.encode(), b"crm-1", hashlib.sha1).hexdigest(),
        },
        {
            "external_id": "crm-1",
            "hmac": hmac.new(SECRET.encode(), b"crm-1", hashlib.sha256).hexdigest()[:32],
        },
        {"external_id": "crm-1", "hmac": hashlib.sha256(SECRET.encode() + b"crm-1").hexdigest()},
        {
            "external_id": "crm-1 ",
            "hmac": hmac.new(SECRET.encode(), b"crm-1", hashlib.sha256).hexdigest(),
        },
    ],
    ids=[
        "alg none",
        "alg None",
        "alg NONE",
        "sub rewritten",
        "exp rewritten",
        "empty key",
        "HS384",
        "sub not a string",
        "hmac empty key",
        "hmac sha1",
        "hmac truncated",
        "plain hash",
        "external id padded",
    ],
)
async def test_a_forged_identity_never_links_the_contact_over_the_socket(support, identity):
    contact = await database_sync_to_async(make_contact)("Maria Popescu", external_id="crm-1")
    socket, welcome, errors, visitor = await first_error_and_visitor(identity=identity)
    assert [e["code"] for e in errors] == ["identity_invalid"]
    assert visitor.contact_id is None and visitor.external_id is None
    assert contact.name not in json.dumps(socket.received)
    # Proved nothing, so it is not the contact's visitor on the next visit either.
    again, rewelcome = await open_widget(token=welcome["token"])
    assert rewelcome["visitor"]["id"] == welcome["visitor"]["id"]
    await socket.close()
    await again.close()


def later_clock(monkeypatch, seconds: float) -> None:
    real = datetime.datetime

    class Later(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + datetime.timedelta(seconds=seconds)

    monkeypatch.setattr("jwt.api_jwt.datetime", Later)


@pytest.mark.django_db(transaction=True)
async def test_a_jwt_replayed_after_its_exp_is_refused(support, monkeypatch):
    await database_sync_to_async(make_contact)("Maria Popescu", external_id="crm-1")
    proof = {"jwt": identity_jwt(lifetime_s=60)}
    first, _, errors, visitor = await first_error_and_visitor(identity=proof)
    assert errors == [] and visitor.external_id == "crm-1"
    await first.close()
    # The same proof, captured and replayed 61 s later (beyond exp plus the 10 s leeway).
    later_clock(monkeypatch, 71)
    replayed, _, errors, visitor = await first_error_and_visitor(identity=proof)
    assert [e["code"] for e in errors] == ["identity_invalid"]
    assert visitor.external_id is None and visitor.contact_id is None
    await replayed.close()


# --- portal one-time links ------------------------------------------------------------


@pytest.mark.django_db
def test_a_link_rewritten_to_name_another_customer_is_refused(client, customer, other_customer):
    token = make_login_token(other_customer[0])
    value, _, rest = token.partition(":")
    decoded = json.loads(signing.b64_decode(value.encode()))
    decoded["u"] = customer[0].pk
    forged = (
        signing.b64_encode(json.dumps(decoded, separators=(",", ":")).encode()).decode()
        + ":"
        + rest
    )
    response = client.post(reverse("portal_link_confirm", args=[forged]))
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_expired_link_is_refused_by_the_page_itself(client, customer, monkeypatch):
    token = make_login_token(customer[0])
    monkeypatch.setattr("tickets.customers.PORTAL_LINK_MAX_AGE_S", 0)
    time.sleep(0.01)
    assert client.get(reverse("portal_link_confirm", args=[token])).status_code == 400
    assert client.post(reverse("portal_link_confirm", args=[token])).status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_link_dies_when_the_password_changes_or_the_customer_becomes_an_agent(client, customer):
    user = customer[0]
    token = make_login_token(user)
    user.set_password("a-new-password-456")
    user.save()
    assert client.post(reverse("portal_link_confirm", args=[token])).status_code == 400
    fresh = make_login_token(user)
    AgentProfile.objects.create(user=user)
    assert client.post(reverse("portal_link_confirm", args=[fresh])).status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_link_used_in_one_browser_fails_in_another(customer):
    token = make_login_token(customer[0])
    victim, attacker = Client(), Client()
    assert victim.post(reverse("portal_link_confirm", args=[token])).status_code == 302
    assert attacker.post(reverse("portal_link_confirm", args=[token])).status_code == 400
    assert "_auth_user_id" not in attacker.session
