"""The provider adapter shape: a pure translator between neutral types and one provider's HTTP API (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway_grpc.errors import ProviderError
from gateway_grpc.media import ImageRequest, ImageResponse, SpeechRequest, TranscriptionRequest, TranscriptionResponse
from gateway_grpc.types import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
)


@dataclass(frozen=True, slots=True)
class HttpCall:
    """Everything the transport needs to send one upstream request."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)  # credentials (api keys, bearer and signed tokens)
    body: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its `event:` name (empty when absent) and its joined `data:` lines."""

    event: str
    data: str


class StreamDecoder(Protocol):
    """Per-stream state (tool-call indices, usage, ids) for turning upstream events into chunks. `event` is what the
    provider's framer yields: an SseEvent for "sse", a botocore event-stream message for "aws-eventstream"."""

    done: bool

    def decode(self, event: Any) -> list[ChatChunk]:
        """Chunks for one upstream event (possibly none); raises ProviderError for an in-band upstream error."""
        ...


class Provider(Protocol):
    """One upstream API family. Every method is pure; `providers/transport.py` does the I/O.

    `stream_framing` names the framer (providers/call.py FRAMERS) that cuts its stream body into events.
    """

    name: str
    stream_framing: str

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        """Method, URL, headers and body of a chat call."""
        ...

    def decode_chat(self, body: bytes) -> ChatResponse:
        """A successful chat answer; raises ProviderBadResponse when the body is not the documented format. An
        empty `model` is filled with the request's by the caller (providers/call.py)."""
        ...

    def chat_stream_decoder(self, request: ChatRequest) -> StreamDecoder:
        """A fresh decoder for one streamed chat answer to `request` (for what the stream must report)."""
        ...

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        """Method, URL, headers and body of an embeddings call."""
        ...

    def decode_embeddings(self, body: bytes) -> EmbeddingsResponse:
        """A successful embeddings answer."""
        ...

    def encode_list_models(self, target: Target) -> HttpCall:
        """The call that lists the provider's models."""
        ...

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        """The listed models."""
        ...

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        """The typed error for an upstream error status, with `retry_after` when the provider sent one; never raises."""
        ...


class MediaProvider(Protocol):
    """What a provider adds to serve images and audio. Optional: a provider without a method answers 400 saying it
    does not support that capability (providers/call.py)."""

    def supports(self, capability: str) -> bool:
        """Whether the provider serves `capability`, named by the method below that serves it (`encode_images`,
        `encode_speech`, `encode_transcription`). Optional: without it, a provider serves every method it has."""
        ...

    def encode_images(self, request: ImageRequest, target: Target) -> HttpCall:
        """The image generation call."""
        ...

    def decode_images(self, body: bytes) -> ImageResponse:
        """Generated images (URLs, or bytes decoded from base64)."""
        ...

    def encode_speech(self, request: SpeechRequest, target: Target) -> HttpCall:
        """The text-to-speech call; its answer is audio bytes, streamed through."""
        ...

    def encode_transcription(self, request: TranscriptionRequest, target: Target) -> HttpCall:
        """The transcription or translation call (multipart)."""
        ...

    def decode_transcription(self, body: bytes, content_type: str) -> TranscriptionResponse:
        """The transcription: JSON answers parsed, text formats kept as they are."""
        ...
