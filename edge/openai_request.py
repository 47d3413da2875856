"""OpenAI chat completion request JSON -> CreateChatCompletionRequest: pure functions, shape checks only.

Every key the proto does not model travels in the nearest `extra` (or a oneof `other`), never dropped; semantic
checks (missing model, empty messages) belong to the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from edge.shapes import (
    build_request,
    expected,
    fill,
    read_array,
    read_base64,
    read_bool,
    read_choice,
    read_int,
    read_int64,
    read_number,
    read_object,
    read_string,
    setter,
)
from gateway_grpc.v1 import chat_pb2

ROLES = {
    "system": chat_pb2.ROLE_SYSTEM,
    "developer": chat_pb2.ROLE_DEVELOPER,
    "user": chat_pb2.ROLE_USER,
    "assistant": chat_pb2.ROLE_ASSISTANT,
    "tool": chat_pb2.ROLE_TOOL,
    "function": chat_pb2.ROLE_FUNCTION,
}
RESPONSE_FORMAT_TYPES = {
    "text": chat_pb2.RESPONSE_FORMAT_TYPE_TEXT,
    "json_object": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
    "json_schema": chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
}


def _fits(obj: dict[str, Any], allowed: frozenset[str]) -> bool:
    return obj.keys() <= allowed


# --- content parts: typed, with keys beside `type` and the body (e.g. `cache_control`) in `extra`; a part whose type
# or body has a key the proto lacks is kept verbatim in `other` --------------------------------------------------------


def _text_part(obj: dict[str, Any], path: str) -> chat_pb2.ContentPart | None:
    return chat_pb2.ContentPart(text=read_string(obj.get("text"), f"{path}.text"))


def _image_part(obj: dict[str, Any], path: str) -> chat_pb2.ContentPart | None:
    image = read_object(obj.get("image_url"), f"{path}.image_url")
    if not _fits(image, frozenset({"url", "detail"})):
        return None
    part = chat_pb2.ImagePart(url=read_string(image.get("url"), f"{path}.image_url.url"))
    if image.get("detail") is not None:
        part.detail = read_string(image["detail"], f"{path}.image_url.detail")
    return chat_pb2.ContentPart(image=part)


def _audio_part(obj: dict[str, Any], path: str) -> chat_pb2.ContentPart | None:
    audio = read_object(obj.get("input_audio"), f"{path}.input_audio")
    if not _fits(audio, frozenset({"data", "format"})):
        return None
    part = chat_pb2.AudioPart(data=read_base64(audio.get("data"), f"{path}.input_audio.data"))
    if audio.get("format") is not None:
        part.format = read_string(audio["format"], f"{path}.input_audio.format")
    return chat_pb2.ContentPart(input_audio=part)


def _file_part(obj: dict[str, Any], path: str) -> chat_pb2.ContentPart | None:
    file = read_object(obj.get("file"), f"{path}.file")
    if not _fits(file, frozenset({"file_id", "file_data", "filename"})):
        return None
    part = chat_pb2.FilePart()
    if file.get("file_id") is not None:
        part.file_id = read_string(file["file_id"], f"{path}.file.file_id")
    data = file.get("file_data")
    if isinstance(data, str) and data.startswith("data:"):
        part.url = data  # a data: URL is kept whole, like image URLs
    elif data is not None:
        part.data = read_base64(data, f"{path}.file.file_data")
    if file.get("filename") is not None:
        part.filename = read_string(file["filename"], f"{path}.file.filename")
    return chat_pb2.ContentPart(file=part)


# Keyed by part type; each type's body is under the key of the same name (`{"type": "text", "text": ...}`).
PART_READERS: dict[str, Callable[[dict[str, Any], str], chat_pb2.ContentPart | None]] = {
    "text": _text_part,
    "image_url": _image_part,
    "input_audio": _audio_part,
    "file": _file_part,
}


def content_part_from_json(value: Any, path: str) -> chat_pb2.ContentPart:
    obj = read_object(value, path)
    kind = read_string(obj.get("type"), f"{path}.type")
    reader = PART_READERS.get(kind)
    part = reader(obj, path) if reader else None
    if part is None:
        part = chat_pb2.ContentPart()
        part.other.update(obj)
    elif len(obj) > 2:  # keys beside `type` and the body
        part.extra.update({key: item for key, item in obj.items() if key != "type" and key != kind})
    return part


# --- messages ------------------------------------------------------------------------------------------------------


def _set_content(message: chat_pb2.Message, value: Any, path: str) -> None:
    if isinstance(value, str):
        message.text = value
    elif isinstance(value, list):
        message.parts.extend(content_part_from_json(item, f"{path}[{i}]") for i, item in enumerate(value))
    else:
        raise expected(path, "a string, an array or null", value)


def _set_function(call: chat_pb2.ToolCall, value: Any, path: str) -> None:
    function = read_object(value, path)
    if not _fits(function, frozenset({"name", "arguments"})):  # a key FunctionCall cannot hold: keep it verbatim
        call.extra.update({"function": function})
        return
    call.function.name = read_string(function.get("name", ""), f"{path}.name")
    call.function.arguments = read_string(function.get("arguments", ""), f"{path}.arguments")


TOOL_CALL_FIELDS: dict[str, Callable[[chat_pb2.ToolCall, Any, str], None]] = {
    "id": setter("id", read_string),
    "type": setter("type", read_string),
    "function": _set_function,
}


def tool_call_from_json(value: Any, path: str) -> chat_pb2.ToolCall:
    """Any tool call: a `function` one is typed, other keys (e.g. `custom`, `extra_content`) go to `extra`."""
    call = chat_pb2.ToolCall(type="function")  # OpenAI's only type before `custom`, and still its default
    extra = fill(call, read_object(value, path), TOOL_CALL_FIELDS, f"{path}.")
    if extra:
        call.extra.update(extra)
    return call


def _set_tool_calls(message: chat_pb2.Message, value: Any, path: str) -> None:
    items = read_array(value, path)
    message.tool_calls.extend(tool_call_from_json(item, f"{path}[{i}]") for i, item in enumerate(items))


def _set_role(message: chat_pb2.Message, value: Any, path: str) -> None:
    message.role = read_choice(value, path, ROLES)


MESSAGE_FIELDS: dict[str, Callable[[chat_pb2.Message, Any, str], None]] = {
    "role": _set_role,
    "content": _set_content,
    "name": setter("name", read_string),
    "tool_calls": _set_tool_calls,
    "tool_call_id": setter("tool_call_id", read_string),
    "refusal": setter("refusal", read_string),
    "reasoning_content": setter("reasoning_content", read_string),
}


def message_from_json(value: Any, path: str) -> chat_pb2.Message:
    message = chat_pb2.Message()
    extra = fill(message, read_object(value, path), MESSAGE_FIELDS, f"{path}.")
    if extra:
        message.extra.update(extra)
    return message


# --- tools, tool choice, response format, stream options -------------------------------------------------------------

FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})
JSON_SCHEMA_KEYS = frozenset({"name", "description", "schema", "strict"})


def _named_schema(target: Any, obj: dict[str, Any], path: str, schema_key: str) -> Any:
    """Fills a FunctionDefinition or JsonSchemaFormat: name, description, its JSON Schema, strict."""
    target.name = read_string(obj.get("name", ""), f"{path}.name")
    if obj.get("description") is not None:
        target.description = read_string(obj["description"], f"{path}.description")
    if obj.get(schema_key) is not None:  # as JSON text: a Struct would lose the schema's key order
        schema = read_object(obj[schema_key], f"{path}.{schema_key}")
        setattr(target, f"{schema_key}_json", orjson.dumps(schema).decode())
    if obj.get("strict") is not None:
        target.strict = read_bool(obj["strict"], f"{path}.strict")
    return target


def _function_definition(obj: dict[str, Any], path: str) -> chat_pb2.FunctionDefinition:
    return _named_schema(chat_pb2.FunctionDefinition(), obj, path, "parameters")


def tool_from_json(value: Any, path: str) -> chat_pb2.Tool:
    obj = read_object(value, path)
    function = obj.get("function")
    if (
        obj.get("type") == "function"
        and _fits(obj, frozenset({"type", "function"}))
        and _fits(read_object(function, f"{path}.function"), FUNCTION_KEYS)
    ):
        return chat_pb2.Tool(function=_function_definition(function, f"{path}.function"))
    tool = chat_pb2.Tool()
    tool.other.update(obj)
    return tool


def _set_tools(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    request.tools.extend(tool_from_json(item, f"{path}[{i}]") for i, item in enumerate(read_array(value, path)))


def _is_name_only(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {"name"}


def tool_choice_from_json(value: Any, path: str) -> chat_pb2.ToolChoice:
    if isinstance(value, str):
        return chat_pb2.ToolChoice(mode=value)
    obj = read_object(value, path)
    function = obj.get("function")
    if obj.keys() == {"type", "function"} and obj["type"] == "function" and _is_name_only(function):
        return chat_pb2.ToolChoice(function_name=read_string(function["name"], f"{path}.function.name"))
    choice = chat_pb2.ToolChoice()
    choice.other.update(obj)
    return choice


def _set_tool_choice(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    if not isinstance(value, str | dict):
        raise expected(path, "a string or an object", value)
    request.tool_choice.CopyFrom(tool_choice_from_json(value, path))


def _json_schema(obj: dict[str, Any], path: str) -> chat_pb2.JsonSchemaFormat:
    return _named_schema(chat_pb2.JsonSchemaFormat(), obj, path, "schema")


def response_format_from_json(value: Any, path: str) -> chat_pb2.ResponseFormat:
    """Typed, other keys in `extra`; a type (e.g. `grammar`) or json_schema key the proto lacks: all in `extra`."""
    obj = read_object(value, path)
    kind = RESPONSE_FORMAT_TYPES.get(read_string(obj.get("type"), f"{path}.type"))
    schema = obj.get("json_schema") if kind is not None else None
    if schema is not None and not _fits(read_object(schema, f"{path}.json_schema"), JSON_SCHEMA_KEYS):
        kind = None
    result = chat_pb2.ResponseFormat()
    if kind is None:  # verbatim, type UNSPECIFIED
        result.extra.update(obj)
        return result
    result.type = kind
    if schema is not None:
        result.json_schema.CopyFrom(_json_schema(schema, f"{path}.json_schema"))
    if not _fits(obj, frozenset({"type", "json_schema"})):
        result.extra.update({key: item for key, item in obj.items() if key not in ("type", "json_schema")})
    return result


def _set_response_format(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    request.response_format.CopyFrom(response_format_from_json(value, path))


def _set_stream_options(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    obj = read_object(value, path)
    options = request.stream_options
    options.SetInParent()
    if obj.get("include_usage") is not None:
        options.include_usage = read_bool(obj["include_usage"], f"{path}.include_usage")
    if not _fits(obj, frozenset({"include_usage"})):  # e.g. include_obfuscation
        options.extra.update({key: item for key, item in obj.items() if key != "include_usage"})


# --- top-level request ---------------------------------------------------------------------------------------------


def _set_messages(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    items = read_array(value, path)
    request.messages.extend(message_from_json(item, f"{path}[{i}]") for i, item in enumerate(items))


def set_stop(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    if isinstance(value, str):
        request.stop.append(value)
        return
    request.stop.extend(read_string(item, f"{path}[{i}]") for i, item in enumerate(read_array(value, path)))


def _set_logit_bias(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    for token, bias in read_object(value, path).items():
        request.logit_bias[token] = read_number(bias, f"{path}.{token}")


def _set_metadata(request: chat_pb2.CreateChatCompletionRequest, value: Any, path: str) -> None:
    for key, item in read_object(value, path).items():
        request.metadata[key] = read_string(item, f"{path}.{key}")


def _ignore(target: Any, value: Any, path: str) -> None:
    """`stream` is encoded by the choice of RPC, not copied."""


CHAT_FIELDS: dict[str, Callable[[chat_pb2.CreateChatCompletionRequest, Any, str], None]] = {
    "model": setter("model", read_string),
    "messages": _set_messages,
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "response_format": _set_response_format,
    "stream_options": _set_stream_options,
    "temperature": setter("temperature", read_number),
    "top_p": setter("top_p", read_number),
    "max_tokens": setter("max_tokens", read_int),
    "max_completion_tokens": setter("max_completion_tokens", read_int),
    "n": setter("n", read_int),
    "stop": set_stop,
    "presence_penalty": setter("presence_penalty", read_number),
    "frequency_penalty": setter("frequency_penalty", read_number),
    "seed": setter("seed", read_int64),
    "logprobs": setter("logprobs", read_bool),
    "top_logprobs": setter("top_logprobs", read_int),
    "logit_bias": _set_logit_bias,
    "user": setter("user", read_string),
    "parallel_tool_calls": setter("parallel_tool_calls", read_bool),
    "reasoning_effort": setter("reasoning_effort", read_string),
    "service_tier": setter("service_tier", read_string),
    "store": setter("store", read_bool),
    "metadata": _set_metadata,
    "stream": _ignore,
}


def wants_stream(body: dict[str, Any]) -> bool:
    """True when the body asks for `stream: true` (null and absent mean false)."""
    value = body.get("stream")
    return value is not None and read_bool(value, "stream")


def chat_request_from_json(body: dict[str, Any]) -> chat_pb2.CreateChatCompletionRequest:
    """An OpenAI chat completion body -> CreateChatCompletionRequest; unknown keys go to `extra`."""
    return build_request(chat_pb2.CreateChatCompletionRequest(), body, CHAT_FIELDS)
