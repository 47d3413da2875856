"""Google Vertex AI (`vertex-ai`): Gemini models through Google's publisher API and Claude models through Anthropic's,
both at per-project, per-region URLs with OAuth bearer auth. Pure; no I/O. Bodies and answers are the Gemini and
Anthropic translators' (composed, not copied); embeddings (`:predict`) are read and written here.

URL: `https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}/publishers/{publisher}/
models/{model}:{method}` (`global` -> `aiplatform.googleapis.com`; `us` / `eu` -> their `.rep.` hosts, as
AnthropicVertex does); a custom host replaces the origin. Project, region and model are charset-checked and the URL
is assembled by urllib's builders (Portkey contract §13 row 23).
- Gemini: `:generateContent`, `:streamGenerateContent?alt=sse`, embeddings `:predict` with Vertex's documented
  text-embedding body `{"instances": [{"content", "task_type"?, "title"?}], "parameters": {"outputDimensionality"?,
  "autoTruncate"?}}`, read from `predictions[].embeddings.{values, statistics.token_count}`.
- Claude (a model id starting `claude`, or Portkey's `anthropic.` prefix): `:rawPredict` / `:streamRawPredict` with
  Anthropic's Messages body minus `model`, plus `"anthropic_version": "vertex-2023-10-16"`.
Answers and errors say which publisher wrote them (Anthropic's JSON has a `type`, Google's does not), so decoding
picks the translator from the body: the model may have been changed by override_params after routing.

Auth (Portkey's order: the service account wins when both are given): with a service-account key
(`vertex_service_account_json`) ProviderCall exchanges it for an OAuth token through the token seam below
(providers/tokens.py) and hands it over as the `access_token` option; else `api_key` is taken as an
already-minted access token; else 400. The project is `vertex_project_id`, else the key's `project_id`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import orjson

from gateway_grpc.errors import GatewayError, InvalidRequest, ProviderError
from gateway_grpc.providers import vertex_auth
from gateway_grpc.providers.anthropic import Anthropic
from gateway_grpc.providers.base import HttpCall, SseEvent, StreamDecoder
from gateway_grpc.providers.gemini import Gemini
from gateway_grpc.providers.gemini_request import encode_body as encode_gemini_body
from gateway_grpc.providers.tokens import ACCESS_TOKEN_OPTION
from gateway_grpc.providers.vertex_auth import SA_HEADER, SA_OPTION, ServiceAccount, read_service_account
from gateway_grpc.providers.vertex_embeddings import decode_predictions, encode_predict_body
from gateway_grpc.types import (
    EMPTY,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelInfo,
    Target,
)

ANTHROPIC_VERSION = "vertex-2023-10-16"
_JSON = "application/json"
_SSE = "text/event-stream"
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,127}")  # ids, numbers, and legacy `example.com:proj` ids
_REGION = re.compile(r"[a-z][a-z0-9-]{0,39}")
# option -> (the Portkey header that sets it, its charset)
_OPTIONS = {"vertex_project_id": ("x-portkey-vertex-project-id", _PROJECT),
            "vertex_region": ("x-portkey-vertex-region", _REGION)}
_HOSTS = {"global": "aiplatform.googleapis.com", "us": "aiplatform.us.rep.googleapis.com",
          "eu": "aiplatform.eu.rep.googleapis.com"}
_PUBLISHERS = frozenset({"google", "anthropic"})
_OTHER_PUBLISHERS = frozenset({"meta", "mistralai", "endpoints"})  # Portkey prefixes not served here yet


def publisher_of(model: str) -> tuple[str, str]:
    """(publisher, model id): Portkey's `google.` / `anthropic.` prefixes, else Claude by name, else Google."""
    prefix, dot, rest = model.partition(".")
    if dot and prefix in _PUBLISHERS:
        return prefix, rest
    if dot and prefix in _OTHER_PUBLISHERS:
        raise InvalidRequest.field("model", f"vertex-ai does not support {prefix} models yet ({model[:100]!r})")
    return ("anthropic" if model.startswith("claude") else "google"), model


def _option(option: str, value: str) -> str:
    header, charset = _OPTIONS[option]
    if not value:
        raise InvalidRequest.field(header, f"vertex-ai needs {option} (the {header} header or the config's "
                                           f"`{option}`)")
    if not charset.fullmatch(value):
        raise InvalidRequest.field(header, f"{option} {value[:80]!r} has characters Vertex AI does not allow")
    return value


def _model_id(model: str) -> str:
    if not _MODEL.fullmatch(model) or ".." in model:
        raise InvalidRequest.field("model", f"{model[:100]!r} is not a Vertex AI model id")
    return model


def _answered_by_anthropic(data: bytes | str) -> bool:
    """Anthropic's answers, events and errors carry a top-level `type`; Google's never do."""
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return isinstance(raw, dict) and isinstance(raw.get("type"), str)


class _PublisherStream:
    """A stream decoder that becomes the publisher's own at the first event (named Anthropic events, or a `type`)."""

    __slots__ = ("_anthropic", "_decoder", "_gemini", "_request")

    def __init__(self, gemini: Gemini, anthropic: Anthropic, request: ChatRequest | None) -> None:
        self._gemini, self._anthropic, self._request = gemini, anthropic, request
        self._decoder: StreamDecoder | None = None

    @property
    def done(self) -> bool:
        return self._decoder is not None and self._decoder.done

    def decode(self, event: SseEvent) -> list[ChatChunk]:
        if self._decoder is None:
            if not event.data:
                return []
            anthropic = bool(event.event) or _answered_by_anthropic(event.data)
            translator = self._anthropic if anthropic else self._gemini
            self._decoder = translator.chat_stream_decoder(self._request)
        return self._decoder.decode(event)


@dataclass(frozen=True, slots=True)
class VertexAI:
    """Vertex AI. `clock` (wall-clock seconds) stamps answers and the token grant's iat / exp."""

    name: str = "vertex-ai"
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    stream_framing: ClassVar[str] = "sse"
    _gemini: Gemini = field(init=False, repr=False, compare=False)
    _anthropic: Anthropic = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_gemini", Gemini(name=self.name, clock=self.clock))
        object.__setattr__(self, "_anthropic", Anthropic(name=self.name, clock=self.clock))

    # ---- credentials and URLs ----

    def _account(self, target: Target) -> ServiceAccount | None:
        text = target.provider_options.get(SA_OPTION)
        return read_service_account(text) if text else None

    def _token(self, target: Target) -> str:
        if target.provider_options.get(SA_OPTION):
            token = target.provider_options.get(ACCESS_TOKEN_OPTION)
            if not token:  # encoded without ProviderCall's token seam
                raise GatewayError(f"{self.name}: the service account's access token was not fetched")
            return token
        if target.api_key:
            return target.api_key
        raise InvalidRequest.field(SA_HEADER, f"vertex-ai needs credentials: a service account key (the {SA_HEADER} "
                                              f"header or the config's `{SA_OPTION}`) or an access token "
                                              "(Authorization: Bearer, or the config's `api_key`)")

    def _headers(self, target: Target, publisher: str, accept: str = _JSON) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": accept, "authorization": f"Bearer {self._token(target)}"}
        beta = target.provider_options.get("anthropic_beta")
        if publisher == "anthropic" and beta:
            headers["anthropic-beta"] = beta
        headers.update(target.forward_headers)
        return headers

    def _project(self, target: Target) -> str:
        value = target.provider_options.get("vertex_project_id", "")
        if not value:
            account = self._account(target)
            value = account.project_id if account is not None else ""
        return _option("vertex_project_id", value)

    def _url(self, target: Target, publisher: str, model: str, method: str, query: str = "") -> str:
        region = _option("vertex_region", target.provider_options.get("vertex_region", ""))
        segments = ("v1", "projects", self._project(target), "locations", region, "publishers", publisher, "models",
                    f"{_model_id(model)}:{method}")
        path = "/" + "/".join(quote(s, safe="@:+") for s in segments)
        if target.base_url:  # a custom host (already SSRF-checked) replaces the origin
            parts = urlsplit(target.base_url)
            return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, query, ""))
        return urlunsplit(("https", _HOSTS.get(region, f"{region}-aiplatform.googleapis.com"), path, query, ""))

    # ---- the token seam (providers/tokens.py TokenSource) ----

    def token_key(self, target: Target) -> str | None:
        account = self._account(target)
        return None if account is None else account.cache_key()

    def token_request(self, target: Target) -> HttpCall | None:
        account = self._account(target)
        return None if account is None else vertex_auth.token_request(account, self.clock())

    def decode_token(self, body: bytes) -> tuple[str, float]:
        return vertex_auth.decode_token(self.name, body)

    def decode_token_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return vertex_auth.decode_token_error(self.name, status, body, headers)

    # ---- requests ----

    def encode_chat(self, request: ChatRequest, target: Target, *, stream: bool) -> HttpCall:
        publisher, _ = publisher_of(str(target.override_params.get("model", request.model)))
        if publisher == "anthropic":
            return self._encode_claude(request, target, stream)
        model, body = encode_gemini_body(request, target.override_params)
        if stream and request.stream_extra:
            key = next(iter(request.stream_extra))
            raise InvalidRequest.field(f"stream_options.{key}", f"vertex-ai does not support the stream option {key!r}")
        method, query = ("streamGenerateContent", "alt=sse") if stream else ("generateContent", "")
        url = self._url(target, "google", publisher_of(model)[1], method, query)
        return HttpCall("POST", url, self._headers(target, "google", _SSE if stream else _JSON), orjson.dumps(body))

    def _encode_claude(self, request: ChatRequest, target: Target, stream: bool) -> HttpCall:
        bare = replace(target, api_key="", provider_options=EMPTY, forward_headers=EMPTY)  # only the body is used
        body = orjson.loads(self._anthropic.encode_chat(request, bare, stream=stream).body or b"{}")
        model = publisher_of(str(body.pop("model")))[1]
        body["anthropic_version"] = ANTHROPIC_VERSION
        url = self._url(target, "anthropic", model, "streamRawPredict" if stream else "rawPredict")
        headers = self._headers(target, "anthropic", _SSE if stream else _JSON)
        return HttpCall("POST", url, headers, orjson.dumps(body))

    def embedding_batch_size(self, request: EmbeddingsRequest) -> int:
        """Instances per :predict call: gemini-embedding models take one text per request, text-embedding models
        up to 250 (Vertex's documented limits); more are sent in batches."""
        return 1 if request.model.startswith("gemini-embedding") else 250

    def encode_embeddings(self, request: EmbeddingsRequest, target: Target) -> HttpCall:
        overrides = dict(target.override_params)
        publisher, model = publisher_of(str(overrides.pop("model", request.model)))
        if publisher != "google":
            raise InvalidRequest.field("model", f"vertex-ai serves embeddings from Google's models, not {model!r}")
        body = encode_predict_body(request, overrides)
        return HttpCall("POST", self._url(target, "google", model, "predict"), self._headers(target, "google"),
                        orjson.dumps(body))

    def encode_list_models(self, target: Target) -> HttpCall:
        raise InvalidRequest(f"{self.name} does not support listing models")

    # ---- answers ----

    def _translator(self, body: bytes) -> Gemini | Anthropic:
        return self._anthropic if _answered_by_anthropic(body) else self._gemini

    def decode_chat(self, body: bytes) -> ChatResponse:
        return self._translator(body).decode_chat(body)

    def chat_stream_decoder(self, request: ChatRequest | None = None) -> _PublisherStream:
        return _PublisherStream(self._gemini, self._anthropic, request)

    def decode_embeddings(self, body: bytes) -> EmbeddingsResponse:
        return decode_predictions(self.name, body)

    def decode_list_models(self, body: bytes) -> list[ModelInfo]:
        raise InvalidRequest(f"{self.name} does not support listing models")

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return self._translator(body).decode_error(status, body, headers)
