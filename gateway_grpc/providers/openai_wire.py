"""OpenAI Chat Completions JSON <-> neutral types, shared by every OpenAI-family provider. Pure functions."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from gateway_grpc.types import (
    EMPTY,
    AudioPart,
    ChatChunk,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    FilePart,
    ImagePart,
    Message,
    OtherPart,
    OtherTool,
    Part,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
)

_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "function_call"}
)
_RESPONSE_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
)
# Usage detail counts: (neutral field, OpenAI details object, OpenAI key).
_USAGE_DETAILS = (
    ("cached_tokens", "prompt_tokens_details", "cached_tokens"),
    ("prompt_audio_tokens", "prompt_tokens_details", "audio_tokens"),
    ("reasoning_tokens", "completion_tokens_details", "reasoning_tokens"),
    ("completion_audio_tokens", "completion_tokens_details", "audio_tokens"),
    ("accepted_prediction_tokens", "completion_tokens_details", "accepted_prediction_tokens"),
    ("rejected_prediction_tokens", "completion_tokens_details", "rejected_prediction_tokens"),
)


def _data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type or 'application/octet-stream'};base64,{base64.b64encode(data).decode()}"


# ---- request: neutral -> OpenAI JSON ----


def encode_part(part: Part) -> dict[str, Any]:
    if type(part) is TextPart:
        return {"type": "text", "text": part.text}
    if type(part) is ImagePart:
        image: dict[str, Any] = {"url": part.url or _data_url(part.media_type, part.data)}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if type(part) is AudioPart:
        audio = {"data": base64.b64encode(part.data).decode(), "format": part.format}
        return {"type": "input_audio", "input_audio": audio}
    if type(part) is FilePart:
        return {"type": "file", "file": _encode_file(part)}
    return dict(part.value)  # OtherPart


def _encode_file(part: FilePart) -> dict[str, Any]:
    file: dict[str, Any] = {}
    if part.file_id:
        file["file_id"] = part.file_id
    elif part.url or part.data:
        file["file_data"] = part.url or _data_url(part.media_type, part.data)
    if part.filename:
        file["filename"] = part.filename
    return file


def encode_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    content = message.content
    if isinstance(content, tuple):
        out["content"] = [encode_part(p) for p in content]
    elif content is not None or message.role == "assistant":
        out["content"] = content
    if message.name:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": c.type, "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.reasoning_content is not None:
        out["reasoning_content"] = message.reasoning_content
    if message.extra:
        out.update(message.extra)
    return out


def encode_tool(tool: Tool) -> dict[str, Any]:
    if type(tool) is OtherTool:
        return dict(tool.value)
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def encode_tool_choice(choice: ToolChoice) -> Any:
    if choice.function_name:
        return {"type": "function", "function": {"name": choice.function_name}}
    return choice.other if choice.other is not None else choice.mode


def encode_response_format(fmt: ResponseFormat) -> dict[str, Any]:
    out: dict[str, Any] = {"type": fmt.type}
    schema = fmt.json_schema
    if schema is not None:
        body: dict[str, Any] = {"name": schema.name}
        if schema.description:
            body["description"] = schema.description
        if schema.schema is not None:
            body["schema"] = schema.schema
        if schema.strict is not None:
            body["strict"] = schema.strict
        out["json_schema"] = body
    return out


# ---- response: OpenAI JSON -> neutral ----


def decode_usage(raw: Mapping[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    details = {}
    for field, group, key in _USAGE_DETAILS:
        value = (raw.get(group) or EMPTY).get(key)
        if value is not None:
            details[field] = value
    cache_creation = raw.get("cache_creation_input_tokens")
    if cache_creation is not None:
        details["cache_creation_tokens"] = cache_creation
    return Usage(raw.get("prompt_tokens") or 0, raw.get("completion_tokens") or 0, raw.get("total_tokens") or 0,
                 **details)


def decode_message(raw: Mapping[str, Any]) -> Message:
    tool_calls = tuple(
        ToolCall(c.get("id") or "", c["function"].get("name") or "", c["function"].get("arguments") or "",
                 c.get("type") or "function")
        for c in raw.get("tool_calls") or ()
    )
    extra = {k: v for k, v in raw.items() if k not in _MESSAGE_KEYS}
    content = raw.get("content")
    if isinstance(content, list):  # some OpenAI-compatible hosts answer with parts
        content = tuple(TextPart(p["text"]) if p.get("type") == "text" else OtherPart(p) for p in content)
    return Message(
        role=raw.get("role") or "assistant",
        content=content,
        name=raw.get("name") or "",
        tool_calls=tool_calls,
        refusal=raw.get("refusal"),
        reasoning_content=raw.get("reasoning_content"),
        extra=extra or EMPTY,
    )


def decode_completion(raw: Mapping[str, Any]) -> ChatResponse:
    choices = tuple(
        Choice(c.get("index", i), decode_message(c.get("message") or EMPTY), c.get("finish_reason"), c.get("logprobs"))
        for i, c in enumerate(raw["choices"])
    )
    return ChatResponse(
        id=raw.get("id") or "",
        created=raw.get("created") or 0,
        model=raw.get("model") or "",
        choices=choices,
        usage=decode_usage(raw.get("usage")),
        system_fingerprint=raw.get("system_fingerprint") or "",
        service_tier=raw.get("service_tier") or "",
        extra={k: v for k, v in raw.items() if k not in _RESPONSE_KEYS} or EMPTY,
    )


def _decode_delta(raw: Mapping[str, Any]) -> Delta:
    tool_calls = ()
    if raw.get("tool_calls"):
        tool_calls = tuple(
            ToolCallDelta(
                index=c.get("index", i),
                id=c.get("id") or "",
                type=c.get("type") or "",
                name=(c.get("function") or EMPTY).get("name") or "",
                arguments=(c.get("function") or EMPTY).get("arguments") or "",
            )
            for i, c in enumerate(raw["tool_calls"])
        )
    return Delta(raw.get("role"), raw.get("content"), tool_calls, raw.get("refusal"), raw.get("reasoning_content"))


def decode_chunk(raw: Mapping[str, Any]) -> ChatChunk:
    choices = tuple(
        ChunkChoice(c.get("index", i), _decode_delta(c.get("delta") or EMPTY), c.get("finish_reason"),
                    c.get("logprobs"))
        for i, c in enumerate(raw.get("choices") or ())
    )
    return ChatChunk(
        id=raw.get("id") or "",
        created=raw.get("created") or 0,
        model=raw.get("model") or "",
        choices=choices,
        usage=decode_usage(raw.get("usage")),
        system_fingerprint=raw.get("system_fingerprint") or "",
        service_tier=raw.get("service_tier") or "",
        extra={k: v for k, v in raw.items() if k not in _RESPONSE_KEYS} or EMPTY,
    )
