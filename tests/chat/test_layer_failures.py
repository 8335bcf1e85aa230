"""The channel layer failing must never turn a committed write into an error."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from tests.chat.conftest import open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_refused_group_join_still_acks_the_committed_message(support, monkeypatch):
    layer = get_channel_layer()
    real_group_add = layer.group_add

    async def flaky_group_add(group, channel):
        if group.startswith("conv."):
            raise ConnectionError("pool exhausted")
        return await real_group_add(group, channel)

    visitor, _ = await open_widget(profile={"name": "Ana"})
    monkeypatch.setattr(layer, "group_add", flaky_group_add)
    ack = await say(visitor, "My relay blinks")
    assert ack["type"] == "ack" and ack["seq"] >= 2
    # The layer is back: the next ping re-joins and catches up from the log.
    monkeypatch.setattr(layer, "group_add", real_group_add)
    await visitor.send({"type": "ping"})
    pong = await visitor.expect("pong")
    assert pong["last_seq"][ack["conversation"]] >= ack["seq"]
    await visitor.close()
