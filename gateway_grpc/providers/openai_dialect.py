"""How one OpenAI-compatible host departs from OpenAI's request body (`Dialect`, pure data), and the functions that
apply those departures to an encoded body. Pure; never branches on a provider name: hosts differ only in data.

A parameter the host refuses is a 400 naming the provider and the parameter, never a silent drop (Portkey's
allowlists drop it, contract §13 row 25); a parameter the host spells differently is renamed; every other key,
known to the gateway or not, passes through unchanged. What the host serves is data too: chat (embeddings-only hosts
answer 400) and which of OpenAI's media APIs (`media`, read by `OpenAIMedia.supports` for providers/call.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_grpc.errors import InvalidRequest

# The media capabilities, named by the MediaProvider method that serves each (base.py; providers/call.py CAPABILITIES).
IMAGES, SPEECH, TRANSCRIPTION = "encode_images", "encode_speech", "encode_transcription"
ALL_MEDIA = frozenset({IMAGES, SPEECH, TRANSCRIPTION})
COMPLETIONS = "encode_completion"  # OpenAI's legacy Completions API (`/completions`), by the method that serves it


@dataclass(frozen=True, slots=True)
class Dialect:
    """The departures of one host. The defaults are the usual long-tail host: OpenAI's body, with role `developer`
    sent as `system` (Portkey's shared OpenAI-compatible base does that for every non-OpenAI host, contract §7)."""

    rejects: frozenset[str] = frozenset()  # body keys the host refuses: 400 when the caller sets one
    renames: tuple[tuple[str, str], ...] = ()  # (OpenAI key, the host's key)
    single_choice: bool = False  # the host returns one choice: `n` other than 1 is a 400
    developer_as_system: bool = True
    message_rejects: frozenset[str] = frozenset()  # message keys the host refuses (Groq: `name`)
    stream_options: bool = True  # False: the host refuses `stream_options` (and reports stream usage unasked)
    embedding_renames: tuple[tuple[str, str], ...] = ()
    float_encoding: bool = True  # False: the host has no `encoding_format: "float"` (floats are its default)
    chat: bool = True  # False: an embeddings-only host; chat is a 400
    media: frozenset[str] = frozenset()  # the media capabilities it serves at OpenAI's paths (none unless documented)
    completions: bool = False  # whether it serves OpenAI's legacy `/completions` (only where documented)


OPENAI_DIALECT = Dialect(developer_as_system=False, media=ALL_MEDIA, completions=True)


def adapt_chat_body(body: dict[str, Any], dialect: Dialect, provider: str) -> None:
    """Apply `dialect` to an encoded chat body, in place; InvalidRequest names what the host cannot take."""
    if dialect is OPENAI_DIALECT:  # OpenAI itself: nothing to do
        return
    if not dialect.chat:
        raise InvalidRequest.field("model", f"{provider} does not support chat completions")
    _adapt_generation(body, dialect, provider)
    if dialect.developer_as_system or dialect.message_rejects:
        _adapt_messages(body.get("messages") or (), dialect, provider)


def adapt_embeddings_body(body: dict[str, Any], dialect: Dialect, provider: str) -> None:
    """Apply `dialect` to an encoded embeddings body, in place."""
    _refuse(body, dialect.rejects, provider)
    if not dialect.float_encoding and body.get("encoding_format") == "float":
        del body["encoding_format"]  # the gateway's own ask (the edge owns the caller's encoding_format)
    _rename(body, dialect.embedding_renames, provider)


def adapt_completion_body(body: dict[str, Any], dialect: Dialect, provider: str) -> None:
    """Apply `dialect` to an encoded text completion body, in place (the refusals and renames chat has)."""
    if dialect is not OPENAI_DIALECT:
        _adapt_generation(body, dialect, provider)


def _adapt_generation(body: dict[str, Any], dialect: Dialect, provider: str) -> None:
    """What chat and text completion bodies share: refused keys, one choice, renames, `stream_options`."""
    _refuse(body, dialect.rejects, provider)
    choices = body.get("n")
    if dialect.single_choice and choices is not None and choices != 1:
        raise InvalidRequest.field("n", f"{provider} does not support n > 1")
    _rename(body, dialect.renames, provider)
    if not dialect.stream_options:
        body.pop("stream_options", None)


def _refuse(body: dict[str, Any], rejects: frozenset[str], provider: str) -> None:
    for key in rejects & body.keys():
        if body[key] is None:  # JSON null asks for the default, which is what the host does anyway
            del body[key]
        else:
            raise InvalidRequest.field(key, f"{provider} does not support {key}")


def _rename(body: dict[str, Any], renames: tuple[tuple[str, str], ...], provider: str) -> None:
    for ours, theirs in renames:
        if ours not in body:
            continue
        if body.get(theirs) is not None:
            raise InvalidRequest.field(ours, f"{provider} takes only {theirs}: set {theirs} or {ours}, not both")
        body[theirs] = body.pop(ours)


def _adapt_messages(messages: Any, dialect: Dialect, provider: str) -> None:
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        if dialect.developer_as_system and message.get("role") == "developer":
            message["role"] = "system"  # type: ignore[index]  # encoded messages are fresh dicts
        for key in dialect.message_rejects & message.keys():
            raise InvalidRequest.field(f"messages[{index}].{key}", f"{provider} does not support messages[].{key}")
