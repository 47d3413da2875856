"""Cached answers as bytes and back: orjson of the neutral dataclasses, rebuilt field by field on read.

An entry is `{"v": 1, "kind", "answer"}` (whose answer it is lives in the key). JSON, not pickle: entries may come
from a shared Redis, and reading one must never run code.
A stored entry that does not read back (another version's, or damaged) is a miss, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_grpc.completions import Completion, CompletionChoice
from gateway_grpc.types import (
    EMPTY,
    ChatResponse,
    Choice,
    EmbeddingsResponse,
    Message,
    OtherPart,
    TextPart,
    ToolCall,
    Usage,
)

VERSION = 1


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    kind: str  # chat, completions, embeddings
    answer: ChatResponse | Completion | EmbeddingsResponse


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot cache a {type(value).__name__}")


def dump(entry: CachedAnswer) -> bytes:
    return orjson.dumps({"v": VERSION, "kind": entry.kind, "answer": entry.answer}, default=_default)


def load(raw: bytes) -> CachedAnswer | None:
    """The entry, or None when it does not read back as this version's."""
    try:
        data = orjson.loads(raw)
        if data["v"] != VERSION:
            return None
        return CachedAnswer(data["kind"], _READERS[data["kind"]](data["answer"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return None


def _usage(raw: Mapping[str, Any] | None) -> Usage | None:
    return Usage(**raw) if raw is not None else None


def _extra(raw: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return raw or EMPTY


def _content(raw: Any) -> str | tuple[Any, ...] | None:
    if raw is None or isinstance(raw, str):
        return raw
    return tuple(TextPart(p["text"], _extra(p["extra"])) if "text" in p else OtherPart(p["value"]) for p in raw)


def _message(raw: Mapping[str, Any]) -> Message:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"], c["type"], _extra(c["extra"]))
                  for c in raw["tool_calls"])
    return Message(raw["role"], _content(raw["content"]), raw["name"], calls, raw["tool_call_id"], raw["refusal"],
                   raw["reasoning_content"], _extra(raw["extra"]))


def read_chat(raw: Mapping[str, Any]) -> ChatResponse:
    choices = tuple(Choice(c["index"], _message(c["message"]), c["finish_reason"], c["logprobs"], _extra(c["extra"]))
                    for c in raw["choices"])
    return ChatResponse(raw["id"], raw["created"], raw["model"], choices, _usage(raw["usage"]),
                        raw["system_fingerprint"], raw["service_tier"], _extra(raw["extra"]))


def read_completion(raw: Mapping[str, Any]) -> Completion:
    choices = tuple(CompletionChoice(c["index"], c["text"], c["finish_reason"], c["logprobs"]) for c in raw["choices"])
    return Completion(raw["id"], raw["created"], raw["model"], choices, _usage(raw["usage"]),
                      raw["system_fingerprint"], _extra(raw["extra"]))


def read_embeddings(raw: Mapping[str, Any]) -> EmbeddingsResponse:
    return EmbeddingsResponse(raw["model"], tuple(raw["vectors"]), _usage(raw["usage"]))


_READERS = {"chat": read_chat, "completions": read_completion, "embeddings": read_embeddings}
