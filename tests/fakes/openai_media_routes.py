"""The fake OpenAI upstream's Images and Audio routes, in OpenAI's wire format: image generation (URLs or base64),
speech (audio bytes streamed in pieces), transcriptions and translations (multipart in; JSON, verbose JSON or text
out). Requests are recorded and, when the fake is strict, checked against the openai SDK's request types.

Served twice, as the chat routes are: OpenAI's under `/v1`, Azure OpenAI's under `/openai/deployments/{deployment}`
(the paths `openai.AzureOpenAI` calls), each flavor refusing what its API refuses before anything else (Azure: no
`api-version` is a 404, no `api-key` / Entra bearer a 401; OpenAI: no Bearer key a 401)."""

from __future__ import annotations

import base64
import functools
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import openai_replies as replies
from tests.fakes.openai_flavors import AZURE, OPENAI, Flavor

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))  # what every generated image holds
AUDIO = bytes(range(256)) * 32  # 8 KiB of "audio", sent in AUDIO_PIECES pieces
AUDIO_PIECES = 4
AUDIO_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
               "wav": "audio/wav", "pcm": "audio/pcm"}


def media_routes(fake: Any) -> list[Route]:
    routes = []
    for prefix, flavor in (("/v1", OPENAI), ("/openai/deployments/{deployment}", AZURE)):
        routes += [
            Route(f"{prefix}/images/generations", functools.partial(images, fake, flavor), methods=["POST"]),
            Route(f"{prefix}/audio/speech", functools.partial(speech, fake, flavor), methods=["POST"]),
            Route(f"{prefix}/audio/transcriptions", functools.partial(transcribe, fake, flavor, False),
                  methods=["POST"]),
            Route(f"{prefix}/audio/translations", functools.partial(transcribe, fake, flavor, True), methods=["POST"]),
        ]
    return routes


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps(replies.error_body(message, "invalid_request_error")), status,
                    media_type="application/json")


def _refused(flavor: Flavor, request: Request) -> Response | None:
    refused = flavor.refuse(request)
    return None if refused is None else Response(orjson.dumps(refused[1]), refused[0], media_type="application/json")


async def _checked(fake: Any, flavor: Flavor, request: Request, params: Any) -> tuple[Any, Response | None]:
    record = await fake._log(request)
    if (refused := _refused(flavor, request)) is not None:
        return record, refused
    if not isinstance(record.json, dict):
        return record, _error(400, "the body must be a JSON object")
    if fake.strict:
        from tests import oracles

        record.oracle_errors = oracles.request_errors(params, record.json)
        if record.oracle_errors:
            return record, _error(400, "oracle: " + "; ".join(record.oracle_errors))
    return record, None


async def images(fake: Any, flavor: Flavor, request: Request) -> Response:
    from openai.types.image_generate_params import ImageGenerateParams

    record, failure = await _checked(fake, flavor, request, ImageGenerateParams)
    if failure is not None:
        return failure
    body = record.json
    encoded = body.get("response_format") == "b64_json"
    data = [{"b64_json": base64.b64encode(PNG).decode()} if encoded else {"url": f"https://images.fake/{i}.png"}
            for i in range(body.get("n") or 1)]
    data[0]["revised_prompt"] = f"revised: {body['prompt']}"
    return Response(orjson.dumps({"created": 1700000000, "data": data}), media_type="application/json")


async def speech(fake: Any, flavor: Flavor, request: Request) -> Response:
    from openai.types.audio.speech_create_params import SpeechCreateParams

    record, failure = await _checked(fake, flavor, request, SpeechCreateParams)
    if failure is not None:
        return failure
    kind = AUDIO_TYPES.get(record.json.get("response_format") or "mp3", "application/octet-stream")
    return StreamingResponse(_pieces(), media_type=kind)


async def _pieces() -> AsyncIterator[bytes]:
    size = len(AUDIO) // AUDIO_PIECES
    for start in range(0, len(AUDIO), size):
        yield AUDIO[start:start + size]


async def transcribe(fake: Any, flavor: Flavor, translate: bool, request: Request) -> Response:
    record = await fake._log(request)
    if (refused := _refused(flavor, request)) is not None:
        return refused
    async with request.form() as form:
        upload, model = form.get("file"), form.get("model")
        if upload is None or isinstance(upload, str) or not isinstance(model, str):
            return _error(400, "file and model are required")
        audio, name = await upload.read(), upload.filename
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    record.json = fields
    text = f"{'translated' if translate else 'transcribed'} {len(audio)} bytes of {name}"
    return _transcription(text, fields.get("response_format") or "json")


def _transcription(text: str, response_format: str) -> Response:
    if response_format in ("text", "srt", "vtt"):
        body = text if response_format == "text" else f"1\n00:00:00,000 --> 00:00:01,500\n{text}\n"
        return Response(body, media_type="text/plain")
    answer: dict[str, Any] = {"text": text}
    if response_format == "verbose_json":
        answer |= {"language": "english", "duration": 1.5, "segments": [{
            "id": 0, "seek": 0, "start": 0.0, "end": 1.5, "text": text, "tokens": [1, 2, 3], "temperature": 0.0,
            "avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01}]}
    return Response(orjson.dumps(answer), media_type="application/json")
