"""Anthropic's Messages API as a Provider: URLs, headers (x-api-key, anthropic-version / anthropic-beta), the model
list and the error envelope. Pure; no I/O. Bodies are built in anthropic_request.py; answers, stream events and errors
are read in anthropic_response.py.

Base URL default `https://api.anthropic.com/v1`: chat is `{base}/messages`, the model list `{base}/models`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import orjson

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderError
from gateway_grpc.providers.anthropic_request import encode_body
from gateway_grpc.providers.anthropic_response import AnthropicStreamDecoder, decode_message, error_from
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.wire import loads_json, retry_after_seconds
from gateway_grpc.types import (
    CHAT_PARAMS,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
)

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"
DEFAULT_VERSION = "2023-06-01"
_JSON = "application/json"


def _overridden(request: ChatRequest, overrides: Mapping[str, Any]) -> tuple[ChatRequest, dict[str, Any]]:
    """Portkey's override_params applied to the neutral request: (request, keys to put in the body as they are)."""
    if not overrides:
        return request, {}
    params = {**request.params, **{k: v for k, v in overrides.items() if k in CHAT_PARAMS}}
    verbatim = {k: v for k, v in overrides.items() if k not in CHAT_PARAMS and k != "model"}
    return dataclasses.replace(request, model=overrides.get("model", request.model), params=params), verbatim


def _created(value: Any) -> int:
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except (TypeError, ValueError):
        return 0


@dataclasses.dataclass(frozen=True, slots=True)
class Anthropic:
    """Anthropic's Messages API. `clock` stamps `created` (Anthropic answers carry no timestamp)."""

    name: str = "anthropic"
    base_url: str = DEFAULT_BASE_URL
    clock: Callable[[], float] = dataclasses.field(default=time.time, repr=False, compare=False)
    stream_framing: ClassVar[str] = "sse"
    translated: ClassVar[bool] = True  # strict OpenAI compliance strips its extras (compliance.py)

    def _headers(self, target: Target, accept: str = _JSON) -> dict[str, str]:
        options = target.provider_options
        headers = {"content-type": _JSON, "accept": accept,
                   "anthropic-version": options.get("anthropic_version") or DEFAULT_VERSION}
        if options.get("anthropic_beta"):
            headers["anthropic-beta"] = options["anthropic_beta"]
        if target.api_key:
            headers["x-api-key"] = target.api_key
        headers.update(target.forward_headers)
        return headers

    def _url(self, target: Target, path: str) -> str:
        return (target.base_url or self.base_url).rstrip("/") + path

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        request, verbatim = _overridden(request, target.override_params)
        body = encode_body(request, stream=stream)
        body.update(verbatim)  # Portkey contract §4: override_params win
        headers = self._headers(target, "text/event-stream" if stream else _JSON)
        return HttpCall("POST", self._url(target, "/messages"), headers, orjson.dumps(body))

    def decode_chat(self, body: bytes) -> ChatResponse:
        raw = loads_json(body, self.name)
        try:
            return decode_message(raw, int(self.clock()))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    def chat_stream_decoder(self, request: ChatRequest | None = None) -> AnthropicStreamDecoder:
        """`request` decides the final usage chunk (include_usage); without it the chunk is sent."""
        return AnthropicStreamDecoder(self.name, int(self.clock()), request is None or request.include_usage)

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        raise InvalidRequest("anthropic does not support embeddings")

    def decode_embeddings(self, body: bytes) -> EmbeddingsResponse:
        raise InvalidRequest("anthropic does not support embeddings")

    def encode_list_models(self, target: Target) -> HttpCall:
        headers = self._headers(target)
        del headers["content-type"]
        return HttpCall("GET", self._url(target, "/models?limit=1000"), headers)  # 1000: the most one page holds

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raw = loads_json(body, self.name)
        try:
            return [ModelInfo(m["id"], _created(m.get("created_at")), "anthropic") for m in raw["data"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        try:
            error = orjson.loads(body).get("error")
        except (orjson.JSONDecodeError, AttributeError):
            error = None
        if not isinstance(error, dict):  # an HTML or text page from a proxy: keep the status, wrap the text
            error = {"message": body[:500].decode("utf-8", "replace").strip()}
        return error_from(self.name, status, error, retry_after_seconds(headers))
