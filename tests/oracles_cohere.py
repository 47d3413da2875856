"""Strict Cohere v2 oracles built from the official SDK (reference/provider-oracles.md §3.5): request bodies, raw
response JSON, and the raw bytes of an SSE stream. Test process only; never imported by gateway code.

The SDK's models allow unknown keys and its enums are open (`Union[Literal[...], Any]`), so after pydantic validation
every model is walked: an unknown key (`model_extra`) or an enum value outside its literals is an error.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import cohere
import orjson
from cohere.types import EmbedByTypeResponse, ListModelsResponse
from cohere.v2.types import V2ChatResponse, V2ChatStreamResponse
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from tests.oracles import format_errors

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
_SKIPPED = ("self", "request_options")
STREAM_EVENTS = (
    "message-start", "content-start", "content-delta", "content-end", "tool-plan-delta", "tool-call-start",
    "tool-call-delta", "tool-call-end", "citation-start", "citation-end", "message-end", "debug",
)


def signature_model(func: Callable[..., Any], name: str, **more: Any) -> type[BaseModel]:
    """One field per keyword of `func` (required when it has no default), extra keys forbidden."""
    hints = typing.get_type_hints(func, include_extras=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.name not in _SKIPPED:
            fields[param.name] = (hints[param.name], ... if param.default is inspect.Parameter.empty else None)
    return create_model(name, __config__=_STRICT, **fields, **more)


@functools.cache
def chat_body_model() -> type[BaseModel]:
    return signature_model(cohere.ClientV2.chat, "CohereChatBody", stream=(bool | None, None))


@functools.cache
def embed_body_model() -> type[BaseModel]:
    return signature_model(cohere.ClientV2.embed, "CohereEmbedBody")


@functools.cache
def _stream_event_adapter() -> TypeAdapter:
    return TypeAdapter(V2ChatStreamResponse)


# --- the walk: unknown nested keys and closed enums ---------------------------------------------------------------


def strict_problems(value: Any, path: str = "") -> Iterator[str]:
    """Unknown keys (`model_extra`) and out-of-enum values anywhere under a validated SDK model."""
    if isinstance(value, BaseModel):
        for key in value.model_extra or ():
            yield f"{_join(path, key)}: unknown key"
        for name, info in type(value).model_fields.items():
            item, where = getattr(value, name), _join(path, info.alias or name)
            yield from _enum_problems(info.annotation, item, where)
            yield from strict_problems(item, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from strict_problems(item, f"{path}[{i}]")


def _enum_problems(tp: Any, value: Any, path: str) -> Iterator[str]:
    if value is None:
        return
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        yield from _enum_problems(args[0], value, path)
    elif origin in (typing.Union, types.UnionType):
        literals = [v for arg in args if typing.get_origin(arg) is typing.Literal for v in typing.get_args(arg)]
        if literals and Any in args:  # an open enum: close it
            if value not in literals:
                yield f"{path}: {value!r} is not one of {literals}"
            return
        members = [arg for arg in args if arg is not type(None)]
        if len(members) == 1:
            yield from _enum_problems(members[0], value, path)
    elif origin in (list, Sequence, typing.Sequence) and isinstance(value, list | tuple) and args:
        for i, item in enumerate(value):
            yield from _enum_problems(args[0], item, f"{path}[{i}]")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _validate(validate: Callable[[Any], Any], raw: Any) -> tuple[Any, list[str]]:
    try:
        parsed = validate(raw)
    except ValidationError as error:
        return None, format_errors(error.errors(), raw)
    return parsed, list(strict_problems(parsed))


# --- requests -----------------------------------------------------------------------------------------------------


def chat_request_errors(body: Any) -> list[str]:
    """Errors of an outbound `/v2/chat` body against `ClientV2.chat`'s parameters, made strict; [] when valid."""
    return _validate(lambda raw: chat_body_model().model_validate(raw, strict=True), body)[1]


def embed_request_errors(body: Any) -> list[str]:
    """Errors of an outbound `/v2/embed` body against `ClientV2.embed`'s parameters, made strict; [] when valid."""
    return _validate(lambda raw: embed_body_model().model_validate(raw, strict=True), body)[1]


# --- responses ----------------------------------------------------------------------------------------------------


def _check(name: str, validate: Callable[[Any], Any], raw: Any) -> Any:
    assert isinstance(raw, dict), f"{name}: expected a JSON object, got {type(raw).__name__}"
    parsed, errors = _validate(validate, raw)
    assert not errors, f"{name}: " + "; ".join(errors)
    return parsed


def check_chat_response(raw: Any) -> V2ChatResponse:
    """Raw `/v2/chat` JSON as the SDK's V2ChatResponse, strict; AssertionError on failure."""
    return _check("V2ChatResponse", V2ChatResponse.model_validate, raw)


def check_stream_event(raw: Any) -> Any:
    """One stream event's `data:` JSON as the SDK's V2ChatStreamResponse union, strict."""
    assert isinstance(raw, dict) and raw.get("type") in STREAM_EVENTS, f"unknown stream event {raw!r}"
    return _check("V2ChatStreamResponse", _stream_event_adapter().validate_python, raw)


def check_embed_response(raw: Any) -> EmbedByTypeResponse:
    return _check("EmbedByTypeResponse", EmbedByTypeResponse.model_validate, raw)


def check_models_response(raw: Any) -> ListModelsResponse:
    return _check("ListModelsResponse", ListModelsResponse.model_validate, raw)


def check_error_body(raw: Any) -> str:
    """Cohere's error envelope: `{"message"}` or `{"id", "message"}`, nothing else; returns the message."""
    assert isinstance(raw, dict) and isinstance(raw.get("message"), str), f"not a Cohere error: {raw!r}"
    assert set(raw) <= {"id", "message"}, f"unexpected error keys {sorted(set(raw) - {'id', 'message'})}"
    return raw["message"]


def check_sse(body: bytes) -> list[dict]:
    """The raw bytes of a `/v2/chat` stream: blank-line separated events, each exactly one `event:` line then one
    `data:` line, the event name equal to the data's `type`, every event valid; returns the data objects.

    The SDK skips malformed events with only a warning, so its green run proves nothing about these bytes."""
    text = body.decode()
    assert text.endswith("\n\n"), "the stream ends with a blank line"
    events = []
    for block in text[:-2].split("\n\n"):
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        data = orjson.loads(lines[1][len("data: "):])
        assert lines[0][len("event: "):] == data.get("type"), f"event name != data type in {block!r}"
        check_stream_event(data)
        events.append(data)
    return events
