"""Neutral chat request <-> Cohere v2 `/v2/chat` JSON. Pure functions; no I/O, no HTTP details (cohere.py has them).

Requests: nothing is dropped silently: what Cohere v2 cannot express is refused with InvalidRequest naming the
request path (Portkey contract §13 rows 25 and 31: assistant `tool_calls` and tool `tool_call_id` are kept).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderError, ProviderRejected
from gateway_grpc.types import (
    EMPTY,
    AudioPart,
    ChatRequest,
    ChatResponse,
    Choice,
    FilePart,
    FunctionTool,
    ImagePart,
    Message,
    OtherPart,
    Part,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)

PROVIDER = "cohere"
# OpenAI role -> Cohere v2 role.
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
# OpenAI parameter -> Cohere v2 parameter (value unchanged).
RENAMED_PARAMS = {
    "temperature": "temperature", "top_p": "p", "seed": "seed", "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty", "logprobs": "logprobs",
}
# OpenAI parameters Cohere v2 has no equivalent for: a request that sets them gets a 400, never a silent drop.
UNSUPPORTED_PARAMS = ("logit_bias", "user", "reasoning_effort", "service_tier", "metadata")
# OpenAI parameters accepted only at the value that describes what Cohere does anyway (one answer, parallel tool
# calls allowed, nothing stored, no alternative tokens); any other value is refused.
FIXED_PARAMS: Mapping[str, Any] = {"n": 1, "parallel_tool_calls": True, "store": False, "top_logprobs": 0}
# Translated by code below: max_tokens / max_completion_tokens -> max_tokens, stop -> stop_sequences.
SPECIAL_PARAMS = ("max_tokens", "max_completion_tokens", "stop")
TOOL_CHOICES = {"required": "REQUIRED", "none": "NONE"}  # "auto" is Cohere's default: the key is left out
_EMPTY_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}  # OpenAI: omitted = no parameters
_PART_NAMES = {AudioPart: "input_audio", FilePart: "file", ImagePart: "image_url", TextPart: "text"}


def unsupported(field: str, feature: str) -> InvalidRequest:
    return InvalidRequest.field(field, f"{PROVIDER} does not support {feature}")


# ---- the body ----


def encode_chat_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The `/v2/chat` body for `request`, before the caller's unknown keys (`extra`) are merged in."""
    body: dict[str, Any] = {"model": request.model, "messages": encode_messages(request.messages)}
    if request.tools:
        body["tools"] = [encode_tool(tool, f"tools[{i}]") for i, tool in enumerate(request.tools)]
        strict = strict_tools(request.tools)
        if strict is not None:
            body["strict_tools"] = strict
    if request.tool_choice is not None:
        choice = encode_tool_choice(request.tool_choice)
        if choice is not None:
            body["tool_choice"] = choice
    if request.response_format is not None:
        body["response_format"] = encode_response_format(request.response_format)
    body.update(encode_params(request.params))
    if request.stream_extra:
        raise unsupported(f"stream_options.{next(iter(request.stream_extra))}", "this stream option")
    body["stream"] = stream
    return body


def encode_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:  # OpenAI: null means the default
            continue
        if name in RENAMED_PARAMS:
            out[RENAMED_PARAMS[name]] = value
        elif name in FIXED_PARAMS:
            if value != FIXED_PARAMS[name]:
                raise unsupported(name, f"{name}={value!r} (only {FIXED_PARAMS[name]!r})")
        elif name not in SPECIAL_PARAMS:
            raise unsupported(name, f"the OpenAI parameter {name!r}")
    limit = _max_tokens(params)
    if limit is not None:
        out["max_tokens"] = limit
    stop = params.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    return out


def _max_tokens(params: Mapping[str, Any]) -> Any:
    legacy, current = params.get("max_tokens"), params.get("max_completion_tokens")
    if legacy is not None and current is not None and legacy != current:
        raise unsupported("max_completion_tokens", "max_tokens and max_completion_tokens with different values")
    return current if current is not None else legacy


# ---- messages ----


def encode_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [encode_message(message, f"messages[{i}]") for i, message in enumerate(messages)]


def encode_message(message: Message, path: str) -> dict[str, Any]:
    role = ROLES.get(message.role)
    if role is None:
        raise unsupported(f"{path}.role", f"the role {message.role!r}")
    _refuse_unmapped(message, role, path)
    if role == "assistant":
        return _assistant(message, path)
    out: dict[str, Any] = {"role": role}
    if role == "tool":
        if not message.tool_call_id:
            raise unsupported(f"{path}.tool_call_id", "a tool message without tool_call_id")
        out["tool_call_id"] = message.tool_call_id
    if message.content is None:
        raise unsupported(f"{path}.content", f"a {message.role} message without content")
    out["content"] = _content(message.content, f"{path}.content", images=role == "user")
    return out


def _refuse_unmapped(message: Message, role: str, path: str) -> None:
    """Message fields Cohere v2 has no place for. Empty extras (`annotations: []`, `audio: null` in a replayed
    OpenAI answer) carry nothing and are let go; an assistant's `citations` (Cohere's own) go back as they came."""
    if message.name:
        raise unsupported(f"{path}.name", "message names")
    for key, value in message.extra.items():
        if value not in (None, "", [], {}) and not (key == "citations" and role == "assistant"):
            raise unsupported(f"{path}.{key}", "this message field")
    if message.refusal is not None:
        raise unsupported(f"{path}.refusal", "assistant refusals in the conversation")
    if message.tool_calls and role != "assistant":
        raise unsupported(f"{path}.tool_calls", f"tool_calls on a {message.role} message")
    if message.tool_call_id and role != "tool":
        raise unsupported(f"{path}.tool_call_id", f"tool_call_id on a {message.role} message")
    if message.reasoning_content is not None and role != "assistant":
        raise unsupported(f"{path}.reasoning_content", f"reasoning_content on a {message.role} message")


def _assistant(message: Message, path: str) -> dict[str, Any]:
    """Reasoning goes back where Cohere produced it: `tool_plan` beside tool calls, else a `thinking` block."""
    out: dict[str, Any] = {"role": "assistant"}
    blocks: list[dict[str, Any]] = []
    reasoning = message.reasoning_content
    if reasoning is not None and not message.tool_calls:
        blocks.append({"type": "thinking", "thinking": reasoning})
    content = message.content
    if isinstance(content, tuple):
        blocks += _content(content, f"{path}.content", images=False)
    elif content and blocks:
        blocks.append({"type": "text", "text": content})
    elif content or (content is not None and not message.tool_calls):
        out["content"] = content
    if blocks:
        out["content"] = blocks
    if message.tool_calls:
        out["tool_calls"] = [encode_tool_call(c, f"{path}.tool_calls[{i}]") for i, c in enumerate(message.tool_calls)]
        if reasoning is not None:
            out["tool_plan"] = reasoning
    if message.extra.get("citations"):  # as decode_message hands them out, so a replayed answer goes back whole
        out["citations"] = message.extra["citations"]
    return out


def _content(content: str | tuple[Part, ...], path: str, *, images: bool) -> Any:
    if isinstance(content, str):
        return content
    return [_part(part, f"{path}[{i}]", images=images) for i, part in enumerate(content)]


def _part(part: Part, path: str, *, images: bool) -> dict[str, Any]:
    if type(part) is OtherPart:
        raise unsupported(f"{path}.type", f"{part.value.get('type')!r} content parts")
    if part.extra:
        raise unsupported(f"{path}.{next(iter(part.extra))}", "this content part field")
    if type(part) is TextPart:
        return {"type": "text", "text": part.text}
    if type(part) is ImagePart and images:
        image: dict[str, Any] = {"url": part.url or _data_url(part)}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    where = "" if type(part) is not ImagePart else " outside user messages"
    raise unsupported(f"{path}.type", f"{_PART_NAMES[type(part)]!r} content parts{where}")


def _data_url(part: ImagePart) -> str:
    return f"data:{part.media_type or 'application/octet-stream'};base64,{base64.b64encode(part.data).decode()}"


def encode_tool_call(call: ToolCall, path: str) -> dict[str, Any]:
    if call.type != "function":
        raise unsupported(f"{path}.type", f"{call.type!r} tool calls")
    if call.extra:
        raise unsupported(f"{path}.{next(iter(call.extra))}", "this tool call field")
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


# ---- tools and formats ----


def encode_tool(tool: Tool, path: str) -> dict[str, Any]:
    if type(tool) is not FunctionTool:
        raise unsupported(f"{path}.type", f"{tool.value.get('type')!r} tools")
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters if tool.parameters is not None else _EMPTY_PARAMETERS
    return {"type": "function", "function": function}


def strict_tools(tools: Sequence[Tool]) -> bool | None:
    """Cohere's one `strict_tools` switch for OpenAI's per-tool `strict`; None (left out) when no tool asks."""
    flags = [bool(getattr(tool, "strict", None)) for tool in tools]
    if all(flags):
        return True
    if any(flags):
        raise unsupported(f"tools[{flags.index(False)}].strict", "strict on some tools only (strict_tools is global)")
    return False if any(getattr(tool, "strict", None) is False for tool in tools) else None


def encode_tool_choice(choice: ToolChoice) -> str | None:
    if choice.function_name:
        raise unsupported("tool_choice", "forcing a specific function (only 'required', 'none' and 'auto')")
    if choice.other is not None or choice.mode not in (*TOOL_CHOICES, "auto"):
        raise unsupported("tool_choice", f"the tool_choice {choice.other or choice.mode!r}")
    return TOOL_CHOICES.get(choice.mode)


def encode_response_format(fmt: ResponseFormat) -> dict[str, Any]:
    """json_schema -> json_object with `json_schema`: Cohere always enforces the schema, so OpenAI's `strict` is
    met either way, and `name` only labels the format for OpenAI."""
    if fmt.extra:
        raise unsupported(f"response_format.{next(iter(fmt.extra))}", "this response_format field")
    if fmt.type in ("text", "json_object"):
        return {"type": fmt.type}
    if fmt.type != "json_schema":
        raise unsupported("response_format.type", f"the response format {fmt.type!r}")
    schema = fmt.json_schema
    if schema is not None and schema.description:
        raise unsupported("response_format.json_schema.description", "a description of the response format")
    out: dict[str, Any] = {"type": "json_object"}
    if schema is not None and schema.schema is not None:
        out["json_schema"] = schema.schema
    return out


# ---- answers: Cohere v2 JSON -> neutral ----

# Cohere finish_reason -> OpenAI's. ERROR_TOXIC and ERROR_LIMIT are v1 values the v2 API may still report.
FINISH_REASONS = {
    "COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter", "ERROR_LIMIT": "length",
}
# Finish reasons that mean the generation failed: raised as an upstream error with this status.
FAILED_FINISH = {"ERROR": 500, "TIMEOUT": 504}


def bad_response(what: str, raw: Any) -> ProviderBadResponse:
    return ProviderBadResponse(f"Invalid {what} received from {PROVIDER}: {str(raw)[:200]}", provider=PROVIDER)


def failure(message: str, status: int = 500) -> ProviderError:
    return ProviderRejected(f"{PROVIDER} error: {message}", provider=PROVIDER, status=status)


def decode_finish_reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if reason in FAILED_FINISH:
        raise failure(f"generation finished with {reason}", FAILED_FINISH[reason])
    if reason not in FINISH_REASONS:
        raise bad_response("finish_reason", reason)
    return FINISH_REASONS[reason]


def decode_usage(raw: Mapping[str, Any] | None) -> Usage | None:
    """Billed units first (what the caller pays, as Portkey reports), then raw token counts."""
    if not raw:
        return None
    billed, tokens = raw.get("billed_units") or EMPTY, raw.get("tokens") or EMPTY
    counts = []
    for key in ("input_tokens", "output_tokens"):
        value = billed.get(key)
        counts.append(int(value if value is not None else tokens.get(key) or 0))
    cached = raw.get("cached_tokens")
    return Usage(counts[0], counts[1], counts[0] + counts[1],
                 cached_tokens=None if cached is None else int(cached))


def decode_logprob(item: Mapping[str, Any]) -> dict[str, Any]:
    """One Cohere text chunk (several tokens) -> one OpenAI entry whose logprob is the chunk's (their sum)."""
    text = item.get("text") or ""
    return {"token": text, "logprob": sum(item.get("logprobs") or ()), "bytes": list(text.encode()),
            "top_logprobs": []}


def decode_logprobs(items: Sequence[Mapping[str, Any]] | None) -> dict[str, Any] | None:
    if items is None:
        return None
    return {"content": [decode_logprob(item) for item in items], "refusal": None}


def decode_tool_call(raw: Mapping[str, Any]) -> ToolCall:
    function = raw.get("function") or EMPTY
    return ToolCall(raw["id"], function.get("name") or "", function.get("arguments") or "")


def _texts(blocks: Sequence[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    """(text, thinking) of a message's content blocks; None where no block of that kind came."""
    found: dict[str, list[str]] = {"text": [], "thinking": []}
    for block in blocks:
        kind = block.get("type")
        if kind not in found:
            raise bad_response("content block", block)
        found[kind].append(block[kind])
    return tuple("".join(found[k]) if found[k] else None for k in ("text", "thinking"))  # type: ignore[return-value]


def _reasoning(thinking: str | None, tool_plan: str | None) -> str | None:
    """Thinking blocks and the tool plan are both the model's reasoning; a stream sends them in this order."""
    if thinking is None or not tool_plan:
        return tool_plan if thinking is None else thinking
    return thinking + tool_plan


def decode_message(raw: Mapping[str, Any]) -> Message:
    """Citations have no OpenAI field: they ride in the message's extra, as Cohere sent them."""
    text, thinking = _texts(raw.get("content") or ())
    tool_calls = tuple(decode_tool_call(call) for call in raw.get("tool_calls") or ())
    content = text if text is not None else (None if tool_calls else "")
    citations = raw.get("citations")
    return Message("assistant", content, tool_calls=tool_calls,
                   reasoning_content=_reasoning(thinking, raw.get("tool_plan")),
                   extra={"citations": citations} if citations else EMPTY)


def decode_response(raw: Mapping[str, Any], *, created: int, model: str) -> ChatResponse:
    choice = Choice(0, decode_message(raw["message"]), decode_finish_reason(raw["finish_reason"]),
                    decode_logprobs(raw.get("logprobs")))
    return ChatResponse(raw["id"], created, model, (choice,), decode_usage(raw.get("usage")))
