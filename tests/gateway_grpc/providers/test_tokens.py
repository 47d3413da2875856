"""The access-token cache (providers/tokens.py): hits, expiry by the injected clock (60 s early), single flight for
concurrent misses, LRU bounds, errors never cached, a cancelled leader handing over, tokens kept out of reprs."""

from __future__ import annotations

import asyncio

import pytest

from gateway_grpc import errors as e
from gateway_grpc.providers.tokens import TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    """A scripted token endpoint: counts fetches; `gate` (when set) holds each fetch until released."""

    def __init__(self, expires_in: float = 3600, error: Exception | None = None) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.error = error
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"token-{self.calls}", self.expires_in


async def test_tokens_a_second_get_is_a_hit():
    cache, fetch = TokenCache(Clock()), Fetcher()
    assert [await cache.get("k", fetch), await cache.get("k", fetch)] == ["token-1", "token-1"]
    assert fetch.calls == 1 and len(cache) == 1


async def test_tokens_expire_sixty_seconds_early_by_the_injected_clock():
    clock, fetch = Clock(), Fetcher(expires_in=3600)
    cache = TokenCache(clock)
    await cache.get("k", fetch)
    clock.now += 3539.9
    assert await cache.get("k", fetch) == "token-1"
    clock.now += 0.1  # expires_in - 60 s
    assert await cache.get("k", fetch) == "token-2" and fetch.calls == 2


async def test_tokens_too_short_lived_to_reuse_are_not_cached():
    cache, fetch = TokenCache(Clock()), Fetcher(expires_in=60)
    assert [await cache.get("k", fetch), await cache.get("k", fetch)] == ["token-1", "token-2"]
    assert len(cache) == 0


async def test_tokens_concurrent_misses_share_one_fetch():
    cache, fetch = TokenCache(Clock()), Fetcher()
    fetch.gate = asyncio.Event()
    callers = [asyncio.create_task(cache.get("k", fetch)) for _ in range(25)]
    await asyncio.sleep(0)
    fetch.gate.set()
    assert await asyncio.gather(*callers) == ["token-1"] * 25
    assert fetch.calls == 1


async def test_tokens_single_flight_is_per_key():
    cache, fetch = TokenCache(Clock()), Fetcher()
    tokens = await asyncio.gather(*(cache.get(key, fetch) for key in ("a", "b", "a", "b")))
    assert fetch.calls == 2 and tokens[0] == tokens[2] and tokens[1] == tokens[3] and tokens[0] != tokens[1]


async def test_tokens_are_bounded_least_recently_used_first():
    cache, fetch = TokenCache(Clock(), max_entries=2), Fetcher()
    await cache.get("a", fetch)
    await cache.get("b", fetch)
    await cache.get("a", fetch)  # a is now the most recently used
    await cache.get("c", fetch)  # evicts b
    assert len(cache) == 2 and fetch.calls == 3
    assert await cache.get("a", fetch) == "token-1" and fetch.calls == 3
    assert await cache.get("b", fetch) == "token-4" and fetch.calls == 4


async def test_tokens_errors_reach_every_waiter_and_are_not_cached():
    fetch = Fetcher(error=e.ProviderUnavailable("token endpoint down", provider="vertex-ai", status=503))
    fetch.gate = asyncio.Event()
    cache = TokenCache(Clock())
    callers = [asyncio.create_task(cache.get("k", fetch)) for _ in range(5)]
    await asyncio.sleep(0)
    fetch.gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, e.ProviderUnavailable) and r.status == 503 for r in results) and fetch.calls == 1
    fetch.error = None
    assert await cache.get("k", fetch) == "token-2" and fetch.calls == 2


async def test_tokens_a_cancelled_leader_hands_the_fetch_to_a_waiter():
    cache, fetch = TokenCache(Clock()), Fetcher()
    fetch.gate = asyncio.Event()
    leader = asyncio.create_task(cache.get("k", fetch))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get("k", fetch))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0)
    fetch.gate.set()
    assert await waiter == "token-2" and fetch.calls == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_tokens_a_cancelled_waiter_leaves_the_fetch_running():
    cache, fetch = TokenCache(Clock()), Fetcher()
    fetch.gate = asyncio.Event()
    leader = asyncio.create_task(cache.get("k", fetch))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get("k", fetch))
    await asyncio.sleep(0)
    waiter.cancel()
    fetch.gate.set()
    assert await leader == "token-1"
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert fetch.calls == 1


async def test_tokens_never_show_in_a_repr():
    cache = TokenCache(Clock())
    await cache.get("k", Fetcher())
    assert "token-1" not in repr(cache) and "token-1" not in repr(cache._entries)
