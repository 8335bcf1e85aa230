"""The private internals of our libraries that our code reaches into still exist.

`foundation/channel_layer.py` subclasses channels-redis's pub/sub layer and
`foundation/shutdown.py` walks daphne's connection table; neither is a
public API, so pyproject.toml pins both packages exactly and these tests
fail at once (not on a production socket) when an upgrade moves them.
Django's Redis cache client and redis-py's event dispatcher are reached
into as well (chat/limits.py, the subscriber connection); they are pinned
by requirements.lock and checked here.
"""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
# The packages whose private names our code uses: an exact pin each.
EXACTLY_PINNED = ("channels-redis", "daphne")


def declared_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {requirement.name.lower(): requirement for requirement in requirements}


@pytest.mark.parametrize("name", EXACTLY_PINNED)
def test_packages_whose_internals_we_use_are_pinned_exactly_to_what_is_installed(name):
    specifiers = list(declared_requirements()[name].specifier)
    assert [spec.operator for spec in specifiers] == ["=="], f"{name}: {specifiers}"
    assert specifiers[0].version == version(name)


def test_channels_redis_pubsub_internals_are_where_the_doorbell_layer_expects_them():
    from channels_redis import pubsub, utils

    assert callable(utils._wrap_close)
    assert list(inspect.signature(utils._wrap_close).parameters) == ["proxy", "loop"]
    shard_init = inspect.getsource(pubsub.RedisSingleShardConnection.__init__)
    for attribute in ("self.host", "self._redis", "self._pubsub"):
        assert attribute in shard_init, attribute
    assert callable(pubsub.RedisSingleShardConnection._ensure_redis)
    assert callable(pubsub.RedisPubSubLoopLayer._get_shard)
    loop_layer_init = inspect.getsource(pubsub.RedisPubSubLoopLayer.__init__)
    assert "self._shards" in loop_layer_init
    assert "self.channels" in loop_layer_init
    layer_init = inspect.getsource(pubsub.RedisPubSubChannelLayer.__init__)
    for attribute in ("self._args", "self._kwargs", "self._layers"):
        assert attribute in layer_init, attribute


async def test_the_doorbell_layer_builds_its_own_shards_and_subscriber_without_redis():
    from redis.asyncio.client import PubSub

    from foundation.channel_layer import DoorbellChannelLayer, _CountingPubSub, _Shard

    # Nothing connects until the first command: port 9 (discard) is never dialled.
    layer = DoorbellChannelLayer(hosts=[{"address": "redis://127.0.0.1:9/0"}])
    loop_layer = layer._get_layer()
    shard = loop_layer._get_shard("conv.1")
    assert isinstance(shard, _Shard)
    assert loop_layer.channels == {}
    shard._ensure_redis()
    assert isinstance(shard._pubsub, _CountingPubSub)
    # redis-py shares one event dispatcher per client (redis >= 5.3; pyproject's floor).
    assert "event_dispatcher" in inspect.signature(PubSub.__init__).parameters
    assert shard._pubsub.connection_pool is shard._redis.connection_pool
    assert hasattr(shard._redis, "_event_dispatcher")
    await shard._redis.aclose()


def test_djangos_redis_cache_client_hands_out_its_connection_pool():
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache("redis://127.0.0.1:9/0", {})
    pool = cache._cache._get_connection_pool(write=True)
    assert pool.connection_kwargs["port"] == 9


def test_daphne_internals_are_where_the_graceful_shutdown_expects_them():
    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
    from daphne import cli, server, ws_protocol

    assert issubclass(ws_protocol.WebSocketProtocol, AutobahnProtocol)
    assert callable(AutobahnProtocol.sendCloseFrame)
    assert "reasonUtf8" in inspect.signature(AutobahnProtocol.sendCloseFrame).parameters
    assert AutobahnProtocol.STATE_OPEN != AutobahnProtocol.STATE_CLOSED
    # The connection table: protocol -> details with these keys.
    server_source = inspect.getsource(server.Server)
    assert "self.connections = {}" in server_source
    for key in ('"application_instance"', '"disconnected"'):
        assert key in server_source, key
    # Each socket's protocol holds its application's input queue (the drain posts into it).
    assert "self.application_queue = application_queue" in inspect.getsource(
        ws_protocol.WebSocketProtocol
    )
    # `chatportal serve` reads the Server that daphne's command line builds.
    assert "self.server = self.server_class(" in inspect.getsource(cli.CommandLineInterface.run)
