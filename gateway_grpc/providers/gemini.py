"""Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`, `batchEmbedContents`, `models`): URLs,
auth and the provider protocol. Pure; no I/O. Bodies: gemini_request (+ gemini_parts) out, gemini_response and
gemini_stream in.

URLs are `{base}/models/{model}:{method}`; the base defaults to `.../v1beta`, and a custom host given as a bare
origin gets `/v1beta` appended (Portkey's custom host for google is an origin). Model names may carry `models/` or
`tunedModels/`; any other character outside [A-Za-z0-9._+-] is refused, as the name becomes part of the URL path
(Portkey contract §13 row 23). Auth is `x-goog-api-key`. Gemini has no request id or creation time in its answers:
`id` is its `responseId` (else `google-<epoch ms>`) and `created` comes from the injected clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderError
from gateway_grpc.providers import gemini_response
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.gemini_parts import unsupported
from gateway_grpc.providers.gemini_request import encode_body
from gateway_grpc.providers.gemini_stream import GeminiStreamDecoder
from gateway_grpc.providers.wire import loads_json
from gateway_grpc.types import (
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
    Usage,
)

_JSON = "application/json"
_MODEL = re.compile(r"(?:(models|tunedModels)/)?([A-Za-z0-9._+-]+)")
_PAGE_SIZE = 1000  # the API's maximum: one call lists every model


@dataclass(frozen=True, slots=True)
class Gemini:
    """The Gemini API. `clock` gives `created` (seconds); inject a fake one in tests."""

    name: str = "google"
    base_url: str = "https://generativelanguage.googleapis.com/v1beta"
    clock: Callable[[], float] = field(default=time.time, repr=False)
    stream_framing: ClassVar[str] = "sse"
    translated: ClassVar[bool] = True  # strict OpenAI compliance strips its extras (compliance.py)

    # ---- requests ----

    def _base(self, target: Target) -> str:
        if not target.base_url:
            return self.base_url
        base = target.base_url.rstrip("/")
        return base + "/v1beta" if not urlsplit(base).path else base

    def _model_path(self, model: str) -> str:
        match = _MODEL.fullmatch(model)
        if match is None or ".." in model:
            raise InvalidRequest.field("model", f"{model!r} is not a Gemini model name")
        return f"{match[1] or 'models'}/{match[2]}"

    def _headers(self, target: Target, accept: str = _JSON) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": accept}
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        headers.update(target.forward_headers)
        return headers

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        model, body = encode_body(request, target.override_params)
        if stream and request.stream_extra:
            key = next(iter(request.stream_extra))
            raise unsupported(f"stream_options.{key}", f"the stream option {key!r}")
        method = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
        url = f"{self._base(target)}/{self._model_path(model)}{method}"
        headers = self._headers(target, "text/event-stream" if stream else _JSON)
        return HttpCall("POST", url, headers, orjson.dumps(body))

    def embedding_batch_size(self, request: EmbeddingsRequest) -> int:
        """Requests per batchEmbedContents call (Gemini's documented maximum); more are sent in batches."""
        return 100

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        if request.token_inputs:
            raise unsupported("input", "token-id inputs for embeddings")
        if request.user:
            raise unsupported("user", "user")
        overrides = dict(target.override_params)
        model = self._model_path(str(overrides.pop("model", request.model)))
        dimensions = overrides.pop("dimensions", request.dimensions)
        options: dict[str, Any] = {} if dimensions is None else {"outputDimensionality": dimensions}
        options.update(request.extra)  # Gemini's per-request options: taskType, title, ...
        options.update(overrides)
        requests = [{"model": model, "content": {"parts": [{"text": text}]}, **options} for text in request.inputs]
        url = f"{self._base(target)}/{model}:batchEmbedContents"
        return HttpCall("POST", url, self._headers(target), orjson.dumps({"requests": requests}))

    def encode_list_models(self, target: Target) -> HttpCall:
        headers = self._headers(target)
        del headers["content-type"]
        return HttpCall("GET", f"{self._base(target)}/models?pageSize={_PAGE_SIZE}", headers)

    # ---- responses ----

    def _bad(self, body: bytes) -> ProviderBadResponse:
        return ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}", provider=self.name)

    def decode_chat(self, body: bytes) -> ChatResponse:
        raw = loads_json(body, self.name)
        created = int(self.clock())
        try:
            return gemini_response.decode_response(raw, created=created, fallback_id=f"{self.name}-{created * 1000}")
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def chat_stream_decoder(self, request: ChatRequest | None = None) -> GeminiStreamDecoder:
        """`request` says whether a usage chunk ends the stream (`include_usage`) and how many candidates must finish
        (`n`); without it, no usage chunk and one candidate."""
        if request is None:
            return GeminiStreamDecoder(self.name, self.clock)
        n = request.params.get("n")
        return GeminiStreamDecoder(self.name, self.clock, request.include_usage, n if isinstance(n, int) else 1)

    def decode_embeddings(self, body: bytes) -> EmbeddingsResponse:
        raw = loads_json(body, self.name)
        try:
            vectors = tuple(item["values"] for item in raw["embeddings"])
            if any(not isinstance(v, list) for v in vectors):
                raise TypeError("values is not a list of floats")
            return EmbeddingsResponse("", vectors, _embedding_usage(raw.get("usageMetadata")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raw = loads_json(body, self.name)
        try:
            return [ModelInfo(m["name"].removeprefix("models/"), 0, "google") for m in raw.get("models") or ()]
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad(body) from exc

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return gemini_response.decode_error(self.name, status, body, headers)


def _embedding_usage(raw: Mapping[str, Any] | None) -> Usage | None:
    if not raw or raw.get("promptTokenCount") is None:
        return None
    prompt = raw["promptTokenCount"]
    return Usage(prompt, 0, raw.get("totalTokenCount") or prompt)
