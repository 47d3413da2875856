"""Gemini `streamGenerateContent?alt=sse` -> OpenAI-shaped chunks. Pure; one decoder per stream.

Each SSE `data:` line is a whole GenerateContentResponse holding the next piece of every candidate. Chunks keep one
id / created / model per stream; each choice's first delta carries `role: "assistant"`; a functionCall part arrives
whole, so it becomes one complete tool-call delta (id, type, name and all arguments) with a per-choice index.

Gemini sends no end marker ([DONE]): its body just ends after the event whose candidates carry a finishReason. So
`done` turns True once every candidate has finished: all those seen, and at least the `n` the request asked for (a
blocked prompt finishes too). Only then is the end of the body a normal end; an earlier one means it was cut.
When the caller asked for `include_usage`, the last usageMetadata (Gemini repeats running totals on every event)
becomes a final chunk with no choices; later events (there should be none) are ignored. An in-band
`{"error": ...}` event raises the matching ProviderError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway_grpc.errors import ProviderBadResponse
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.gemini_response import (
    CallIds,
    decode_logprobs,
    decode_usage,
    envelope_error,
    finish_reason,
    prompt_blocked,
    read_parts,
)
from gateway_grpc.providers.wire import loads_json
from gateway_grpc.types import EMPTY, ChatChunk, ChunkChoice, Delta, ToolCallDelta, Usage


class _Candidate:
    """What one choice has sent so far."""

    __slots__ = ("called", "finished", "started", "tools")

    def __init__(self) -> None:
        self.started = False
        self.finished = False
        self.called = False
        self.tools = 0  # tool calls sent: the next one's index


class GeminiStreamDecoder:
    __slots__ = ("_candidates", "_clock", "_created", "_expected", "_id", "_ids", "_include_usage", "_model",
                 "_usage", "done", "provider")

    def __init__(self, provider: str, clock: Callable[[], float], include_usage: bool = False,
                 candidates: int = 1) -> None:
        self.provider = provider
        self.done = False
        self._clock = clock
        self._include_usage = include_usage
        self._expected = candidates
        self._id = ""
        self._created = 0
        self._model = ""
        self._ids = CallIds()
        self._candidates: dict[int, _Candidate] = {}
        self._usage: Usage | None = None

    def decode(self, event: SseEvent) -> list[ChatChunk]:
        data = event.data.strip()
        if not data or self.done:
            return []
        raw = loads_json(data.encode(), self.provider)
        if not isinstance(raw, dict):
            raise self._bad(data)
        if "error" in raw:
            error = raw["error"] if isinstance(raw["error"], dict) else {"message": str(raw["error"])}
            status = error.get("code") if isinstance(error.get("code"), int) else 500
            raise envelope_error(self.provider, status, error, EMPTY)
        try:
            return self._chunks(raw)
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(data) from exc

    def _bad(self, data: str) -> ProviderBadResponse:
        return ProviderBadResponse(f"Invalid stream event from {self.provider}: {data[:200]}", provider=self.provider)

    def _chunks(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        if not self._id:
            self._created = int(self._clock())
            self._id = raw.get("responseId") or f"{self.provider}-{int(self._created * 1000)}"
        self._model = self._model or raw.get("modelVersion") or ""
        choices = [self._choice(c, i) for i, c in enumerate(raw.get("candidates") or ())]
        blocked = not choices and prompt_blocked(raw)
        if blocked:
            choices = [self._blocked()]
        self._usage = decode_usage(raw.get("usageMetadata")) or self._usage
        out = [self._chunk(tuple(c for c in choices if c is not None))] if any(choices) else []
        finished = sum(c.finished for c in self._candidates.values())
        if self._candidates and finished == len(self._candidates) and (finished >= self._expected or blocked):
            self.done = True
            if self._include_usage and self._usage is not None:
                out.append(self._chunk((), self._usage))
        return out

    def _chunk(self, choices: tuple[ChunkChoice, ...], usage: Usage | None = None) -> ChatChunk:
        return ChatChunk(self._id, self._created, self._model, choices, usage)

    def _choice(self, raw: Mapping[str, Any], position: int) -> ChunkChoice | None:
        index = raw.get("index", position)
        state = self._candidates.setdefault(index, _Candidate())
        text, reasoning, calls = read_parts((raw.get("content") or EMPTY).get("parts") or (), self._ids)
        deltas = tuple(ToolCallDelta(state.tools + k, c.id, "function", c.name, c.arguments, c.extra)
                       for k, c in enumerate(calls))
        state.tools += len(calls)
        state.called = state.called or bool(calls)
        finish = finish_reason(raw.get("finishReason"), state.called)
        state.finished = state.finished or finish is not None
        role = None if state.started else "assistant"
        state.started = True
        if role is None and text is None and reasoning is None and not calls and finish is None:
            return None
        if role and text is None and not calls:
            text = ""  # OpenAI's first delta: role and empty content
        delta = Delta(role, text, deltas, reasoning_content=reasoning)
        return ChunkChoice(index, delta, finish, decode_logprobs(raw.get("logprobsResult")))

    def _blocked(self) -> ChunkChoice:
        state = self._candidates.setdefault(0, _Candidate())
        role = None if state.started else "assistant"
        state.started = state.finished = True
        return ChunkChoice(0, Delta(role, "" if role else None), "content_filter")
