"""Loopback fake of Google's Gemini API on 127.0.0.1, in its wire format: `POST /v1(beta)/models/{m}:generateContent`,
`:streamGenerateContent` (`?alt=sse`: one GenerateContentResponse per `data:` event, `\\r\\n` line ends, no end
marker; without it, one JSON array), `:batchEmbedContents` and `GET /v1(beta)/models`. Errors use Google's envelope.

Owns HTTP: routing, auth (`x-goog-api-key` or `?key=`; `bad-key` is refused), request recording, strict request
validation (tests/oracles_gemini.py) and reply timing; bodies come from gemini_replies. Behaviour is scripted by the
model name in the path, as for the OpenAI fake (`gemini-2.5-flash+error-429`, `+chunks-3`, `+thinking`, ...).
Never imported by gateway code.

    python -m tests.fakes.gemini_upstream --port 8002 --no-strict     # serves until SIGTERM / SIGINT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import gemini_replies as replies
from tests.fakes.faults import ConnectionReset, FlakyCounts, StreamBreak
from tests.fakes.openai_directives import Directives
from tests.fakes.openai_replies import html_page
from tests.fakes.openai_upstream import RecordedRequest, _config, _EventStream, _exit_cleanly, _run

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_VERSIONS = ("v1", "v1beta")
_METHODS = ("generateContent", "streamGenerateContent", "batchEmbedContents")
BAD_KEY = "bad-key"


class FakeGemini:
    """`with FakeGemini() as fake: genai.Client(api_key="k", http_options={"base_url": fake.origin})`."""

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        self.strict = strict
        self.record = record
        self.host, self.port = host, port
        self.requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._oracles: Any = None
        self._flaky = FlakyCounts()
        self.app = Starlette(routes=[
            Route("/{version}/models", self._models, methods=["GET"]),
            Route("/{version}/models/{call:path}", self._call, methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=_ALL_METHODS),
        ])

    @property
    def origin(self) -> str:
        """What the google-genai SDK takes as `base_url` (it adds `/v1` or `/v1beta`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """A gateway target's base URL (the API version included, as in the provider's default)."""
        return f"{self.origin}/v1beta"

    def clear(self) -> None:
        """Forget recorded requests and the flaky-n counts."""
        self.requests.clear()
        self._flaky.clear()

    def calls(self, model: str) -> int:
        """Recorded POSTs (any method) to exactly this model name; needs record=True."""
        return sum(r.method == "POST" and r.path.rpartition("/models/")[2].partition(":")[0] == model
                   for r in list(self.requests))

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> FakeGemini:
        self._load_oracles()
        sock = self._bind()
        self._server = uvicorn.Server(_config(self.app))
        self._thread = threading.Thread(target=_run, args=(self._server, sock), name=f"fake-gemini:{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake Gemini upstream did not start on port {self.port}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._load_oracles()
        sock = self._bind()
        print(f"fake Gemini upstream listening on {self.base_url} (strict={self.strict})", flush=True)
        self._server = uvicorn.Server(_config(self.app))
        signal.signal(signal.SIGTERM, _exit_cleanly)
        _run(self._server, sock)

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(4096)
        self.port = sock.getsockname()[1]
        return sock

    def _load_oracles(self) -> None:
        if self.strict and self._oracles is None:
            from tests import oracles_gemini

            self._oracles = oracles_gemini

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
        return _EventStream(_sse(events, directives), _headers(), record if self.record else None)

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

    async def _log(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        record = RecordedRequest(request.method, request.url.path, dict(request.query_params), dict(request.headers),
                                 raw, parsed)
        if self.record:
            self.requests.append(record)
        return record

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
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.gemini_upstream", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port (printed on start)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-strict", dest="strict", action="store_false", help="skip SDK-type request validation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        FakeGemini(strict=args.strict, record=False, host=args.host, port=args.port).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
