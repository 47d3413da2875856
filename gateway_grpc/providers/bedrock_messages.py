"""OpenAI-shaped messages -> Converse `system` blocks and `messages` turns (content blocks). Pure.

System/developer text is hoisted into `system` wherever it stood; tool messages become `toolResult` blocks of a user
turn; consecutive turns of one role merge. What Converse cannot carry is refused (InvalidRequest naming the field).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from gateway_grpc.errors import InvalidRequest
from gateway_grpc.types import AudioPart, FilePart, ImagePart, Message, Part, TextPart, ToolCall

IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html", "text/plain": "txt", "text/markdown": "md",
}
AUDIO_FORMATS = frozenset({"mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg",
                           "mpga", "pcm", "webm"})
_NAME_JUNK = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+|\s+")


def unsupported(field: str, feature: str) -> InvalidRequest:
    return InvalidRequest.field(field, f"bedrock does not support {feature}")


# ---- content parts ----


def _data_url(url: str, field: str) -> tuple[str, str]:
    """(media type, base64 text) of a data: URL; the base64 text is passed on as is."""
    head, comma, data = url[5:].partition(",")
    if not comma:
        raise InvalidRequest.field(field, "malformed data: URL")
    media_type, *params = head.split(";")  # e.g. image/png;charset=binary;base64
    if params and params[-1].lower() == "base64":
        return media_type.lower(), data
    return media_type.lower(), base64.b64encode(unquote_to_bytes(data)).decode()


def _inline(url: str, data: bytes, media_type: str, field: str, what: str) -> tuple[str, str]:
    if data:
        return media_type.lower(), base64.b64encode(data).decode()
    if url.startswith("data:"):
        return _data_url(url, field)
    raise unsupported(field, f"{what} by URL; send it inline (a data: URL or bytes)")


def _image(part: ImagePart, path: str) -> dict[str, Any]:
    if part.detail not in ("", "auto"):
        raise unsupported(f"{path}.image_url.detail", f"image detail {part.detail!r}")
    media_type, data = _inline(part.url, part.data, part.media_type, f"{path}.image_url.url", "images")
    fmt = IMAGE_FORMATS.get(media_type)
    if fmt is None:
        raise unsupported(f"{path}.image_url.url", f"images of type {media_type or 'unknown'!r}")
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _document(part: FilePart, path: str) -> dict[str, Any]:
    if part.file_id:
        raise unsupported(f"{path}.file.file_id", "uploaded file ids")
    media_type, data = _inline(part.url, part.data, part.media_type, f"{path}.file.file_data", "files")
    stem, _, extension = part.filename.rpartition(".")
    fmt = DOCUMENT_FORMATS.get(media_type) or (extension.lower() if extension.lower() in DOCUMENT_FORMATS.values()
                                               else None)
    if fmt is None:
        raise unsupported(f"{path}.file", f"documents of type {media_type or part.filename or 'unknown'!r}")
    # Converse document names allow letters, digits, single spaces, hyphens, parentheses and brackets.
    name = _NAME_JUNK.sub(" ", stem or part.filename).strip()[:200] or "document"
    return {"document": {"format": fmt, "name": name, "source": {"bytes": data}}}


def _audio(part: AudioPart, path: str) -> dict[str, Any]:
    if part.format not in AUDIO_FORMATS:
        raise unsupported(f"{path}.input_audio.format", f"audio format {part.format!r}")
    return {"audio": {"format": part.format, "source": {"bytes": base64.b64encode(part.data).decode()}}}


def _cache_points(extra: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    """`cache_control` (Anthropic's part key) -> a cachePoint block after the part; any other part key -> 400."""
    for key in extra:
        if key != "cache_control":
            raise unsupported(f"{path}.{key}", f"the content part key {key!r}")
    control = extra.get("cache_control")
    if control is None:
        return []
    if not isinstance(control, Mapping) or control.get("type") != "ephemeral" or not control.keys() <= {"type", "ttl"}:
        raise unsupported(f"{path}.cache_control", f"cache_control {control!r}")
    point: dict[str, Any] = {"type": "default"}
    if "ttl" in control:
        point["ttl"] = control["ttl"]
    return [{"cachePoint": point}]


_PART_BLOCKS: dict[type, Callable[[Any, str], dict[str, Any]]] = {
    TextPart: lambda part, path: {"text": part.text},
    ImagePart: _image,
    FilePart: _document,
    AudioPart: _audio,
}


def _blocks(content: str | tuple[Part, ...] | None, path: str, allowed: tuple[type, ...],
            cache: bool = True) -> list[dict[str, Any]]:
    if content is None:
        raise InvalidRequest.field(f"{path}.content", "required")
    if isinstance(content, str):
        return [{"text": content}]
    out: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        where = f"{path}.content[{i}]"
        if type(part) not in allowed:
            kind = part.value.get("type") if hasattr(part, "value") else type(part).__name__
            raise unsupported(f"{where}.type", f"{kind!r} content parts here")
        out.append(_PART_BLOCKS[type(part)](part, where))
        if part.extra and not cache:
            raise unsupported(f"{where}.{next(iter(part.extra))}", "content part keys in tool results")
        out += _cache_points(part.extra, where)
    return out


# ---- messages ----


def _tool_use(call: ToolCall, path: str) -> dict[str, Any]:
    if call.type != "function" or call.extra:
        raise unsupported(path, f"{call.type!r} tool calls")
    try:
        arguments = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        arguments = None
    if not isinstance(arguments, dict):
        raise InvalidRequest.field(f"{path}.function.arguments", "bedrock needs the arguments as a JSON object")
    return {"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}}


def _reasoning(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.reasoning_content is not None:
        text: dict[str, Any] = {"text": message.reasoning_content}
        if message.extra.get("reasoning_signature"):
            text["signature"] = message.extra["reasoning_signature"]
        blocks.append({"reasoningContent": {"reasoningText": text}})
    for redacted in message.extra.get("redacted_reasoning") or ():
        blocks.append({"reasoningContent": {"redactedContent": redacted}})
    return blocks


def _assistant(message: Message, path: str) -> list[dict[str, Any]]:
    blocks = _reasoning(message)
    if message.content:  # "" or null beside tool calls is no block (Converse refuses blank text)
        blocks += _blocks(message.content, path, (TextPart,))
    blocks += [_tool_use(call, f"{path}.tool_calls[{i}]") for i, call in enumerate(message.tool_calls)]
    return blocks


def _tool_result(message: Message, path: str) -> list[dict[str, Any]]:
    if not message.tool_call_id:
        raise InvalidRequest.field(f"{path}.tool_call_id", "required")
    content = _blocks(message.content, path, (TextPart, ImagePart), cache=False)
    return [{"toolResult": {"toolUseId": message.tool_call_id, "content": content}}]


_MESSAGE_EXTRAS = {"assistant": frozenset({"reasoning_signature", "redacted_reasoning"})}


def _check_fields(message: Message, path: str) -> None:
    if message.name:
        raise unsupported(f"{path}.name", "message names")
    if message.refusal is not None:
        raise unsupported(f"{path}.refusal", "assistant refusals in the conversation")
    for key in message.extra:
        if key not in _MESSAGE_EXTRAS.get(message.role, ()):
            raise unsupported(f"{path}.{key}", f"the message key {key!r}")
    if message.tool_calls and message.role != "assistant":
        raise InvalidRequest.field(f"{path}.tool_calls", "only assistant messages carry tool calls")
    if message.reasoning_content is not None and message.role != "assistant":
        raise unsupported(f"{path}.reasoning_content", f"reasoning in {message.role} messages")


def _turn(message: Message, path: str) -> tuple[str, list[dict[str, Any]]]:
    role = message.role
    if role == "user":
        return "user", _blocks(message.content, path, (TextPart, ImagePart, FilePart, AudioPart))
    if role == "assistant":
        return "assistant", _assistant(message, path)
    if role == "tool":
        return "user", _tool_result(message, path)
    raise unsupported(f"{path}.role", f"{role!r} messages")


def encode_messages(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, turns): system/developer text hoisted; consecutive same-role turns merged (Converse
    alternates roles, and the results of parallel tool calls must share one user turn)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        _check_fields(message, path)
        if message.role in ("system", "developer"):
            system += [b for b in _blocks(message.content, path, (TextPart,)) if b.get("text") != ""]
            continue
        role, blocks = _turn(message, path)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns
