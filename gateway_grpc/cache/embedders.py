"""What turns a question into a vector for the semantic cache: the embedded MiniLM model (default, offline), or any
configured embeddings provider target (`cache.semantic.embedder` in the config file).

Both give unit-length float32 vectors of a fixed size (`dimensions`) through one async method, `vector(text)`:
- `LocalEmbedder` runs MiniLM on the semantic cache's worker thread (never on the event loop), loading the model
  once per process at start-up;
- `ProviderEmbedder` sends an embeddings request through the same ProviderCall as every upstream call (transport,
  token seam, SSRF-checked host), normalises the answer, and refuses a vector of the wrong size. Its failures are
  typed gateway errors: the semantic cache then treats the call as exact-only, never fails it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from gateway_grpc.cache.embedder import DIMENSIONS, MiniLMEmbedder
from gateway_grpc.errors import ProviderBadResponse
from gateway_grpc.types import CallContext, EmbeddingsRequest, Target

EMBED_TIMEOUT_S = 10.0  # one embeddings call of a provider embedder, first byte included


class Embedder(Protocol):
    dimensions: int

    async def vector(self, text: str) -> np.ndarray:
        """The text's unit-length vector."""
        ...

    async def start(self) -> None:
        ...


@functools.cache
def shared_minilm() -> MiniLMEmbedder:
    """One model per process (read-only; its session takes concurrent runs): servers in one process share it."""
    return MiniLMEmbedder()


class LocalEmbedder:
    """MiniLM on `worker` (the semantic cache's one thread, which also serialises index work)."""

    dimensions = DIMENSIONS

    def __init__(self, worker: ThreadPoolExecutor, load: Callable[[], Any] = shared_minilm) -> None:
        self._worker, self._load = worker, load
        self._model: Any = None

    async def start(self) -> None:
        """Load the model (a bad model file stops start-up)."""
        self._model = await asyncio.get_running_loop().run_in_executor(self._worker, self._load)

    async def vector(self, text: str) -> np.ndarray:
        if self._model is None:  # a server always starts it first; a bare pipeline loads on first use
            await self.start()
        model = self._model
        rows = await asyncio.get_running_loop().run_in_executor(self._worker, model.embed, [text])
        return rows[0]


class ProviderEmbedder:
    """Embeddings from `target` (a provider, key and host from the config file) through `call` (ProviderCall.embed)."""

    def __init__(self, call: Callable[[EmbeddingsRequest, CallContext], Awaitable[Any]], target: Target, model: str,
                 dimensions: int, send_dimensions: bool) -> None:
        self._call, self._target, self._model = call, target, model
        self.dimensions, self._send_dimensions = dimensions, send_dimensions

    async def start(self) -> None:
        """Nothing to load: the provider is called per question."""

    async def vector(self, text: str) -> np.ndarray:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EMBED_TIMEOUT_S
        ctx = CallContext(f"semantic-cache-{time.monotonic_ns()}", deadline, target=self._target,
                          attempt_timeout=EMBED_TIMEOUT_S, attempt_deadline=deadline)
        dimensions = self.dimensions if self._send_dimensions else None
        answer = await self._call(EmbeddingsRequest(self._model, (text,), dimensions=dimensions), ctx)
        row = np.asarray(answer.vectors[0], dtype=np.float32)
        if row.shape != (self.dimensions,):
            raise ProviderBadResponse(f"{self._target.provider}: the semantic cache's embedder answered a vector of "
                                      f"{row.size} numbers, not cache.semantic.embedder.dimensions "
                                      f"({self.dimensions})", provider=self._target.provider)
        norm = float(np.linalg.norm(row))
        return row / norm if norm > 0 else row
