"""What an exact cache lookup costs in process: `python -m bench.cache`.

Times, per call, the pieces a hit runs on the event loop (cache/target_cache.py): the exact key of a typical chat
request (canonical JSON + BLAKE2b), the memory store's get, reading the stored answer back, and the whole hit path
`TargetCache.run` with the memory store; the same hit with a real Redis when `--redis URL` is given. Medians of
`-n` calls after a warm-up. The end-to-end hit through the REST edge is in `python -m bench.latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from gateway_grpc import types as t
from gateway_grpc.cache import answers, keys
from gateway_grpc.cache.redis_store import RedisStore
from gateway_grpc.cache.stores import MemoryStore
from gateway_grpc.cache.target_cache import CachePolicy, TargetCache

REQUEST = t.ChatRequest("gpt-4o-mini", (t.Message("system", "You are a concise assistant. " * 8),
                                        t.Message("user", "Summarise the plot of Hamlet in three sentences.")),
                        params={"temperature": 0.2, "max_tokens": 256})
ANSWER = t.ChatResponse("chatcmpl-bench", 1700000000, "gpt-4o-mini", (
    t.Choice(0, t.Message("assistant", "Prince Hamlet seeks revenge for his father's murder. " * 6), "stop"),),
    t.Usage(64, 120, 184))
TARGET = t.Target("openai", "sk-bench", base_url="http://127.0.0.1:9/v1")


class _Op:
    cache_kind, stream, request = "chat", False, REQUEST


async def _median_us(fn: Callable[[], Awaitable[object]], n: int) -> float:
    samples = []
    for _ in range(n // 10):
        await fn()
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


async def _hit_path(cache: TargetCache, n: int) -> float:
    ctx = t.CallContext("bench", target=TARGET, caller=t.CallerInputs(provider="openai", api_key="sk-bench"))

    async def upstream() -> t.ChatResponse:
        return ANSWER

    await cache.run(_Op(), ctx, CachePolicy("simple", 3600), "config", upstream)  # stores it
    return await _median_us(lambda: cache.run(_Op(), ctx, CachePolicy("simple", 3600), "config", upstream), n)


async def main_async(n: int, redis_url: str | None) -> None:
    caller = t.CallerInputs(provider="openai", api_key="sk-bench")
    key = keys.exact_key("chat", REQUEST, TARGET, caller)
    raw = answers.dump(answers.CachedAnswer("chat", ANSWER))
    memory = MemoryStore(100_000, 256 * 2**20, 4 * 2**20)
    await memory.set(key, raw, 3600)

    async def key_only() -> str:
        return keys.exact_key("chat", REQUEST, TARGET, caller)

    async def load_only() -> object:
        return answers.load(raw)

    rows = {"exact key (canonical JSON + BLAKE2b)": await _median_us(key_only, n),
            "memory store get": await _median_us(lambda: memory.get(key), n),
            "read the stored answer back": await _median_us(load_only, n),
            "whole hit, memory store (TargetCache.run)": await _hit_path(TargetCache(memory), n)}
    if redis_url:
        redis = RedisStore.from_url(redis_url, 1.0)
        rows["whole hit, redis store (loopback)"] = await _hit_path(TargetCache(redis), n)
        await redis.aclose()
    print(f"# exact cache lookup, in process ({n} calls each, answer {len(raw)} bytes)\n")
    print("| piece | median µs |\n|---|---|")
    for name, micros in rows.items():
        print(f"| {name} | {micros:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--redis", metavar="URL", help="also time a hit from this Redis (e.g. redis://127.0.0.1:6379)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.n, args.redis))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
