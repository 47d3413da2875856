"""The request pipeline: the Handler protocol, the pass-through Stage, and the stage order, written once.

    guardrails -> cache -> router -> retry -> provider call

`build_pipeline` composes the stages once at start-up; per request only `complete`/`stream`/`embed`/`list_models`
run. Guardrails, cache and retry are seams today (they pass calls through) and are filled by their issues.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.types import (
    CallContext,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
)


class Handler(Protocol):
    """What every stage and the provider call implement."""

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        """One chat answer."""
        ...

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[ChatChunk]:
        """A chat answer chunk by chunk; errors after the first chunk propagate to the caller as exceptions."""
        ...

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        """Vectors for the request's inputs."""
        ...

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        """The models the call's target offers."""
        ...


class Stage:
    """A pipeline step that hands every call to `next`; concrete stages override the calls they act on."""

    def __init__(self, next_handler: Handler) -> None:
        self.next = next_handler

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        return await self.next.complete(request, ctx)

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[ChatChunk]:
        return self.next.stream(request, ctx)

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        return await self.next.embed(request, ctx)

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        return await self.next.list_models(ctx)


class GuardrailStage(Stage):
    """Seam: input checks before the cache, output checks after the answer (guardrails issue)."""


class CacheStage(Stage):
    """Seam: exact and semantic response cache (caching issue)."""


class RouterStage(Stage):
    """Seam: strategies over the config's target tree (routing issue). Today the context names one target."""


class RetryStage(Stage):
    """Seam: retries with backoff and jitter within the deadline (routing issue)."""


def build_pipeline(transport: ProviderTransport) -> Handler:
    """The stages in their fixed order, composed once."""
    return GuardrailStage(CacheStage(RouterStage(RetryStage(ProviderCall(transport)))))
