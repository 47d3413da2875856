"""The cache as the config file asks for it, built once at start-up: the store (memory or Redis), the default
policy, and (when enabled) the semantic index."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from redis.asyncio import Redis

from gateway_grpc.cache.embedders import Embedder, LocalEmbedder, ProviderEmbedder
from gateway_grpc.cache.redis_store import RedisStore
from gateway_grpc.cache.semantic import SemanticIndex
from gateway_grpc.cache.stores import CacheStore, MemoryStore
from gateway_grpc.cache.target_cache import TargetCache, cache_policy
from gateway_grpc.cache.vectors import VectorIndex
from gateway_grpc.config import CacheSettings, SemanticCacheSettings
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.metrics import CacheMetrics
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.types import EMPTY, CallContext, EmbeddingsRequest, Target

EmbedCall = Callable[[EmbeddingsRequest, CallContext], Awaitable[Any]]


def build_store(settings: CacheSettings, metrics: CacheMetrics,
                clock: Callable[[], float] = time.monotonic) -> CacheStore:
    if settings.backend == "redis":
        return RedisStore.from_url(settings.redis_url, settings.redis_timeout_ms / 1000, metrics.backend_error)
    return MemoryStore(settings.max_entries, settings.max_bytes, settings.max_entry_bytes, clock)


def build_embedder(settings: SemanticCacheSettings, worker: ThreadPoolExecutor, embed: EmbedCall,
                   guard: HostGuard) -> Embedder:
    """MiniLM, or the configured provider target (its custom host checked now: a bad one stops start-up)."""
    spec = settings.embedder
    if spec is None:
        return LocalEmbedder(worker)
    where = "cache.semantic.embedder"
    if spec.provider not in PROVIDERS:
        raise InvalidConfig.field(f"{where}.provider", f"unknown provider {spec.provider!r}")
    base_url = guard.check(spec.custom_host, f"{where}.custom_host") if spec.custom_host else ""
    target = Target(spec.provider, spec.api_key or "", base_url, provider_options=spec.provider_options or EMPTY)
    return ProviderEmbedder(embed, target, spec.model, spec.dimensions, spec.send_dimensions)


def build_semantic(settings: CacheSettings, metrics: CacheMetrics, embed: EmbedCall,
                   guard: HostGuard) -> SemanticIndex | None:
    semantic = settings.semantic
    if not semantic.enabled:
        return None
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="semantic-cache")
    embedder = build_embedder(semantic, worker, embed, guard)
    share = Redis.from_url(settings.redis_url, socket_timeout=5.0) if settings.backend == "redis" else None
    return SemanticIndex(embedder, VectorIndex(embedder.dimensions, semantic.max_entries),
                         semantic.similarity_threshold, worker, metrics.semantic_hit, share, semantic.max_entries,
                         metrics.backend_error)


def build_cache(settings: CacheSettings, metrics: CacheMetrics, embed: EmbedCall, guard: HostGuard,
                clock: Callable[[], float] = time.monotonic) -> TargetCache:
    """`embed` (ProviderCall.embed) serves a provider embedder; `guard` checks its custom host."""
    default = cache_policy(settings.default) if settings.default is not None else None
    semantic = build_semantic(settings, metrics, embed, guard)
    return TargetCache(build_store(settings, metrics, clock), default, semantic, metrics)
