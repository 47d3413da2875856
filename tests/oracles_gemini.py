"""Strict google-genai oracles (reference/provider-oracles.md §2, §3.3) for Gemini wire JSON: outbound bodies and the
raw answers of the fake upstream. Test process only; never imported by gateway code.

The SDK has no wire-body type, so the bodies are composed from its pydantic types (`extra="forbid"`, camelCase
aliases). Three holes of those types are closed here: nested types also accept snake_case names (we require the
camelCase alias everywhere, as the SDK sends), `Content.role` is a free string (we require `user` / `model`, with
functionCall parts only in `model` turns and functionResponse parts only in `user` turns), and open enums only warn
(warnings are errors here). JSON is validated in JSON mode, so base64 `bytes` fields are checked too.
"""

from __future__ import annotations

import warnings
from typing import Any

import orjson
from google.genai import types
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

_ROLES = ("user", "model")


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid",
                              arbitrary_types_allowed=True)


class GenerateContentBody(_Wire):
    """POST /v1beta/models/{m}:generateContent and :streamGenerateContent (google-genai's mldev request)."""

    contents: list[types.Content]
    system_instruction: types.Content | None = None
    generation_config: types.GenerationConfig | None = None
    tools: list[types.Tool] | None = None
    tool_config: types.ToolConfig | None = None
    safety_settings: list[types.SafetySetting] | None = None
    cached_content: str | None = None
    service_tier: types.ServiceTier | None = None


class EmbedContentRequest(_Wire):
    model: str
    content: types.Content
    task_type: str | None = None
    title: str | None = None
    output_dimensionality: int | None = None


class BatchEmbedContentsBody(_Wire):
    """POST /v1beta/models/{m}:batchEmbedContents."""

    requests: list[EmbedContentRequest]


class WireModel(_Wire):
    """One entry of GET /v1beta/models (the REST `Model` resource; the SDK renames its fields on the way in)."""

    name: str
    base_model_id: str | None = None
    version: str | None = None
    display_name: str | None = None
    description: str | None = None
    input_token_limit: int | None = None
    output_token_limit: int | None = None
    supported_generation_methods: list[str] | None = None
    temperature: float | None = None
    max_temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    thinking: bool | None = None


class ListModelsBody(_Wire):
    models: list[WireModel] = []
    next_page_token: str | None = None


class GoogleError(_Wire):
    code: int
    message: str
    status: str
    details: list[dict[str, Any]] | None = None


class ErrorEnvelope(_Wire):
    error: GoogleError


# --- requests ---------------------------------------------------------------------------------------------------


def generate_content_errors(body: Any, *, camel_case: bool = True) -> list[str]:
    """Errors of an outbound generateContent body; [] when the SDK types (made strict) accept it.

    `camel_case=False` also accepts snake_case names below the top level, as the API does (proto JSON takes both;
    google-genai itself sends `parameters_json_schema` inside function declarations)."""
    errors, parsed = _validate(GenerateContentBody, body, camel_case)
    if parsed is not None:
        contents = [("contents", i, c) for i, c in enumerate(parsed.contents)]
        if parsed.system_instruction is not None:
            contents.append(("systemInstruction", None, parsed.system_instruction))
        for name, index, content in contents:
            errors += _role_errors(name if index is None else f"{name}[{index}]", content)
    return errors


def embed_request_errors(body: Any, *, camel_case: bool = True) -> list[str]:
    return _validate(BatchEmbedContentsBody, body, camel_case)[0]


def _role_errors(path: str, content: types.Content) -> list[str]:
    if content.role not in _ROLES:
        return [f"{path}.role: {content.role!r} is not one of {list(_ROLES)}"]
    errors = []
    for j, part in enumerate(content.parts or ()):
        if part.function_call is not None and content.role != "model":
            errors.append(f"{path}.parts[{j}].functionCall: only in a 'model' turn")
        if part.function_response is not None and content.role != "user":
            errors.append(f"{path}.parts[{j}].functionResponse: only in a 'user' turn")
    return errors


# --- responses --------------------------------------------------------------------------------------------------


def check_generate_content_response(raw: Any) -> types.GenerateContentResponse:
    """One non-stream answer or one SSE `data:` line; AssertionError on failure."""
    return _check(types.GenerateContentResponse, raw)


def check_embed_response(raw: Any) -> types.EmbedContentResponse:
    return _check(types.EmbedContentResponse, raw)


def check_models_response(raw: Any) -> ListModelsBody:
    return _check(ListModelsBody, raw)


def check_error(raw: Any) -> ErrorEnvelope:
    return _check(ErrorEnvelope, raw)


def _check(model: type[BaseModel], raw: Any) -> Any:
    errors, parsed = _validate(model, raw)
    assert not errors, f"{model.__name__}: " + "; ".join(errors)
    return parsed


# --- shared -----------------------------------------------------------------------------------------------------


def _validate(model: type[BaseModel], body: Any, camel_case: bool = True) -> tuple[list[str], Any]:
    if not isinstance(body, dict):
        return [f"<body>: expected a JSON object, got {type(body).__name__}"], None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # open enums and type mismatches only warn
        try:
            parsed = model.model_validate_json(orjson.dumps(body))
        except ValidationError as error:
            return [f"{_path(e['loc'])}: {e['msg']}" for e in error.errors()], None
        except UserWarning as warning:
            return [f"<body>: {warning}"], None
    return (list(_alias_errors(parsed, body, "")) if camel_case else []), parsed


def _alias_errors(value: Any, raw: Any, path: str):
    """Every key of `raw` must be the camelCase alias of a field of the model parsed from it."""
    if isinstance(value, BaseModel) and isinstance(raw, dict):
        by_alias = {(info.alias or name): name for name, info in type(value).model_fields.items()}
        for key, item in raw.items():
            name = by_alias.get(key)
            if name is None:
                yield f"{_join(path, key)}: not the camelCase name {to_camel(key)!r}"
                continue
            yield from _alias_errors(getattr(value, name), item, _join(path, key))
    elif isinstance(value, list) and isinstance(raw, list):
        for i, (item, raw_item) in enumerate(zip(value, raw, strict=False)):
            yield from _alias_errors(item, raw_item, f"{path}[{i}]")


def _path(loc: tuple) -> str:
    out = ""
    for key in loc:
        out = f"{out}[{key}]" if isinstance(key, int) else _join(out, str(key))
    return out or "<body>"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
