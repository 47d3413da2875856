"""Strict Anthropic SDK-type oracles (reference/provider-oracles.md §2, §3.2) for anthropic 0.125.0, whose types
match `anthropic-version: 2023-06-01`: Messages request bodies, `Message` answers, stream events, error envelopes and
model pages.

Test process only: the first check makes every TypedDict in `anthropic.types` forbid extra keys, process-wide.
Never import this from gateway code.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tests import oracles

_lock = threading.Lock()
_patched: int | None = None
# Message roles of the 2023-06-01 API (the SDK's MessageParam also lists "system", which that version refuses).
_ROLES = ("user", "assistant")
# Error types Anthropic documents (docs.anthropic.com/en/api/errors) that the SDK's ErrorObject union lacks.
_UNTYPED_ERRORS = frozenset({"request_too_large"})


def make_strict() -> int:
    """Forbid extra keys on every TypedDict of `anthropic.types`; idempotent, returns how many were patched."""
    global _patched
    with _lock:
        if _patched is None:
            _patched = oracles._patch_typeddicts("anthropic.types")
        return _patched


# --- requests ---------------------------------------------------------------------------------------------------


def message_request_errors(body: Any) -> list[str]:
    """Errors of an outbound Messages body against the SDK's strict MessageCreateParams; [] when valid."""
    from anthropic.types import message_create_params as params

    make_strict()
    streaming = isinstance(body, dict) and body.get("stream")
    tp = params.MessageCreateParamsStreaming if streaming else params.MessageCreateParamsNonStreaming
    return oracles.request_errors(tp, body) + _role_errors(body)


def _role_errors(body: Any) -> list[str]:
    messages = body.get("messages") if isinstance(body, dict) else None
    return [
        f"messages[{i}].role: {m['role']!r} is not a 2023-06-01 message role (system goes in top-level `system`)"
        for i, m in enumerate(messages if isinstance(messages, list) else ())
        if isinstance(m, dict) and m.get("role") not in _ROLES
    ]


# --- answers ----------------------------------------------------------------------------------------------------


def check_message(raw: Any) -> BaseModel:
    """Validate raw JSON of a non-stream answer as the SDK's Message, refusing keys the SDK does not know."""
    from anthropic.types import Message

    return _check(Message, raw)


def check_stream_event(raw: Any) -> Any:
    """Validate the JSON of one SSE `data:` line: the six RawMessageStreamEvent types, `ping` and `error`."""
    from anthropic.types import RawMessageStreamEvent
    from anthropic.types.shared import ErrorResponse

    if isinstance(raw, dict) and raw.get("type") == "ping":
        assert raw == {"type": "ping"}, f"ping: unexpected keys {sorted(raw)}"
        return raw
    if isinstance(raw, dict) and raw.get("type") == "error":
        return _check(ErrorResponse, raw)
    try:
        event = _adapter(RawMessageStreamEvent).validate_python(raw)
    except ValidationError as error:
        lines = oracles.format_errors(error.errors(), raw)
        raise AssertionError("RawMessageStreamEvent: " + "; ".join(lines)) from None
    _assert_no_extras(event, "")
    return event


def check_error(raw: Any) -> BaseModel:
    """Validate an error body as Anthropic's envelope `{"type": "error", "error": {"type", "message"}}`."""
    from anthropic.types.shared import ErrorResponse

    error = raw.get("error") if isinstance(raw, dict) else None
    if isinstance(error, dict) and error.get("type") in _UNTYPED_ERRORS:  # checked as a sibling type the SDK knows
        raw = {**raw, "error": {**error, "type": "invalid_request_error"}}
    return _check(ErrorResponse, raw)


def check_models_page(raw: Any) -> list[BaseModel]:
    """Validate `GET /v1/models` JSON: a page of the SDK's ModelInfo."""
    from anthropic.types import ModelInfo

    assert isinstance(raw, dict) and isinstance(raw.get("data"), list), f"models page: {raw!r}"
    extra = set(raw) - {"data", "has_more", "first_id", "last_id"}
    assert not extra, f"models page: unexpected keys {sorted(extra)}"
    return [_check(ModelInfo, item) for item in raw["data"]]


@functools.cache
def _adapter(tp: Any) -> TypeAdapter:
    return TypeAdapter(tp)


def _check(model: type[BaseModel], raw: Any) -> BaseModel:
    name = model.__name__
    assert isinstance(raw, dict), f"{name}: expected a JSON object, got {type(raw).__name__}"
    try:
        parsed = model.model_validate(raw)
    except ValidationError as error:
        raise AssertionError(f"{name}: " + "; ".join(oracles.format_errors(error.errors(), raw))) from None
    _assert_no_extras(parsed, "")
    return parsed


def _assert_no_extras(value: Any, path: str) -> None:
    """SDK response models allow unknown keys; a fake or fixture must not invent any, at any depth."""
    if isinstance(value, BaseModel):
        extra = sorted(value.model_extra or ())
        assert not extra, f"{path or '<body>'}: keys the SDK does not know {extra}"
        for name in type(value).model_fields:
            _assert_no_extras(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_no_extras(item, f"{path}[{i}]")
