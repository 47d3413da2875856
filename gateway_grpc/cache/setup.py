"""The cache as the config file asks for it, built once at start-up: the store (memory or Redis), the default
policy, and (when enabled) the semantic index."""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway_grpc.cache.redis_store import RedisStore
from gateway_grpc.cache.stores import CacheStore, MemoryStore
from gateway_grpc.cache.target_cache import TargetCache, cache_policy
from gateway_grpc.config import CacheSettings
from gateway_grpc.metrics import CacheMetrics


def build_store(settings: CacheSettings, metrics: CacheMetrics,
                clock: Callable[[], float] = time.monotonic) -> CacheStore:
    if settings.backend == "redis":
        return RedisStore.from_url(settings.redis_url, settings.redis_timeout_ms / 1000, metrics.backend_error)
    return MemoryStore(settings.max_entries, settings.max_bytes, settings.max_entry_bytes, clock)


def build_cache(settings: CacheSettings, metrics: CacheMetrics,
                clock: Callable[[], float] = time.monotonic) -> TargetCache:
    default = cache_policy(settings.default) if settings.default is not None else None
    return TargetCache(build_store(settings, metrics, clock), default, None, metrics, clock)
