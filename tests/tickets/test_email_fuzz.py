"""Mangled real mail: the parser refuses it or reads it, the endpoint never answers 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_department
from tickets.email.parsing import InboundError, parse_message

CORPUS = Path(__file__).parent / "mail_corpus"
SEEDS = [path.read_bytes()[:20_000] for path in sorted(CORPUS.glob("*.*")) if path.suffix != ".md"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 20_000), junk=st.binary(max_size=200))
def test_mangled_real_mail_parses_or_is_refused_never_crashes(seed, cut, junk):
    raw = seed[:cut] + junk + seed[cut:]
    try:
        parsed = parse_message(raw)
    except InboundError:
        return
    assert "\x00" not in parsed.text + parsed.subject + parsed.sender_name + "".join(
        parsed.forwarded
    )


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 20_000), junk=st.binary(max_size=200))
def test_mangled_real_mail_at_the_endpoint_is_never_a_500(client, settings_secret, seed, cut, junk):
    raw = seed[:cut] + junk + seed[cut:]
    response = client.post(
        "/api/v1/inbound-email",
        data=raw,
        content_type="message/rfc822",
        HTTP_X_CHATPORTAL_INBOUND_SECRET=settings_secret,
    )
    assert response.status_code in {200, 201, 400, 409}, response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.fixture
def settings_secret(settings, db):
    settings.CHATPORTAL_INBOUND_EMAIL_SECRET = "fuzz-secret"
    make_department("support")
    return "fuzz-secret"
