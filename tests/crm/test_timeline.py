from __future__ import annotations

import datetime as dt

import pytest

import crm.timeline
from crm.actions import record_call
from crm.timeline import (
    TimelineEntry,
    call_entries,
    contact_timeline,
    register_timeline_source,
    timeline_sources,
    unregister_timeline_source,
)

BASE = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def only_calls(monkeypatch):
    # Other apps register their sources at startup; these tests control theirs.
    monkeypatch.setattr(crm.timeline, "_sources", {"calls": call_entries})


def test_it_registers_the_calls_source_at_startup():
    assert "calls" in timeline_sources()


def test_it_merges_sources_newest_first_and_honours_the_limit(maria, only_calls):
    record_call(phone="0721 234 567", direction="inbound", started_at=BASE, agent="boris")

    def chats(contact, limit):
        return [
            TimelineEntry("chat", BASE + dt.timedelta(days=2), "Chat", "RZA firmware", "c-1"),
            TimelineEntry("chat", BASE - dt.timedelta(days=30), "Chat", "Old", "c-0"),
        ]

    register_timeline_source("test-chats", chats)
    try:
        entries = contact_timeline(maria)
        kinds = [(e.kind, e.ref) for e in entries]
        assert kinds[0] == ("chat", "c-1")
        assert entries == sorted(entries, key=lambda e: e.at, reverse=True)
        assert {e.kind for e in entries} == {"chat", "call"}
        # The seeded call of 2026-11-20 and the one just recorded.
        assert sum(1 for e in entries if e.kind == "call") == 2
        assert [e.ref for e in contact_timeline(maria, limit=2)][0] == "c-1"
        assert len(contact_timeline(maria, limit=2)) == 2
        assert contact_timeline(maria, limit=0) == []
    finally:
        unregister_timeline_source("test-chats")


def test_it_leaves_out_a_failing_source(maria, only_calls):
    def broken(contact, limit):
        raise RuntimeError("boom")

    register_timeline_source("test-broken", broken)
    try:
        entries = contact_timeline(maria)
    finally:
        unregister_timeline_source("test-broken")
    assert entries and all(e.kind == "call" for e in entries)


def test_it_describes_calls_with_agent_duration_and_note(maria, only_calls):
    recorded = record_call(
        phone="+40721234567",
        direction="outbound",
        started_at=BASE + dt.timedelta(days=5),
        duration_s=125,
        agent="boris",
        note="Called back about <b>RZA</b>",
    )
    [entry] = contact_timeline(maria, limit=1)
    assert entry.kind == "call"
    assert entry.title == "Outbound call"
    assert entry.summary == "Boris Petrov · 2:05 · Called back about <b>RZA</b>"
    assert entry.ref == str(recorded.call.public_id)


def test_the_organization_scope_adds_the_colleagues_calls_and_pages_newest_first(maria, only_calls):
    from crm.models import Contact
    from crm.timeline import timeline_page

    # Andrei (+40 744 555 123) is Maria's colleague; Dmitry (+7 383 …) is not.
    dmitry = Contact.objects.get(external_id="crm-4")
    for day, phone in enumerate(["+40 744 555 123", "+40 721 234 567", "+7 383 210-45-67"] * 2):
        record_call(phone=phone, direction="inbound", started_at=BASE + dt.timedelta(days=day))
    assert {e.ref for e in contact_timeline(maria)} < {
        e.ref for e in timeline_page(maria, size=50).entries
    }
    first = timeline_page(maria, size=3)
    assert [e.at for e in first.entries] == [BASE + dt.timedelta(days=d) for d in (4, 3, 1)]
    assert first.next_before == first.entries[-1].at
    rest = timeline_page(maria, size=3, before=first.next_before)
    # Day 0 (Andrei), then the seeded call of 2026-11-20 (Maria); Dmitry's never.
    assert [e.at for e in rest.entries][0] == BASE
    assert len(rest.entries) == 2 and rest.next_before is None
    assert all(e.at < first.next_before for e in rest.entries)
    only_hers = timeline_page(maria, with_organization=False, size=50).entries
    assert len(only_hers) == 3  # two of the six, and the seeded call
    dmitrys = {str(call.public_id) for call in dmitry.calls.all()}
    assert len(dmitrys) >= 2
    assert not dmitrys & {e.ref for e in timeline_page(maria, size=50).entries}
