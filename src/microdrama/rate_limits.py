"""Rate limits and leases that every web process shares: hits counted in a sliding window, in
the database by default (table rate_limit_hits) or in Redis when MICRODRAMA_REDIS_URL is set.

A hit is *taken* before the work it limits (checking a password) and in the same atomic step
as the check of every limit it counts against: two processes, on one machine or several, can
never both take the last hit. Counting the rows of the work afterwards could not promise that:
a burst of concurrent guesses all passed the check before any of them was recorded.

- The database: one short transaction per take that serialises the takers of the same keys
  (PostgreSQL: an advisory lock per key, taken in key order; SQLite: its single writer), counts
  each key's hits in its window and adds one to each. Housekeeping deletes hits a day old.
- Redis: one Lua script over a sorted set per key (member: the hit, score: its time in ms),
  atomic on the server; each set expires with its window. Keys carry settings.redis_key_prefix.

A hit given back (a sign-in that turned out right) stops counting. A limit of one is a lease:
`one_at_a_time` lets a single process run a rebuild (today's rankings, For You's training)
while the others skip it, and the lease lapses by itself if its holder dies.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from fastapi import Request
from sqlalchemy import CursorResult, Index, String, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from microdrama.config import Settings
from microdrama.db import Base, run_money_transaction, utcnow
from microdrama.errors import DomainError

if TYPE_CHECKING:
    from redis import Redis

# No window is longer than this; housekeeping forgets the database's hits once this old.
LONGEST_WINDOW = timedelta(days=1)
# The first key of PostgreSQL's two-key advisory locks: rate limits' own space (the one-key
# locks of rankings and training live in another).
_LOCK_SPACE = 0x7261_7465  # "rate"


class RateLimitHit(Base):
    """One hit counted against a limit's key (the database backend)."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_key_time", "key", "hit_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    hit_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits on `key` within the last `window_seconds`. A limit that is not
    `enforced` counts the hit without ever refusing it."""

    key: str
    limit: int
    window_seconds: int
    enforced: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.window_seconds <= LONGEST_WINDOW.total_seconds() or self.limit < 1:
            raise ValueError(f"a limit of {self.limit} in {self.window_seconds} s")
        if not 0 < len(self.key) <= 120:
            raise ValueError("a limit's key is 1 to 120 characters")


@dataclass(frozen=True)
class Taken:
    """The hits one take added, to give back."""

    keys: tuple[str, ...]
    hit: str  # database: the rows' ids joined by commas; Redis: the sorted sets' member


class OverLimit(Exception):
    """A limit is reached; it opens again in `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"over the limit for {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class LimitsUnavailable(DomainError, code="limits_unavailable", status_code=503):
    """The store of the limits (Redis) did not answer: refused rather than let through."""


class RateLimiter(Protocol):
    def take(self, limits: Sequence[Limit], *, now: datetime | None = None) -> Taken:
        """Add a hit to every limit's key, or to none and raise OverLimit (the longest wait
        of the enforced limits that are reached)."""

    def give_back(self, taken: Taken) -> None:
        """The hits of `taken` stop counting."""

    def clear(self, key: str) -> None:
        """Every hit on `key` stops counting."""


def _seconds(delta: float) -> int:
    return max(1, math.ceil(delta))


def _lock_id(key: str) -> int:
    return int(struct.unpack(">i", hashlib.sha256(key.encode()).digest()[:4])[0])


class DatabaseRateLimiter:
    """Hits as rows of rate_limit_hits, each take one short transaction of its own."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def take(self, limits: Sequence[Limit], *, now: datetime | None = None) -> Taken:
        def counted(db: Session) -> Taken:
            # SQLite: run_money_transaction took the write lock first (one taker at a time).
            if db.get_bind().dialect.name == "postgresql":
                for lock in sorted({_lock_id(limit.key) for limit in limits}):
                    db.execute(
                        text("SELECT pg_advisory_xact_lock(:space, :lock)"),
                        {"space": _LOCK_SPACE, "lock": lock},
                    )
            moment = now or utcnow()  # read once the lock is held: no counted hit is later
            waits = [_wait(db, limit, moment) for limit in limits if limit.enforced]
            if any(waits):
                raise OverLimit(max(waits))
            hits = [RateLimitHit(key=limit.key, hit_at=moment) for limit in limits]
            db.add_all(hits)
            db.flush()
            return Taken(tuple(h.key for h in hits), ",".join(str(h.id) for h in hits))

        # A transaction of its own, committed before the limited work starts (and retried on
        # SQLite's "database is locked" and PostgreSQL's deadlocks, as money's are).
        return run_money_transaction(self.factory, counted)

    def give_back(self, taken: Taken) -> None:
        ids = [int(part) for part in taken.hit.split(",") if part]
        run_money_transaction(
            self.factory,
            lambda db: db.execute(delete(RateLimitHit).where(RateLimitHit.id.in_(ids))),
        )

    def clear(self, key: str) -> None:
        cleared = delete(RateLimitHit).where(RateLimitHit.key == key)
        run_money_transaction(self.factory, lambda db: db.execute(cleared))


def _wait(db: Session, limit: Limit, now: datetime) -> int:
    """Seconds until `limit` has room again (0: it has room now)."""
    window = timedelta(seconds=limit.window_seconds)
    recent = db.scalars(
        select(RateLimitHit.hit_at)
        .where(RateLimitHit.key == limit.key, RateLimitHit.hit_at > now - window)
        .order_by(RateLimitHit.hit_at.desc())
        .limit(limit.limit)
    ).all()
    if len(recent) < limit.limit:
        return 0
    # Room again when the oldest of the last `limit` hits leaves the window.
    return _seconds(min((recent[-1] + window - now).total_seconds(), limit.window_seconds))


def forget_old_hits(*, db: Session, now: datetime | None = None) -> int:
    """Delete the database's hits older than any window (a housekeeping chore); how many."""
    before = (now or utcnow()) - LONGEST_WINDOW
    result = db.execute(delete(RateLimitHit).where(RateLimitHit.hit_at < before))
    return int(cast(CursorResult[Any], result).rowcount)


# KEYS: the limits' keys. ARGV: now (ms), the hit's member, then per key its limit, window (ms)
# and whether it is enforced. Answers 0 when the hits were added, else the wait in ms.
_TAKE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i])
  local window = tonumber(ARGV[3 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if ARGV[3 * i + 2] == '1' and redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    -- (a hit another process stamped a moment later than `now` waits no longer than the window)
    wait = math.max(wait, math.min(tonumber(oldest[2]) + window - now, window))
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[3 * i + 1]))
end
return 0
"""


class RedisRateLimiter:
    """Hits as members of one sorted set per key, taken by one server-side script."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)

    def take(self, limits: Sequence[Limit], *, now: datetime | None = None) -> Taken:
        moment_ms = int((now or utcnow()).timestamp() * 1000)
        member = f"{moment_ms}-{secrets.token_hex(6)}"
        args: list[str | int] = [moment_ms, member]
        for limit in limits:
            args += [limit.limit, limit.window_seconds * 1000, "1" if limit.enforced else "0"]
        keys = [self.prefix + limit.key for limit in limits]
        with self._answers():
            wait_ms = int(cast(int, self._take(keys=keys, args=args)))
        if wait_ms > 0:
            raise OverLimit(_seconds(wait_ms / 1000))
        return Taken(tuple(limit.key for limit in limits), member)

    def give_back(self, taken: Taken) -> None:
        with self._answers(), self.client.pipeline() as pipe:
            for key in taken.keys:
                pipe.zrem(self.prefix + key, taken.hit)
            pipe.execute()

    def clear(self, key: str) -> None:
        with self._answers():
            self.client.delete(self.prefix + key)

    @contextmanager
    def _answers(self) -> Iterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except RedisError as exc:
            raise LimitsUnavailable(
                "This is unavailable for a moment (the limits' store did not answer); "
                "try again shortly.",
                retry_after_seconds=5,
            ) from exc


def open_rate_limiter(settings: Settings, factory: sessionmaker[Session]) -> RateLimiter:
    """Redis when settings.redis_url names one, else the database `factory` opens."""
    if settings.redis_url:
        from redis import Redis

        client = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        return RedisRateLimiter(client, prefix=settings.redis_key_prefix)
    return DatabaseRateLimiter(factory)


@contextmanager
def one_at_a_time(limiter: RateLimiter, name: str, *, lease_seconds: int) -> Iterator[bool]:
    """True in the one process that holds the lease `name` (until the block ends, or at most
    `lease_seconds` if the process dies in it); False in every other one meanwhile."""
    try:
        taken = limiter.take([Limit(f"lease:{name}", 1, lease_seconds)])
    except OverLimit:
        yield False
        return
    try:
        yield True
    finally:
        limiter.give_back(taken)


def rate_limiter(request: Request) -> RateLimiter:
    """The app's limiter (sign-in's helpers take it from their request), opened on first use."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = state.rate_limiter = open_rate_limiter(state.settings, state.sessionmaker)
    return limiter
