"""OpenAI Chat Completions JSON <-> neutral types, shared by every OpenAI-family provider. Pure functions."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from gateway_grpc.types import (
    EMPTY,
    AudioPart,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Choice,
    ChunkChoice,
    Delta,
    EmbeddingsRequest,
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

# The keys each decoded object models; any other key is kept in that object's `extra`.
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content"})
_RESPONSE_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
)
_CHOICE_KEYS = frozenset({"index", "message", "finish_reason", "logprobs"})
_CHUNK_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs"})
_DELTA_KEYS = frozenset({"role", "content", "tool_calls", "refusal", "reasoning_content"})
_TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
_TOOL_CALL_DELTA_KEYS = frozenset({"index", "id", "type", "function"})
_TEXT_PART_KEYS = frozenset({"type", "text"})
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


def _unknown(raw: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """The keys of `raw` outside `known`; EMPTY, with nothing built, when there are none (the usual case)."""
    if raw.keys() <= known:
        return EMPTY
    return {k: v for k, v in raw.items() if k not in known}


# ---- request: neutral -> OpenAI JSON ----


def _encode_typed_part(part: TextPart | ImagePart | AudioPart | FilePart) -> dict[str, Any]:
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
    return {"type": "file", "file": _encode_file(part)}


def encode_part(part: Part) -> dict[str, Any]:
    if type(part) is OtherPart:
        return dict(part.value)
    out = _encode_typed_part(part)
    if part.extra:
        out.update(part.extra)
    return out


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
        out["tool_calls"] = [encode_tool_call(c) for c in message.tool_calls]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.reasoning_content is not None:
        out["reasoning_content"] = message.reasoning_content
    if message.extra:
        out.update(message.extra)
    return out


def encode_tool_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"id": call.id, "type": call.type}
    if call.type == "function" or call.name or call.arguments:  # a `custom` call carries its body in extra
        out["function"] = {"name": call.name, "arguments": call.arguments}
    if call.extra:
        out.update(call.extra)
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
    if fmt.extra:
        out.update(fmt.extra)
    return out


def encode_stream_options(request: ChatRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"include_usage": True} if request.include_usage else {}
    if request.stream_extra:
        out.update(request.stream_extra)
    return out


# ---- response: OpenAI JSON -> neutral ----


def encode_chat_body(request: ChatRequest) -> dict[str, Any]:
    """A chat request as OpenAI's JSON body, before streaming options and override_params."""
    body: dict[str, Any] = {"model": request.model, "messages": [encode_message(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [encode_tool(t) for t in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = encode_tool_choice(request.tool_choice)
    if request.response_format is not None:
        body["response_format"] = encode_response_format(request.response_format)
    body.update(request.params)
    body.update(request.extra)
    return body


def encode_embeddings_body(request: EmbeddingsRequest, defaults: Mapping[str, Any] = EMPTY) -> dict[str, Any]:
    """An embeddings request as OpenAI's JSON body, before override_params; `defaults` (e.g. the encoding format)
    are set before the request's own fields, so the caller's extras win."""
    inputs: Any = list(request.inputs) if request.inputs else [list(t) for t in request.token_inputs]
    body: dict[str, Any] = {"model": request.model, "input": inputs, **defaults}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if request.user:
        body["user"] = request.user
    body.update(request.extra)
    return body


def encode_usage(usage: Usage | None) -> dict[str, Any] | None:
    """Usage as OpenAI's JSON, detail counts in their `*_tokens_details` objects."""
    if usage is None:
        return None
    out: dict[str, Any] = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                           "total_tokens": usage.total_tokens}
    for name, group, key in _USAGE_DETAILS:
        value = getattr(usage, name)
        if value is not None:
            out.setdefault(group, {})[key] = value
    return out


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


def _decode_tool_call(raw: Mapping[str, Any]) -> ToolCall:
    function = raw.get("function") or EMPTY  # absent from `custom` calls
    return ToolCall(raw.get("id") or "", function.get("name") or "", function.get("arguments") or "",
                    raw.get("type") or "function", _unknown(raw, _TOOL_CALL_KEYS))


def _decode_part(raw: Mapping[str, Any]) -> Part:
    if raw.get("type") == "text" and isinstance(raw.get("text"), str):
        return TextPart(raw["text"], _unknown(raw, _TEXT_PART_KEYS))
    return OtherPart(raw)


def decode_message(raw: Mapping[str, Any]) -> Message:
    content = raw.get("content")
    if isinstance(content, list):  # some OpenAI-compatible hosts answer with parts
        content = tuple(_decode_part(p) for p in content)
    return Message(
        role=raw.get("role") or "assistant",
        content=content,
        name=raw.get("name") or "",
        tool_calls=tuple(_decode_tool_call(c) for c in raw.get("tool_calls") or ()),
        tool_call_id=raw.get("tool_call_id") or "",
        refusal=raw.get("refusal"),
        reasoning_content=raw.get("reasoning_content"),
        extra=_unknown(raw, _MESSAGE_KEYS),
    )


def _decode_choice(raw: Mapping[str, Any], position: int) -> Choice:
    return Choice(raw.get("index", position), decode_message(raw.get("message") or EMPTY), raw.get("finish_reason"),
                  raw.get("logprobs"), _unknown(raw, _CHOICE_KEYS))


def decode_completion(raw: Mapping[str, Any]) -> ChatResponse:
    choices = tuple(_decode_choice(c, i) for i, c in enumerate(raw["choices"]))
    return ChatResponse(
        id=raw.get("id") or "",
        created=raw.get("created") or 0,
        model=raw.get("model") or "",
        choices=choices,
        usage=decode_usage(raw.get("usage")),
        system_fingerprint=raw.get("system_fingerprint") or "",
        service_tier=raw.get("service_tier") or "",
        extra=_unknown(raw, _RESPONSE_KEYS),
    )


def _decode_tool_call_delta(raw: Mapping[str, Any], position: int) -> ToolCallDelta:
    function = raw.get("function") or EMPTY
    return ToolCallDelta(raw.get("index", position), raw.get("id") or "", raw.get("type") or "",
                         function.get("name") or "", function.get("arguments") or "",
                         _unknown(raw, _TOOL_CALL_DELTA_KEYS))


def _decode_delta(raw: Mapping[str, Any]) -> Delta:
    tool_calls = ()
    if raw.get("tool_calls"):
        tool_calls = tuple(_decode_tool_call_delta(c, i) for i, c in enumerate(raw["tool_calls"]))
    return Delta(raw.get("role"), raw.get("content"), tool_calls, raw.get("refusal"), raw.get("reasoning_content"),
                 _unknown(raw, _DELTA_KEYS))


def _decode_chunk_choice(raw: Mapping[str, Any], position: int) -> ChunkChoice:
    return ChunkChoice(raw.get("index", position), _decode_delta(raw.get("delta") or EMPTY), raw.get("finish_reason"),
                       raw.get("logprobs"), _unknown(raw, _CHUNK_CHOICE_KEYS))


def decode_chunk(raw: Mapping[str, Any]) -> ChatChunk:
    choices = tuple(_decode_chunk_choice(c, i) for i, c in enumerate(raw.get("choices") or ()))
    return ChatChunk(
        id=raw.get("id") or "",
        created=raw.get("created") or 0,
        model=raw.get("model") or "",
        choices=choices,
        usage=decode_usage(raw.get("usage")),
        system_fingerprint=raw.get("system_fingerprint") or "",
        service_tier=raw.get("service_tier") or "",
        extra=_unknown(raw, _RESPONSE_KEYS),
    )
