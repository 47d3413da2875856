"""gateway_grpc.v1 messages <-> neutral types. With service.py, the only module that touches pb2 classes.

Request conversion also checks what the schema cannot (required fields, roles), naming the field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from google.protobuf import struct_pb2

from gateway_grpc import types as t
from gateway_grpc.errors import FieldViolation, InvalidRequest
from gateway_grpc.v1 import chat_pb2, embeddings_pb2, models_pb2

_ROLES = (None, *t.ROLES)  # indexed by the Role enum number
_ROLE_NUMBERS = {name: number for number, name in enumerate(_ROLES) if name}
_FINISH = (None, *t.FINISH_REASONS)
_FINISH_NUMBERS = {name: number for number, name in enumerate(_FINISH) if name}
_FORMATS = (None, "text", "json_object", "json_schema")
_OPTIONAL_PARAMS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "presence_penalty",
                    "frequency_penalty", "seed", "logprobs", "top_logprobs", "parallel_tool_calls", "store")
_STRING_PARAMS = ("user", "reasoning_effort", "service_tier")
_USAGE_OPTIONAL = ("cached_tokens", "prompt_audio_tokens", "reasoning_tokens", "completion_audio_tokens",
                   "accepted_prediction_tokens", "rejected_prediction_tokens", "cache_creation_tokens")
_MAX_SAFE_INT = 2**53


# ---- google.protobuf.Struct <-> Python ----


def number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < _MAX_SAFE_INT else value


def from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [from_value(v) for v in value.list_value.values]
    if kind == "number_value":
        return number(value.number_value)
    if kind == "null_value" or kind is None:
        return None
    return getattr(value, kind)


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python; integral numbers come back as ints (Struct stores doubles)."""
    return {key: from_value(value) for key, value in struct.fields.items()}


def to_struct(mapping: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(mapping)
    return struct


def _extra(msg: Any) -> Mapping[str, Any]:
    """A message's `extra` Struct as Python; the shared EMPTY (no work) when it is unset, the usual case."""
    return from_struct(msg.extra) if msg.HasField("extra") else t.EMPTY


# ---- requests ----


def _part(part: chat_pb2.ContentPart, path: str) -> t.Part:
    kind = part.WhichOneof("part")
    if kind == "text":
        return t.TextPart(part.text, _extra(part))
    if kind == "image":
        img = part.image
        return t.ImagePart(img.url, img.data, img.media_type, img.detail, _extra(part))
    if kind == "input_audio":
        return t.AudioPart(part.input_audio.data, part.input_audio.format, _extra(part))
    if kind == "file":
        f = part.file
        return t.FilePart(f.file_id, f.url, f.data, f.filename, f.media_type, _extra(part))
    if kind == "other":
        return t.OtherPart(from_struct(part.other))
    raise InvalidRequest.field(path, "empty content part")


def _message(msg: chat_pb2.Message, path: str) -> t.Message:
    role = _ROLES[msg.role] if msg.role < len(_ROLES) else None
    if role is None:
        raise InvalidRequest.field(f"{path}.role", f"required; one of {', '.join(t.ROLES)}")
    content: str | tuple[t.Part, ...] | None = None
    if msg.HasField("text"):
        content = msg.text
    elif msg.parts:
        content = tuple(_part(p, f"{path}.content[{i}]") for i, p in enumerate(msg.parts))
    return t.Message(
        role=role,
        content=content,
        name=msg.name,
        tool_calls=tuple(t.ToolCall(c.id, c.function.name, c.function.arguments, c.type or "function", _extra(c))
                         for c in msg.tool_calls),
        tool_call_id=msg.tool_call_id,
        refusal=msg.refusal if msg.HasField("refusal") else None,
        reasoning_content=msg.reasoning_content if msg.HasField("reasoning_content") else None,
        extra=_extra(msg),
    )


def _schema(text: str, msg: Any, struct_field: str, path: str) -> dict[str, Any] | None:
    """A JSON Schema from its JSON text (key order kept), else from the Struct field, else None."""
    if text:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest.field(path, f"not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise InvalidRequest.field(path, "must be a JSON object")
        return value
    return from_struct(getattr(msg, struct_field)) if msg.HasField(struct_field) else None


def _tool(tool: chat_pb2.Tool, path: str) -> t.Tool:
    kind = tool.WhichOneof("tool")
    if kind == "function":
        fn = tool.function
        if not fn.name:
            raise InvalidRequest.field(f"{path}.function.name", "required")
        parameters = _schema(fn.parameters_json, fn, "parameters", f"{path}.function.parameters_json")
        return t.FunctionTool(fn.name, fn.description, parameters, fn.strict if fn.HasField("strict") else None)
    if kind == "other":
        return t.OtherTool(from_struct(tool.other))
    raise InvalidRequest.field(path, "empty tool")


def _tool_choice(choice: chat_pb2.ToolChoice) -> t.ToolChoice | None:
    kind = choice.WhichOneof("choice")
    if kind == "mode":
        return t.ToolChoice(mode=choice.mode)
    if kind == "function_name":
        return t.ToolChoice(function_name=choice.function_name)
    if kind == "other":
        return t.ToolChoice(other=from_struct(choice.other))
    return None


def _response_format(fmt: chat_pb2.ResponseFormat) -> t.ResponseFormat | None:
    kind = _FORMATS[fmt.type] if fmt.type < len(_FORMATS) else None
    extra = _extra(fmt)
    if kind is None:  # a type the enum lacks (e.g. vLLM's "grammar") travels in `extra`, with its other keys
        kind = extra.get("type")
        if not isinstance(kind, str):
            return None
        extra = {k: v for k, v in extra.items() if k != "type"} or t.EMPTY
    schema = None
    if fmt.HasField("json_schema"):
        js = fmt.json_schema
        schema = t.JsonSchemaFormat(js.name, _schema(js.schema_json, js, "schema", "response_format.json_schema"),
                                    js.description, js.strict if js.HasField("strict") else None)
    return t.ResponseFormat(kind, schema, extra)


def _params(msg: chat_pb2.CreateChatCompletionRequest) -> dict[str, Any]:
    params = {name: getattr(msg, name) for name in _OPTIONAL_PARAMS if msg.HasField(name)}
    params.update({name: getattr(msg, name) for name in _STRING_PARAMS if getattr(msg, name)})
    if msg.stop:
        params["stop"] = list(msg.stop)
    if msg.logit_bias:
        params["logit_bias"] = {k: number(v) for k, v in msg.logit_bias.items()}
    if msg.metadata:
        params["metadata"] = dict(msg.metadata)
    return params


def chat_request(msg: chat_pb2.CreateChatCompletionRequest) -> t.ChatRequest:
    problems = []
    if not msg.model:
        problems.append(FieldViolation("model", "required"))
    if not msg.messages:
        problems.append(FieldViolation("messages", "required; at least one message"))
    if problems:
        raise InvalidRequest("; ".join(f"{p.field}: {p.description}" for p in problems), problems)
    return t.ChatRequest(
        model=msg.model,
        messages=tuple(_message(m, f"messages[{i}]") for i, m in enumerate(msg.messages)),
        tools=tuple(_tool(tool, f"tools[{i}]") for i, tool in enumerate(msg.tools)),
        tool_choice=_tool_choice(msg.tool_choice) if msg.HasField("tool_choice") else None,
        response_format=_response_format(msg.response_format) if msg.HasField("response_format") else None,
        params=_params(msg),
        extra=_extra(msg),
        include_usage=msg.stream_options.include_usage,
        stream_extra=_extra(msg.stream_options),
    )


def embeddings_request(msg: embeddings_pb2.CreateEmbeddingsRequest) -> t.EmbeddingsRequest:
    if not msg.model:
        raise InvalidRequest.field("model", "required")
    if bool(msg.input) == bool(msg.token_input):
        raise InvalidRequest.field("input", "required; text inputs or token-id inputs, not both")
    return t.EmbeddingsRequest(
        model=msg.model,
        inputs=tuple(msg.input),
        token_inputs=tuple(tuple(row.ids) for row in msg.token_input),
        dimensions=msg.dimensions if msg.HasField("dimensions") else None,
        user=msg.user,
        extra=_extra(msg),
    )


# ---- responses ----


def usage_message(usage: t.Usage) -> chat_pb2.Usage:
    out = chat_pb2.Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                         total_tokens=usage.total_tokens)
    for name in _USAGE_OPTIONAL:
        value = getattr(usage, name)
        if value is not None:
            setattr(out, name, value)
    return out


def _logprobs(raw: Mapping[str, Any]) -> chat_pb2.Logprobs:
    def tokens(rows: Any) -> list[chat_pb2.TokenLogprob]:
        return [chat_pb2.TokenLogprob(
            token=r["token"], logprob=r["logprob"], bytes=r.get("bytes") or (),
            top_logprobs=[chat_pb2.TopLogprob(token=x["token"], logprob=x["logprob"], bytes=x.get("bytes") or ())
                          for x in r.get("top_logprobs") or ()],
        ) for r in rows or ()]
    return chat_pb2.Logprobs(content=tokens(raw.get("content")), refusal=tokens(raw.get("refusal")))


def _out_part(part: t.Part) -> chat_pb2.ContentPart:
    if type(part) is not t.TextPart:
        return chat_pb2.ContentPart(other=to_struct(part.value))
    out = chat_pb2.ContentPart(text=part.text)
    if part.extra:
        out.extra.update(part.extra)
    return out


def _out_tool_call(call: t.ToolCall) -> chat_pb2.ToolCall:
    out = chat_pb2.ToolCall(id=call.id, type=call.type)
    if call.type == "function" or call.name or call.arguments:  # a `custom` call has no function
        out.function.CopyFrom(chat_pb2.FunctionCall(name=call.name, arguments=call.arguments))
    if call.extra:
        out.extra.update(call.extra)
    return out


def _out_message(message: t.Message) -> chat_pb2.Message:
    out = chat_pb2.Message(role=_ROLE_NUMBERS.get(message.role, 0), name=message.name,
                           tool_call_id=message.tool_call_id)
    content = message.content
    if isinstance(content, str):
        out.text = content
    elif content:
        out.parts.extend(_out_part(p) for p in content)
    out.tool_calls.extend(_out_tool_call(call) for call in message.tool_calls)
    if message.refusal is not None:
        out.refusal = message.refusal
    if message.reasoning_content is not None:
        out.reasoning_content = message.reasoning_content
    if message.extra:
        out.extra.update(message.extra)
    return out


def _choice_fields(choice: t.Choice | t.ChunkChoice, out: chat_pb2.Choice | chat_pb2.ChunkChoice) -> None:
    """finish_reason, logprobs and extra: what answer choices and chunk choices share."""
    reason = choice.finish_reason
    if reason is not None:
        number = _FINISH_NUMBERS.get(reason)
        if number is None:  # a reason the enum lacks (e.g. vLLM's "abort") travels in `extra`
            out.extra.update({"finish_reason": reason})
        else:
            out.finish_reason = number
    if choice.logprobs:
        out.logprobs.CopyFrom(_logprobs(choice.logprobs))
    if choice.extra:
        out.extra.update(choice.extra)


def chat_response(resp: t.ChatResponse, provider: str) -> chat_pb2.CreateChatCompletionResponse:
    out = chat_pb2.CreateChatCompletionResponse(
        id=resp.id, created=resp.created, model=resp.model, system_fingerprint=resp.system_fingerprint,
        service_tier=resp.service_tier, provider=provider,
    )
    for choice in resp.choices:
        _choice_fields(choice, out.choices.add(index=choice.index, message=_out_message(choice.message)))
    if resp.usage is not None:
        out.usage.CopyFrom(usage_message(resp.usage))
    if resp.extra:
        out.extra.update(resp.extra)
    return out


def _delta(delta: t.Delta) -> chat_pb2.ChatDelta:
    out = chat_pb2.ChatDelta(role=_ROLE_NUMBERS.get(delta.role or "", 0))
    if delta.content is not None:
        out.content = delta.content
    if delta.refusal is not None:
        out.refusal = delta.refusal
    if delta.reasoning_content is not None:
        out.reasoning_content = delta.reasoning_content
    for call in delta.tool_calls:
        d = out.tool_calls.add(index=call.index, id=call.id, type=call.type)
        if call.name or call.arguments:
            d.function.name, d.function.arguments = call.name, call.arguments
        if call.extra:
            d.extra.update(call.extra)
    if delta.extra:
        out.extra.update(delta.extra)
    return out


def chat_chunk(chunk: t.ChatChunk, provider: str) -> chat_pb2.StreamChatCompletionResponse:
    out = chat_pb2.ChatCompletionChunk(
        id=chunk.id, created=chunk.created, model=chunk.model, system_fingerprint=chunk.system_fingerprint,
        service_tier=chunk.service_tier, provider=provider,
    )
    for choice in chunk.choices:
        _choice_fields(choice, out.choices.add(index=choice.index, delta=_delta(choice.delta)))
    if chunk.usage is not None:
        out.usage.CopyFrom(usage_message(chunk.usage))
    if chunk.extra:
        out.extra.update(chunk.extra)
    return chat_pb2.StreamChatCompletionResponse(chunk=out)


def embeddings_response(resp: t.EmbeddingsResponse, provider: str) -> embeddings_pb2.CreateEmbeddingsResponse:
    out = embeddings_pb2.CreateEmbeddingsResponse(model=resp.model, provider=provider)
    for index, vector in enumerate(resp.vectors):
        out.data.add(index=index, embedding=vector)
    if resp.usage is not None:
        out.usage.CopyFrom(usage_message(resp.usage))
    return out


def models_response(models: list[t.ModelInfo], provider: str) -> models_pb2.ListModelsResponse:
    return models_pb2.ListModelsResponse(
        models=[models_pb2.Model(id=m.id, created=m.created, owned_by=m.owned_by, provider=provider) for m in models]
    )

