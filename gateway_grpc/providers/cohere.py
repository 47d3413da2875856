"""Cohere (API v2): `/v2/chat` (JSON and SSE), `/v2/embed`, `/v1/models`, and Cohere's `{"message"}` errors.

A pure translator (CONVENTIONS §3): the request mapping lives in cohere_wire, the stream decoder in cohere_stream.
Cohere answers carry neither `created` nor `model`: `created` comes from the injected clock, `model` from the
request when the caller passes it to decode_chat / chat_stream_decoder.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from gateway_grpc.errors import ProviderError, ProviderRejected, RateLimited
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.cohere_stream import CohereStreamDecoder
from gateway_grpc.providers.cohere_wire import PROVIDER, bad_response, decode_response, encode_chat_body, unsupported
from gateway_grpc.providers.wire import loads_json, retry_after_seconds
from gateway_grpc.types import (
    CHAT_PARAMS,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
    Usage,
)

_JSON = "application/json"
DEFAULT_INPUT_TYPE = "search_document"  # Cohere requires one; the caller's `input_type` (request extra) wins
MODELS_PAGE_SIZE = 1000  # Cohere's largest page: one call lists every model


def _chat_overrides(request: ChatRequest, overrides: Mapping[str, Any]) -> tuple[ChatRequest, dict[str, Any]]:
    """Portkey's override_params applied to the neutral request (model, OpenAI params); other keys go to the body
    as they are (Portkey contract §4: overrides win)."""
    if not overrides:
        return request, {}
    params, rest = dict(request.params), {}
    for key, value in overrides.items():
        if key in CHAT_PARAMS:
            params[key] = value
        elif key != "model":
            rest[key] = value
    return dataclasses.replace(request, model=overrides.get("model", request.model), params=params), rest


@dataclass(frozen=True, slots=True)
class Cohere:
    """`base_url` is Cohere's origin; a custom host replaces it (paths stay `/v2/chat`, `/v2/embed`, `/v1/models`)."""

    base_url: str = "https://api.cohere.com"
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    name: ClassVar[str] = PROVIDER
    stream_framing: ClassVar[str] = "sse"
    translated: ClassVar[bool] = True  # strict OpenAI compliance strips its extras (compliance.py)

    # ---- requests ----

    def _headers(self, target: Target, accept: str = _JSON) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": accept}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        headers.update(target.forward_headers)
        return headers

    def _url(self, target: Target, path: str) -> str:
        return (target.base_url or self.base_url).rstrip("/") + path

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        request, rest = _chat_overrides(request, target.override_params)
        body = encode_chat_body(request, stream=stream)
        body.update(request.extra)  # unknown keys (documents, citation_options, safety_mode, k, thinking, ...)
        body.update(rest)
        headers = self._headers(target, "text/event-stream" if stream else _JSON)
        return HttpCall("POST", self._url(target, "/v2/chat"), headers, orjson.dumps(body))

    def embedding_batch_size(self, request: EmbeddingsRequest) -> int:
        """Texts per /v2/embed call (Cohere's documented maximum); more are sent in batches."""
        return 96

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        if request.token_inputs:
            raise unsupported("input", "token-id inputs (only text)")
        if request.user:
            raise unsupported("user", "the OpenAI parameter 'user'")
        overrides = dict(target.override_params)
        dimensions = overrides.pop("dimensions", request.dimensions)
        body: dict[str, Any] = {"model": overrides.pop("model", request.model), "texts": list(request.inputs),
                                "input_type": DEFAULT_INPUT_TYPE, "embedding_types": ["float"]}
        if dimensions is not None:
            body["output_dimension"] = dimensions
        body.update(request.extra)
        body.update(overrides)
        return HttpCall("POST", self._url(target, "/v2/embed"), self._headers(target), orjson.dumps(body))

    def encode_list_models(self, target: Target) -> HttpCall:
        headers = self._headers(target)
        del headers["content-type"]
        return HttpCall("GET", self._url(target, f"/v1/models?page_size={MODELS_PAGE_SIZE}"), headers)

    # ---- answers ----

    def decode_chat(self, body: bytes, request: ChatRequest | None = None) -> ChatResponse:
        raw = loads_json(body, PROVIDER)
        try:
            return decode_response(raw, created=int(self.clock()), model=request.model if request else "")
        except (KeyError, TypeError, AttributeError) as exc:
            raise bad_response("response", body[:200].decode("utf-8", "replace")) from exc

    def chat_stream_decoder(self, request: ChatRequest | None = None) -> CohereStreamDecoder:
        """Cohere always reports usage at message-end; the usage chunk goes out only when the request asked."""
        if request is None:
            return CohereStreamDecoder(created=int(self.clock()))
        return CohereStreamDecoder(created=int(self.clock()), model=request.model,
                                   include_usage=request.include_usage)

    def decode_embeddings(self, body: bytes, request: EmbeddingsRequest | None = None) -> EmbeddingsResponse:
        raw = loads_json(body, PROVIDER)
        try:
            vectors = tuple(raw["embeddings"]["float"])
            if any(not isinstance(v, list) for v in vectors):
                raise TypeError("embedding is not a list of floats")
            tokens = ((raw.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
            usage = None if tokens is None else Usage(int(tokens), 0, int(tokens))
            return EmbeddingsResponse(request.model if request else "", vectors, usage)
        except (KeyError, TypeError, AttributeError) as exc:
            raise bad_response("response", body[:200].decode("utf-8", "replace")) from exc

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raw = loads_json(body, PROVIDER)
        try:
            return [ModelInfo(m["name"], 0, PROVIDER) for m in raw["models"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise bad_response("response", body[:200].decode("utf-8", "replace")) from exc

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        """Cohere's `{"message"}` (or `{"id", "message"}`); a non-JSON page is quoted (contract §13 row 19)."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        message = parsed.get("message") if isinstance(parsed, dict) else None
        if not isinstance(message, str) or not message:
            message = body[:500].decode("utf-8", "replace").strip() or f"HTTP {status}"
        kind = RateLimited if status == 429 else ProviderRejected
        return kind(f"{PROVIDER} error: {message}", provider=PROVIDER, status=status,
                    retry_after=retry_after_seconds(headers))
