from __future__ import annotations

import datetime as dt

import pytest

from crm.actions import UnknownAgent, record_call
from crm.models import CallRecord


def test_it_attaches_a_call_to_the_contact_found_by_number(maria):
    recorded = record_call(phone="0721-234-567", direction="inbound", duration_s=60, agent="boris")
    call = recorded.call
    assert recorded.contact == maria
    assert call.contact == maria
    assert call.phone == "+40721234567"
    assert call.agent.username == "boris"
    assert call.started_at is not None


def test_it_keeps_an_unknown_caller_with_a_normalized_number(demo):
    recorded = record_call(phone="0722 000 111", direction="inbound")
    assert recorded.contact is None
    assert recorded.call.phone == "+40722000111"


def test_it_keeps_what_the_telephony_system_sent_when_it_is_no_number(demo):
    recorded = record_call(phone=" anonymous ", direction="inbound")
    assert recorded.contact is None
    assert recorded.call.phone == "anonymous"


def test_it_refuses_an_unknown_agent_and_writes_nothing(demo):
    before = CallRecord.objects.count()
    with pytest.raises(UnknownAgent):
        record_call(phone="0721 234 567", direction="inbound", agent="mallory")
    assert CallRecord.objects.count() == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phone": "", "direction": "inbound"},
        {"phone": "1" * 41, "direction": "inbound"},
        {"phone": "0721 234 567", "direction": "sideways"},
        {"phone": "0721 234 567", "direction": "inbound", "duration_s": -1},
        {"phone": "0721 234 567", "direction": "inbound", "duration_s": 86401},
        {
            "phone": "0721 234 567",
            "direction": "inbound",
            "started_at": dt.datetime(2026, 11, 1, 9, 0),
        },
        {"phone": "0721 234 567", "direction": "inbound", "note": "x" * 10_001},
    ],
)
def test_it_refuses_invalid_calls(demo, kwargs):
    with pytest.raises(ValueError):
        record_call(**kwargs)
