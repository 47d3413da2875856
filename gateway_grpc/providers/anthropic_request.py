"""Neutral chat requests -> Anthropic Messages API bodies (anthropic-version 2023-06-01). Pure; no I/O.

Every input Anthropic cannot express is an InvalidRequest naming its field, never silently dropped:
- `max_tokens` is required by Anthropic: max_completion_tokens, else max_tokens, else DEFAULT_MAX_TOKENS (4096).
- system and developer messages, wherever they stand, become the top-level `system` (text blocks keep their extras,
  e.g. `cache_control`); `tool` messages become user-turn `tool_result` blocks, consecutive ones in one turn.
- part, tool-call and tool extras (e.g. `cache_control`) and unknown top-level keys (`thinking`, `top_k`, ...) pass
  through verbatim; OpenAI parameters without an equivalent are refused unless set to their no-op value (_NO_OP).
- an assistant turn goes back with its `thinking_blocks` extra (thinking text plus signature, as decoded);
  `reasoning_content` alone cannot (Anthropic needs the signature) and is refused.

OpenAI parameter                   Anthropic
temperature, top_p                 the same names (values not rescaled)
max_completion_tokens, max_tokens  max_tokens (max_completion_tokens wins; default 4096)
stop                               stop_sequences
user                               metadata.user_id
parallel_tool_calls: false         tool_choice.disable_parallel_tool_use
reasoning_effort                   output_config.effort (low, medium, high, xhigh)
service_tier auto | default        service_tier auto | standard_only
response_format json_schema        output_config.format
n, presence_penalty, frequency_penalty, logprobs, top_logprobs, seed, logit_bias, store, metadata: no equivalent
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway_grpc.errors import InvalidRequest
from gateway_grpc.types import (
    ChatRequest,
    FilePart,
    FunctionTool,
    ImagePart,
    Message,
    OtherPart,
    OtherTool,
    Part,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)

DEFAULT_MAX_TOKENS = 4096
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Anthropic-native content blocks a caller may put in a message as an `OtherPart`; they are sent verbatim.
_NATIVE_BLOCKS = frozenset({"image", "document", "search_result", "thinking", "redacted_thinking", "container_upload"})
_TOOL_CHOICE_MODES = {"auto": "auto", "none": "none", "required": "any"}
_EFFORTS = frozenset({"low", "medium", "high", "xhigh"})  # reasoning_effort values output_config.effort shares
_SERVICE_TIERS = {"auto": "auto", "default": "standard_only"}
# OpenAI parameters with no Anthropic equivalent: accepted only at these no-op values, otherwise refused.
_NO_OP: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logprobs": (False,),
    "top_logprobs": (),
    "seed": (),
    "logit_bias": ({},),
    "store": (False,),
    "metadata": ({},),  # OpenAI's stored-completion tags; Anthropic's metadata holds only user_id (from `user`)
}
_EMPTY_VALUES = (None, "", [], {})


def _unsupported(path: str, what: str) -> InvalidRequest:
    return InvalidRequest.field(path, f"anthropic does not support {what}")


# ---- parts ----


def _data_url(url: str, path: str) -> tuple[str, str]:
    """(media type, base64 data) of a `data:<type>;base64,<data>` URL."""
    head, comma, data = url.partition(",")
    media_type, _, encoding = head[len("data:") :].partition(";")
    if not comma or encoding != "base64":
        raise _unsupported(path, "data: URLs that are not base64")
    return media_type, data


def _image(part: ImagePart, path: str) -> dict[str, Any]:
    if part.detail not in ("", "auto"):
        raise _unsupported(f"{path}.image_url.detail", "image detail levels")
    if part.url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    if part.data:
        media_type, data = part.media_type, base64.b64encode(part.data).decode()
    elif part.url.startswith("data:"):
        media_type, data = _data_url(part.url, f"{path}.image_url.url")
    else:
        raise _unsupported(f"{path}.image_url.url", "image URLs other than http(s) and data: URLs")
    if media_type not in _IMAGE_TYPES:
        raise _unsupported(path, f"{media_type or 'untyped'} images (only {', '.join(sorted(_IMAGE_TYPES))})")
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _document_source(part: FilePart, path: str) -> dict[str, Any]:
    if part.file_id:  # an Anthropic Files API id (needs the files-api beta header)
        return {"type": "file", "file_id": part.file_id}
    if part.url.startswith(("http://", "https://")):
        return {"type": "url", "url": part.url}
    if part.url.startswith("data:"):
        media_type, data = _data_url(part.url, f"{path}.file.file_data")
    else:
        media_type, data = part.media_type, base64.b64encode(part.data).decode()
        media_type = media_type or ("application/pdf" if part.data.startswith(b"%PDF") else "")
    if media_type == "application/pdf":
        return {"type": "base64", "media_type": media_type, "data": data}
    if media_type == "text/plain":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidRequest.field(f"{path}.file.file_data", "anthropic needs UTF-8 text/plain files") from exc
        return {"type": "text", "media_type": media_type, "data": text}
    raise _unsupported(path, f"{media_type or 'untyped'} files (only application/pdf and text/plain)")


def _document(part: FilePart, path: str) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "document", "source": _document_source(part, path)}
    if part.filename:
        block["title"] = part.filename
    return block


def _part(part: Part, path: str) -> dict[str, Any]:
    if type(part) is OtherPart:
        kind = part.value.get("type")
        if kind not in _NATIVE_BLOCKS:
            raise _unsupported(f"{path}.type", f"{kind!r} content parts")
        return dict(part.value)
    if type(part) is TextPart:
        block = {"type": "text", "text": part.text}
    elif type(part) is ImagePart:
        block = _image(part, path)
    elif type(part) is FilePart:
        block = _document(part, path)
    else:
        raise _unsupported(path, "audio input")
    block.update(part.extra)  # cache_control, citations, ...
    return block


def _content(content: str | tuple[Part, ...] | None, path: str) -> str | list[dict[str, Any]]:
    if isinstance(content, tuple):
        return [_part(part, f"{path}.content[{j}]") for j, part in enumerate(content)]
    return content or ""


# ---- messages ----


def _check_fields(message: Message, path: str, allowed: frozenset[str] = frozenset()) -> None:
    """Refuse the message fields Anthropic cannot carry (empty values carry nothing and are let go)."""
    if message.name:
        raise _unsupported(f"{path}.name", "message names")
    if message.refusal:
        raise _unsupported(f"{path}.refusal", "refusal messages")
    for key, value in message.extra.items():
        if key not in allowed and value not in _EMPTY_VALUES:
            raise _unsupported(f"{path}.{key}", f"the message field {key!r}")


def _system_blocks(message: Message, path: str) -> list[dict[str, Any]]:
    _check_fields(message, path)
    if not isinstance(message.content, tuple):
        return [{"type": "text", "text": message.content or ""}]
    blocks = []
    for j, part in enumerate(message.content):
        if type(part) is not TextPart:
            raise _unsupported(f"{path}.content[{j}]", "non-text system content")
        blocks.append({"type": "text", "text": part.text, **part.extra})
    return blocks


def _arguments(arguments: str, path: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequest.field(path, "anthropic needs tool-call arguments that are a JSON object")
    return value


def _tool_use(call: ToolCall, path: str) -> dict[str, Any]:
    if call.type != "function":
        raise _unsupported(f"{path}.type", f"{call.type!r} tool calls")
    block = {"type": "tool_use", "id": call.id, "name": call.name,
             "input": _arguments(call.arguments, f"{path}.function.arguments")}
    block.update(call.extra)
    return block


def _assistant(message: Message, path: str) -> dict[str, Any]:
    _check_fields(message, path, frozenset({"thinking_blocks"}))
    thinking = list(message.extra.get("thinking_blocks") or ())
    if message.reasoning_content and not thinking:
        raise _unsupported(f"{path}.reasoning_content", "reasoning_content without its thinking_blocks (signatures)")
    if not thinking and not message.tool_calls:
        return {"role": "assistant", "content": _content(message.content, path)}
    content = _content(message.content, path)
    blocks = thinking + ([{"type": "text", "text": content}] if isinstance(content, str) and content else [])
    blocks += content if isinstance(content, list) else []
    blocks += [_tool_use(call, f"{path}.tool_calls[{k}]") for k, call in enumerate(message.tool_calls)]
    return {"role": "assistant", "content": blocks}


def _tool_result(message: Message, path: str) -> dict[str, Any]:
    _check_fields(message, path)
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if message.content is not None:
        block["content"] = _content(message.content, path)
    return block


def _messages(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, turns)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    previous = ""
    for i, message in enumerate(messages):
        path, role = f"messages[{i}]", message.role
        if role in ("system", "developer"):
            system += _system_blocks(message, path)
            continue
        if role == "tool":
            block = _tool_result(message, path)
            if previous == "tool":  # consecutive tool results answer one assistant turn: one user turn
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
        elif role == "assistant":
            turns.append(_assistant(message, path))
        elif role == "user":
            _check_fields(message, path)
            turns.append({"role": "user", "content": _content(message.content, path)})
        else:
            raise _unsupported(f"{path}.role", f"the {role!r} role")
        previous = role
    return system, turns


def _system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """One plain text block goes as a string, as most callers write it; anything else as blocks."""
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"}:
        return blocks[0]["text"]
    return blocks


# ---- tools, parameters, response format ----


def _tool(tool: Tool, path: str) -> dict[str, Any]:
    if type(tool) is OtherTool:  # an Anthropic server tool (`{"type": "web_search_20250305", "name": ...}`) as is
        value = tool.value
        if "name" not in value or "function" in value or value.get("type") in (None, "function", "custom"):
            raise _unsupported(f"{path}.type", f"{value.get('type')!r} tools")
        return dict(value)
    assert isinstance(tool, FunctionTool)
    schema = dict(tool.parameters) if tool.parameters is not None else {"type": "object", "properties": {}}
    out: dict[str, Any] = {"name": tool.name, "input_schema": schema}
    if tool.description:
        out["description"] = tool.description
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def _tool_choice(choice: ToolChoice | None, parallel: Any) -> dict[str, Any] | None:
    if choice is None:
        out = None
    elif choice.function_name:
        out = {"type": "tool", "name": choice.function_name}
    elif choice.mode in _TOOL_CHOICE_MODES and choice.other is None:
        out = {"type": _TOOL_CHOICE_MODES[choice.mode]}
    else:
        raise _unsupported("tool_choice", f"this tool_choice ({choice.other or choice.mode!r})")
    if parallel is False:
        out = out or {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out


def _effort(value: Any, body: dict[str, Any]) -> None:
    if value not in _EFFORTS:
        raise _unsupported("reasoning_effort", f"reasoning_effort {value!r} (only {', '.join(sorted(_EFFORTS))})")
    body.setdefault("output_config", {})["effort"] = value


def _service_tier(value: Any, body: dict[str, Any]) -> None:
    if value not in _SERVICE_TIERS:
        raise _unsupported("service_tier", f"service_tier {value!r} (only auto and default)")
    body["service_tier"] = _SERVICE_TIERS[value]


def _skip(value: Any, body: dict[str, Any]) -> None:
    """Handled elsewhere (max tokens, parallel tool calls)."""


def _stop(value: Any, body: dict[str, Any]) -> None:
    body["stop_sequences"] = [value] if isinstance(value, str) else value


def _user(value: Any, body: dict[str, Any]) -> None:
    body.setdefault("metadata", {})["user_id"] = value


def _same_name(name: str) -> Callable[[Any, dict[str, Any]], None]:
    def put(value: Any, body: dict[str, Any]) -> None:
        body[name] = value

    return put


# OpenAI parameter -> how it lands in the Anthropic body.
_PARAMS: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "temperature": _same_name("temperature"),
    "top_p": _same_name("top_p"),
    "stop": _stop,
    "user": _user,
    "reasoning_effort": _effort,
    "service_tier": _service_tier,
    "max_tokens": _skip,
    "max_completion_tokens": _skip,
    "parallel_tool_calls": _skip,
}


def _params(params: Mapping[str, Any], body: dict[str, Any]) -> None:
    for key, value in params.items():
        if key in _NO_OP:
            if value not in _NO_OP[key]:
                raise _unsupported(key, key)
        elif key in _PARAMS:
            _PARAMS[key](value, body)
        else:  # not an OpenAI parameter the gateway models: verbatim, like `extra`
            body[key] = value


def _response_format(fmt: ResponseFormat, body: dict[str, Any]) -> None:
    schema = fmt.json_schema
    if fmt.type == "text" and not fmt.extra:
        return
    if fmt.type == "json_schema" and schema is not None and schema.schema is not None and not fmt.extra:
        # name, description and strict have no equivalent: Anthropic's structured outputs are always strict
        body.setdefault("output_config", {})["format"] = {"type": "json_schema", "schema": dict(schema.schema)}
        return
    raise _unsupported("response_format.type", f"response_format {fmt.type!r}")


def encode_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The Messages API body for a neutral request."""
    params = request.params
    system, turns = _messages(request.messages)
    max_tokens = params.get("max_completion_tokens", params.get("max_tokens", DEFAULT_MAX_TOKENS))
    body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens, "messages": turns}
    if system:
        body["system"] = _system(system)
    if request.tools:
        body["tools"] = [_tool(tool, f"tools[{k}]") for k, tool in enumerate(request.tools)]
        choice = _tool_choice(request.tool_choice, params.get("parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    elif request.tool_choice is not None and request.tool_choice.mode not in ("auto", "none"):
        raise InvalidRequest.field("tool_choice", "anthropic needs `tools` to force a tool call")
    _params(params, body)
    if request.response_format is not None:
        _response_format(request.response_format, body)
    if request.stream_extra:
        key = next(iter(request.stream_extra))
        raise _unsupported(f"stream_options.{key}", f"stream_options.{key}")
    if stream:
        body["stream"] = True
    body.update(request.extra)
    return body
