"""Bedrock Converse JSON <-> neutral types: the request body (modelId aside), the answer, usage, errors. Pure.

Nothing is dropped: what Converse cannot express is refused with InvalidRequest naming the request field.

| OpenAI                                               | Converse                                               |
|------------------------------------------------------|--------------------------------------------------------|
| messages (see bedrock_messages)                      | system, messages                                       |
| temperature, top_p, max_(completion_)tokens, stop    | inferenceConfig temperature, topP, maxTokens, stopSequences |
| metadata / service_tier / reasoning_effort           | requestMetadata / serviceTier.type / outputConfig.effort |
| response_format json_schema                          | outputConfig.textFormat (structured output)            |
| tools / tool_choice auto, required, function         | toolConfig tools[].toolSpec / toolChoice auto, any, tool |
| tool_choice none                                     | no toolConfig (400 once the history holds tool calls)  |
| extras `top_k`, `thinking`                           | additionalModelRequestFields (Anthropic's names)       |
| extras named like top-level Converse fields          | that field, verbatim                                   |
| n=1, logprobs=false, parallel_tool_calls=true, store=false, service_tier=auto | nothing: Converse's behaviour |
| n>1, presence_penalty, frequency_penalty, seed, logprobs=true, top_logprobs, logit_bias, user,  | 400 |
| store=true, parallel_tool_calls=false, response_format json_object, reasoning_effort none/minimal | 400 |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway_grpc.errors import (
    InvalidRequest,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from gateway_grpc.providers.bedrock_messages import encode_messages, unsupported
from gateway_grpc.types import (
    EMPTY,
    ChatRequest,
    ChatResponse,
    Choice,
    FunctionTool,
    Message,
    ResponseFormat,
    ToolCall,
    Usage,
)

# Top-level Converse fields a caller may send verbatim as request extras (camelCase: no clash with OpenAI names).
NATIVE_FIELDS = frozenset({"additionalModelRequestFields", "guardrailConfig", "additionalModelResponseFieldPaths",
                           "promptVariables", "performanceConfig", "requestMetadata", "serviceTier", "outputConfig"})
MODEL_FIELDS = frozenset({"top_k", "thinking"})  # request extras that go to additionalModelRequestFields
_DEFAULT_ONLY = {"n": 1, "logprobs": False, "parallel_tool_calls": True, "store": False}
_SERVICE_TIERS = frozenset({"default", "flex", "priority"})
_EFFORTS = frozenset({"low", "medium", "high", "xhigh"})
_EMPTY_SCHEMA = {"type": "object", "properties": {}}
_unsupported = unsupported


# ---- tools and output format ----


def _tool_spec(tool: Any, path: str) -> dict[str, Any]:
    if type(tool) is not FunctionTool:
        raise _unsupported(f"{path}.type", f"{tool.value.get('type')!r} tools")
    spec: dict[str, Any] = {"name": tool.name}
    if tool.description:
        spec["description"] = tool.description
    spec["inputSchema"] = {"json": dict(tool.parameters) if tool.parameters is not None else _EMPTY_SCHEMA}
    if tool.strict is not None:
        spec["strict"] = tool.strict
    return {"toolSpec": spec}


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        return None
    if choice.function_name:
        return {"tool": {"name": choice.function_name}}
    if choice.mode in ("auto", "required"):
        return {"auto": {}} if choice.mode == "auto" else {"any": {}}
    raise _unsupported("tool_choice", f"tool_choice {choice.other or choice.mode!r}")


def encode_tool_config(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is not None and choice.mode == "none" and not choice.function_name:
        if any(m.tool_calls or m.role == "tool" for m in request.messages):
            raise _unsupported("tool_choice", "tool_choice 'none' once the conversation holds tool calls")
        return None  # no tools offered: the model cannot call one
    choice_block = _tool_choice(request)
    if not request.tools:
        if choice_block is not None:
            raise InvalidRequest.field("tool_choice", "needs tools")
        return None
    config: dict[str, Any] = {"tools": [_tool_spec(tool, f"tools[{i}]") for i, tool in enumerate(request.tools)]}
    if choice_block is not None:
        config["toolChoice"] = choice_block
    return config


def encode_text_format(fmt: ResponseFormat) -> dict[str, Any] | None:
    """json_schema -> outputConfig.textFormat; Converse always enforces the schema, so `strict` needs no slot."""
    if fmt.extra:
        raise _unsupported(f"response_format.{next(iter(fmt.extra))}", "this response_format key")
    if fmt.type == "text":
        return None
    schema = fmt.json_schema
    if fmt.type != "json_schema" or schema is None or schema.schema is None:
        raise _unsupported("response_format.type", f"response_format {fmt.type!r} (only json_schema with a schema)")
    definition: dict[str, Any] = {"schema": orjson.dumps(schema.schema).decode(), "name": schema.name}
    if schema.description:
        definition["description"] = schema.description
    return {"type": "json_schema", "structure": {"jsonSchema": definition}}


# ---- sampling parameters ----


def _put(section: str, key: str) -> Callable[[dict[str, Any], Any, str], None]:
    def put(body: dict[str, Any], value: Any, name: str) -> None:
        body.setdefault(section, {})[key] = value
    return put


def _stop(body: dict[str, Any], value: Any, name: str) -> None:
    body.setdefault("inferenceConfig", {})["stopSequences"] = [value] if isinstance(value, str) else list(value)


def _max_tokens(body: dict[str, Any], value: Any, name: str) -> None:
    inference = body.setdefault("inferenceConfig", {})
    if inference.get("maxTokens", value) != value:
        raise InvalidRequest.field(name, "conflicts with the other max tokens parameter")
    inference["maxTokens"] = value


def _service_tier(body: dict[str, Any], value: Any, name: str) -> None:
    if value == "auto":
        return
    if value not in _SERVICE_TIERS:
        raise _unsupported(name, f"service_tier {value!r}")
    body["serviceTier"] = {"type": value}


def _effort(body: dict[str, Any], value: Any, name: str) -> None:
    if value not in _EFFORTS:
        raise _unsupported(name, f"reasoning_effort {value!r}")
    body.setdefault("outputConfig", {})["effort"] = value


def _metadata(body: dict[str, Any], value: Any, name: str) -> None:
    body["requestMetadata"] = dict(value)


_PARAMS: dict[str, Callable[[dict[str, Any], Any, str], None]] = {
    "temperature": _put("inferenceConfig", "temperature"),
    "top_p": _put("inferenceConfig", "topP"),
    "max_tokens": _max_tokens,
    "max_completion_tokens": _max_tokens,
    "stop": _stop,
    "service_tier": _service_tier,
    "reasoning_effort": _effort,
    "metadata": _metadata,
}


def encode_params(body: dict[str, Any], params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        if value is None:
            continue
        if name in _PARAMS:
            _PARAMS[name](body, value, name)
        elif name not in _DEFAULT_ONLY or _DEFAULT_ONLY[name] != value:
            raise _unsupported(name, f"{name}={orjson.dumps(value).decode()}")


def merge_field(body: dict[str, Any], key: str, value: Any) -> None:
    """Set a top-level field; two objects for one field merge (the later keys win)."""
    current = body.get(key)
    body[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, Mapping) else value


def encode_extra(body: dict[str, Any], extra: Mapping[str, Any], *, strict: bool) -> None:
    """Extras: model fields into additionalModelRequestFields; Converse fields verbatim, merged into what the mapping
    built (`strict`, the caller's extras: any other key is a 400) or replacing it (the target's override_params:
    Portkey's shallow merge over the body, any key)."""
    for key, value in extra.items():
        if key in MODEL_FIELDS:
            body.setdefault("additionalModelRequestFields", {})[key] = value
        elif not strict:
            body[key] = value
        elif key in NATIVE_FIELDS:
            merge_field(body, key, value)
        else:
            raise _unsupported(key, f"the request parameter {key!r}")


def encode_converse(request: ChatRequest) -> dict[str, Any]:
    """The Converse body for `request` (without modelId, which rides in the URL)."""
    system, turns = encode_messages(request.messages)
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    encode_params(body, request.params)
    tool_config = encode_tool_config(request)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    if request.response_format is not None:
        text_format = encode_text_format(request.response_format)
        if text_format is not None:
            body.setdefault("outputConfig", {})["textFormat"] = text_format
    if request.stream_extra:
        raise _unsupported(f"stream_options.{next(iter(request.stream_extra))}", "this stream option")
    encode_extra(body, request.extra, strict=True)
    return body


# ---- response: Converse JSON -> neutral ----

# Converse stopReason -> OpenAI finish_reason; a value missing here passes through as is.
FINISH_REASONS = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "model_context_window_exceeded": "length",
    "tool_use": "tool_calls", "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
    "malformed_model_output": "stop", "malformed_tool_use": "stop",
}
# AWS exception -> error class (by status otherwise). ModelNotReadyException answers 429 but is not a quota.
_ERROR_KINDS: dict[str, type[ProviderError]] = {
    "ThrottlingException": RateLimited, "ServiceUnavailableException": ProviderUnavailable,
    "ModelNotReadyException": ProviderUnavailable, "ModelTimeoutException": ProviderTimeout,
}
_RESPONSE_EXTRAS = ("additionalModelResponseFields", "trace", "performanceConfig")


def finish_reason(stop_reason: str | None) -> str | None:
    return FINISH_REASONS.get(stop_reason, stop_reason) if stop_reason else None


def decode_usage(raw: Mapping[str, Any]) -> Usage:
    """OpenAI's prompt_tokens counts cached prompt tokens too; Converse's inputTokens leaves them out."""
    read, write = raw.get("cacheReadInputTokens"), raw.get("cacheWriteInputTokens")
    prompt = raw["inputTokens"] + (read or 0) + (write or 0)
    completion = raw["outputTokens"]
    return Usage(prompt, completion, prompt + completion, cached_tokens=read, cache_creation_tokens=write)


def aws_error(provider: str, name: str, status: int, message: str, retry_after: float | None = None) -> ProviderError:
    """The typed error for an AWS exception name (`ThrottlingException`) and HTTP status."""
    kind = _ERROR_KINDS.get(name) or (RateLimited if status == 429 else ProviderRejected)
    text = message or name or f"HTTP {status}"
    return kind(f"{provider} error: {text}", provider=provider, status=status, error_type=name,
                retry_after=retry_after)


def _reasoning(block: Mapping[str, Any], texts: list[str], extra: dict[str, Any]) -> None:
    text = block.get("reasoningText")
    if text is not None:
        texts.append(text["text"])
        if text.get("signature"):
            extra["reasoning_signature"] = text["signature"]
    if "redactedContent" in block:
        extra.setdefault("redacted_reasoning", []).append(block["redactedContent"])


def decode_message(raw: Mapping[str, Any]) -> Message:
    """Text blocks joined; toolUse -> tool calls (id = toolUseId); reasoning -> reasoning_content (signature and
    redacted blocks in `extra`); any other block kept verbatim in extra `bedrock_content`."""
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    extra: dict[str, Any] = {}
    for block in raw["content"]:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(ToolCall(use["toolUseId"], use["name"], orjson.dumps(use.get("input", {})).decode()))
        elif "reasoningContent" in block:
            _reasoning(block["reasoningContent"], reasoning, extra)
        else:
            extra.setdefault("bedrock_content", []).append(block)
    content = "".join(texts) if texts or not calls else None
    return Message("assistant", content, tool_calls=tuple(calls),
                   reasoning_content="".join(reasoning) if reasoning else None, extra=extra or EMPTY)


def service_tier(raw: Mapping[str, Any] | None) -> str:
    tier = (raw or EMPTY).get("type") or ""
    return tier if tier in _SERVICE_TIERS else ""


def decode_converse(raw: Mapping[str, Any], *, id_: str, created: int, model: str) -> ChatResponse:
    message = decode_message(raw["output"]["message"])
    extra = {key: raw[key] for key in _RESPONSE_EXTRAS if key in raw}
    if "serviceTier" in raw and not service_tier(raw["serviceTier"]):
        extra["serviceTier"] = raw["serviceTier"]  # e.g. "reserved", which OpenAI's service_tier cannot name
    return ChatResponse(id_, created, model, (Choice(0, message, finish_reason(raw["stopReason"])),),
                        decode_usage(raw["usage"]), service_tier=service_tier(raw.get("serviceTier")),
                        extra=extra or EMPTY)
