"""Where cache entries live: the `CacheStore` protocol and the embedded default, `MemoryStore`.

MemoryStore is bounded by entries and by bytes (key + value + a fixed per-entry overhead), evicts the least
recently used entry first, and expires entries actively: a heap of expiry times is drained on every call, so an
expired entry never outlives the next call nor counts against the bounds for long. No request mix can make it grow
past its bounds: an entry larger than `max_entry_bytes` is not stored at all. Single-threaded (the event loop).
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

ENTRY_OVERHEAD_BYTES = 200  # the OrderedDict slot, the tuple, the heap row: counted so tiny entries still cost


class CacheStore(Protocol):
    """Bytes by key with a time to live. Never raises for a backend failure: a read is then a miss."""

    name: str

    async def get(self, key: str) -> bytes | None:
        ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        ...


class MemoryStore:
    """LRU by entries and bytes, TTL by the injected monotonic clock (seconds)."""

    name = "memory"

    def __init__(self, max_entries: int, max_bytes: int, max_entry_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._expiries: list[tuple[float, str]] = []
        self._max_entries, self._max_bytes, self._max_entry_bytes = max_entries, max_bytes, max_entry_bytes
        self._clock = clock
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _cost(key: str, value: bytes) -> int:
        return len(key) + len(value) + ENTRY_OVERHEAD_BYTES

    def _drop(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self.bytes -= self._cost(key, value)

    def _expire(self, now: float) -> None:
        heap = self._expiries
        while heap and heap[0][0] <= now:
            expires, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is not None and entry[1] == expires:  # not rewritten since with a later expiry
                self._drop(key)
        if len(heap) > 2 * len(self._entries) + 64:  # rows of rewritten or evicted entries: rebuild
            self._expiries = [(expires, key) for key, (_, expires) in self._entries.items()]
            heapq.heapify(self._expiries)

    async def get(self, key: str) -> bytes | None:
        self._expire(self._clock())
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        now = self._clock()
        self._expire(now)
        cost = self._cost(key, value)
        if ttl_s <= 0 or len(value) > self._max_entry_bytes or cost > self._max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        while self._entries and (len(self._entries) >= self._max_entries or self.bytes + cost > self._max_bytes):
            self._drop(next(iter(self._entries)))
        expires = now + ttl_s
        self._entries[key] = (value, expires)
        self.bytes += cost
        heapq.heappush(self._expiries, (expires, key))
