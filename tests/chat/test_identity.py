from __future__ import annotations

import datetime
import time

import jwt
import pytest
from channels.db import database_sync_to_async

from chat.actions.conversations import start_conversation
from chat.actions.visitors import create_visitor, identify_visitor
from chat.identity import IdentityInvalid, identity_hmac, verify_hmac, verify_identity, verify_jwt
from chat.models import Conversation, Visitor
from tests.chat.conftest import open_widget, say
from tests.factories import make_contact

SECRET = "s3cret-identity-key-of-at-least-32-bytes"


@pytest.fixture(autouse=True)
def identity_secret(settings):
    settings.CHATPORTAL_IDENTITY_SECRET = SECRET


def token(sub="crm-1", *, lifetime_s=600, key=SECRET, **claims):
    return jwt.encode(
        {"sub": sub, "exp": int(time.time()) + lifetime_s, **claims}, key, algorithm="HS256"
    )


def test_a_valid_jwt_verifies_with_its_claims():
    identity = verify_jwt(token(email="maria@example.com", name="Maria"))
    assert (identity.external_id, identity.email, identity.name) == (
        "crm-1",
        "maria@example.com",
        "Maria",
    )


@pytest.mark.parametrize(
    "bad",
    [
        token(lifetime_s=-60),  # expired beyond the leeway
        token(lifetime_s=2 * 3600),  # claims to last longer than one hour
        token(key="someone-elses-key-also-32-bytes-long"),
        jwt.encode({"sub": "crm-1"}, SECRET, algorithm="HS256"),  # no exp
        jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no sub
        jwt.encode({"sub": "crm-1", "exp": int(time.time()) + 60}, SECRET, algorithm="HS512"),
        token(sub=""),
        token(email="not-an-email"),
        "not.a.jwt",
    ],
)
def test_a_bad_jwt_is_refused(bad):
    with pytest.raises(IdentityInvalid):
        verify_jwt(bad)


def test_an_unsigned_jwt_is_refused():
    unsigned = jwt.encode({"sub": "crm-1", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(IdentityInvalid):
        verify_jwt(unsigned)


def test_hmac_verifies_the_external_id():
    assert verify_hmac("crm-1", identity_hmac("crm-1", SECRET)).external_id == "crm-1"
    assert verify_hmac("crm-1", identity_hmac("crm-1", SECRET).upper()).external_id == "crm-1"
    with pytest.raises(IdentityInvalid):
        verify_hmac("crm-2", identity_hmac("crm-1", SECRET))
    with pytest.raises(IdentityInvalid):
        verify_hmac("crm-1", "00" * 32)


def test_an_empty_secret_disables_verification(settings):
    settings.CHATPORTAL_IDENTITY_SECRET = ""
    for proof in (
        {"jwt": token(key="k" * 32)},
        {"external_id": "crm-1", "hmac": identity_hmac("crm-1", "")},
    ):
        with pytest.raises(IdentityInvalid):
            verify_identity(proof)


def test_the_exp_limit_is_one_hour_from_now():
    now = datetime.datetime.now(datetime.UTC)
    verify_jwt(token(lifetime_s=3600), now=now)
    with pytest.raises(IdentityInvalid):
        verify_jwt(token(lifetime_s=3700), now=now)


@pytest.mark.django_db
def test_identifying_links_an_existing_contact_and_keeps_the_external_id():
    contact = make_contact(external_id="crm-1")
    visitor, _ = create_visitor()
    acting, new_token = identify_visitor(visitor, verify_jwt(token(name="Maria")))
    assert new_token is None and acting.pk == visitor.pk
    acting.refresh_from_db()
    assert (acting.external_id, acting.contact_id, acting.name) == ("crm-1", contact.pk, "Maria")


@pytest.mark.django_db
def test_an_unknown_external_id_creates_no_contact():
    visitor, _ = create_visitor()
    acting, _ = identify_visitor(visitor, verify_jwt(token(sub="crm-404")))
    assert acting.external_id == "crm-404" and acting.contact is None


@pytest.mark.django_db
def test_an_anonymous_visitors_open_chat_moves_onto_the_verified_visitor():
    from tests.factories import make_department

    support = make_department("support")
    contact = make_contact(external_id="crm-1")
    known, _ = create_visitor()
    identify_visitor(known, verify_jwt(token()))
    anonymous, _ = create_visitor()
    chat, _ = start_conversation(anonymous, support)
    acting, _ = identify_visitor(anonymous, verify_jwt(token()))
    assert acting.pk == known.pk
    chat.refresh_from_db()
    assert (chat.visitor_id, chat.contact_id, chat.state) == (known.pk, contact.pk, "queued")
    anonymous.refresh_from_db()
    assert anonymous.merged_into_id == known.pk


@pytest.mark.django_db
def test_two_open_chats_never_coexist_after_a_merge():
    from tests.factories import make_department

    support = make_department("support")
    known, _ = create_visitor()
    identify_visitor(known, verify_jwt(token()))
    kept, _ = start_conversation(known, support)
    anonymous, _ = create_visitor()
    merged, _ = start_conversation(anonymous, support)
    identify_visitor(anonymous, verify_jwt(token()))
    assert list(Conversation.objects.filter(visitor=known, state__in=["queued", "active"])) == [
        kept
    ]
    merged.refresh_from_db()
    assert merged.state == "closed"
    assert merged.events.last().payload == {"by": "system", "reason": "merged"}


@pytest.mark.django_db
def test_a_visitor_verified_as_someone_else_is_never_merged():
    first, _ = create_visitor()
    identify_visitor(first, verify_jwt(token(sub="crm-1")))
    acting, new_token = identify_visitor(first, verify_jwt(token(sub="crm-2")))
    assert acting.pk != first.pk and new_token
    first.refresh_from_db()
    assert first.external_id == "crm-1" and first.merged_into is None


@pytest.mark.django_db(transaction=True)
async def test_a_valid_identity_on_hello_merges_the_anonymous_chat(support):
    contact = await database_sync_to_async(make_contact)(external_id="crm-1")
    anonymous, welcome = await open_widget()
    ack = await say(anonymous, "hello before signing in")
    await anonymous.close()
    signed_in, rewelcome = await open_widget(
        token=welcome["token"],
        identity={"external_id": "crm-1", "hmac": identity_hmac("crm-1", SECRET)},
    )
    assert rewelcome["conversation"]["id"] == ack["conversation"]
    visitor = await database_sync_to_async(Visitor.objects.get)(
        public_id=rewelcome["visitor"]["id"]
    )
    assert (visitor.external_id, visitor.contact_id) == ("crm-1", contact.pk)
    # Another device proving the same identity finds the same conversation.
    other_device, third = await open_widget(identity={"jwt": token()})
    assert third["visitor"]["id"] == rewelcome["visitor"]["id"]
    assert third["conversation"]["id"] == ack["conversation"]
    await signed_in.close()
    await other_device.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "identity",
    [
        {"jwt": token(lifetime_s=-60)},
        {"jwt": token(key="forged-key-that-is-32-bytes-long!")},
        {"external_id": "crm-1", "hmac": "ab" * 32},
        {"external_id": "crm-1"},
    ],
)
async def test_a_bad_identity_answers_identity_invalid_and_stays_anonymous(support, identity):
    await database_sync_to_async(make_contact)(external_id="crm-1")
    socket, welcome = await open_widget(identity=identity)
    error = next(f for f in socket.received if f["type"] == "error")
    assert error["code"] == "identity_invalid"
    visitor = await database_sync_to_async(Visitor.objects.get)(public_id=welcome["visitor"]["id"])
    assert visitor.external_id is None and visitor.contact_id is None
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_an_unverified_profile_email_never_links_a_contact(support):
    await database_sync_to_async(make_contact)(external_id="crm-1", email="customer1@example.com")
    socket, welcome = await open_widget(profile={"name": "Maria", "email": "customer1@example.com"})
    visitor = await database_sync_to_async(Visitor.objects.get)(public_id=welcome["visitor"]["id"])
    assert visitor.email == "customer1@example.com" and visitor.contact_id is None
    assert "Popescu" not in str(welcome)
    await say(socket, "hi")
    assert (
        await database_sync_to_async(
            Conversation.objects.filter(visitor=visitor, contact__isnull=False).exists
        )()
        is False
    )
    await socket.close()


def test_a_configured_audience_must_be_named_by_the_jwt(settings):
    settings.CHATPORTAL_IDENTITY_AUDIENCE = "chatportal"
    assert verify_jwt(token(aud="chatportal")).external_id == "crm-1"
    assert verify_jwt(token(aud=["billing", "chatportal"])).external_id == "crm-1"
    # A token the host signed for another of its services, or for none, is not ours.
    for other in (token(aud="billing"), token()):
        with pytest.raises(IdentityInvalid):
            verify_jwt(other)


def test_without_a_configured_audience_any_aud_is_ignored(settings):
    settings.CHATPORTAL_IDENTITY_AUDIENCE = ""
    assert verify_jwt(token(aud="billing")).external_id == "crm-1"
