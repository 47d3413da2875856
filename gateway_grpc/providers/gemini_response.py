"""Gemini GenerateContentResponse and Google error envelopes -> neutral types. Pure; no I/O.

- candidates -> choices: text parts joined into `content`, `thought: true` parts into `reasoning_content`,
  `functionCall` parts into tool calls (Gemini's `id`, else `call_<n>`; args JSON-dumped; a `thoughtSignature` kept
  as `extra_content.google.thought_signature`, the form Google's OpenAI-compatible API uses and gemini_request reads).
  Other part kinds (inline images, code execution) and grounding / safety metadata have no OpenAI field: not mapped.
- finishReason: STOP stop (tool_calls when the candidate called functions), MAX_TOKENS length, the safety family
  content_filter, anything else stop. A prompt blocked by `promptFeedback.blockReason` -> one content_filter choice.
- usageMetadata: prompt = prompt + tool-use prompt tokens; completion = candidates + thoughts (OpenAI counts
  reasoning inside completion tokens), so they add up to totalTokenCount.
- logprobsResult -> OpenAI `logprobs.content` (chosen token + its top candidates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from gateway_grpc.errors import ProviderError, ProviderRejected, RateLimited
from gateway_grpc.providers.wire import retry_after_seconds, text_or_empty
from gateway_grpc.types import EMPTY, ChatResponse, Choice, Message, ToolCall, Usage

_FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
             "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR")
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", **dict.fromkeys(_FILTERED, "content_filter")}
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class CallIds:
    """`call_<n>` for function calls that come without an id; unique within one response or stream."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def take(self, given: Any) -> str:
        if isinstance(given, str) and given:
            return given
        ident = f"call_{self._next}"
        self._next += 1
        return ident


def read_parts(parts: Iterable[Mapping[str, Any]], ids: CallIds) -> tuple[str | None, str | None, list[ToolCall]]:
    """(text, reasoning, tool calls) of one candidate's parts; text and reasoning are None when absent."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    for part in parts:
        call = part.get("functionCall")
        if call is not None:
            arguments = orjson.dumps(call.get("args") or {}).decode()
            calls.append(ToolCall(ids.take(call.get("id")), call["name"], arguments, extra=_signature(part)))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    return ("".join(texts) if texts else None), ("".join(thoughts) if thoughts else None), calls


def _signature(part: Mapping[str, Any]) -> Mapping[str, Any]:
    signature = part.get("thoughtSignature")
    return {"extra_content": {"google": {"thought_signature": signature}}} if signature else EMPTY


def finish_reason(raw: Any, called: bool) -> str | None:
    if not raw:
        return None
    reason = FINISH_REASONS.get(raw, "stop")
    return "tool_calls" if called and reason == "stop" else reason


def prompt_blocked(raw: Mapping[str, Any]) -> bool:
    return bool((raw.get("promptFeedback") or EMPTY).get("blockReason"))


def decode_usage(raw: Mapping[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    prompt = (raw.get("promptTokenCount") or 0) + (raw.get("toolUsePromptTokenCount") or 0)
    thoughts = raw.get("thoughtsTokenCount")
    completion = (raw.get("candidatesTokenCount") or 0) + (thoughts or 0)
    details: dict[str, int] = {}
    if raw.get("cachedContentTokenCount") is not None:
        details["cached_tokens"] = raw["cachedContentTokenCount"]
    if thoughts is not None:
        details["reasoning_tokens"] = thoughts
    for field, key in (("prompt_audio_tokens", "promptTokensDetails"),
                       ("completion_audio_tokens", "candidatesTokensDetails")):
        audio = [d.get("tokenCount") or 0 for d in raw.get(key) or () if d.get("modality") == "AUDIO"]
        if audio:
            details[field] = sum(audio)
    return Usage(prompt, completion, raw.get("totalTokenCount") or prompt + completion, **details)


def decode_logprobs(raw: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not raw:
        return None
    tops = raw.get("topCandidates") or ()
    content = []
    for step, chosen in enumerate(raw.get("chosenCandidates") or ()):
        alternatives = (tops[step].get("candidates") or ()) if step < len(tops) else ()
        content.append({**_token(chosen), "top_logprobs": [_token(a) for a in alternatives]})
    return {"content": content, "refusal": None}


def _token(raw: Mapping[str, Any]) -> dict[str, Any]:
    token = raw.get("token") or ""
    return {"token": token, "logprob": raw.get("logProbability") or 0.0, "bytes": list(token.encode())}


def _choice(raw: Mapping[str, Any], position: int, ids: CallIds) -> Choice:
    text, reasoning, calls = read_parts((raw.get("content") or EMPTY).get("parts") or (), ids)
    message = Message("assistant", text, tool_calls=tuple(calls), reasoning_content=reasoning)
    return Choice(raw.get("index", position), message, finish_reason(raw.get("finishReason"), bool(calls)),
                  decode_logprobs(raw.get("logprobsResult")))


def decode_response(raw: Mapping[str, Any], *, created: int, fallback_id: str) -> ChatResponse:
    """KeyError / TypeError / AttributeError when `raw` is not a GenerateContentResponse."""
    ids = CallIds()
    choices = tuple(_choice(c, i, ids) for i, c in enumerate(raw.get("candidates") or ()))
    if not choices:
        if not prompt_blocked(raw):
            raise KeyError("candidates")
        choices = (Choice(0, Message("assistant", None), "content_filter"),)
    return ChatResponse(raw.get("responseId") or fallback_id, created, raw.get("modelVersion") or "", choices,
                        decode_usage(raw.get("usageMetadata")))


# ---- errors ----


def error_envelope(body: bytes) -> Mapping[str, Any] | None:
    """The `error` object of Google's envelope (also inside a one-item JSON array), or None."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(raw, list) and raw:
        raw = raw[0]
    error = raw.get("error") if isinstance(raw, dict) else None
    return error if isinstance(error, dict) else None


def envelope_error(provider: str, status: int, error: Mapping[str, Any],
                   headers: Mapping[str, str]) -> ProviderError:
    """`{"code", "message", "status", "details"}` -> RateLimited (429) or ProviderRejected."""
    details = [d for d in error.get("details") or () if isinstance(d, dict)]
    reason = next((d.get("reason") for d in details if d.get("@type") == _ERROR_INFO), None)
    retry_after = retry_after_seconds(headers)
    if retry_after is None:
        retry_after = _retry_delay(next((d.get("retryDelay") for d in details if d.get("@type") == _RETRY_INFO), None))
    message = text_or_empty(error.get("message")) or f"HTTP {status}"
    kind = RateLimited if status == 429 else ProviderRejected
    return kind(f"{provider} error: {message}", provider=provider, status=status,
                error_type=text_or_empty(error.get("status")), code=text_or_empty(reason), retry_after=retry_after)


def _retry_delay(value: Any) -> float | None:
    """A google.protobuf.Duration in JSON: "27s", "0.500s"."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        return max(0.0, float(value[:-1]))
    except ValueError:
        return None


def decode_error(provider: str, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    error = error_envelope(body)
    if error is not None:
        return envelope_error(provider, status, error, headers)
    # an HTML or text page from a proxy: keep the status, wrap the text (contract §13 row 19)
    message = body[:500].decode("utf-8", "replace").strip() or f"HTTP {status}"
    kind = RateLimited if status == 429 else ProviderRejected
    return kind(f"{provider} error: {message}", provider=provider, status=status,
                retry_after=retry_after_seconds(headers))
