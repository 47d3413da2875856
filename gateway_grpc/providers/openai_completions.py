"""OpenAI's legacy Completions API (`POST /completions`) for the OpenAI family: body encoding, answer and chunk
decoding. Pure; no I/O.

The body is OpenAI's: `model`, `prompt` (a string, or the list the caller sent), the parameters the caller set, then
unknown keys and the target's `override_params`, as chat does. Stream chunks have the answer's shape (`object`
`text_completion` in both), so one decoder reads both. Which hosts serve the API is data (`Dialect.completions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.errors import ProviderBadResponse
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.openai_dialect import adapt_completion_body
from gateway_grpc.providers.openai_stream import OpenAIStreamDecoder
from gateway_grpc.providers.openai_wire import decode_usage
from gateway_grpc.providers.wire import loads_json
from gateway_grpc.types import EMPTY, Target

_ANSWER_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage", "system_fingerprint"})


def encode_completion_body(request: CompletionRequest, target: Target, *, stream: bool) -> dict[str, Any]:
    prompt = list(request.prompt) if isinstance(request.prompt, tuple) else request.prompt
    body: dict[str, Any] = {"model": request.model, "prompt": prompt, **request.params, **request.extra}
    if stream:
        body["stream"] = True
        if request.include_usage:
            body["stream_options"] = {"include_usage": True}
    body.update(target.override_params)  # Portkey contract §4: {...body, ...override_params}
    return body


def decode_text_completion(raw: Mapping[str, Any]) -> Completion:
    """An OpenAI completion answer or stream chunk (KeyError / TypeError on a malformed one)."""
    choices = tuple(CompletionChoice(c["index"], c.get("text") or "", c.get("finish_reason"), c.get("logprobs"))
                    for c in raw["choices"])
    extra = {key: value for key, value in raw.items() if key not in _ANSWER_KEYS}
    return Completion(raw.get("id") or "", raw.get("created") or 0, raw.get("model") or "", choices,
                      decode_usage(raw.get("usage")), raw.get("system_fingerprint") or "", extra or EMPTY)


class OpenAICompletions:
    """Text completion methods of an OpenAI-family provider (`name`, `dialect`, `_url`, `_headers` and
    `_received` come from it). A host overrides `_completion_path` and `_adapt_completion` for its departures."""

    __slots__ = ()
    _completion_path = "/completions"

    def encode_completion(self, request: CompletionRequest, target: Target, *, stream: bool) -> HttpCall:
        body = encode_completion_body(request, target, stream=stream)
        self._adapt_completion(body)
        headers = self._headers(target)  # type: ignore[attr-defined]
        if stream:
            headers["accept"] = "text/event-stream"
        url = self._url(target, self._completion_path)  # type: ignore[attr-defined]
        return HttpCall("POST", url, headers, orjson.dumps(body))

    def _adapt_completion(self, body: dict[str, Any]) -> None:
        adapt_completion_body(body, self.dialect, self.name)  # type: ignore[attr-defined]

    def _received_text(self, raw: Any) -> Any:
        """A host's completion answer or chunk made OpenAI-shaped; OpenAI's needs nothing."""
        return raw

    def _decoded_text(self, raw: Any) -> Completion:
        return decode_text_completion(self._received_text(raw))

    def decode_completion(self, body: bytes) -> Completion:
        name = self.name  # type: ignore[attr-defined]
        try:
            return self._decoded_text(loads_json(body, name))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {name}: {body[:200]!r}",
                                      provider=name) from exc

    def completion_stream_decoder(self, request: CompletionRequest | None = None) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self.name, self._decoded_text)  # type: ignore[attr-defined]
