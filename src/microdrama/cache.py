"""A tiny per-process TTL cache for public, read-mostly answers (the feed, series pages).

Each API process keeps its own copy for a few seconds; that bounds staleness across processes
without a shared cache server, and a process that changes the catalog clears its own copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_seconds, value)
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        cached = self.get(key)
        return cached if cached is not None else self.put(key, compute())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
