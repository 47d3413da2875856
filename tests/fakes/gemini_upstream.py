"""Loopback fake of Google's Gemini API on 127.0.0.1, in its wire format: `POST /v1(beta)/models/{m}:generateContent`,
`:streamGenerateContent` (`?alt=sse`: one GenerateContentResponse per `data:` event, `\\r\\n` line ends, no end
marker; without it, one JSON array), `:batchEmbedContents` and `GET /v1(beta)/models`. Errors use Google's envelope.

Owns HTTP: routing, auth (`x-goog-api-key` or `?key=`; `bad-key` is refused), strict request validation
(tests/oracles_gemini.py) and reply timing; bodies come from gemini_replies, the server lifecycle and request log
from loopback. Behaviour is scripted by the model name in the path, as for the OpenAI fake
(`gemini-2.5-flash+error-429`, `+chunks-3`, `+thinking`, ...). Never imported by gateway code.

    python -m tests.fakes.gemini_upstream --port 8002 --no-strict     # serves until SIGTERM / SIGINT
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import gemini_replies as replies
from tests.fakes.faults import ConnectionReset, StreamBreak
from tests.fakes.loopback import ALL_METHODS, RecordedRequest, RecordingServer, cli
from tests.fakes.openai_directives import Directives
from tests.fakes.openai_replies import html_page

_VERSIONS = ("v1", "v1beta")
_METHODS = ("generateContent", "streamGenerateContent", "batchEmbedContents")
BAD_KEY = "bad-key"


class FakeGemini(RecordingServer):
    """`with FakeGemini() as fake: genai.Client(api_key="k", http_options={"base_url": fake.origin})`; `fake.origin`
    is what the google-genai SDK takes as `base_url` (it adds `/v1` or `/v1beta`)."""

    label = "Gemini"
    api_path = "/v1beta"  # base_url: a gateway target's (the API version included, as in the provider's default)

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        app = Starlette(routes=[
            Route("/{version}/models", self._models, methods=["GET"]),
            Route("/{version}/models/{call:path}", self._call, methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=ALL_METHODS),
        ])
        super().__init__(app, strict=strict, record=record, host=host, port=port)

    def calls(self, model: str) -> int:
        """Recorded POSTs (any method) to exactly this model name; needs record=True."""
        return sum(r.method == "POST" and r.path.rpartition("/models/")[2].partition(":")[0] == model
                   for r in list(self.requests))

    def _load_oracles(self) -> Any:
        from tests import oracles_gemini

        return oracles_gemini

    # --- routes ---------------------------------------------------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        await self._log(request)
        version = request.path_params["version"]
        if version not in _VERSIONS:
            return await self._not_found(request)
        return _unauthorized(request) or _json(200, replies.models_page())

    async def _call(self, request: Request) -> Response:
        record = await self._log(request)
        version = request.path_params["version"]
        model, _, method = request.path_params["call"].removeprefix("models/").rpartition(":")
        if version not in _VERSIONS or method not in _METHODS or not model:
            return _not_found_reply(request)
        if (failure := _unauthorized(request) or self._invalid(record, method, model)) is not None:
            return failure
        try:
            directives, _ = replies.parse(model)
        except ValueError as error:
            return _json(400, replies.error_body(400, str(error)))
        if (scripted := await self._scripted(model, directives, version, method)) is not None:
            return scripted
        response_id = f"fake{next(self._ids):012d}"
        if method == "batchEmbedContents":
            return _json(200, replies.batch_embed(record.json))
        if method == "generateContent":
            return _json(200, replies.generate_content(record.json, model, response_id=response_id))
        events = replies.stream_events(record.json, model, response_id=response_id)
        if request.query_params.get("alt") != "sse":  # Google's default stream: one JSON array
            return _json(200, [event for _, event in events])
        return self._stream(_sse(events, directives), _headers(), record)

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _not_found_reply(request)

    # --- request handling -----------------------------------------------------------------------------------------

    def _invalid(self, record: RecordedRequest, method: str, model: str) -> Response | None:
        """400 for a body that is not JSON, fails the strict oracle, or embeds with another model than the URL's."""
        body = record.json
        if not isinstance(body, dict):
            return _json(400, replies.error_body(400, "Invalid JSON payload received."))
        if self._oracles is not None:
            check = "embed_request_errors" if method == "batchEmbedContents" else "generate_content_errors"
            record.oracle_errors = getattr(self._oracles, check)(body, camel_case=False)  # the API takes both
            if record.oracle_errors:
                return _json(400, replies.error_body(400, "oracle: " + "; ".join(record.oracle_errors)))
        if method == "batchEmbedContents":
            for i, item in enumerate(body.get("requests") or ()):
                if item.get("model") != f"models/{model}":
                    message = f"* BatchEmbedContentsRequest.requests[{i}].model: must match the model in the URL"
                    return _json(400, replies.error_body(400, message))
        return None

    async def _scripted(self, model: str, d: Directives, version: str, method: str) -> Response | None:
        """flaky-, delay-, error-, reset, html- and bad-json directives; None when the normal reply follows."""
        flaky = d.flaky is not None and self._flaky.fails(model, d.flaky)
        if d.delay:
            await asyncio.sleep(d.delay / 1000)
        if flaky or d.error is not None:
            status = 503 if flaky else d.error
            body = replies.status_error(status, model=d.base, version=version, method=method,
                                        retry_after=d.retry_after or 1)
            return _json(status, body, d.retry_headers())
        if d.reset:
            return ConnectionReset()
        if d.html is not None:
            return Response(html_page(d.html), d.html, _headers(), media_type="text/html")
        if d.bad_json:
            return Response(replies.BROKEN_JSON, 200, _headers(), media_type="application/json")
        return None


async def _sse(events: list[tuple[str, dict]], d: Directives) -> AsyncIterator[bytes]:
    """`data:` events with \\r\\n line ends, as Google sends them; stream-break / stream-error cut in after n content
    events, bad-sse after the first."""
    cut = d.stream_break if d.stream_break is not None else d.stream_error
    for sent, (_, event) in enumerate(events):
        if sent == cut:
            if d.stream_break is not None:
                raise StreamBreak(f"stream-break-{cut}")
            yield _event(replies.status_error(500))
            return
        if d.gap and sent:
            await asyncio.sleep(d.gap / 1000)
        yield _event(event)
        if d.bad_sse:
            yield replies.BROKEN_SSE_EVENT
            return


def _event(body: dict) -> bytes:
    return b"data: " + orjson.dumps(body) + b"\r\n\r\n"


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-goog-fake": "1", **(extra or {})}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, _headers(headers), media_type="application/json")


def _not_found_reply(request: Request) -> Response:
    return _json(404, replies.error_body(404, f"The requested URL {request.url.path} was not found on this server."))


def _unauthorized(request: Request) -> Response | None:
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    if not key:
        return _json(403, replies.error_body(403, replies.UNREGISTERED))
    if key == BAD_KEY:
        return _json(400, replies.bad_key())
    return None


def main(argv: list[str] | None = None) -> int:
    return cli(FakeGemini, "tests.fakes.gemini_upstream", __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
