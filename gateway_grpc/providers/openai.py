"""OpenAI and every OpenAI-compatible host: request encoding, response/stream/error decoding. Pure; no I/O.

OpenAI-compatible providers are instances with another name, base URL and `Dialect` (data, not code: see
openai_hosts.py); unknown request parameters are passed through to them unchanged (Portkey contract §13 row 25).
Hosts that need more than data (Azure's URLs and auth, Mistral's tool-call ids) subclass `OpenAI` and override
its hooks: `_url`, `_headers`, `_adapt_chat` and `_received`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from gateway_grpc.errors import ProviderBadResponse, ProviderError, ProviderRejected, RateLimited
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.openai_completions import OpenAICompletions
from gateway_grpc.providers.openai_dialect import OPENAI_DIALECT, Dialect, adapt_chat_body, adapt_embeddings_body
from gateway_grpc.providers.openai_media import OpenAIMedia
from gateway_grpc.providers.openai_stream import OpenAIStreamDecoder
from gateway_grpc.providers.openai_wire import (
    decode_chunk,
    decode_completion,
    decode_usage,
    encode_chat_body,
    encode_embeddings_body,
    encode_stream_options,
)
from gateway_grpc.providers.wire import loads_json, retry_after_seconds, text_or_empty
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
# Provider options that become OpenAI request headers (Portkey's openai_organization / openai_project).
_OPTION_HEADERS = {"openai_organization": "openai-organization", "openai_project": "openai-project"}


@dataclass(frozen=True, slots=True)
class OpenAI(OpenAIMedia, OpenAICompletions):
    """The OpenAI Chat Completions family (images and audio from OpenAIMedia, text completions from
    OpenAICompletions). `name` is the provider slug,
    `base_url` its default API root, `dialect` how the host's body departs from OpenAI's."""

    name: str = "openai"
    base_url: str = "https://api.openai.com/v1"
    dialect: Dialect = OPENAI_DIALECT
    stream_framing: ClassVar[str] = "sse"

    # ---- requests ----

    def _headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": _JSON}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        for option, header in _OPTION_HEADERS.items():
            if option in target.provider_options:
                headers[header] = target.provider_options[option]
        headers.update(target.forward_headers)
        return headers

    def _url(self, target: Target, path: str) -> str:
        return (target.base_url or self.base_url).rstrip("/") + path

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        body = encode_chat_body(request)
        if stream:
            body["stream"] = True
            if request.include_usage or request.stream_extra:
                body["stream_options"] = encode_stream_options(request)
        body.update(target.override_params)  # Portkey contract §4: {...body, ...override_params}
        self._adapt_chat(body)
        headers = self._headers(target)
        if stream:
            headers["accept"] = "text/event-stream"
        return HttpCall("POST", self._url(target, "/chat/completions"), headers, orjson.dumps(body))

    def embedding_batch_size(self, request: EmbeddingsRequest) -> int:
        """Inputs per embeddings call (OpenAI's documented maximum array length); more are sent in batches."""
        return 2048

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        body = encode_embeddings_body(request, {"encoding_format": "float"})
        body.update(target.override_params)
        adapt_embeddings_body(body, self.dialect, self.name)
        return HttpCall("POST", self._url(target, "/embeddings"), self._headers(target), orjson.dumps(body))

    def _adapt_chat(self, body: dict[str, Any]) -> None:
        """The host's departures from OpenAI's chat body, applied in place (a 400 for what it cannot take)."""
        adapt_chat_body(body, self.dialect, self.name)

    def encode_list_models(self, target: Target) -> HttpCall:
        headers = self._headers(target)
        del headers["content-type"]
        return HttpCall("GET", self._url(target, "/models"), headers)

    # ---- responses ----

    def _received(self, raw: Any) -> Any:
        """A host's answer (completion or chunk JSON) made OpenAI-shaped; OpenAI's needs nothing."""
        return raw

    def decode_chat(self, body: bytes) -> ChatResponse:
        raw = loads_json(body, self.name)
        try:
            return decode_completion(self._received(raw))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    def chat_stream_decoder(self, request: ChatRequest | None = None) -> OpenAIStreamDecoder:
        received = self._received
        return OpenAIStreamDecoder(self.name, lambda raw: decode_chunk(received(raw)))

    def decode_embeddings(self, body: bytes) -> EmbeddingsResponse:
        raw = loads_json(body, self.name)
        try:
            rows = sorted(raw["data"], key=lambda row: row["index"])
            vectors = tuple(row["embedding"] for row in rows)
            if any(not isinstance(v, list) for v in vectors):
                raise TypeError("embedding is not a list of floats")
            return EmbeddingsResponse(raw.get("model") or "", vectors, _embedding_usage(raw.get("usage")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raw = loads_json(body, self.name)
        try:
            return [ModelInfo(m["id"], m.get("created") or m.get("created_at") or 0, m.get("owned_by") or "")
                    for m in raw["data"]]  # Azure says `created_at`
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        error = _error_object(body)
        if error is not None:
            message = _text(error.get("message")) or f"HTTP {status}"
            fields = {"error_type": text_or_empty(error.get("type")), "param": text_or_empty(error.get("param")),
                      "code": text_or_empty(error.get("code")),
                      "details": {k: v for k, v in error.items() if k not in _ERROR_FIELDS} or None}
        else:  # an HTML or text error page from a proxy: keep the status, wrap the text (contract §13 row 19)
            message = body[:500].decode("utf-8", "replace").strip() or f"HTTP {status}"
            fields = {}
        kind = RateLimited if status == 429 else ProviderRejected
        return kind(f"{self.name} error: {message}", provider=self.name, status=status,
                    retry_after=retry_after_seconds(headers), **fields)


_ERROR_FIELDS = frozenset({"message", "type", "param", "code"})


def _embedding_usage(raw: Any) -> Usage | None:
    """Embedding tokens are all prompt tokens: a host that counts only `total_tokens` (Voyage, Jina) has them."""
    usage = decode_usage(raw)
    return replace(usage, prompt_tokens=usage.total_tokens) if usage and not usage.prompt_tokens else usage


def _error_object(body: bytes) -> dict[str, Any] | None:
    """OpenAI's `{"error": {...}}`; the top-level `{"message": ...}` some hosts send (Mistral, DeepSeek); the
    `{"error": "text"}` of Ollama and Hugging Face TGI; or FastAPI's `{"detail": ...}` (Voyage, Jina)."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    error = raw.get("error")
    if isinstance(error, dict):
        return error
    if isinstance(error, str):
        return {"message": error, "type": raw.get("error_type")}
    if "message" in raw:
        return raw
    return {"message": raw["detail"]} if raw.get("detail") else None


def _text(value: Any) -> str:
    """A message that may be structured (Mistral's 422 carries its validation details as an object)."""
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else text_or_empty(value)
