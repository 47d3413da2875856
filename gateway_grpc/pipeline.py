"""The request pipeline: the Handler protocol, the pass-through Stage, and the stage order, written once.

    guardrails -> router -> (per target of the call's routing tree) cache -> retry -> provider call

The cache sits at each target, where Portkey looks it up (contract §6 step 5): its key holds the target's identity,
and a fallback chain has an entry per target (cache/target_cache.py). `build_pipeline` composes the stages once at
start-up; per request only the handler methods run. Guardrails are a seam today (they pass calls through).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gateway_grpc.cache.setup import build_cache
from gateway_grpc.cache.target_cache import TargetCache
from gateway_grpc.completions import Completion, CompletionRequest
from gateway_grpc.config import GatewaySettings
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.media import (
    ImageRequest,
    ImageResponse,
    SpeechChunk,
    SpeechRequest,
    TranscriptionRequest,
    TranscriptionResponse,
)
from gateway_grpc.metrics import CacheMetrics, RoutingMetrics
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.retry import Backoff, RetryStage
from gateway_grpc.routing.circuit import CircuitBreakers
from gateway_grpc.routing.plan import Planner
from gateway_grpc.routing.router import RouterStage, RouteTable
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

    async def complete_text(self, request: CompletionRequest, ctx: CallContext) -> Completion:
        """One text completion (OpenAI's legacy Completions API, or fill-in-the-middle)."""
        ...

    def stream_text(self, request: CompletionRequest, ctx: CallContext) -> AsyncIterator[Completion]:
        """A text completion chunk by chunk; as `stream`, errors after the first chunk propagate."""
        ...

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        """Vectors for the request's inputs."""
        ...

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        """The models the call's target offers."""
        ...

    async def generate_images(self, request: ImageRequest, ctx: CallContext) -> ImageResponse:
        """Generated images."""
        ...

    def speak(self, request: SpeechRequest, ctx: CallContext) -> AsyncIterator[SpeechChunk]:
        """Spoken audio, piece by piece as the upstream sends it."""
        ...

    async def transcribe(self, request: TranscriptionRequest, ctx: CallContext) -> TranscriptionResponse:
        """The text (or English translation) of an audio file."""
        ...


class Stage:
    """A pipeline step that hands every call to `next`; concrete stages override the calls they act on."""

    def __init__(self, next_handler: Handler) -> None:
        self.next = next_handler

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        return await self.next.complete(request, ctx)

    def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[ChatChunk]:
        return self.next.stream(request, ctx)

    async def complete_text(self, request: CompletionRequest, ctx: CallContext) -> Completion:
        return await self.next.complete_text(request, ctx)

    def stream_text(self, request: CompletionRequest, ctx: CallContext) -> AsyncIterator[Completion]:
        return self.next.stream_text(request, ctx)

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        return await self.next.embed(request, ctx)

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        return await self.next.list_models(ctx)

    async def generate_images(self, request: ImageRequest, ctx: CallContext) -> ImageResponse:
        return await self.next.generate_images(request, ctx)

    def speak(self, request: SpeechRequest, ctx: CallContext) -> AsyncIterator[SpeechChunk]:
        return self.next.speak(request, ctx)

    async def transcribe(self, request: TranscriptionRequest, ctx: CallContext) -> TranscriptionResponse:
        return await self.next.transcribe(request, ctx)


class GuardrailStage(Stage):
    """Seam: input checks before the cache, output checks after the answer (guardrails issue)."""


@dataclass(frozen=True, slots=True)
class Pipeline:
    handler: Handler
    routes: RouteTable
    breakers: CircuitBreakers
    metrics: RoutingMetrics
    cache: TargetCache


def build_pipeline(settings: GatewaySettings, transport: ProviderTransport, *, rng: random.Random | None = None,
                   clock: Callable[[], float] | None = None,
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Pipeline:
    """The stages in their fixed order, composed once, and every configured routing tree compiled (InvalidConfig
    names the bad path). `rng`, `clock` (monotonic seconds) and `sleep` are injectable for tests."""
    rng = rng or random.Random()
    clock = clock or time.monotonic
    routing = settings.routing
    backoff = Backoff(routing.retry_backoff_base_ms / 1000, routing.retry_backoff_cap_ms / 1000,
                      routing.retry_after_budget_ms / 1000)
    metrics = RoutingMetrics()
    breakers = CircuitBreakers(clock, routing.circuit_breaker_max_targets, metrics.circuit)
    guard = HostGuard(settings.security.custom_host_allowlist)
    provider_call = ProviderCall(transport, token_guard=guard)  # token endpoints pass the custom-host guard too
    cache = build_cache(settings.cache, CacheMetrics(metrics.registry), provider_call.embed, guard, clock)
    planner = Planner(guard, RetryStage(provider_call, backoff, rng, sleep), breakers, rng, clock,
                      routing.circuit_breaker, metrics, cache)
    routes = RouteTable(settings, planner)
    return Pipeline(GuardrailStage(RouterStage()), routes, breakers, metrics, cache)
