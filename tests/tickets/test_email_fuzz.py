from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.email_parsing import InboundError, parse_message

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
