"""The public cache rebuilds an expired answer once, while everyone keeps getting an answer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from microdrama.cache import BACKGROUND_REBUILDS, TTLCache

T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own (Playwright's sync API may own this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


def test_fifty_requests_on_a_cold_key_share_one_build() -> None:
    cache: TTLCache[str] = TTLCache(ttl_seconds=60)
    builds = 0
    lock = threading.Lock()

    def build() -> str:
        nonlocal builds
        with lock:
            builds += 1
        time.sleep(0.05)
        return "feed"

    async def fifty() -> list[str]:
        return await asyncio.gather(*(cache.get_or_build("feed", build) for _ in range(50)))

    assert run(fifty) == ["feed"] * 50
    assert builds == 1


def test_an_expired_entry_is_served_stale_while_one_rebuild_runs() -> None:
    cache: TTLCache[int] = TTLCache(ttl_seconds=0.01)
    version = 0
    release = threading.Event()

    def build() -> int:
        nonlocal version
        release.wait(timeout=5)
        version += 1
        return version

    async def scenario() -> tuple[int, list[int], int]:
        release.set()
        first = await cache.get_or_build("k", build)
        release.clear()
        await asyncio.sleep(0.02)  # now expired
        during = await asyncio.gather(*(cache.get_or_build("k", build) for _ in range(20)))
        release.set()
        await asyncio.sleep(0.1)  # let the single background rebuild finish
        return first, during, await cache.get_or_build("k", build)

    first, during, after = run(scenario)

    assert first == 1
    assert during == [1] * 20  # nobody waited for the rebuild
    assert after == 2  # and exactly one rebuild happened


def test_a_full_cache_forgets_its_oldest_entries_not_all_of_them() -> None:
    cache: TTLCache[str] = TTLCache(ttl_seconds=60, max_entries=3)
    cache.put("feed", "the feed")
    for word in ("v", "va", "vam", "vamp"):  # a viewer typing
        cache.put(("search", word), word)

    assert cache.get("feed") is None and cache.get(("search", "v")) is None
    assert [cache.get(("search", w)) for w in ("va", "vam", "vamp")] == ["va", "vam", "vamp"]


def test_an_entry_may_stay_fresh_longer_than_the_caches_default() -> None:
    cache: TTLCache[str] = TTLCache(ttl_seconds=0.01)

    async def scenario() -> tuple[str | None, str | None]:
        await cache.get_or_build("search", lambda: "answer", ttl_seconds=60)
        cache.put("feed", "feed")
        await asyncio.sleep(0.02)
        return cache.get("search"), cache.get("feed")

    assert run(scenario) == ("answer", None)


def test_stale_entries_are_rebuilt_a_few_at_a_time_and_a_cold_key_does_not_wait() -> None:
    """Pages built together expire together: their rebuilds queue behind a few threads (the
    event loop keeps its turns) while each viewer still gets their page, and a page nobody has
    yet is built at once, not behind them."""
    cache: TTLCache[str] = TTLCache(ttl_seconds=0.01, max_stale_seconds=60)
    release = threading.Event()
    lock = threading.Lock()
    running = peak = rebuilt = 0

    def rebuild() -> str:
        nonlocal running, peak, rebuilt
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(timeout=5)
        with lock:
            running -= 1
            rebuilt += 1
        return "new"

    async def scenario() -> tuple[list[str], str, int, list[str]]:
        for key in range(10):
            await cache.get_or_build(key, lambda: "old")
        await asyncio.sleep(0.02)  # all expired
        served = [await cache.get_or_build(key, rebuild) for key in range(10)]
        cold = await asyncio.wait_for(cache.get_or_build("cold", lambda: "built"), timeout=2)
        await asyncio.sleep(0.2)  # the queued rebuilds had every chance to start
        waiting = peak
        release.set()
        for _ in range(100):
            if rebuilt == 10:
                break
            await asyncio.sleep(0.02)
        # What the viewers get next: the rebuilt pages (stale again by now, and served).
        return served, cold, waiting, [await cache.get_or_build(k, rebuild) for k in range(10)]

    served, cold, peak_while_blocked, after = run(scenario)
    assert served == ["old"] * 10
    assert cold == "built"
    assert peak_while_blocked == BACKGROUND_REBUILDS
    assert after == ["new"] * 10
