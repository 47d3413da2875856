"""The cache as the config file asks for it, built once at start-up: the store (memory or Redis), the default
policy, and (when enabled) the semantic index."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from redis.asyncio import Redis

from gateway_grpc.cache.embedder import DIMENSIONS, MiniLMEmbedder
from gateway_grpc.cache.redis_store import RedisStore
from gateway_grpc.cache.semantic import SemanticIndex
from gateway_grpc.cache.stores import CacheStore, MemoryStore
from gateway_grpc.cache.target_cache import TargetCache, cache_policy
from gateway_grpc.cache.vectors import VectorIndex
from gateway_grpc.config import CacheSettings
from gateway_grpc.metrics import CacheMetrics


def build_store(settings: CacheSettings, metrics: CacheMetrics,
                clock: Callable[[], float] = time.monotonic) -> CacheStore:
    if settings.backend == "redis":
        return RedisStore.from_url(settings.redis_url, settings.redis_timeout_ms / 1000, metrics.backend_error)
    return MemoryStore(settings.max_entries, settings.max_bytes, settings.max_entry_bytes, clock)


@functools.cache
def shared_embedder() -> MiniLMEmbedder:
    """One model per process (read-only; its session takes concurrent runs): servers in one process share it."""
    return MiniLMEmbedder()


def build_semantic(settings: CacheSettings, metrics: CacheMetrics) -> SemanticIndex | None:
    semantic = settings.semantic
    if not semantic.enabled:
        return None
    share = Redis.from_url(settings.redis_url, socket_timeout=5.0) if settings.backend == "redis" else None
    return SemanticIndex(shared_embedder, VectorIndex(DIMENSIONS, semantic.max_entries),
                         semantic.similarity_threshold, metrics.semantic_hit, share, semantic.max_entries)


def build_cache(settings: CacheSettings, metrics: CacheMetrics,
                clock: Callable[[], float] = time.monotonic) -> TargetCache:
    default = cache_policy(settings.default) if settings.default is not None else None
    return TargetCache(build_store(settings, metrics, clock), default, build_semantic(settings, metrics), metrics,
                       clock)
