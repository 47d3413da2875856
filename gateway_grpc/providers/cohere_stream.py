"""Cohere v2 chat stream (SSE `event:` + `data:` lines) -> OpenAI-shaped ChatChunks. Pure; per-stream state only.

Event -> chunk: message-start -> role; content-delta text -> content, thinking -> reasoning_content;
tool-plan-delta -> reasoning_content; tool-call-start/-delta -> tool-call deltas indexed per call;
citation-start -> delta extra `citations`; message-end -> finish_reason, then usage (when asked), then done.
content-start/-end, tool-call-end, citation-end and debug events carry nothing OpenAI chunks have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.cohere_wire import (
    PROVIDER,
    bad_response,
    decode_finish_reason,
    decode_logprob,
    decode_usage,
    failure,
)
from gateway_grpc.providers.wire import loads_json, text_or_empty
from gateway_grpc.types import EMPTY, ChatChunk, ChunkChoice, Delta, ToolCallDelta

_Handler = Callable[["CohereStreamDecoder", Mapping[str, Any]], list[ChatChunk]]


def _message(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    return (raw.get("delta") or EMPTY).get("message") or EMPTY


class CohereStreamDecoder:
    """One stream's state: its id, whether the role went out, and Cohere's tool-call index -> OpenAI's."""

    __slots__ = ("_calls", "_created", "_id", "_include_usage", "_model", "_role_sent", "done")

    def __init__(self, *, created: int, model: str = "", include_usage: bool = False) -> None:
        self.done = False
        self._id = ""
        self._created, self._model, self._include_usage = created, model, include_usage
        self._role_sent = False
        self._calls: dict[Any, int] = {}

    def decode(self, event: SseEvent) -> list[ChatChunk]:
        data = event.data
        if not data:
            return []
        if data == "[DONE]":  # not sent by Cohere v2, but its SDK honours it
            self.done = True
            return []
        raw = loads_json(data.encode(), PROVIDER)
        if not isinstance(raw, dict):
            raise bad_response("stream event", data)
        if "type" not in raw and "message" in raw:  # Cohere's error object instead of an event
            raise failure(text_or_empty(raw["message"]) or "stream failed")
        handler = _HANDLERS.get(raw.get("type") or event.event)  # the SDK dispatches on the data's `type`
        if handler is None:
            return []
        try:
            return handler(self, raw)
        except (KeyError, TypeError, AttributeError) as exc:
            raise bad_response("stream event", data) from exc

    # ---- chunk building ----

    def _chunk(self, delta: Delta, finish: str | None = None, logprobs: Any = None) -> list[ChatChunk]:
        if not self._role_sent:  # OpenAI: the first chunk carries the role
            self._role_sent = True
            delta = Delta("assistant", delta.content, delta.tool_calls, None, delta.reasoning_content, delta.extra)
        choice = ChunkChoice(0, delta, finish, logprobs)
        return [ChatChunk(self._id, self._created, self._model, (choice,))]

    # ---- events ----

    def _message_start(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        self._id = raw.get("id") or self._id
        return self._chunk(Delta(content=""))

    def _content(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        content = _message(raw).get("content") or EMPTY
        text, thinking = content.get("text"), content.get("thinking")
        chunks: list[ChatChunk] = []
        if thinking:
            chunks += self._chunk(Delta(reasoning_content=thinking))
        if text:
            logprobs = raw.get("logprobs")
            entry = None if logprobs is None else {"content": [decode_logprob(logprobs)], "refusal": None}
            chunks += self._chunk(Delta(content=text), logprobs=entry)
        return chunks

    def _tool_plan(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        plan = _message(raw).get("tool_plan")
        return self._chunk(Delta(reasoning_content=plan)) if plan else []

    def _tool_call_start(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        call = _message(raw)["tool_calls"]
        function = call.get("function") or EMPTY
        index = self._calls.setdefault(raw.get("index", len(self._calls)), len(self._calls))
        delta = ToolCallDelta(index, call["id"], "function", function.get("name") or "",
                              function.get("arguments") or "")
        return self._chunk(Delta(tool_calls=(delta,)))

    def _tool_call_delta(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        index = self._calls[raw.get("index", len(self._calls) - 1)]  # KeyError: a delta for a call never started
        arguments = (_message(raw)["tool_calls"].get("function") or EMPTY).get("arguments")
        return self._chunk(Delta(tool_calls=(ToolCallDelta(index, arguments=arguments),))) if arguments else []

    def _citation(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        citation = _message(raw).get("citations")
        return self._chunk(Delta(extra={"citations": [citation]})) if citation else []

    def _message_end(self, raw: Mapping[str, Any]) -> list[ChatChunk]:
        delta = raw.get("delta") or EMPTY
        if delta.get("error"):
            raise failure(text_or_empty(delta["error"]))
        self._id = raw.get("id") or self._id
        chunks = self._chunk(Delta(), decode_finish_reason(delta.get("finish_reason") or "COMPLETE"))
        usage = decode_usage(delta.get("usage"))
        if self._include_usage and usage is not None:
            chunks.append(ChatChunk(self._id, self._created, self._model, (), usage))
        self.done = True
        return chunks


def _nothing(decoder: CohereStreamDecoder, raw: Mapping[str, Any]) -> list[ChatChunk]:
    return []


_HANDLERS: dict[str, _Handler] = {
    "message-start": CohereStreamDecoder._message_start,
    "content-start": CohereStreamDecoder._content,
    "content-delta": CohereStreamDecoder._content,
    "tool-plan-delta": CohereStreamDecoder._tool_plan,
    "tool-call-start": CohereStreamDecoder._tool_call_start,
    "tool-call-delta": CohereStreamDecoder._tool_call_delta,
    "citation-start": CohereStreamDecoder._citation,
    "message-end": CohereStreamDecoder._message_end,
    "content-end": _nothing,
    "tool-call-end": _nothing,
    "citation-end": _nothing,
    "debug": _nothing,
}
