"""Provider-neutral text completion types: OpenAI's legacy Completions API and fill-in-the-middle (FIM).

A prompt (or, in OpenAI's array form, several) plus an optional `suffix`; answers are texts, one choice per prompt
and sample. The same `Completion` type is a whole answer and one stream chunk, as on OpenAI's wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_grpc.types import EMPTY, Usage

# Request parameters carried in CompletionRequest.params under their OpenAI names (only those the caller set).
COMPLETION_PARAMS = (
    "suffix", "max_tokens", "temperature", "top_p", "n", "stop", "seed", "presence_penalty", "frequency_penalty",
    "logprobs", "echo", "best_of", "logit_bias", "user",
)


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """`prompt` is one string, or a tuple of them (OpenAI's array form: choices come per prompt, then per sample)."""

    model: str
    prompt: str | tuple[str, ...]
    params: Mapping[str, Any] = EMPTY
    extra: Mapping[str, Any] = EMPTY
    include_usage: bool = False


@dataclass(frozen=True, slots=True)
class CompletionChoice:
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """A text completion, or one chunk of a streamed one (usage only in the last chunk, when asked for)."""

    id: str
    created: int
    model: str
    choices: tuple[CompletionChoice, ...] = ()
    usage: Usage | None = None
    system_fingerprint: str = ""
    extra: Mapping[str, Any] = EMPTY
