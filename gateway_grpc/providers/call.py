"""The pipeline's last stage: encode with the target's provider, send through the transport, frame, decode.

Token seam: a provider with `token_key` (providers/tokens.py TokenSource) first gets an access token for its
credential, from the token cache or, on a miss, by sending its `token_request` through the same transport (the
URL passes the custom-host SSRF guard, unless it is one of the provider's `gateway_token_endpoints`: fixed by the
gateway's environment, such as Azure's link-local managed identity endpoint, never by a request); the token
reaches the provider as the `access_token` option on a copy of the Target."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gateway_grpc.completions import Completion, CompletionRequest
from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderUnavailable
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.media import (
    ImageRequest,
    ImageResponse,
    SpeechChunk,
    SpeechRequest,
    TranscriptionRequest,
    TranscriptionResponse,
)
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.base import Provider
from gateway_grpc.providers.batches import embedding_batches, merged_embeddings
from gateway_grpc.providers.compliance import strict_answer, strict_chunk
from gateway_grpc.providers.eventstream import AwsEventStreamDecoder
from gateway_grpc.providers.sse import SseDecoder
from gateway_grpc.providers.tokens import ACCESS_TOKEN_OPTION, TokenCache
from gateway_grpc.providers.transport import ProviderTransport, UpstreamResponse, map_transport_errors
from gateway_grpc.types import (
    CallContext,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
)

_PREVIEW_BYTES = 200
# Stream body framers by Provider.stream_framing: `feed(bytes) -> events`, `flush() -> events`.
FRAMERS: dict[str, Callable[[], Any]] = {"sse": SseDecoder, "aws-eventstream": AwsEventStreamDecoder}


def _unfinished(provider: str, seen_event: bool, head: bytes) -> ProviderUnavailable | ProviderBadResponse:
    """A stream that ended without its end marker: cut short (503), or never an event stream at all (502)."""
    if head and not seen_event:
        preview = head.decode("utf-8", "replace")
        return ProviderBadResponse(f"Invalid response received from {provider}: {preview}", provider=provider)
    return ProviderUnavailable(f"{provider} closed the stream before it finished", provider=provider)


# The optional capabilities (beyond chat and embeddings): the provider method each needs, and the feature's name
# in the 400 when it is missing.
CAPABILITIES = {
    "encode_completion": "text completions (/v1/completions)",
    "encode_images": "image generation",
    "encode_speech": "text to speech",
    "encode_transcription": "audio transcription and translation",
}


def _capable(provider: Provider, method: str) -> Any:
    encode = getattr(provider, method, None)
    supports = getattr(provider, "supports", None)  # a host can have the method but not the service (Dialect.media)
    if encode is None or (supports is not None and not supports(method)):
        raise InvalidRequest.field("model", f"{provider.name} does not support {CAPABILITIES[method]}")
    return encode


def _strict(provider: Provider, ctx: CallContext) -> bool:
    """Whether a translated answer must be cut to OpenAI's schema (compliance.py)."""
    return ctx.strict_open_ai_compliance and getattr(provider, "translated", False)


def _chunks(decoder: Any, events: list[Any], request: ChatRequest | CompletionRequest,
            strict: bool) -> Iterator[Any]:
    """The decoded chat (or text completion) chunks of some events, naming the requested model when the upstream
    does not; without `include_usage` usage is left out (translating providers' upstreams always send it)."""
    for event in events:
        for chunk in decoder.decode(event):
            if strict:
                chunk = strict_chunk(chunk)
            if not chunk.model:
                chunk = replace(chunk, model=request.model)
            if request.include_usage or chunk.usage is None:
                yield chunk
            elif chunk.choices:
                yield replace(chunk, usage=None)


EMBEDDING_CONCURRENCY = 4  # batches of one embeddings request in flight at once


def _batch_size(provider: Provider, request: EmbeddingsRequest) -> int | None:
    size = getattr(provider, "embedding_batch_size", None)
    return size(request) if size is not None else None


def _limit_ms(ctx: CallContext) -> int | None:
    return None if ctx.attempt_timeout is None else round(ctx.attempt_timeout * 1000)


def _provider(ctx: CallContext) -> tuple[Provider, Target]:
    target = ctx.target
    if target is None:
        raise InvalidRequest.field("x-portkey-provider", "no target to call")
    return PROVIDERS[target.provider], target


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _gateway_endpoints(provider: Any) -> frozenset[str]:
    """Token endpoints the gateway's environment fixes (never a request's): exempt from the custom-host guard."""
    endpoints = getattr(provider, "gateway_token_endpoints", None)
    return endpoints() if endpoints is not None else frozenset()


class ProviderCall:
    """Calls one target (ctx.target) within the attempt's time limits; knows neither retries nor routing.

    `tokens` caches minted access tokens; `token_guard` checks token endpoint URLs (pass the one built from the
    custom-host allowlist; the default is HostGuard's: public hosts and loopback)."""

    def __init__(self, transport: ProviderTransport, tokens: TokenCache | None = None,
                 token_guard: HostGuard | None = None) -> None:
        self._transport = transport
        self._tokens = tokens if tokens is not None else TokenCache()
        self._token_guard = token_guard if token_guard is not None else HostGuard()

    async def _resolve(self, ctx: CallContext) -> tuple[Provider, Target]:
        """The target's provider, and the target with an access token when the provider mints one."""
        provider, target = _provider(ctx)
        token_key = getattr(provider, "token_key", None)
        key = token_key(target) if token_key is not None else None
        if key is None:
            return provider, target
        with map_transport_errors(provider.name, _limit_ms(ctx)):
            async with asyncio.timeout_at(ctx.attempt_deadline):  # waiters for another call's exchange too
                token = await self._tokens.get(key, lambda: self._exchange(provider, target, ctx))
        return provider, replace(target, provider_options={**target.provider_options, ACCESS_TOKEN_OPTION: token})

    async def _exchange(self, provider: Any, target: Target, ctx: CallContext) -> tuple[str, float]:
        call = provider.token_request(target)
        if _endpoint(call.url) not in _gateway_endpoints(provider):  # the gateway's own (e.g. Azure IMDS) pass as is
            self._token_guard.check(call.url, f"{provider.name} token endpoint")
        response = await self._transport.send(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx))
        if response.status >= 400:
            raise provider.decode_token_error(response.status, response.body, response.headers)
        return provider.decode_token(response.body)

    def _checked(self, provider: Provider, response: UpstreamResponse) -> bytes:
        if response.status >= 400:
            raise provider.decode_error(response.status, response.body, response.headers)
        return response.body

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        provider, target = await self._resolve(ctx)
        call = provider.encode_chat(request, target, stream=False)
        response = await self._transport.send(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx))
        answer = provider.decode_chat(self._checked(provider, response))
        if _strict(provider, ctx):
            answer = strict_answer(answer)
        return answer if answer.model else replace(answer, model=request.model)

    async def stream(self, request: ChatRequest, ctx: CallContext) -> AsyncIterator[ChatChunk]:
        provider, target = await self._resolve(ctx)
        call = provider.encode_chat(request, target, stream=True)
        decoder, strict = provider.chat_stream_decoder(request), _strict(provider, ctx)
        async for chunk in self._streamed(provider, call, ctx, decoder,
                                          lambda events: _chunks(decoder, events, request, strict)):
            yield chunk

    async def _streamed(self, provider: Provider, call: Any, ctx: CallContext, decoder: Any,
                        emit: Callable[[list[Any]], Iterator[Any]]) -> AsyncIterator[Any]:
        """Send a stream request; frame the body as it arrives and yield what `emit` makes of each batch of events,
        until the decoder has seen the stream's end (else the stream was cut: 503, or never a stream: 502)."""
        async with self._transport.stream(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx)) as upstream:
            if upstream.status >= 400:
                raise provider.decode_error(upstream.status, await upstream.read(), upstream.headers)
            framer = FRAMERS[provider.stream_framing]()
            head, seen = b"", False  # the body's first bytes, and whether any event came
            async for data in upstream.iter_bytes(ctx.attempt_timeout, ctx.deadline):
                head = head or data[:_PREVIEW_BYTES]
                events = framer.feed(data)
                seen = seen or bool(events)
                for item in emit(events):
                    yield item
                if decoder.done:
                    return
            events = framer.flush()
            seen = seen or bool(events)
            for item in emit(events):
                yield item
        if not decoder.done:
            raise _unfinished(provider.name, seen, head)

    async def complete_text(self, request: CompletionRequest, ctx: CallContext) -> Completion:
        provider, target = await self._resolve(ctx)
        call = _capable(provider, "encode_completion")(request, target, stream=False)
        response = await self._transport.send(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx))
        answer = provider.decode_completion(self._checked(provider, response))  # type: ignore[attr-defined]
        return answer if answer.model else replace(answer, model=request.model)

    async def stream_text(self, request: CompletionRequest, ctx: CallContext) -> AsyncIterator[Completion]:
        provider, target = await self._resolve(ctx)
        call = _capable(provider, "encode_completion")(request, target, stream=True)
        decoder = provider.completion_stream_decoder(request)  # type: ignore[attr-defined]
        async for chunk in self._streamed(provider, call, ctx, decoder,
                                          lambda events: _chunks(decoder, events, request, False)):
            yield chunk

    async def embed(self, request: EmbeddingsRequest, ctx: CallContext) -> EmbeddingsResponse:
        """One upstream call, or, past the provider's batch size, one per batch (a few at a time), merged in order."""
        provider, target = await self._resolve(ctx)
        batches = embedding_batches(request, _batch_size(provider, request))
        if len(batches) == 1:
            answer = await self._embed_once(provider, target, request, ctx)
        else:
            gate = asyncio.Semaphore(EMBEDDING_CONCURRENCY)

            async def one(batch: EmbeddingsRequest) -> EmbeddingsResponse:
                async with gate:
                    return await self._embed_once(provider, target, batch, ctx)

            answer = merged_embeddings(await asyncio.gather(*(one(batch) for batch in batches)))
        return answer if answer.model else replace(answer, model=request.model)

    async def _embed_once(self, provider: Provider, target: Target, request: EmbeddingsRequest,
                          ctx: CallContext) -> EmbeddingsResponse:
        response = await self._transport.send(provider.encode_embeddings(request, target), provider.name,
                                              ctx.attempt_deadline, _limit_ms(ctx))
        answer = provider.decode_embeddings(self._checked(provider, response))
        usage_from_headers = getattr(provider, "usage_from_headers", None)  # usage some upstreams send as headers
        if answer.usage is None and usage_from_headers is not None:
            answer = replace(answer, usage=usage_from_headers(response.headers))
        return answer

    async def list_models(self, ctx: CallContext) -> list[ModelInfo]:
        provider, target = await self._resolve(ctx)
        response = await self._transport.send(provider.encode_list_models(target), provider.name,
                                              ctx.attempt_deadline, _limit_ms(ctx))
        return provider.decode_list_models(self._checked(provider, response))

    async def generate_images(self, request: ImageRequest, ctx: CallContext) -> ImageResponse:
        provider, target = await self._resolve(ctx)
        call = _capable(provider, "encode_images")(request, target)
        response = await self._transport.send(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx))
        return provider.decode_images(self._checked(provider, response))  # type: ignore[attr-defined]

    async def speak(self, request: SpeechRequest, ctx: CallContext) -> AsyncIterator[SpeechChunk]:
        """The audio as the upstream sends it: each body chunk passed on, the first with its content type."""
        provider, target = await self._resolve(ctx)
        call = _capable(provider, "encode_speech")(request, target)
        async with self._transport.stream(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx)) as upstream:
            if upstream.status >= 400:
                raise provider.decode_error(upstream.status, await upstream.read(), upstream.headers)
            content_type = upstream.headers.get("content-type", "application/octet-stream")
            async for data in upstream.iter_bytes(ctx.attempt_timeout, ctx.deadline):
                yield SpeechChunk(data, content_type)
                content_type = ""

    async def transcribe(self, request: TranscriptionRequest, ctx: CallContext) -> TranscriptionResponse:
        provider, target = await self._resolve(ctx)
        call = _capable(provider, "encode_transcription")(request, target)
        response = await self._transport.send(call, provider.name, ctx.attempt_deadline, _limit_ms(ctx))
        body = self._checked(provider, response)
        return provider.decode_transcription(body, response.headers.get("content-type", ""))  # type: ignore[attr-defined]
