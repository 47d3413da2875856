"""The semantic cache: a question close enough to one already answered, for the same tenant, target, model, context
and answer-changing parameters, is answered from that entry.

- What is embedded (cache/prompt_text.py), by the embedded MiniLM model or a provider (cache/embedders.py): a chat
  request's last user turn; a text completion's single prompt.
  Everything else (system prompt, earlier turns, tools, parameters, a completion's `suffix`) goes verbatim into the
  namespace digest (cache/keys.py `semantic_namespace`), so a semantic hit never crosses tenants, models or contexts.
  Embeddings requests, multi-prompt completions and requests with images or audio are exact-only.
- A hit is cosine similarity >= `similarity_threshold` to the nearest stored question (cache/vectors.py, HNSW);
  it names the exact key of the stored answer, read from the same store as exact hits (so its TTL applies).
- Local embedding (~3.6 ms) and index work run on one worker thread, off the event loop. An embedder that fails
  (a provider's error) makes the call exact-only, counted as a backend error; it never fails the call.
- Shared across replicas (Redis backend): each stored question is appended to a Redis stream (capped at
  `max_entries`); every replica replays the stream at start-up and then follows it, so a question stored through one
  replica is a semantic hit on all. A Redis failure loses only sharing, never a call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway_grpc.cache import keys
from gateway_grpc.cache.embedders import Embedder
from gateway_grpc.cache.prompt_text import prompt_context, prompt_text
from gateway_grpc.completions import CompletionRequest
from gateway_grpc.errors import GatewayError
from gateway_grpc.types import CallContext, ChatRequest

STREAM = "gw:cache:semantic"
log = logging.getLogger("gateway_grpc.cache")


def question(request: Any) -> tuple[str, Any] | None:
    """(the text to embed, the rest of the request for the namespace), or None when the request is exact-only."""
    if isinstance(request, ChatRequest):
        text = prompt_text(request)
        return (text, replace(request, messages=prompt_context(request))) if text is not None else None
    if isinstance(request, CompletionRequest) and isinstance(request.prompt, str) and request.prompt.strip():
        return request.prompt, replace(request, prompt="")
    return None


@dataclass(frozen=True, slots=True)
class Probe:
    """A request's question, embedded, and the namespace it may match in."""

    namespace: str
    vector: np.ndarray


class SemanticIndex:
    """TargetCache's SemanticLookup. `share` (a Redis client) makes the index one for every replica."""

    def __init__(self, embedder: Embedder, index: Any, threshold: float, worker: ThreadPoolExecutor,
                 on_hit: Callable[[float], None] | None = None, share: Redis | None = None,
                 max_shared: int = 100_000, on_error: Callable[[str, str], None] | None = None) -> None:
        """`worker` is the one thread index work (and a local embedder) runs on."""
        self._embedder = embedder
        self._index, self._threshold = index, threshold
        self._on_hit, self._on_error = on_hit, on_error
        self._worker = worker
        self._share, self._max_shared = share, max_shared
        self._follower: asyncio.Task[None] | None = None
        self._last_id = "0"

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)


    async def probe(self, kind: str, request: Any, ctx: CallContext) -> Probe | None:
        """The request's question embedded, or None when it is exact-only."""
        asked = question(request)
        if asked is None or ctx.target is None:
            return None
        text, rest = asked
        try:
            vector = await self._embedder.vector(text)
        except GatewayError as error:  # a provider embedder that failed: this call is exact-only
            log.warning("semantic cache: embedding failed (%s); exact lookup only", error.reason)
            if self._on_error is not None:
                self._on_error("embedder", "embed")
            return None
        return Probe(keys.semantic_namespace(kind, rest, ctx.target, ctx.caller), vector)

    async def nearest(self, probe: Probe) -> tuple[str, float] | None:
        """The exact key of the closest stored question and its similarity, when at least the threshold."""
        found = await self._run(self._index.nearest, probe.namespace, probe.vector)
        if found is None or found[1] < self._threshold:
            return None
        if self._on_hit is not None:
            self._on_hit(found[1])
        return found

    async def remember(self, probe: Probe, key: str, ttl_s: float) -> None:
        """Index the question as asking what `key` answers (and share it)."""
        await self._run(self._index.add, probe.namespace, key, probe.vector)
        if self._share is not None:
            await self._publish(probe.namespace, key, probe.vector, ttl_s)

    async def forget(self, probe: Probe, key: str) -> None:
        await self._run(self._index.remove, probe.namespace, key)

    # ---- sharing through Redis ----

    async def _publish(self, namespace: str, key: str, vector: np.ndarray, ttl_s: float) -> None:
        fields = {"ns": namespace, "key": key, "vec": vector.astype(np.float32).tobytes(),
                  "exp": repr(time.time() + ttl_s)}
        try:
            await self._share.xadd(STREAM, fields, maxlen=self._max_shared, approximate=True)  # type: ignore[union-attr]
        except (RedisError, OSError) as error:
            log.warning("semantic cache: could not share an entry through redis (%s)", type(error).__name__)

    async def start(self) -> None:
        """Load the embedder (a bad model file stops start-up); replay the shared stream into the local index, then
        follow it (Redis backend only)."""
        await self._embedder.start()
        if self._share is None or self._follower is not None:
            return
        try:
            await self._read(count=1000, block=None)
        except (RedisError, OSError) as error:
            log.warning("semantic cache: no shared entries from redis at start-up (%s)", type(error).__name__)
        self._follower = asyncio.create_task(self._follow(), name="semantic-cache-follower")

    async def _read(self, count: int, block: int | None) -> None:
        while True:
            answer = await self._share.xread({STREAM: self._last_id}, count=count, block=block)  # type: ignore[union-attr]
            rows = answer[0][1] if answer else []
            for entry_id, fields in rows:
                self._last_id = entry_id
                await self._learn(fields)
            if len(rows) < count or block is not None:
                return

    async def _learn(self, fields: dict[bytes, bytes]) -> None:
        if float(fields[b"exp"]) <= time.time():
            return
        vector = np.frombuffer(fields[b"vec"], dtype=np.float32)
        await self._run(self._index.add, fields[b"ns"].decode(), fields[b"key"].decode(), vector)

    async def _follow(self) -> None:
        while True:
            try:
                await self._read(count=500, block=1000)
            except (RedisError, OSError, KeyError, ValueError) as error:
                log.warning("semantic cache: following redis failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(1.0)

    async def aclose(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        if self._share is not None:
            await self._share.aclose()
        self._worker.shutdown(wait=False)
