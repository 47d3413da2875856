"""The response cache at each target of a routing tree: Portkey's place for it (contract §6 step 5), per target.

When the router reaches a target whose config (inherited like the reference: a `cache` on a parent applies to every
target below it) or the server's default enables caching, that target's entry is looked up before any upstream call:
- a hit answers at once (no attempt, no retry), and reports which target's entry it was (the route log's path);
- a miss (or `x-portkey-cache-force-refresh`) calls the target, with its retries, and stores the answer only if it is
  a success and complete: errors are never stored, nor a stream that broke or that the caller left;
- a streamed call and a plain one share entries: a completed stream is stored as the answer it amounts to, and a
  hit for a stream is replayed as one (cache/replay.py).
In a fallback chain, each target has its own entry: a target that failed does not stop the next one's lookup, and
the answer is stored under the target that produced it (never the first one's, Portkey flaw §13 #5).

`x-portkey-cache-status` (response metadata, so REST headers too) and the routing summary say HIT, MISS, REFRESH,
SEMANTIC HIT, SEMANTIC MISS or DISABLED, for the target that answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway_grpc.cache import answers, keys, replay
from gateway_grpc.cache.stores import CacheStore
from gateway_grpc.config import CacheConfig
from gateway_grpc.primed import PrimedStream, primed_items
from gateway_grpc.types import AttemptRecord, CallContext

STATUS_HEADER = "x-portkey-cache-status"
HIT, MISS, REFRESH, DISABLED = "HIT", "MISS", "REFRESH", "DISABLED"
SEMANTIC_HIT, SEMANTIC_MISS = "SEMANTIC HIT", "SEMANTIC MISS"
CACHE_HIT_REASON = "CACHE_HIT"  # the route log's record of an answer served from a target's entry


DEFAULT_MAX_AGE_S = 24 * 3600  # Portkey's default, in seconds


@dataclass(frozen=True, slots=True)
class CachePolicy:
    mode: str  # "simple" (exact) or "semantic"
    max_age_s: float


def cache_policy(config: CacheConfig) -> CachePolicy:
    max_age = DEFAULT_MAX_AGE_S if config.max_age is None else config.max_age
    return CachePolicy(config.mode, float(max_age))


class CacheObserver(Protocol):
    def lookup(self, mode: str, status: str) -> None:
        """Called once per cached call with the status it ended with (metrics)."""
        ...


class SemanticLookup(Protocol):
    async def probe(self, kind: str, request: Any, ctx: CallContext) -> Any:
        """The request's question, embedded, in its namespace; None when the request is exact-only."""
        ...

    async def nearest(self, probe: Any) -> tuple[str, float] | None:
        """(the exact key of a stored answer to a question close enough, its similarity), or None."""
        ...

    async def remember(self, probe: Any, key: str, ttl_s: float) -> None:
        """Index the probe's question as asking what `key` answers."""
        ...

    async def forget(self, probe: Any, key: str) -> None:
        """Drop a question whose answer is gone from the store."""
        ...

    async def start(self) -> None:
        ...

    async def aclose(self) -> None:
        ...




@dataclass(slots=True)
class _Entry:
    """One call's cache entry: what it is filed under, and (semantic mode) its embedded question once computed."""

    kind: str
    request: Any
    key: str
    policy: CachePolicy
    probe: Any = None


class TargetCache:
    """Built once at start-up. `default` applies where no config says `cache`; `semantic` is None when the semantic
    cache is off (a `semantic` policy is then refused when the config is compiled)."""

    def __init__(self, store: CacheStore, default: CachePolicy | None = None, semantic: SemanticLookup | None = None,
                 observer: CacheObserver | None = None) -> None:
        self.store, self.default, self.semantic = store, default, semantic
        self._observer = observer

    async def run(self, op: Any, ctx: CallContext, policy: CachePolicy | None, path: str,
                  call: Callable[[], Awaitable[Any]],
                  judge: Callable[[Any, CallContext], Awaitable[Any]] | None = None) -> Any:
        """`call`'s answer, or the target's stored one. `judge` (the target's output guardrails) runs inside `call`
        on fresh answers and here on stored ones; answers that failed it are never stored."""
        policy = policy or self.default
        kind = op.cache_kind
        if policy is None or kind is None or ctx.target is None:
            ctx.response_headers[STATUS_HEADER] = ctx.log.cache_status = DISABLED
            return await call()
        entry = _Entry(kind, op.request, keys.exact_key(kind, op.request, ctx.target, ctx.caller), policy)
        semantic = self.semantic if policy.mode == "semantic" else None
        if ctx.cache_force_refresh:
            status = REFRESH
        else:
            hit = await self._lookup(entry, ctx, semantic)
            if hit is not None:
                self._report(ctx, policy, hit[1], path)
                served = self._served(op, hit[0].answer, kind)
                return served if judge is None else await judge(served, ctx)
            status = SEMANTIC_MISS if entry.probe is not None else MISS  # exact-only requests: plain MISS
        self._report(ctx, policy, status, None)
        result = await call()
        if op.stream:
            return PrimedStream(result.first, self._recording(result, entry, ctx, semantic))
        await self._store(entry, ctx, semantic, result)
        return result

    async def start(self) -> None:
        """Start what runs in the background (the semantic index following its replicas through Redis)."""
        if self.semantic is not None:
            await self.semantic.start()

    async def aclose(self) -> None:
        """Close the store's connections (Redis) and the semantic index's worker."""
        for part in (self.semantic, self.store):
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()

    async def _lookup(self, entry: _Entry, ctx: CallContext,
                      semantic: SemanticLookup | None) -> tuple[answers.CachedAnswer, str] | None:
        raw = await self.store.get(entry.key)
        found = answers.load(raw) if raw is not None else None
        if found is not None:
            return found, HIT
        if semantic is None:
            return None
        entry.probe = await semantic.probe(entry.kind, entry.request, ctx)
        near = await semantic.nearest(entry.probe) if entry.probe is not None else None
        if near is None:
            return None
        raw = await self.store.get(near[0])
        found = answers.load(raw) if raw is not None else None
        if found is None:  # the answer expired or was evicted: its question goes too
            await semantic.forget(entry.probe, near[0])
            return None
        return found, SEMANTIC_HIT

    def _report(self, ctx: CallContext, policy: CachePolicy, status: str, hit_path: str | None) -> None:
        ctx.response_headers[STATUS_HEADER] = ctx.log.cache_status = status
        if self._observer is not None:
            self._observer.lookup(policy.mode, status)
        if hit_path is not None:
            target = ctx.target
            ctx.log.attempts.append(AttemptRecord(hit_path, target.provider if target else "", 200, CACHE_HIT_REASON))

    def _served(self, op: Any, answer: Any, kind: str) -> Any:
        if not op.stream:
            return answer
        chunks = replay.REPLAY[kind](answer, op.request.include_usage)
        return primed_items(chunks)

    async def _store(self, entry: _Entry, ctx: CallContext, semantic: SemanticLookup | None, answer: Any) -> None:
        if answer is None or entry.policy.max_age_s <= 0 or _failed_guardrails(ctx):
            return
        ttl = entry.policy.max_age_s
        await self.store.set(entry.key, answers.dump(answers.CachedAnswer(entry.kind, answer)), ttl)
        if semantic is not None:
            probe = entry.probe or await semantic.probe(entry.kind, entry.request, ctx)
            if probe is not None:
                await semantic.remember(probe, entry.key, ttl)

    async def _recording(self, primed: PrimedStream, entry: _Entry, ctx: CallContext,
                         semantic: SemanticLookup | None) -> AsyncIterator[Any]:
        """The rest of a stream, passed on as it comes; stored once it has ended cleanly (never when it broke, nor
        when the caller stopped reading)."""
        chunks = [primed.first] if primed.first is not None else []
        try:
            async for chunk in primed.rest:
                chunks.append(chunk)
                yield chunk
            await self._store(entry, ctx, semantic, replay.ASSEMBLE[entry.kind](chunks))
        finally:
            await primed.rest.aclose()  # however this stream ends, the upstream's closes with it


def _failed_guardrails(ctx: CallContext) -> bool:
    """True when the answer failed an output guardrail (a 246): only answers that passed are stored (§13 #4)."""
    report = ctx.log.guardrails
    return report is not None and report.output_failed
