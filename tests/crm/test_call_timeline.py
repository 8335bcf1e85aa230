"""A call's life on the contact's timeline: in progress, missed, ended with duration, agent, note."""

from __future__ import annotations

import pytest

from crm.actions import record_call
from crm.timeline import contact_timeline

pytestmark = pytest.mark.django_db


def of(call, entries):
    return [entry for entry in entries if entry.ref == str(call.public_id)]


def test_the_timeline_shows_a_calls_state_then_its_duration_agent_and_note(maria):
    call = record_call(
        phone="0721 234 567", direction="inbound", call_id="a1", state="ringing"
    ).call
    [ringing] = of(call, contact_timeline(maria))
    assert ringing.kind == "call" and "ringing" in ringing.title
    record_call(
        phone="0721 234 567",
        direction="inbound",
        call_id="a1",
        state="answered",
        agent="boris",
    )
    record_call(
        phone="0721 234 567",
        direction="inbound",
        call_id="a1",
        state="ended",
        duration_s=125,
        note="Firmware question",
    )
    [ended] = of(call, contact_timeline(maria))
    assert ended.title == "Inbound call"
    assert "2:05" in ended.summary and "Firmware question" in ended.summary
    assert "Boris" in ended.summary


def test_a_call_that_ended_unanswered_is_missed(maria):
    call = record_call(
        phone="0721 234 567", direction="inbound", call_id="m1", state="ringing"
    ).call
    record_call(phone="0721 234 567", direction="inbound", call_id="m1", state="ended")
    [missed] = of(call, contact_timeline(maria))
    assert missed.title == "Missed call"
    call.refresh_from_db()
    assert call.answered_at is None and call.duration_s is None
