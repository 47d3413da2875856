"""Strict Mistral oracles built from the official `mistralai` SDK (3.7.0): fill-in-the-middle request bodies, raw
FIM answers and the raw bytes of a FIM stream. Test process only; never imported by gateway code.

The SDK's models are pydantic models that ignore unknown keys (UsageInfo keeps them) and keep enums open with an
`UnrecognizedStr` fallback. Bodies are validated by subclasses with `extra="forbid"`; answers in strict mode (which
closes the enums: the fallback only matches in lax mode), then walked against the raw JSON for keys no model has.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from mistralai.client.models import (
    CompletionChunk,
    CompletionEvent,
    FIMCompletionRequest,
    FIMCompletionResponse,
    FIMCompletionStreamRequest,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from tests.oracles import format_errors

_DONE = "[DONE]"


def _errors(error: ValidationError, raw: Any) -> list[str]:
    """format_errors without the noise of the SDK's optional-field unions (`X | None | Unset`)."""
    kept = [e for e in error.errors() if e["type"] != "none_required" and e.get("ctx", {}).get("class_name") != "Unset"]
    return format_errors(kept or error.errors(), raw)


@functools.cache
def _forbidding(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with unknown top-level keys refused (the FIM bodies nest no models: `metadata` is a free dict)."""
    config = ConfigDict(**{**model.model_config, "extra": "forbid"})  # type: ignore[typeddict-item]
    return type(f"Strict{model.__name__}", (model,), {"model_config": config, "__module__": __name__})


# --- requests -----------------------------------------------------------------------------------------------------


def fim_request_errors(body: Any) -> list[str]:
    """Errors of an outbound `/v1/fim/completions` body against the SDK's FIMCompletionRequest (or
    FIMCompletionStreamRequest when `stream` is true), extra keys forbidden; [] when valid."""
    streaming = isinstance(body, dict) and body.get("stream") is True
    model = _forbidding(FIMCompletionStreamRequest if streaming else FIMCompletionRequest)
    try:
        model.model_validate(body, strict=True)
    except ValidationError as error:
        return _errors(error, body)
    return []


# --- answers ------------------------------------------------------------------------------------------------------


def unknown_keys(value: Any, raw: Any, path: str = "") -> Iterator[str]:
    """Keys of `raw` (the JSON `value` was validated from) that no SDK model along the way declares."""
    if isinstance(value, BaseModel) and isinstance(raw, dict):
        fields = {info.alias or name: name for name, info in type(value).model_fields.items()}
        for key, item in raw.items():
            where = f"{path}.{key}" if path else key
            if key not in fields:
                yield f"{where}: unknown key"
            else:
                yield from unknown_keys(getattr(value, fields[key]), item, where)
    elif isinstance(value, list) and isinstance(raw, list):
        for i, (item, raw_item) in enumerate(zip(value, raw, strict=False)):
            yield from unknown_keys(item, raw_item, f"{path}[{i}]")


def _check(model: type[BaseModel], raw: Any, allow_extra: Sequence[str] = ()) -> Any:
    name = model.__name__
    assert isinstance(raw, dict), f"{name}: expected a JSON object, got {type(raw).__name__}"
    try:
        parsed = model.model_validate(raw, strict=True)
    except ValidationError as error:
        raise AssertionError(f"{name}: " + "; ".join(_errors(error, raw))) from None
    unknown = [line for line in unknown_keys(parsed, raw) if line.partition(":")[0] not in allow_extra]
    assert not unknown, f"{name}: " + "; ".join(unknown)
    return parsed


def check_fim_response(raw: Any, allow_extra: Sequence[str] = ()) -> FIMCompletionResponse:
    """Raw non-stream `/v1/fim/completions` JSON as the SDK's FIMCompletionResponse, strict; AssertionError on
    failure. `allow_extra` names paths (`usage.x`) that may carry keys the SDK lacks."""
    return _check(FIMCompletionResponse, raw, allow_extra)


def check_fim_chunk(raw: Any, allow_extra: Sequence[str] = ()) -> CompletionChunk:
    """One stream event's `data:` JSON as the SDK's CompletionChunk (what its CompletionEvent carries), strict."""
    return _check(CompletionEvent, {"data": raw}, [f"data.{path}" for path in allow_extra]).data


def check_fim_sse(body: bytes) -> list[dict]:
    """The raw bytes of a FIM stream: blank-line separated `data:` events, each a valid chunk, ending with
    `data: [DONE]`; returns the chunks. The SDK's EventStream skips what it cannot frame, so check the bytes."""
    text = body.decode()
    assert text.endswith("\n\n"), "the stream ends with a blank line"
    blocks = text[:-2].split("\n\n")
    assert blocks[-1] == f"data: {_DONE}", f"the stream ends with data: {_DONE}, not {blocks[-1]!r}"
    chunks = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block, f"not one data line: {block!r}"
        chunk = orjson.loads(block[len("data: "):])
        check_fim_chunk(chunk)
        chunks.append(chunk)
    return chunks
