"""Bedrock ConverseStream events (providers/eventstream.EventStreamEvent) -> OpenAI-shaped chunks. Pure.

Per stream: one tool-call index per toolUse content block, `role` on the first chunk, one id/created/model on every
chunk. `done` once both messageStop (finish_reason) and metadata (usage; documented as the last event) have come,
so the usage chunk is the last one; a stream that stops after messageStop alone is reported cut short by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from gateway_grpc.errors import ProviderBadResponse, ProviderError
from gateway_grpc.providers.bedrock_converse import aws_error, decode_usage, finish_reason, service_tier
from gateway_grpc.providers.eventstream import EventStreamEvent
from gateway_grpc.providers.wire import loads_json, text_or_empty
from gateway_grpc.types import EMPTY, ChatChunk, ChunkChoice, Delta, ToolCallDelta, Usage

# In-stream exception -> the HTTP status it has as a response (bedrock-runtime service model).
STREAM_STATUSES = {"ThrottlingException": 429, "ServiceUnavailableException": 503, "InternalServerException": 500,
                   "ValidationException": 400, "ModelStreamErrorException": 424}
_METADATA_EXTRAS = ("trace", "performanceConfig")


def _reasoning_delta(raw: Mapping[str, Any]) -> Delta:
    if "text" in raw:
        return Delta(reasoning_content=raw["text"])
    if "signature" in raw:
        return Delta(extra={"reasoning_signature": raw["signature"]})
    return Delta(extra={"redacted_reasoning": [raw["redactedContent"]]})


def stream_error(provider: str, event: EventStreamEvent) -> ProviderError:
    """The typed error for an `exception` frame (`:exception-type`) or an `error` frame (`:error-code`)."""
    try:
        payload = orjson.loads(event.payload) if event.payload else {}
    except orjson.JSONDecodeError:
        payload = {"message": event.payload[:500].decode("utf-8", "replace")}
    payload = payload if isinstance(payload, dict) else {}
    if event.message_type == "exception":
        name = event.event_type[:1].upper() + event.event_type[1:]
        message = text_or_empty(payload.get("message") or payload.get("Message"))
        return aws_error(provider, name, STREAM_STATUSES.get(name, 500), message)
    return aws_error(provider, event.event_type, 500, text_or_empty(event.headers.get(":error-message")))


class BedrockStreamDecoder:
    """A fresh one per stream (Bedrock.chat_stream_decoder)."""

    __slots__ = ("_created", "_id", "_include_usage", "_metadata", "_model", "_provider", "_started", "_stopped",
                 "_tools", "done")

    def __init__(self, provider: str, *, id_: str, created: int, model: str, include_usage: bool) -> None:
        self._provider = provider
        self._id, self._created, self._model = id_, created, model
        self._include_usage = include_usage
        self._tools: dict[int, int] = {}  # contentBlockIndex -> tool-call index
        self._started = self._stopped = False
        self._metadata: ChatChunk | None = None
        self.done = False

    def decode(self, event: EventStreamEvent) -> list[ChatChunk]:
        if event.message_type != "event":
            raise stream_error(self._provider, event)
        handler = _HANDLERS.get(event.event_type)
        if handler is None:  # an event type newer than this decoder: nothing to say in OpenAI's terms
            return []
        payload = loads_json(event.payload, self._provider) if event.payload else {}
        try:
            return handler(self, payload)
        except (KeyError, TypeError, AttributeError) as exc:
            preview = event.payload[:200].decode("utf-8", "replace")
            raise ProviderBadResponse(f"Invalid {event.event_type} event from {self._provider}: {preview}",
                                      provider=self._provider) from exc

    def _chunk(self, delta: Delta, finish: str | None = None, extra: Mapping[str, Any] = EMPTY) -> ChatChunk:
        if not self._started:
            self._started = True
            delta = replace(delta, role="assistant")
        return ChatChunk(self._id, self._created, self._model, (ChunkChoice(0, delta, finish),), extra=extra)

    def _message_start(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        return [self._chunk(Delta(content=""))]

    def _block_start(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        use = payload["start"].get("toolUse")
        if use is None:  # e.g. a toolResult or image block start: no OpenAI counterpart
            return []
        index = self._tools[payload["contentBlockIndex"]] = len(self._tools)
        call = ToolCallDelta(index, use["toolUseId"], "function", use["name"], "")
        return [self._chunk(Delta(tool_calls=(call,)))]

    def _block_delta(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        delta = payload["delta"]
        if "text" in delta:
            out = Delta(content=delta["text"])
        elif "toolUse" in delta:
            call = ToolCallDelta(self._tools[payload["contentBlockIndex"]], arguments=delta["toolUse"]["input"])
            out = Delta(tool_calls=(call,))
        elif "reasoningContent" in delta:
            out = _reasoning_delta(delta["reasoningContent"])
        else:  # citation, image, toolResult deltas: verbatim under their Converse names
            out = Delta(extra=dict(delta))
        return [self._chunk(out)]

    def _block_stop(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        return []

    def _message_stop(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        self._stopped = True
        fields = payload.get("additionalModelResponseFields")
        extra = {"additionalModelResponseFields": fields} if fields is not None else EMPTY
        return [self._chunk(Delta(), finish_reason(payload["stopReason"]), extra), *self._finished()]

    def _metadata_event(self, payload: Mapping[str, Any]) -> list[ChatChunk]:
        usage: Usage = decode_usage(payload["usage"])
        extra = {key: payload[key] for key in _METADATA_EXTRAS if key in payload}
        self._metadata = ChatChunk(self._id, self._created, self._model, (), usage,
                                   service_tier=service_tier(payload.get("serviceTier")), extra=extra or EMPTY)
        return self._finished()

    def _finished(self) -> list[ChatChunk]:
        if not self._stopped or self._metadata is None:
            return []
        self.done = True
        return [self._metadata] if self._include_usage else []


_HANDLERS: dict[str, Callable[[BedrockStreamDecoder, Mapping[str, Any]], list[ChatChunk]]] = {
    "messageStart": BedrockStreamDecoder._message_start,
    "contentBlockStart": BedrockStreamDecoder._block_start,
    "contentBlockDelta": BedrockStreamDecoder._block_delta,
    "contentBlockStop": BedrockStreamDecoder._block_stop,
    "messageStop": BedrockStreamDecoder._message_stop,
    "metadata": BedrockStreamDecoder._metadata_event,
}
