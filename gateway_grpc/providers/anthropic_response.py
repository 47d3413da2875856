"""Anthropic Messages answers -> neutral types: the `Message` body, the SSE event stream and the error envelope.

Pure; no I/O. Usage counts cached input inside `prompt_tokens`, as OpenAI does: prompt_tokens = input_tokens +
cache_read_input_tokens + cache_creation_input_tokens (Anthropic reports the three apart), cached_tokens = cache reads,
cache_creation_tokens = cache writes. Thinking text becomes `reasoning_content`; the raw thinking blocks (with their
signatures, needed to send them back) ride in the message's `thinking_blocks` extra key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway_grpc.errors import ProviderBadResponse, ProviderError, ProviderRejected, RateLimited
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.wire import loads_json, text_or_empty
from gateway_grpc.types import (
    EMPTY,
    ChatChunk,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",  # a server tool paused the turn; the caller resends to continue
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# error.type -> the HTTP status Anthropic sends it with (for in-band stream errors, which carry no status).
ERROR_STATUSES = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_SERVICE_TIERS = {"standard": "default", "priority": "priority"}  # Anthropic usage.service_tier -> OpenAI's


def finish_reason(stop_reason: str | None) -> str | None:
    """OpenAI's finish reason; an unknown future reason passes through unchanged."""
    return None if stop_reason is None else FINISH_REASONS.get(stop_reason, stop_reason)


def decode_usage(raw: Mapping[str, Any]) -> Usage:
    read, write = raw.get("cache_read_input_tokens"), raw.get("cache_creation_input_tokens")
    prompt = (raw.get("input_tokens") or 0) + (read or 0) + (write or 0)
    completion = raw.get("output_tokens") or 0
    thinking = (raw.get("output_tokens_details") or EMPTY).get("thinking_tokens")
    return Usage(prompt, completion, prompt + completion, cached_tokens=read, cache_creation_tokens=write,
                 reasoning_tokens=thinking)


def error_from(provider: str, status: int, error: Mapping[str, Any], retry_after: float | None) -> ProviderError:
    """The typed error for Anthropic's `{"type": "error", "error": {"type", "message"}}` envelope."""
    error_type = text_or_empty(error.get("type"))
    kind = RateLimited if status == 429 else ProviderRejected
    return kind(f"{provider} error: {text_or_empty(error.get('message')) or f'HTTP {status}'}", provider=provider,
                status=status, error_type=error_type, retry_after=retry_after)


# ---- the Message body ----


class _Blocks:
    """What the content blocks of one answer add up to."""

    __slots__ = ("calls", "citations", "others", "reasoning", "texts", "thinking")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.reasoning: list[str] = []
        self.thinking: list[Any] = []
        self.calls: list[ToolCall] = []
        self.citations: list[Any] = []
        self.others: list[Any] = []

    def add(self, block: Mapping[str, Any]) -> None:
        kind = block["type"]
        if kind == "text":
            self.texts.append(block["text"])
            self.citations += block.get("citations") or ()
        elif kind == "tool_use":
            self.calls.append(ToolCall(block["id"], block["name"], orjson.dumps(block["input"]).decode()))
        elif kind in ("thinking", "redacted_thinking"):
            self.reasoning += [block["thinking"]] if kind == "thinking" else []
            self.thinking.append(block)
        else:  # server tools' blocks (web search, code execution, ...): kept, not modelled
            self.others.append(block)

    def message(self) -> Message:
        content = "".join(self.texts) if self.texts or not self.calls else None
        extra = {key: value for key, value in (("thinking_blocks", self.thinking), ("citations", self.citations),
                                                ("content_blocks", self.others)) if value}
        return Message("assistant", content, tool_calls=tuple(self.calls),
                       reasoning_content="".join(self.reasoning) if self.reasoning else None, extra=extra or EMPTY)


def decode_message(raw: Mapping[str, Any], created: int) -> ChatResponse:
    """An Anthropic `Message` as an OpenAI-shaped answer (one choice)."""
    if raw.get("type") != "message":
        raise TypeError("not a message")
    blocks = _Blocks()
    for block in raw["content"]:
        blocks.add(block)
    usage = raw.get("usage")
    choice = Choice(0, blocks.message(), finish_reason(raw.get("stop_reason")) or "stop")
    return ChatResponse(raw["id"], created, raw["model"], (choice,), decode_usage(usage) if usage else None,
                        service_tier=_SERVICE_TIERS.get((usage or EMPTY).get("service_tier"), ""))


# ---- the event stream ----


class AnthropicStreamDecoder:
    """Anthropic's SSE events -> OpenAI chunks. OpenAI numbers tool calls 0, 1, 2 ... across the answer, so each
    `tool_use` block gets the next tool index (Anthropic's block `index` also counts text and thinking blocks)."""

    __slots__ = ("_created", "_id", "_include_usage", "_model", "_no_arguments", "_tools", "_usage", "done",
                 "provider")

    def __init__(self, provider: str, created: int, include_usage: bool) -> None:
        self.provider = provider
        self.done = False
        self._created = created
        self._include_usage = include_usage
        self._id = self._model = ""
        self._tools: dict[int, int] = {}  # content-block index -> OpenAI tool-call index
        self._no_arguments: set[int] = set()  # tool blocks that have not streamed any argument text yet
        self._usage: dict[str, Any] = {}

    def decode(self, event: SseEvent) -> list[ChatChunk]:
        if not event.data:
            return []
        raw = loads_json(event.data.encode(), self.provider)
        if not isinstance(raw, dict):
            raise self._bad(event.data)
        handler = _HANDLERS.get(raw.get("type") or event.event)
        if handler is None:  # Anthropic may add event types; clients are told to ignore unknown ones
            return []
        try:
            return handler(self, raw)
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(event.data) from exc

    def _bad(self, data: str) -> ProviderBadResponse:
        return ProviderBadResponse(f"Invalid stream event from {self.provider}: {data[:200]}", provider=self.provider)

    def _chunk(self, delta: Delta, finish: str | None = None) -> list[ChatChunk]:
        return [ChatChunk(self._id, self._created, self._model, (ChunkChoice(0, delta, finish),))]

    def _tool_delta(self, index: int, arguments: str, block: Mapping[str, Any] = EMPTY) -> list[ChatChunk]:
        call = ToolCallDelta(self._tools[index], block.get("id", ""), "function" if block else "",
                             block.get("name", ""), arguments)
        return self._chunk(Delta(tool_calls=(call,)))

    # -- one method per event type --

    def _message_start(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        message = raw["message"]
        self._id, self._model = message["id"], message["model"]
        self._usage.update(message.get("usage") or EMPTY)
        return self._chunk(Delta(role="assistant", content=""))

    def _block_start(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        block, index = raw["content_block"], raw["index"]
        kind = block["type"]
        if kind == "tool_use":
            self._tools[index] = len(self._tools)
            arguments = orjson.dumps(block["input"]).decode() if block.get("input") else ""
            if not arguments:
                self._no_arguments.add(index)
            return self._tool_delta(index, arguments, block)
        if kind == "text" and block["text"]:
            return self._chunk(Delta(content=block["text"]))
        if kind == "thinking" and block["thinking"]:
            return self._chunk(Delta(reasoning_content=block["thinking"]))
        if kind == "redacted_thinking":
            return self._chunk(Delta(extra={"thinking_blocks": [block]}))
        return []  # empty text/thinking starts; server-tool blocks are not modelled in streams

    def _block_delta(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        delta, index = raw["delta"], raw["index"]
        kind = delta["type"]
        if kind == "text_delta":
            return self._chunk(Delta(content=delta["text"]))
        if kind == "thinking_delta":
            return self._chunk(Delta(reasoning_content=delta["thinking"]))
        if kind == "input_json_delta" and index in self._tools and delta["partial_json"]:
            self._no_arguments.discard(index)
            return self._tool_delta(index, delta["partial_json"])
        if kind == "signature_delta":
            signed = {"type": "thinking", "signature": delta["signature"]}
            return self._chunk(Delta(extra={"thinking_blocks": [signed]}))
        if kind == "citations_delta":
            return self._chunk(Delta(extra={"citations": [delta["citation"]]}))
        return []

    def _block_stop(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        index = raw["index"]
        if index in self._no_arguments:  # a call without arguments: OpenAI clients expect a JSON object
            self._no_arguments.discard(index)
            return self._tool_delta(index, "{}")
        return []

    def _message_delta(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        self._usage.update({k: v for k, v in (raw.get("usage") or EMPTY).items() if v is not None})
        return self._chunk(Delta(), finish_reason(raw["delta"].get("stop_reason")) or "stop")

    def _message_stop(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        self.done = True
        if not self._include_usage:
            return []
        return [ChatChunk(self._id, self._created, self._model, (), decode_usage(self._usage))]

    def _ping(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        return []

    def _error(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        error = raw["error"] if isinstance(raw.get("error"), dict) else {"message": str(raw.get("error"))}
        raise error_from(self.provider, ERROR_STATUSES.get(error.get("type"), 500), error, None)


_HANDLERS: dict[str, Callable[[AnthropicStreamDecoder, Mapping[str, Any]], list[ChatChunk]]] = {
    "message_start": AnthropicStreamDecoder._message_start,
    "content_block_start": AnthropicStreamDecoder._block_start,
    "content_block_delta": AnthropicStreamDecoder._block_delta,
    "content_block_stop": AnthropicStreamDecoder._block_stop,
    "message_delta": AnthropicStreamDecoder._message_delta,
    "message_stop": AnthropicStreamDecoder._message_stop,
    "ping": AnthropicStreamDecoder._ping,
    "error": AnthropicStreamDecoder._error,
}
