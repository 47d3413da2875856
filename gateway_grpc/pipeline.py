"""The request pipeline: the Handler protocol and the stage order, written once.

    router -> (per target of the call's routing tree) input guardrails -> cache -> retry -> provider call
                                                      output guardrails <- on every answer (fresh: inside each try)

Guardrails and the cache sit at each target, where Portkey runs them (contract §6 steps 2, 5, 9): hooks are a
target's config (inherited down the tree), the cache key holds the target's identity and the request as the input
guardrails left it, and output guardrails judge each try's answer inside the retry loop (so a 446 can be retried or
fall back) and every cached answer (a stored answer never bypasses a newer policy; answers that failed are never
stored). `build_pipeline` composes the stages once at start-up; per request only the handler methods run.
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
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.setup import build_guardrails
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.media import (
    ImageRequest,
    ImageResponse,
    SpeechChunk,
    SpeechRequest,
    TranscriptionRequest,
    TranscriptionResponse,
)
from gateway_grpc.metrics import CacheMetrics, GuardrailMetrics, RoutingMetrics
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


@dataclass(frozen=True, slots=True)
class Pipeline:
    handler: Handler
    routes: RouteTable
    breakers: CircuitBreakers
    metrics: RoutingMetrics
    cache: TargetCache
    guardrails: HookRunner


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
    guardrails, runner = build_guardrails(settings.guardrails, transport, guard, provider_call.complete,
                                          GuardrailMetrics(metrics.registry))
    planner = Planner(guard, RetryStage(provider_call, backoff, rng, sleep), breakers, rng, clock,
                      routing.circuit_breaker, metrics, cache, guardrails)
    routes = RouteTable(settings, planner)
    return Pipeline(RouterStage(), routes, breakers, metrics, cache, runner)
