"""Loopback fake of Stability AI's Stable Image API (v2beta) on 127.0.0.1: `POST /v2beta/stable-image/generate/
{core|ultra|sd3}`, multipart/form-data in; base64 JSON (`accept: application/json`) or the raw image (`image/*`) out;
errors in Stability's format `{"id", "name", "errors": [...]}`.

There is no official Stability SDK to run against it, so the fake is the oracle for outgoing requests: every form
field is checked against FIELDS, the documented fields of each endpoint (Stability's API reference, "Generate":
Stable Image Core / Ultra / SD3), and an unknown or repeated field, a value outside its enum or range, a missing
prompt, or a body that is not multipart is a 400 naming it. The empty `none` file part of the reference's Python
examples (`files={"none": ''}`, which makes requests send multipart) is accepted and ignored.

Scripted by directives appended to the prompt: `a fox+error-429`, `+retry-after-2`, `+filtered` (finish_reason
CONTENT_FILTERED), `+bad-json`, `+delay-20`. Error names other than 403's documented `content_moderation` are the
fake's own. Never imported by gateway code.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import LoopbackServer, RecordedRequest

Check = Callable[[str], str | None]  # a form value -> what is wrong with it, or None
BAD_KEY = "sk-bad"
ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STYLE_PRESETS = ("3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance",
                 "fantasy-art", "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami",
                 "photographic", "pixel-art", "tile-texture")
SD3_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash", "sd3-large", "sd3-large-turbo",
              "sd3-medium")
IMAGES = {  # what each output_format answers: the format's magic bytes and a little payload
    "png": b"\x89PNG\r\n\x1a\n" + bytes(range(32)),
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(32)),
    "webp": b"RIFF\x28\x00\x00\x00WEBPVP8 " + bytes(range(32)),
}
ERROR_NAMES = {400: "bad_request", 401: "unauthorized", 403: "content_moderation", 404: "not_found",
               413: "payload_too_large", 422: "invalid_parameters", 429: "rate_limit_exceeded", 500: "internal_error",
               503: "service_unavailable"}
SEED = 343940597  # the answer's seed when the request leaves it to Stability (0 or absent)


def _one_of(*values: str) -> Check:
    return lambda value: None if value in values else f"must be one of: {', '.join(values)}"


def _text(shortest: int = 1, longest: int = 10000) -> Check:
    return lambda value: None if shortest <= len(value) <= longest else f"must be {shortest} to {longest} characters"


def _number(low: float, high: float, *, integer: bool = False) -> Check:
    def check(value: str) -> str | None:
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            return f"must be {'an integer' if integer else 'a number'}"
        return None if low <= number <= high else f"must be between {low} and {high}"

    return check


_COMMON: dict[str, Check] = {
    "prompt": _text(), "negative_prompt": _text(0), "aspect_ratio": _one_of(*ASPECT_RATIOS),
    "seed": _number(0, 4294967294, integer=True), "style_preset": _one_of(*STYLE_PRESETS),
}
FIELDS: dict[str, dict[str, Check]] = {  # endpoint -> its documented text fields
    "core": {**_COMMON, "output_format": _one_of("png", "jpeg", "webp")},
    "ultra": {**_COMMON, "output_format": _one_of("png", "jpeg", "webp"), "strength": _number(0, 1)},
    "sd3": {**_COMMON, "output_format": _one_of("png", "jpeg"), "model": _one_of(*SD3_MODELS),
            "mode": _one_of("text-to-image", "image-to-image"), "strength": _number(0, 1),
            "cfg_scale": _number(1, 10)},
}
FILE_FIELDS = {"core": frozenset(), "ultra": frozenset({"image"}), "sd3": frozenset({"image"})}  # image-to-image
_DIRECTIVE = re.compile(r"(error|delay|retry-after)-(\d+)|(filtered|bad-json)")


def field_errors(endpoint: str, fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> list[str]:
    """Stability-style `field: problem` lines for a generate request's form; empty when it is valid."""
    table, errors = FIELDS[endpoint], []
    names = [name for name, _ in fields]
    errors += [f"{name}: given more than once" for name in sorted({n for n in names if names.count(n) > 1})]
    errors += [f"{name}: unknown field" for name in names if name not in table]
    errors += [f"{name}: {problem}" for name, value in fields if name in table and (problem := table[name](value))]
    errors += [f"{name}: unknown file field" for name, data in files
               if name not in FILE_FIELDS[endpoint] and not (name == "none" and not data)]
    if "prompt" not in names:
        errors.append("prompt: is required")
    return errors


def error_body(status: int, errors: list[str]) -> dict[str, Any]:
    return {"id": f"{next(_error_ids):032x}", "name": ERROR_NAMES.get(status, "error"), "errors": errors}


_error_ids = itertools.count(0xA1B2C3D4)


def _error(status: int, errors: list[str], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(error_body(status, errors)), status, headers, media_type="application/json")


def _directives(prompt: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in prompt.split("+")[1:]:
        if match := _DIRECTIVE.fullmatch(part):
            found[match[1] or match[3]] = int(match[2]) if match[2] else True
    return found


class FakeStability(LoopbackServer):
    """`with FakeStability() as fake:` point a target's base URL at `fake.origin` (what `https://api.stability.ai`
    is to Stability's clients, the gateway's default base URL); `fake.requests` logs calls (their `json` is the
    form's text fields as a dict)."""

    label = "Stability"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(Starlette(routes=[
            Route("/v2beta/stable-image/generate/{endpoint}", self._generate, methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ]), host=host, port=port)
        self.requests: list[RecordedRequest] = []

    def clear(self) -> None:
        self.requests.clear()

    # --- routes ---------------------------------------------------------------------------------------------------

    async def _generate(self, request: Request) -> Response:
        record = await self._log(request)
        endpoint = request.path_params["endpoint"]
        if endpoint not in FIELDS:
            return _error(404, [f"generate/{endpoint}: no such endpoint"])
        if (refused := _unauthorized(request)) is not None:
            return refused
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _error(400, ["content-type: must be multipart/form-data"])
        fields, files = await _read_form(request)
        record.json = dict(fields)
        accept = request.headers.get("accept", "image/*")
        errors = field_errors(endpoint, fields, files)
        if accept not in ("image/*", "application/json"):
            errors.append("accept: must be image/* or application/json")
        if errors:
            return _error(400, errors)
        return await self._answer(dict(fields), accept)

    async def _answer(self, form: dict[str, str], accept: str) -> Response:
        directives = _directives(form["prompt"])
        await asyncio.sleep(directives.get("delay", 0) / 1000)
        if "error" in directives:
            retry = {"retry-after": str(directives["retry-after"])} if "retry-after" in directives else None
            return _error(directives["error"], [f"scripted error {directives['error']}"], retry)
        if "bad-json" in directives:
            return Response(b'{"image": "iVBOR', media_type="application/json")
        kind = form.get("output_format", "png")
        finish = "CONTENT_FILTERED" if "filtered" in directives else "SUCCESS"
        seed = int(form.get("seed", "0")) or SEED
        if accept == "application/json":
            body = {"image": base64.b64encode(IMAGES[kind]).decode(), "finish_reason": finish, "seed": seed}
            return Response(orjson.dumps(body), media_type=f"application/json; type=image/{kind}")
        return Response(IMAGES[kind], media_type=f"image/{kind}", headers={"finish-reason": finish, "seed": str(seed)})

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _error(404, [f"{request.url.path}: not found"])

    async def _log(self, request: Request) -> RecordedRequest:
        record = RecordedRequest(request.method, request.url.path, dict(request.query_params), dict(request.headers),
                                 await request.body(), None)
        self.requests.append(record)
        return record


async def _read_form(request: Request) -> tuple[list[tuple[str, str]], list[tuple[str, bytes]]]:
    fields, files = [], []
    async with request.form() as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((name, await value.read()))
            else:
                fields.append((name, value))
    return fields, files


def _unauthorized(request: Request) -> Response | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return _error(401, ["authorization: missing or not a Bearer token"])
    if key.strip() == BAD_KEY:
        return _error(401, ["authorization: invalid API key"])
    return None
