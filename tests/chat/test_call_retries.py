"""A PBX that retries: many posts of one call at once make one row, and its state only moves forward."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from chat.actions.calls import report_call
from crm.models import CallRecord
from tests.chat.test_concurrency import require_shared_database
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_posts_of_one_call_make_one_row_that_ends_ended():
    require_shared_database()
    support = make_department("support")
    make_agent("boris", [support])
    states = ["ringing"] * 8 + ["answered"] * 8 + ["ended"] * 8
    random.shuffle(states)

    def post(state):
        try:
            return report_call(
                phone="+40 722 000 111",
                direction="inbound",
                call_id="ast-race-1",
                state=state,
                agent="boris" if state == "answered" else None,
                department="support",
            ).recorded.call.pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        pks = set(pool.map(post, states))

    assert len(pks) == 1
    call = CallRecord.objects.get(external_id="ast-race-1")
    assert call.state == "ended"
    assert call.ended_at is not None
    assert CallRecord.objects.filter(external_id="ast-race-1").count() == 1
