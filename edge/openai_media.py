"""OpenAI Images and Audio JSON / multipart <-> media messages: pure functions.

Images: the server returns bytes or URLs; the edge renders bytes as `b64_json`. Speech: the server streams audio
bytes and their content type. Transcriptions: multipart form fields in, JSON or text out as `response_format` asks.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from edge.openai_response import struct_to_json
from edge.shapes import RequestShapeError, build_request, read_array, read_int, read_number, read_string, setter
from gateway_grpc.v1 import media_pb2

IMAGE_FIELDS: dict[str, Callable[[Any, Any, str], None]] = {
    "model": setter("model", read_string),
    "prompt": setter("prompt", read_string),
    "n": setter("n", read_int),
    "size": setter("size", read_string),
    "quality": setter("quality", read_string),
    "style": setter("style", read_string),
    "response_format": setter("response_format", read_string),
    "background": setter("background", read_string),
    "output_format": setter("output_format", read_string),
    "user": setter("user", read_string),
}
SPEECH_FIELDS: dict[str, Callable[[Any, Any, str], None]] = {
    "model": setter("model", read_string),
    "input": setter("input", read_string),
    "voice": setter("voice", read_string),
    "response_format": setter("response_format", read_string),
    "speed": setter("speed", read_number),
    "instructions": setter("instructions", read_string),
}
TEXT_FORMATS = {"text": "text/plain", "srt": "text/plain", "vtt": "text/vtt"}


def _required(body: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise RequestShapeError(name, "required")


def image_request_from_json(body: dict[str, Any]) -> media_pb2.CreateImageRequest:
    _required(body, ("prompt",))
    return build_request(media_pb2.CreateImageRequest(), body, IMAGE_FIELDS)


def images_json(response: media_pb2.CreateImageResponse) -> dict[str, Any]:
    data = []
    for image in response.data:
        item: dict[str, Any] = {"b64_json": base64.b64encode(image.data).decode()} if image.data else {"url": image.url}
        if image.revised_prompt:
            item["revised_prompt"] = image.revised_prompt
        data.append(item)
    body: dict[str, Any] = {"created": response.created, "data": data}
    if response.HasField("usage"):
        usage = response.usage
        body["usage"] = {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
                         "total_tokens": usage.total_tokens}
    return body


def speech_request_from_json(body: dict[str, Any]) -> media_pb2.CreateSpeechRequest:
    _required(body, ("model", "input", "voice"))
    return build_request(media_pb2.CreateSpeechRequest(), body, SPEECH_FIELDS)


# ---- transcriptions and translations (multipart) ----


def _form_text(form: dict[str, list[Any]], name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    if not isinstance(values[-1], str):
        raise RequestShapeError(name, "expected a text field, got a file")
    return values[-1]


def audio_request_from_form(form: dict[str, list[Any]], file: tuple[str, bytes], translate: bool) -> Any:
    """The multipart fields (name -> values, files excluded) and the uploaded file -> the request message."""
    message = media_pb2.CreateTranslationRequest() if translate else media_pb2.CreateTranscriptionRequest()
    message.filename, message.file = file
    model = _form_text(form, "model")
    if not model:
        raise RequestShapeError("model", "required")
    message.model = model
    known = {"model", "file", "prompt", "response_format", "temperature"} | (
        set() if translate else {"language", "timestamp_granularities[]", "timestamp_granularities"})
    for name in ("prompt", "response_format") + (() if translate else ("language",)):
        value = _form_text(form, name)
        if value is not None:
            setattr(message, name, value)
    temperature = _form_text(form, "temperature")
    if temperature is not None:
        message.temperature = _float(temperature, "temperature")
    if not translate:
        for name in ("timestamp_granularities[]", "timestamp_granularities"):
            message.timestamp_granularities.extend(read_string(v, name) for v in read_array(form.get(name, []), name))
    extra = {name: values[-1] for name, values in form.items() if name not in known and isinstance(values[-1], str)}
    if extra:
        message.extra.update(extra)
    return message


def _float(text: str, path: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RequestShapeError(path, f"expected a number, got {text[:40]!r}") from None


def audio_reply(response: Any, response_format: str) -> tuple[bytes | dict[str, Any], str]:
    """The answer body and its media type: text formats as text, JSON ones as OpenAI's objects."""
    if response_format in TEXT_FORMATS:
        return (response.raw or response.text).encode(), TEXT_FORMATS[response_format]
    body: dict[str, Any] = {"text": response.text}
    if response_format == "verbose_json":
        if getattr(response, "language", ""):
            body["language"] = response.language
        if response.HasField("duration"):
            body["duration"] = response.duration
    if response.HasField("extra"):
        body.update(struct_to_json(response.extra))
    return body, "application/json"
