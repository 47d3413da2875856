"""Stability AI (`stability-ai`): image generation through the Stable Image REST API (v2beta). Pure; no I/O.

Images only: chat, embeddings and model listing are 400s naming the provider (Stability's API has none of them).

Wire, from Stability's API reference (platform.stability.ai/docs/api-reference, "Generate": Stable Image Core, Stable
Image Ultra, Stable Diffusion 3.5; its request/response schemas and error table as restated from Stability's v2beta
OpenAPI) and Portkey `src/providers/stability-ai/{api,imageGenerateV2}.ts`:
- `POST {base}/v2beta/stable-image/generate/{core|ultra|sd3}`, multipart/form-data, `authorization: Bearer <key>`,
  `accept: application/json` -> 200 `{"image": <base64>, "finish_reason": "SUCCESS" | "CONTENT_FILTERED", "seed": n}`.
- Errors: `{"id": ..., "name": ..., "errors": ["..."]}` (403 `content_moderation`; 400, 413, 422, 429, 500).
- The model picks the endpoint: `stable-image-core` / `core` -> core, `stable-image-ultra` / `ultra` -> ultra,
  `sd3*` -> sd3 with the model as its `model` field (`sd3.5-large`, `sd3.5-large-turbo`, `sd3.5-medium`, ...).
- Form fields: `prompt`, `output_format`, `aspect_ratio`; from the caller's extras `negative_prompt`, `seed`,
  `style_preset`, `aspect_ratio` (instead of `size`), and on sd3 `cfg_scale`. Anything else is a 400 naming it
  (image-to-image's `image`, `strength`, `mode` included: this is text to image).

OpenAI's parameters: `n` must be 1 (one image per call; the gateway does not fan out); `size` becomes the nearest
aspect ratio (smallest |log(w/h) - log(ratio)|):

    OpenAI size                    w / h   aspect_ratio
    256x256, 512x512, 1024x1024    1.00    1:1
    1536x1024                      1.50    3:2
    1024x1536                      0.67    2:3
    1792x1024                      1.75    16:9
    1024x1792                      0.57    9:16
    auto                           -       left out (Stability's default, 1:1)

`output_format` is Stability's own name too; `response_format` may only be `b64_json` (Stability returns no URLs:
the bytes come back and the edge renders them as `b64_json`); `user` becomes the `stability-client-user-id` header;
`quality`, `style`, `background`, `moderation` are 400s. A `CONTENT_FILTERED` answer (a blurred image) is an upstream
rejection (400, code `content_policy_violation` as OpenAI reports it), never a success.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn

import orjson
from urllib3 import encode_multipart_formdata

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse, ProviderError, ProviderRejected, RateLimited
from gateway_grpc.media import GeneratedImage, ImageRequest, ImageResponse
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.wire import loads_json, retry_after_seconds, text_or_empty
from gateway_grpc.types import Target

_TEXT_TO_IMAGE = frozenset({"aspect_ratio", "negative_prompt", "output_format", "seed", "style_preset"})
# endpoint -> the form fields it takes besides `prompt` (and sd3's `model`, which the model name sets)
ENDPOINT_FIELDS: dict[str, frozenset[str]] = {
    "core": _TEXT_TO_IMAGE,
    "ultra": _TEXT_TO_IMAGE,
    "sd3": _TEXT_TO_IMAGE | {"cfg_scale"},
}
_ENDPOINTS = {"core": "core", "stable-image-core": "core", "ultra": "ultra", "stable-image-ultra": "ultra"}
ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
_SIZE = re.compile(r"([1-9][0-9]{0,5})x([1-9][0-9]{0,5})")
_FILTERED = "CONTENT_FILTERED"


def _log_ratio(ratio: str) -> float:
    width, height = ratio.split(":")
    return math.log(int(width) / int(height))


def aspect_ratio(size: str) -> str | None:
    """The Stability aspect ratio nearest to an OpenAI `size` (`WxH`); None for `auto`."""
    if size == "auto":
        return None
    match = _SIZE.fullmatch(size)
    if match is None:
        raise InvalidRequest.field("size", f"size {size[:40]!r} is not WIDTHxHEIGHT or auto")
    wanted = math.log(int(match[1]) / int(match[2]))
    return min(ASPECT_RATIOS, key=lambda ratio: abs(_log_ratio(ratio) - wanted))


def endpoint_for(model: str) -> tuple[str, str]:
    """(endpoint, the `model` form field: set for sd3 only) for a model name."""
    if model in _ENDPOINTS:
        return _ENDPOINTS[model], ""
    if model.startswith("sd3"):
        return "sd3", model
    raise InvalidRequest.field("model", f"stability-ai has no stable-image endpoint for {model[:80]!r}: use "
                                        "stable-image-core, stable-image-ultra or an sd3 model")


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # numbers as JSON numbers, booleans as true / false


def _openai_params(values: dict[str, Any]) -> str:
    """Folds OpenAI's own parameters into Stability's fields, in place; returns the `user` to send as a header."""
    if values.pop("n", 1) != 1:
        raise InvalidRequest.field("n", "stability-ai returns one image per call: n must be 1")
    if values.pop("response_format", "b64_json") != "b64_json":
        raise InvalidRequest.field("response_format", "stability-ai returns image bytes, not URLs: use b64_json")
    size = values.pop("size", None)
    if size is not None:
        if "aspect_ratio" in values:
            raise InvalidRequest.field("size", "stability-ai takes size or aspect_ratio, not both")
        ratio = aspect_ratio(str(size))
        if ratio is not None:
            values["aspect_ratio"] = ratio
    return str(values.pop("user", ""))


def _form(request: ImageRequest, target: Target, endpoint: str) -> tuple[dict[str, Any], str]:
    """The form fields besides `prompt` and `model` (a 400 for any the endpoint does not take), and the user."""
    values = {k: v for k, v in {**request.params, **request.extra, **target.override_params}.items() if v is not None}
    user = _openai_params(values)
    allowed = ENDPOINT_FIELDS[endpoint]
    unknown = sorted(values.keys() - allowed)
    if unknown:
        raise InvalidRequest.field(unknown[0], f"stability-ai does not support {unknown[0]} (generate/{endpoint} "
                                               f"takes {', '.join(sorted(allowed))})")
    return values, user


def _error_text(status: int, body: bytes) -> tuple[str, str]:
    """(message, Stability's error name) of an error body: `{"id", "name", "errors": [...]}`, else its text."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    if isinstance(raw, dict) and isinstance(raw.get("errors"), list):
        text = ", ".join(str(e) for e in raw["errors"]) or f"HTTP {status}"
        if raw.get("id"):
            text += f" (error id {raw['id']})"  # Stability asks for it in support tickets
        return text, text_or_empty(raw.get("name"))
    if isinstance(raw, dict) and raw.get("message"):
        return str(raw["message"]), text_or_empty(raw.get("name"))
    return body[:500].decode("utf-8", "replace").strip() or f"HTTP {status}", ""


def _unsupported(what: str) -> NoReturn:
    raise InvalidRequest.field("model", f"stability-ai does not support {what}")


@dataclass(frozen=True, slots=True)
class StabilityAI:
    """Stability's Stable Image generation. `clock` stamps `created` (Stability's answers carry no timestamp)."""

    name: str = "stability-ai"
    base_url: str = "https://api.stability.ai"
    clock: Callable[[], float] = field(default=time.time, repr=False)
    stream_framing: ClassVar[str] = "sse"  # unused: nothing streams

    # ---- images ----

    def encode_images(self, request: ImageRequest, target: Target) -> HttpCall:
        endpoint, model = endpoint_for(request.model)
        values, user = _form(request, target, endpoint)
        fields = [("prompt", request.prompt), *((name, _form_value(v)) for name, v in values.items())]
        if model:
            fields.append(("model", model))
        body, content_type = encode_multipart_formdata(fields)
        headers = {"content-type": content_type, "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        if user:
            headers["stability-client-user-id"] = user
        headers.update(target.forward_headers)
        url = f"{(target.base_url or self.base_url).rstrip('/')}/v2beta/stable-image/generate/{endpoint}"
        return HttpCall("POST", url, headers, body)

    def decode_images(self, body: bytes) -> ImageResponse:
        raw = loads_json(body, self.name)
        if not isinstance(raw, dict) or not isinstance(raw.get("image"), str):
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name)
        if raw.get("finish_reason") == _FILTERED:
            raise ProviderRejected(f"{self.name} error: the image was filtered by Stability's content moderation",
                                   provider=self.name, status=400, error_type="invalid_request_error",
                                   code="content_policy_violation")
        try:
            data = base64.b64decode(raw["image"], validate=True)
        except binascii.Error as exc:
            raise ProviderBadResponse(f"Invalid image received from {self.name}", provider=self.name) from exc
        return ImageResponse(int(self.clock()), (GeneratedImage(data=data),))

    def decode_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        message, name = _error_text(status, body)
        kind = RateLimited if status == 429 else ProviderRejected
        return kind(f"{self.name} error: {message}", provider=self.name, status=status, error_type=name,
                    retry_after=retry_after_seconds(headers))

    # ---- what Stability does not serve: 400s naming the provider ----

    def encode_chat(self, request: Any, target: Target, *, stream: bool) -> HttpCall:
        _unsupported("chat completions")

    def decode_chat(self, body: bytes) -> Any:
        _unsupported("chat completions")

    def chat_stream_decoder(self, request: Any = None) -> Any:
        _unsupported("chat completions")

    def encode_embeddings(self, request: Any, target: Target) -> HttpCall:
        _unsupported("embeddings")

    def decode_embeddings(self, body: bytes) -> Any:
        _unsupported("embeddings")

    def encode_list_models(self, target: Target) -> HttpCall:
        _unsupported("listing models")

    def decode_list_models(self, body: bytes) -> Any:
        _unsupported("listing models")
