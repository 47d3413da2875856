"""Provider-neutral image and audio types (generation, speech, transcription), beside types.py's chat and embeddings.

Frozen, slotted dataclasses; field names follow OpenAI's Images and Audio APIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway_grpc.types import EMPTY, Usage


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """Image generation. `params` holds OpenAI's optional fields by name (n, size, quality, style, response_format,
    background, output_format, user) when the caller set them."""

    model: str
    prompt: str
    params: Mapping[str, Any] = EMPTY
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    url: str = ""
    data: bytes = b""
    revised_prompt: str = ""


@dataclass(frozen=True, slots=True)
class ImageResponse:
    created: int
    images: tuple[GeneratedImage, ...]
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """Text to speech; `params`: response_format, speed, instructions when set."""

    model: str
    input: str
    voice: str
    params: Mapping[str, Any] = EMPTY
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class SpeechChunk:
    """A piece of the audio; the first one names its content type."""

    data: bytes
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """Speech to text (`translate`: into English). `params`: language, prompt, response_format, temperature,
    timestamp_granularities when set."""

    file: bytes = field(repr=False)
    filename: str
    model: str
    translate: bool = False
    params: Mapping[str, Any] = EMPTY
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class TranscriptionResponse:
    text: str
    language: str = ""
    duration: float | None = None
    extra: Mapping[str, Any] = EMPTY  # segments, words, usage, ... of a JSON answer, verbatim
    raw: str = ""  # the answer itself for the text formats (text, srt, vtt)
