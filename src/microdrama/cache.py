"""A small per-process cache for public, read-mostly answers (the feed, series pages).

Each API process keeps its own copy for a few seconds; that bounds staleness across processes
without a shared cache server, and a process that changes the catalog clears its own copy.

Answers are rebuilt *single-flight* and *stale-while-revalidate*: when an entry expires, one
rebuild runs in a worker thread while every request keeps getting the previous bytes; only a
cold key makes requests wait, and then all of them wait for the same single build. Without
this, 50 concurrent requests meeting an expired entry ran 50 ORM builds at once (p99 468 ms).

An entry may be kept longer than the cache's default (search answers: many keys, each costly
to build), or served stale only briefly (a viewer's own feed). A full cache forgets its oldest
entries first, so a burst of new keys (every word a viewer types) does not take the feed's
with it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from fastapi import Depends, Request

from microdrama.dependencies import in_event_loop

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_stale_seconds: float = 60.0,
        max_entries: int = 1024,
        clears_with: Sequence[TTLCache[Any]] = (),
    ) -> None:
        """`clears_with`: caches of answers derived from the same data, cleared with this."""
        self.ttl_seconds = ttl_seconds
        self.clears_with = tuple(clears_with)
        self.max_stale_seconds = max_stale_seconds
        self.max_entries = max_entries
        # key -> (fresh until, usable until, value)
        self._entries: dict[Hashable, tuple[float, float, V]] = {}
        self._builds: dict[Hashable, asyncio.Task[V]] = {}
        # `put` is called from worker threads too (a page's cards, built in its thread): two
        # evicting at once would pick the same oldest key.
        self._putting = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The fresh value, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[2]

    def put(
        self,
        key: Hashable,
        value: V,
        *,
        ttl_seconds: float | None = None,
        stale_seconds: float | None = None,
    ) -> V:
        """Keep `value` fresh for `ttl_seconds` and usable while it is rebuilt for
        `stale_seconds` (defaults: the cache's; never less than it is fresh)."""
        now = time.monotonic()
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        stale = self.max_stale_seconds if stale_seconds is None else stale_seconds
        with self._putting:
            if key not in self._entries:
                while len(self._entries) >= self.max_entries:
                    del self._entries[next(iter(self._entries))]  # the oldest key first
            self._entries[key] = (now + ttl, now + max(ttl, stale), value)
        return value

    async def get_or_build(
        self,
        key: Hashable,
        build: Callable[[], V],
        *,
        ttl_seconds: float | None = None,
        stale_seconds: float | None = None,
    ) -> V:
        """The cached value; `build` (blocking, run in a thread) runs at most once at a time;
        what it builds is kept as `put` keeps it."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] >= now:
            return entry[2]
        usable = entry is not None and entry[1] >= now
        task = self._builds.get(key)
        if task is None or task.done() or task.get_loop().is_closed():
            limiter = _background_rebuilds() if usable else None
            built = self._build(key, build, ttl_seconds, stale_seconds, limiter)
            task = asyncio.get_running_loop().create_task(built)
            self._builds[key] = task
        if usable:
            assert entry is not None
            return entry[2]  # stale but usable: the rebuild runs in the background
        return await asyncio.shield(task)

    async def _build(
        self,
        key: Hashable,
        build: Callable[[], V],
        ttl_seconds: float | None,
        stale_seconds: float | None,
        limiter: anyio.CapacityLimiter | None,
    ) -> V:
        try:
            value = await anyio.to_thread.run_sync(build, limiter=limiter)
            return self.put(key, value, ttl_seconds=ttl_seconds, stale_seconds=stale_seconds)
        finally:
            self._builds.pop(key, None)

    def clear(self) -> None:
        with self._putting:
            self._entries.clear()
        for other in self.clears_with:
            other.clear()


# Stale entries are rebuilt behind the answers, at most this many at a time in each process:
# pages built together expire together (a burst of viewers), and hundreds of rebuilds in the
# thread pool at once would take the event loop's turns (the GIL) from every request.
BACKGROUND_REBUILDS = 2


_background_limiter = anyio.lowlevel.RunVar[anyio.CapacityLimiter]("background_rebuilds")


def _background_rebuilds() -> anyio.CapacityLimiter:
    """The event loop's limiter of background rebuilds (as anyio keeps its thread limiter)."""
    try:
        return _background_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(BACKGROUND_REBUILDS)
        _background_limiter.set(limiter)
        return limiter


def public_cache(request: Request) -> TTLCache[bytes]:
    """The app's per-process cache of public answers (a route dependency)."""
    cache: TTLCache[bytes] = request.app.state.public_cache
    return cache


def part_cache(request: Request) -> TTLCache[Any]:
    """The app's per-process cache of the parts answers are built from (a feed page's cards,
    a viewer's For You candidates), cleared with the public cache."""
    cache: TTLCache[Any] = request.app.state.part_cache
    return cache


PublicCache = Annotated[TTLCache[bytes], Depends(in_event_loop(public_cache))]
