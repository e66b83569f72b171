"""The limiter every process shares, in the database (both backends) and in Redis: a burst of
takers on their own connections gets exactly the limit, hits given back stop counting, a limit
of one is a lease, and an unreachable Redis refuses rather than lets through."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.discovery import rankings
from microdrama.discovery.models import RankingEntry
from microdrama.rate_limits import (
    DatabaseRateLimiter,
    Limit,
    LimitsUnavailable,
    OverLimit,
    RateLimiter,
    RateLimitHit,
    RedisRateLimiter,
    forget_old_hits,
    one_at_a_time,
)
from tests.support.discovery import binged, make_viewer
from tests.support.factories import make_series

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys (and only them) are deleted afterwards."""
    prefix = f"microdrama-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, engine: Engine, redis_prefix: str) -> str:
    return str(request.param)


def _limiter(store: str, database_url: str, prefix: str) -> RateLimiter:
    """A limiter as one process has it: its own engine, or its own Redis client."""
    if store == "redis":
        return RedisRateLimiter(Redis.from_url(REDIS_URL), prefix=prefix)
    return DatabaseRateLimiter(make_sessionmaker(make_engine(database_url)))


def test_a_burst_from_eight_processes_gets_exactly_the_limit(
    store: str, database_url: str, redis_prefix: str
) -> None:
    limiters = [_limiter(store, database_url, redis_prefix) for _ in range(8)]
    limit = [Limit("signin:ip:203.0.113.9", 5, 900)]
    start = threading.Barrier(len(limiters))

    def take(limiter: RateLimiter) -> int | None:
        start.wait()
        try:
            limiter.take(limit)
        except OverLimit as refused:
            return refused.retry_after_seconds
        return None

    with ThreadPoolExecutor(len(limiters)) as pool:
        answers = list(pool.map(take, limiters))

    assert answers.count(None) == 5
    assert all(0 < wait <= 900 for wait in answers if wait is not None)


def test_hits_given_back_or_cleared_stop_counting(
    store: str, database_url: str, redis_prefix: str
) -> None:
    limiter = _limiter(store, database_url, redis_prefix)
    pair = Limit("signin:pair:ana", 2, 900)
    address = Limit("signin:ip:203.0.113.9", 3, 900)

    first = limiter.take([pair, address])
    limiter.take([pair, address])
    with pytest.raises(OverLimit):
        limiter.take([pair, address])  # the pair is full: nothing is added to the address
    limiter.give_back(first)
    limiter.take([pair, address])  # room again on both
    other_pair = Limit("signin:pair:bo", 2, 900)
    limiter.take([other_pair, address])  # the address' third hit
    with pytest.raises(OverLimit):
        limiter.take([other_pair, address])
    limiter.clear(address.key)
    limiter.take([other_pair, address])


def test_a_limit_not_enforced_counts_without_refusing(
    store: str, database_url: str, redis_prefix: str
) -> None:
    limiter = _limiter(store, database_url, redis_prefix)
    account = Limit("signin:account:ana", 1, 900)

    limiter.take([account])
    limiter.take([Limit(account.key, 1, 900, enforced=False)])  # a trusted device

    with pytest.raises(OverLimit):
        limiter.take([account])


def test_the_wait_is_until_the_oldest_counted_hit_leaves_the_window(
    store: str, database_url: str, redis_prefix: str
) -> None:
    limiter = _limiter(store, database_url, redis_prefix)
    limit = Limit("ai:owner:7", 2, 600)
    now = utcnow()
    limiter.take([limit], now=now - timedelta(seconds=500))  # leaves the window in 100 s
    limiter.take([limit], now=now - timedelta(seconds=200))

    with pytest.raises(OverLimit) as refused:
        limiter.take([limit], now=now)

    assert refused.value.retry_after_seconds == 100
    limiter.take([limit], now=now + timedelta(seconds=101))


def test_a_lease_is_held_by_one_process_until_it_is_done(
    store: str, database_url: str, redis_prefix: str
) -> None:
    first = _limiter(store, database_url, redis_prefix)
    second = _limiter(store, database_url, redis_prefix)

    with one_at_a_time(first, "rankings-refresh", lease_seconds=60) as mine:
        assert mine
        with one_at_a_time(second, "rankings-refresh", lease_seconds=60) as theirs:
            assert not theirs
    with one_at_a_time(second, "rankings-refresh", lease_seconds=60) as theirs:
        assert theirs


def test_two_processes_chores_refresh_the_rankings_once(
    store: str, database_url: str, redis_prefix: str, db_factory: sessionmaker[Session]
) -> None:
    # Something to rank: a refresh that writes no chart leaves the rankings due, and a chore
    # that took the lease after the other's refresh would rightly refresh again.
    with session_scope(db_factory) as db:
        binged(db, make_viewer(db), make_series(db, episodes=2, free_episodes=2))
    limiters = [_limiter(store, database_url, redis_prefix) for _ in range(2)]
    start = threading.Barrier(2)

    def chore(limiter: RateLimiter) -> bool:
        factory = make_sessionmaker(make_engine(database_url))
        start.wait()
        return rankings.refresh_if_due(factory, limiter=limiter) is not None

    with ThreadPoolExecutor(2) as pool:
        refreshed = list(pool.map(chore, limiters))

    assert sorted(refreshed) == [False, True]
    with db_factory() as db:
        assert db.scalar(select(func.count()).select_from(RankingEntry)) > 0


def test_housekeeping_forgets_hits_older_than_any_window(
    db_factory: sessionmaker[Session],
) -> None:
    limiter = DatabaseRateLimiter(db_factory)
    limiter.take([Limit("signin:ip:203.0.113.9", 5, 900)], now=utcnow() - timedelta(days=2))
    limiter.take([Limit("signin:ip:203.0.113.9", 5, 900)])

    with session_scope(db_factory) as db:
        assert forget_old_hits(db=db) == 1
    with db_factory() as db:
        assert db.scalar(select(func.count()).select_from(RateLimitHit)) == 1


def test_an_unreachable_redis_refuses_with_a_503(redis_prefix: str) -> None:
    # Nothing listens on port 1.
    limiter = RedisRateLimiter(Redis.from_url("redis://127.0.0.1:1/0"), prefix=redis_prefix)

    with pytest.raises(LimitsUnavailable) as refused:
        limiter.take([Limit("signin:ip:203.0.113.9", 5, 900)])

    assert refused.value.status_code == 503
