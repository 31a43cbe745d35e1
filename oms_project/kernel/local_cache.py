"""Per-process caches with a short lifetime: the one home of caching (docs/performance.md).

Each cache holds values loaded from the database for at most `OMS_AUTH_CACHE_SECONDS` (0: off).
A change made in this process invalidates its entries at once and again when its transaction
commits (so a reader between the two cannot keep the old value). Another process sees a change
when its entry expires: that lifetime is how long a revoked user or a changed tenant setting can
still act there (docs/authentication.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.db import transaction


class TtlCache:
    def __init__(self, name: str, max_entries: int = 10_000) -> None:
        self.name = name
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        CACHES.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        ttl = settings.OMS_AUTH_CACHE_SECONDS
        if ttl <= 0:
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        self.put(key, value, now + ttl)
        return value

    def put(self, key: Hashable, value: Any, until: float | None = None) -> None:
        """Keep `value` (loaded along with another cache's) for the cache's lifetime."""
        ttl = settings.OMS_AUTH_CACHE_SECONDS
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # rare: a burst of distinct keys; start over
            self._entries[key] = (until if until is not None else time.monotonic() + ttl, value)

    def invalidate(self, key: Hashable | None = None) -> None:
        """Drop `key` (every entry when None) now and again when the current transaction commits."""
        self._drop(key)
        transaction.on_commit(lambda: self._drop(key))

    def _drop(self, key: Hashable | None) -> None:
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)


CACHES: list[TtlCache] = []


def clear_all() -> None:
    for cache in CACHES:
        cache._drop(None)
