"""gateway_grpc.v1 chat and model responses -> OpenAI JSON dicts, plus SSE framing: pure functions.

Renders only what is set (proto3 defaults become OpenAI's nulls or absent keys); `extra` Structs are merged back.
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import struct_pb2

from gateway_grpc.v1 import chat_pb2, models_pb2

ROLE_NAMES = {
    chat_pb2.ROLE_SYSTEM: "system",
    chat_pb2.ROLE_DEVELOPER: "developer",
    chat_pb2.ROLE_USER: "user",
    chat_pb2.ROLE_ASSISTANT: "assistant",
    chat_pb2.ROLE_TOOL: "tool",
    chat_pb2.ROLE_FUNCTION: "function",
}
FINISH_REASONS = {
    chat_pb2.FINISH_REASON_STOP: "stop",
    chat_pb2.FINISH_REASON_LENGTH: "length",
    chat_pb2.FINISH_REASON_TOOL_CALLS: "tool_calls",
    chat_pb2.FINISH_REASON_CONTENT_FILTER: "content_filter",
    chat_pb2.FINISH_REASON_FUNCTION_CALL: "function_call",
}
# Usage detail counts: proto field -> (OpenAI details object, key). Rendered only when the provider reported them.
USAGE_DETAILS = {
    "cached_tokens": ("prompt_tokens_details", "cached_tokens"),
    "prompt_audio_tokens": ("prompt_tokens_details", "audio_tokens"),
    "cache_creation_tokens": ("prompt_tokens_details", "cache_write_tokens"),
    "reasoning_tokens": ("completion_tokens_details", "reasoning_tokens"),
    "completion_audio_tokens": ("completion_tokens_details", "audio_tokens"),
    "accepted_prediction_tokens": ("completion_tokens_details", "accepted_prediction_tokens"),
    "rejected_prediction_tokens": ("completion_tokens_details", "rejected_prediction_tokens"),
}
SSE_DONE = b"data: [DONE]\n\n"


# --- google.protobuf.Struct -> JSON ---------------------------------------------------------------------------------


def value_to_json(value: struct_pb2.Value) -> Any:
    """Struct numbers are doubles: integral ones come back as ints (5.0 -> 5)."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    if kind == "struct_value":
        return struct_to_json(value.struct_value)
    if kind == "list_value":
        return [value_to_json(item) for item in value.list_value.values]
    if kind in ("string_value", "bool_value"):
        return getattr(value, kind)
    return None


def struct_to_json(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: value_to_json(item) for key, item in struct.fields.items()}


def merge_extra(body: dict[str, Any], extra: struct_pb2.Struct) -> dict[str, Any]:
    """Adds the `extra` keys a body lacks; modelled fields win a clash."""
    for key, item in extra.fields.items():
        if key not in body:
            body[key] = value_to_json(item)
    return body


# --- shared pieces ---------------------------------------------------------------------------------------------------


def usage_json(usage: chat_pb2.Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    for field, (group, key) in USAGE_DETAILS.items():
        if usage.HasField(field):
            body.setdefault(group, {})[key] = getattr(usage, field)
    return body


def _token_logprob(token: chat_pb2.TokenLogprob) -> dict[str, Any]:
    return {
        "token": token.token,
        "logprob": token.logprob,
        "bytes": list(token.bytes),
        "top_logprobs": [{"token": t.token, "logprob": t.logprob, "bytes": list(t.bytes)} for t in token.top_logprobs],
    }


def logprobs_json(choice: chat_pb2.Choice | chat_pb2.ChunkChoice) -> dict[str, Any] | None:
    if not choice.HasField("logprobs"):
        return None
    logprobs = choice.logprobs
    return {
        "content": [_token_logprob(t) for t in logprobs.content] or None,
        "refusal": [_token_logprob(t) for t in logprobs.refusal] or None,
    }


def _choice_json(choice: chat_pb2.Choice | chat_pb2.ChunkChoice, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """One entry of `choices`; `key` is "message" or "delta"."""
    body = {
        "index": choice.index,
        key: value,
        "logprobs": logprobs_json(choice),
        "finish_reason": FINISH_REASONS.get(choice.finish_reason),
    }
    if choice.HasField("extra"):
        if body["finish_reason"] is None:  # a finish reason the enum lacks travels in `extra`
            del body["finish_reason"]
        merge_extra(body, choice.extra).setdefault("finish_reason", None)
    return body


def _tool_call_json(call: chat_pb2.ToolCall) -> dict[str, Any]:
    body: dict[str, Any] = {"id": call.id, "type": call.type or "function"}
    if call.HasField("function"):  # unset for `custom` calls, whose body is in `extra`
        body["function"] = {"name": call.function.name, "arguments": call.function.arguments}
    return merge_extra(body, call.extra) if call.HasField("extra") else body


def _top_level(message: chat_pb2.CreateChatCompletionResponse | chat_pb2.ChatCompletionChunk, body: dict) -> dict:
    if message.HasField("usage"):
        body["usage"] = usage_json(message.usage)
    if message.system_fingerprint:
        body["system_fingerprint"] = message.system_fingerprint
    if message.service_tier:
        body["service_tier"] = message.service_tier
    return merge_extra(body, message.extra)


# --- chat.completion -----------------------------------------------------------------------------------------------


def _content(message: chat_pb2.Message) -> str | None:
    if message.HasField("text"):
        return message.text
    texts = [part.text for part in message.parts if part.WhichOneof("part") == "text"]
    return "".join(texts) if texts else None


def message_json(message: chat_pb2.Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": ROLE_NAMES.get(message.role, "assistant"),
        "content": _content(message),
        "refusal": message.refusal if message.HasField("refusal") else None,
    }
    if message.tool_calls:
        body["tool_calls"] = [_tool_call_json(call) for call in message.tool_calls]
    if message.HasField("reasoning_content"):
        body["reasoning_content"] = message.reasoning_content
    return merge_extra(body, message.extra)


def chat_completion_json(response: chat_pb2.CreateChatCompletionResponse) -> dict[str, Any]:
    """A CreateChatCompletionResponse as OpenAI `chat.completion`, plus Portkey's top-level `provider`."""
    body: dict[str, Any] = {
        "id": response.id,
        "object": "chat.completion",
        "created": response.created,
        "model": response.model,
        "choices": [_choice_json(choice, "message", message_json(choice.message)) for choice in response.choices],
    }
    body = _top_level(response, body)
    if response.provider:
        body["provider"] = response.provider  # Portkey contract §11
    return body


# --- chat.completion.chunk -----------------------------------------------------------------------------------------


def _tool_call_delta(call: chat_pb2.ToolCallDelta) -> dict[str, Any]:
    body: dict[str, Any] = {"index": call.index}
    if call.id:
        body["id"] = call.id
    if call.type:
        body["type"] = call.type
    if call.HasField("function"):
        function = {"name": call.function.name} if call.function.name else {}
        function["arguments"] = call.function.arguments
        body["function"] = function
    return merge_extra(body, call.extra) if call.HasField("extra") else body


def delta_json(delta: chat_pb2.ChatDelta) -> dict[str, Any]:
    """Only the keys the chunk carries: clients concatenate what they receive."""
    body: dict[str, Any] = {}
    if delta.role:
        body["role"] = ROLE_NAMES.get(delta.role, "assistant")
    for field in ("content", "refusal", "reasoning_content"):
        if delta.HasField(field):
            body[field] = getattr(delta, field)
    if delta.tool_calls:
        body["tool_calls"] = [_tool_call_delta(call) for call in delta.tool_calls]
    return merge_extra(body, delta.extra) if delta.HasField("extra") else body


def chat_chunk_json(chunk: chat_pb2.ChatCompletionChunk) -> dict[str, Any]:
    """A ChatCompletionChunk as OpenAI `chat.completion.chunk` (no `provider` key in chunks)."""
    body: dict[str, Any] = {
        "id": chunk.id,
        "object": "chat.completion.chunk",
        "created": chunk.created,
        "model": chunk.model,
        "choices": [_choice_json(choice, "delta", delta_json(choice.delta)) for choice in chunk.choices],
    }
    return _top_level(chunk, body)


def sse_event(body: dict[str, Any]) -> bytes:
    """One server-sent event: `data: <json>` and a blank line."""
    return b"data: " + orjson.dumps(body) + b"\n\n"


# --- models ----------------------------------------------------------------------------------------------------------


def models_json(response: models_pb2.ListModelsResponse) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}
            for model in response.models
        ],
    }
