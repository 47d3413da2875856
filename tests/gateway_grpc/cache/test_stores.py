"""cache/stores.py and cache/redis_store.py: one behavioural suite run against the embedded store and a real Redis;
then the memory store's bounds (entries, bytes, entry size), LRU order and active expiry by an injected clock, and
Redis outages as misses that never fail a call."""

from __future__ import annotations

import asyncio
import time

import pytest_asyncio

from gateway_grpc.cache.redis_store import RedisStore
from gateway_grpc.cache.stores import ENTRY_OVERHEAD_BYTES, MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(params=["memory", "redis"])
async def store(request):
    if request.param == "memory":
        yield MemoryStore(1000, 10_000_000, 1_000_000)
        return
    redis = RedisStore.from_url(request.getfixturevalue("redis_url"), timeout_s=1.0)
    yield redis
    await redis.aclose()


async def test_stores_set_then_get_returns_the_bytes(store):
    value = bytes(range(256)) * 10
    await store.set("gw:cache:a", value, 60)
    assert await store.get("gw:cache:a") == value
    assert await store.get("gw:cache:missing") is None


async def test_stores_a_rewrite_replaces_the_value(store):
    await store.set("k", b"one", 60)
    await store.set("k", b"two", 60)
    assert await store.get("k") == b"two"


async def test_stores_nothing_is_kept_with_no_time_to_live(store):
    await store.set("k", b"v", 0)
    assert await store.get("k") is None


async def test_stores_entries_expire(store):
    """Redis keeps time itself: a 100 ms entry is polled until it is gone (at most 3 s)."""
    if isinstance(store, MemoryStore):
        clock = Clock()
        store = MemoryStore(10, 10_000, 1_000, clock)
        await store.set("k", b"v", 5)
        clock.now += 4.999
        assert await store.get("k") == b"v"
        clock.now += 0.001
        assert await store.get("k") is None and len(store) == 0 and store.bytes == 0
        return
    await store.set("k", b"v", 0.1)
    assert await store.get("k") == b"v"
    deadline = time.monotonic() + 3
    while await store.get("k") is not None:
        assert time.monotonic() < deadline, "a 100 ms Redis entry outlived 3 s"
        await asyncio.sleep(0.02)


async def test_memory_store_evicts_least_recently_used_past_max_entries():
    store = MemoryStore(3, 1_000_000, 1_000)
    for name in "abc":
        await store.set(name, b"v", 60)
    await store.get("a")  # a is now the most recently used
    await store.set("d", b"v", 60)
    assert [await store.get(n) for n in "abcd"] == [b"v", None, b"v", b"v"] and len(store) == 3


async def test_memory_store_bytes_never_pass_the_bound():
    limit = 10 * (ENTRY_OVERHEAD_BYTES + 100 + 4)
    store = MemoryStore(1_000_000, limit, 1_000)
    for i in range(500):
        await store.set(f"k{i:03d}", b"x" * 100, 60)
        assert store.bytes <= limit
    assert len(store) == 10 and await store.get("k499") is not None and await store.get("k000") is None


async def test_memory_store_refuses_oversized_entries_and_keeps_the_rest():
    store = MemoryStore(100, 100_000, 1_000)
    await store.set("small", b"v", 60)
    await store.set("big", b"x" * 1_001, 60)
    assert await store.get("big") is None and await store.get("small") == b"v"


async def test_memory_store_active_expiry_frees_entries_without_reads_of_them():
    clock = Clock()
    store = MemoryStore(1_000, 1_000_000, 1_000, clock)
    for i in range(100):
        await store.set(f"short{i}", b"v" * 10, 1)
    await store.set("long", b"v", 100)
    clock.now += 2
    await store.get("unrelated")  # any call drains what has expired
    assert len(store) == 1 and store.bytes == len("long") + 1 + ENTRY_OVERHEAD_BYTES


async def test_memory_store_rewrites_keep_the_later_expiry_and_the_heap_small():
    clock = Clock()
    store = MemoryStore(10, 1_000_000, 1_000, clock)
    for _ in range(1_000):
        await store.set("k", b"v", 5)
    clock.now += 3
    await store.set("k", b"v2", 5)  # expires at +8 now, not +5
    clock.now += 3
    assert await store.get("k") == b"v2"
    assert len(store._expiries) <= 2 * len(store) + 64


async def test_redis_store_outage_is_a_miss_then_recovers(redis_server, redis_url):
    errors: list[tuple[str, str]] = []
    store = RedisStore.from_url(redis_url, timeout_s=0.2, on_error=lambda *e: errors.append(e))
    clock = Clock()
    store._clock = clock
    await store.set("k", b"v", 60)
    redis_server.pause()
    try:
        started = time.monotonic()
        assert await store.get("k") is None  # timed out: a miss
        await store.set("k2", b"v", 60)  # skipped during the back-off: no second timeout
        assert await store.get("k") is None
        assert time.monotonic() - started < 1.0
    finally:
        redis_server.resume()
    assert errors == [("redis", "get")]
    clock.now += 1.5  # the back-off is over
    assert await store.get("k") == b"v"
    await store.aclose()


async def test_redis_store_refused_connection_is_a_miss():
    store = RedisStore.from_url("redis://127.0.0.1:1/0", timeout_s=0.2)
    assert await store.get("k") is None
    await store.set("k", b"v", 60)
    await store.aclose()


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


async def test_memory_store_flood_of_unique_entries_keeps_memory_bounded():
    """100 MB of unique 1 KB answers through an 8 MB store: its byte count never passes the bound, and the
    process's resident memory grows by far less than what went through (measured: a few MB)."""
    limit = 8 * 2**20
    store = MemoryStore(1_000_000, limit, 64 * 1024)
    value = b"x" * 1024
    before = _rss_bytes()
    for i in range(100_000):
        await store.set(f"gw:cache:{i:012d}", value, 3600)
        if i % 10_000 == 0:
            assert store.bytes <= limit
    grown = _rss_bytes() - before
    assert store.bytes <= limit and len(store) < limit // 1024
    assert grown < 3 * limit, f"resident memory grew {grown / 2**20:.1f} MB for an 8 MB store"
