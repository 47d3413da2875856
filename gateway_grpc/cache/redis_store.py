"""The shared cache backend: entries in Redis (redis-py's asyncio client), so every replica reads what any stored.

A Redis that is down, slow or refusing never fails a call: a read is then a miss and a write is dropped, each
counted (`gateway_cache_backend_errors`) and logged once per outage, not once per call. After a failure the store
skips Redis for `BACKOFF_S`, so an outage costs no per-call connect timeout; every command has `timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

BACKOFF_S = 1.0
log = logging.getLogger("gateway_grpc.cache")


class RedisStore:
    name = "redis"

    def __init__(self, client: Redis, timeout_s: float, on_error: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._timeout_s = timeout_s
        self._on_error = on_error
        self._clock = clock
        self._down_until = 0.0
        self._down = False

    @classmethod
    def from_url(cls, url: str, timeout_s: float, on_error: Callable[[str, str], None] | None = None) -> RedisStore:
        client = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        return cls(client, timeout_s, on_error)

    def _available(self) -> bool:
        return not self._down or self._clock() >= self._down_until

    def _failed(self, operation: str, error: BaseException) -> None:
        if not self._down:  # once per outage; the metric counts every failure
            log.warning("cache backend redis unavailable (%s: %s); cache reads are misses until it is back",
                        operation, type(error).__name__)
        self._down, self._down_until = True, self._clock() + BACKOFF_S
        if self._on_error is not None:
            self._on_error(self.name, operation)

    def _recovered(self) -> None:
        if self._down:
            log.warning("cache backend redis is back")
            self._down = False

    async def get(self, key: str) -> bytes | None:
        if not self._available():
            return None
        try:
            async with asyncio.timeout(self._timeout_s):
                value = await self.client.get(key)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("get", error)
            return None
        self._recovered()
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if not self._available() or ttl_s <= 0:
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self.client.set(key, value, px=max(1, round(ttl_s * 1000)))
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("set", error)
            return
        self._recovered()

    async def aclose(self) -> None:
        await self.client.aclose()
