"""OpenAI's Images and Audio APIs for the OpenAI family: image generation, speech, transcription and translation.
Pure translation; mixed into the OpenAI provider class, whose `_url` and `_headers` it uses. Which of these APIs a
host serves is its Dialect's `media` (`supports`): an OpenAI-compatible host has the methods but not every service.

Multipart bodies are built with urllib3's encoder (the transport sends bytes); base64 images become bytes here and
the edge encodes them again for REST callers who asked for `b64_json`.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import Any

import orjson
from urllib3 import encode_multipart_formdata

from gateway_grpc.errors import ProviderBadResponse
from gateway_grpc.media import (
    GeneratedImage,
    ImageRequest,
    ImageResponse,
    SpeechRequest,
    TranscriptionRequest,
    TranscriptionResponse,
)
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.openai_dialect import COMPLETIONS, Dialect
from gateway_grpc.providers.openai_wire import decode_usage
from gateway_grpc.providers.wire import loads_json
from gateway_grpc.types import Target

_TRANSCRIPTION_KEYS = ("text", "language", "duration")


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class OpenAIMedia:
    """Media methods of an OpenAI-family provider (`name`, `dialect`, `_url(target, path)`, `_headers(target)` come
    from it)."""

    __slots__ = ()
    name: str
    dialect: Dialect

    def supports(self, capability: str) -> bool:
        """Whether the host serves `capability` (the provider method's name): its dialect says."""
        return capability in self.dialect.media or (capability == COMPLETIONS and self.dialect.completions)

    def _url(self, target: Target, path: str) -> str:  # pragma: no cover - provided by the provider class
        raise NotImplementedError

    def _headers(self, target: Target) -> dict[str, str]:  # pragma: no cover - provided by the provider class
        raise NotImplementedError

    # ---- images ----

    def encode_images(self, request: ImageRequest, target: Target) -> HttpCall:
        body = {"model": request.model, "prompt": request.prompt, **request.params, **request.extra,
                **target.override_params}
        return HttpCall("POST", self._url(target, "/images/generations"), self._headers(target), orjson.dumps(body))

    def decode_images(self, body: bytes) -> ImageResponse:
        raw = loads_json(body, self.name)
        try:
            images = tuple(self._image(item) for item in raw["data"])
            return ImageResponse(int(raw.get("created") or 0), images, decode_usage(raw.get("usage")))
        except (KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name) from exc

    @staticmethod
    def _image(item: dict[str, Any]) -> GeneratedImage:
        data = base64.b64decode(item["b64_json"], validate=True) if item.get("b64_json") else b""
        return GeneratedImage(url=item.get("url") or "", data=data, revised_prompt=item.get("revised_prompt") or "")

    # ---- audio ----

    def encode_speech(self, request: SpeechRequest, target: Target) -> HttpCall:
        body = {"model": request.model, "input": request.input, "voice": request.voice, **request.params,
                **request.extra, **target.override_params}
        headers = self._headers(target)
        headers["accept"] = "*/*"
        return HttpCall("POST", self._url(target, "/audio/speech"), headers, orjson.dumps(body))

    def encode_transcription(self, request: TranscriptionRequest, target: Target) -> HttpCall:
        kind = mimetypes.guess_type(request.filename)[0] or "application/octet-stream"
        fields: list[tuple[str, Any]] = [("file", (request.filename or "audio", request.file, kind))]
        values = {"model": request.model, **request.params, **request.extra, **target.override_params}
        for name, value in values.items():
            if isinstance(value, list | tuple):  # OpenAI's array form fields: `timestamp_granularities[]`
                fields.extend((f"{name}[]", _form_value(item)) for item in value)
            elif value is not None:
                fields.append((name, _form_value(value)))
        body, content_type = encode_multipart_formdata(fields)
        headers = self._headers(target)
        headers["content-type"] = content_type
        path = "/audio/translations" if request.translate else "/audio/transcriptions"
        return HttpCall("POST", self._url(target, path), headers, body)

    def decode_transcription(self, body: bytes, content_type: str) -> TranscriptionResponse:
        if not content_type.startswith("application/json"):
            text = body.decode("utf-8", "replace")
            return TranscriptionResponse(text=text, raw=text)
        raw = loads_json(body, self.name)
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
            raise ProviderBadResponse(f"Invalid response received from {self.name}: {body[:200]!r}",
                                      provider=self.name)
        duration = raw.get("duration")
        return TranscriptionResponse(
            text=raw["text"], language=raw.get("language") or "",
            duration=float(duration) if isinstance(duration, int | float) else None,
            extra={k: v for k, v in raw.items() if k not in _TRANSCRIPTION_KEYS},
        )
