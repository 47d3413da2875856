"""Strict OpenAI SDK-type oracles (reference/provider-oracles.md §2, §3.1): request bodies and raw response JSON.

Test process only: the first check makes every TypedDict in `openai.types` forbid extra keys, process-wide.
Never import this from gateway code.
"""

from __future__ import annotations

import base64
import functools
import importlib
import pkgutil
import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import typing_extensions
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
_strict_lock = threading.Lock()
_strict_count: int | None = None
# pydantic-core does not export the lazy iterator's class; `Iterable[...]` fields come back as one.
_ValidatorIterator = type(TypeAdapter(Iterable[int]).validate_python([]))
_DISCRIMINATORS = ("role", "type")
_EmbeddingInput = str | list[str] | list[int] | list[list[int]]
_Prompt = _EmbeddingInput | None  # a legacy completions prompt: text, texts, tokens or token batches


def make_strict(package: str = "openai.types") -> int:
    """Forbid extra keys on every TypedDict defined in `package`; idempotent, returns how many were patched."""
    global _strict_count
    with _strict_lock:
        if _strict_count is None:
            _strict_count = _patch_typeddicts(package)
        return _strict_count


def _patch_typeddicts(package: str) -> int:
    patched = 0
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # optional extras of the SDK
            continue
        for obj in vars(module).values():
            # typing.is_typeddict misses typing_extensions.TypedDict on 3.11
            if typing_extensions.is_typeddict(obj) and obj.__module__ == module.__name__:
                obj.__pydantic_config__ = _STRICT
                patched += 1
    return patched


@functools.cache
def _adapter(tp: Any) -> TypeAdapter:
    # Kept for the process lifetime: a freed adapter makes its pending iterators panic in pydantic-core.
    make_strict()
    return TypeAdapter(tp)


# --- requests ---------------------------------------------------------------------------------------------------


def chat_request_errors(body: dict) -> list[str]:
    """Errors of an outbound chat body against the SDK's (strict) CompletionCreateParams; [] when valid."""
    from openai.types.chat import completion_create_params as params

    tp = params.CompletionCreateParamsStreaming if _is_dict(body) and body.get("stream") else None
    return request_errors(tp or params.CompletionCreateParamsNonStreaming, body)


def embeddings_request_errors(body: dict) -> list[str]:
    """Errors of an outbound embeddings body against the SDK's (strict) EmbeddingCreateParams; [] when valid."""
    from openai.types.embedding_create_params import EmbeddingCreateParams

    if not _is_dict(body) or "input" not in body:
        return request_errors(EmbeddingCreateParams, body)
    # The SDK's `input` union tries the lazy Iterable[int] before Iterable[Iterable[int]], so token batches would
    # fail once forced: check `input` with the same union made of lists instead.
    rest = request_errors(EmbeddingCreateParams, {**body, "input": ""})
    try:
        _adapter(_EmbeddingInput).validate_python(body["input"], strict=True)
    except ValidationError as error:
        return format_errors(error.errors(), body, ("input",)) + rest
    return rest


def completions_request_errors(body: dict) -> list[str]:
    """Errors of an outbound legacy completions body against the SDK's (strict) CompletionCreateParams; [] when
    valid."""
    from openai.types import completion_create_params as params

    tp = params.CompletionCreateParamsStreaming if _is_dict(body) and body.get("stream") else None
    tp = tp or params.CompletionCreateParamsNonStreaming
    if not _is_dict(body) or "prompt" not in body:
        return request_errors(tp, body)
    # Same lazy-union trap as embeddings' `input`: token batches would fail as Iterable[int] once forced.
    rest = request_errors(tp, {**body, "prompt": ""})
    try:
        _adapter(_Prompt).validate_python(body["prompt"], strict=True)
    except ValidationError as error:
        return format_errors(error.errors(), body, ("prompt",)) + rest
    return rest


def request_errors(tp: Any, body: Any) -> list[str]:
    """Validate `body` as `tp` (strict TypedDict), running every lazy iterable; readable error lines."""
    try:
        _force(_adapter(tp).validate_python(body, strict=True), body, ())
    except _LazyError as lazy:
        return format_errors(lazy.error.errors(), body, lazy.path)
    except ValidationError as error:
        return format_errors(error.errors(), body)
    return []


class _LazyError(Exception):
    def __init__(self, error: ValidationError, path: tuple) -> None:
        super().__init__(str(error))
        self.error, self.path = error, path


def _force(value: Any, raw: Any, path: tuple) -> None:
    """Consume every ValidatorIterator (this is what validates it); errors keep their absolute path."""
    if isinstance(value, _ValidatorIterator):
        try:
            items = list(value)
        except ValidationError as error:  # its loc is relative to this iterable
            raise _LazyError(error, path) from None
        raws = raw if isinstance(raw, list) else []
        for i, item in enumerate(items):
            _force(item, raws[i] if i < len(raws) else None, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            _force(item, raw.get(key) if _is_dict(raw) else None, (*path, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _force(item, raw[i] if isinstance(raw, list | tuple) and i < len(raw) else None, (*path, i))


def format_errors(errors: Sequence[dict], body: Any = None, base: tuple = ()) -> list[str]:
    """`messages[0].role: Input should be one of 'developer', 'system', ...` — union-member noise removed.

    pydantic puts a union member's name into `loc` and reports every member. We drop member names (segments that
    do not index the body); when a member matched the discriminator (`role`/`type`) we keep only its errors, and
    when none did we keep only the discriminator errors, merged into one line.
    """
    root = _walk(body, base)
    parsed = [(*_clean(err, root, base), err) for err in errors]
    dropped, discriminator_only = _branch_verdicts(parsed)
    lines: dict[str, list[str]] = {}
    expected: dict[str, list[str]] = {}
    for path, branch, err in parsed:
        miss = _is_discriminator_miss(path, branch, err)
        if branch in dropped or (branch in discriminator_only and not miss):
            continue
        if miss:
            expected.setdefault(path, []).append(err["ctx"]["expected"])
            lines.setdefault(path, [])
            continue
        message = err["msg"] if err["type"] != "extra_forbidden" else "unknown key (extra inputs are not permitted)"
        if message not in lines.setdefault(path, []):
            lines[path].append(message)
    out = []
    for path, messages in lines.items():
        if path in expected:
            choices = list(dict.fromkeys(expected[path]))
            messages = [f"Input should be {'one of ' if len(choices) > 1 else ''}{', '.join(choices)}", *messages]
        out.append(f"{path or '<body>'}: {'; '.join(messages)}")
    return out


def _walk(body: Any, path: tuple) -> Any:
    for key in path:
        body = body[key] if body is not None else None
    return body


def _clean(err: dict, root: Any, base: tuple) -> tuple[str, tuple]:
    """(printable path, branch) — branch = (path prefix, member name) of the first union member in `loc`."""
    segments, value, branch, loc = list(base), root, (), err["loc"]
    for i, key in enumerate(loc):
        if _is_dict(value) and key in value or isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        elif i < len(loc) - 1 or err["type"] != "missing":  # a union member's name, not a key of the body
            branch = branch or (_render(segments), key)
            continue
        segments.append(key)
    return _render(segments), branch


def _branch_verdicts(parsed: list) -> tuple[set[tuple], set[tuple]]:
    """(branches to drop, branches to report by discriminator only), per place where a union was tried."""
    sites: dict[str, dict[tuple, bool]] = {}
    for path, branch, err in parsed:
        if branch:
            missed = sites.setdefault(branch[0], {}).get(branch, False)
            sites[branch[0]][branch] = missed or _is_discriminator_miss(path, branch, err)
    dropped: set[tuple] = set()
    discriminator_only: set[tuple] = set()
    for branches in sites.values():
        if all(branches.values()):
            discriminator_only |= set(branches)
        else:
            dropped |= {b for b, missed in branches.items() if missed}
    return dropped, discriminator_only


def _is_discriminator_miss(path: str, branch: tuple, err: dict) -> bool:
    if not branch or err["type"] != "literal_error":
        return False
    return any(path == _join(branch[0], name) for name in _DISCRIMINATORS)


def _render(segments: Iterable) -> str:
    out = ""
    for key in segments:
        out = f"{out}[{key}]" if isinstance(key, int) else _join(out, str(key))
    return out


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


# --- responses --------------------------------------------------------------------------------------------------


def check_chat_completion(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate raw JSON of a non-stream chat reply as the SDK's ChatCompletion; AssertionError on failure."""
    from openai.types.chat import ChatCompletion

    return _check(ChatCompletion, raw, allow_extra)


def check_chat_chunk(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate the JSON of one SSE `data:` line as the SDK's ChatCompletionChunk (usage-only chunks included)."""
    from openai.types.chat import ChatCompletionChunk

    return _check(ChatCompletionChunk, raw, allow_extra)


def check_completion(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate raw JSON of a non-stream legacy completions reply as the SDK's Completion."""
    from openai.types import Completion

    return _check(Completion, raw, allow_extra)


def check_completion_chunk(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate one legacy completions stream event (also a `Completion` in the SDK, usage-only ones included).

    OpenAI sends `finish_reason: null` on every piece but a choice's last, which the SDK type (shared with the
    non-stream reply) does not allow: a null is checked as "stop", any other value as itself."""
    from openai.types import Completion

    if _is_dict(raw) and isinstance(raw.get("choices"), list):
        raw = {**raw, "choices": [{**c, "finish_reason": "stop"} if _is_dict(c) and c.get("finish_reason") is None
                                  else c for c in raw["choices"]]}
    return _check(Completion, raw, allow_extra)


def check_embeddings_response(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate raw embeddings JSON; base64 vectors are decoded (little-endian float32) before validation."""
    from openai.types import CreateEmbeddingResponse

    if _is_dict(raw) and isinstance(raw.get("data"), list):
        raw = {**raw, "data": [_decoded_embedding(i, item) for i, item in enumerate(raw["data"])]}
    return _check(CreateEmbeddingResponse, raw, allow_extra)


def check_models_page(raw: dict, allow_extra: Sequence[str] = ()) -> Any:
    """Validate raw `GET /models` JSON as the SDK's SyncPage[Model] with `object: "list"`."""
    from openai.pagination import SyncPage
    from openai.types import Model

    page = _check(SyncPage[Model], raw, allow_extra)
    assert raw["object"] == "list", f"object: expected 'list', got {raw['object']!r}"
    for i, item in enumerate(page.data):
        assert not item.model_extra, f"data[{i}]: unexpected keys {sorted(item.model_extra)}"
    return page


def _check(model: type[BaseModel], raw: Any, allow_extra: Sequence[str]) -> BaseModel:
    name = model.__name__
    assert _is_dict(raw), f"{name}: expected a JSON object, got {type(raw).__name__}"
    try:
        parsed = model.model_validate(raw)
    except ValidationError as error:
        raise AssertionError(f"{name}: " + "; ".join(format_errors(error.errors(), raw))) from None
    extra = sorted(set(parsed.model_extra or ()) - set(allow_extra))
    assert not extra, f"{name}: unexpected top-level keys {extra} (allowed extras: {list(allow_extra)})"
    return parsed


def _decoded_embedding(index: int, item: Any) -> Any:
    if not (_is_dict(item) and isinstance(item.get("embedding"), str)):
        return item
    try:
        data = base64.b64decode(item["embedding"], validate=True)
    except ValueError as error:
        raise AssertionError(f"data[{index}].embedding: not base64 ({error})") from None
    assert len(data) % 4 == 0, f"data[{index}].embedding: {len(data)} bytes is not a whole number of float32"
    return {**item, "embedding": list(struct.unpack(f"<{len(data) // 4}f", data))}
