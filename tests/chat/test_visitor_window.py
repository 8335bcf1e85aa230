"""The per-visitor message window counts across sockets and workers through the cache."""

from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache

from chat import limits

_visitors = itertools.count(10_000_000)


@pytest.fixture
def visitor_pk():
    return next(_visitors)


@pytest.mark.both_passes  # the cache is Redis in the services pass
def test_it_allows_the_limit_then_names_the_seconds_to_the_next_window(settings, visitor_pk):
    settings.CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE = 3
    now = 600 * limits.VISITOR_WINDOW_S + 15.5
    assert [limits.visitor_message_retry_after(visitor_pk, now=now) for _ in range(3)] == [0, 0, 0]
    assert limits.visitor_message_retry_after(visitor_pk, now=now) == 45
    # The next window starts afresh.
    assert limits.visitor_message_retry_after(visitor_pk, now=now + 45) == 0


@pytest.mark.both_passes  # the cache is Redis in the services pass
def test_visitors_are_counted_apart(settings, visitor_pk):
    settings.CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE = 1
    now = 700 * limits.VISITOR_WINDOW_S
    assert limits.visitor_message_retry_after(visitor_pk, now=now) == 0
    assert limits.visitor_message_retry_after(visitor_pk + 1, now=now) == 0
    assert limits.visitor_message_retry_after(visitor_pk, now=now) > 0


@pytest.mark.services
def test_on_redis_the_window_key_expires(visitor_pk):
    now = 800 * limits.VISITOR_WINDOW_S
    limits.visitor_message_retry_after(visitor_pk, now=now)
    key = cache.make_and_validate_key(f"chat:visitor-msgs:{visitor_pk}:800")
    client = cache._cache.get_client(key)
    assert 0 < client.ttl(key) <= 2 * limits.VISITOR_WINDOW_S
    assert int(client.get(key)) == 1


@pytest.mark.services
def test_on_redis_it_counts_in_one_pipelined_round_trip_not_through_django_incr(
    visitor_pk, monkeypatch
):
    from django.core.cache.backends.redis import RedisCache

    def not_on_the_message_path(*args, **kwargs):
        raise AssertionError("EXISTS + INCR (+ ADD): three round trips per message")

    monkeypatch.setattr(RedisCache, "incr", not_on_the_message_path)
    monkeypatch.setattr(RedisCache, "add", not_on_the_message_path)
    now = 900 * limits.VISITOR_WINDOW_S
    assert [limits.visitor_message_retry_after(visitor_pk, now=now) for _ in range(2)] == [0, 0]
