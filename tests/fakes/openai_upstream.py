"""Loopback fake of OpenAI's REST API (chat, embeddings, models, media) on 127.0.0.1 in OpenAI's wire format, plus
Azure's and Mistral's dialects (openai_flavors: `origin`, `mistral_url`) and embeddings_upstream's `/voyage`, `/jina`.

Owns HTTP: routing, auth, request recording, strict request validation (tests/oracles.py, imported only when
strict) and the timing of replies; bodies come from openai_replies, connection faults from faults. Behaviour is
scripted by the model name (`gpt-4o-mini+chunks-5+delay-20`, see openai_directives), so callers in other processes
can script it. Never imported by gateway code.

    python -m tests.fakes.openai_upstream --port 8001 --no-strict     # serves until SIGTERM / SIGINT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes import openai_replies as replies
from tests.fakes.embeddings_upstream import embedding_routes
from tests.fakes.faults import ConnectionReset, FlakyCounts, QuietFaults, ResettableHttpTools, StreamBreak
from tests.fakes.openai_directives import Directives, parse_directives
from tests.fakes.openai_flavors import AZURE, MISTRAL, OPENAI, Flavor
from tests.fakes.openai_media_routes import media_routes

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_DONE = b"data: [DONE]\n\n"


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any | None
    oracle_errors: list[str] = field(default_factory=list)
    # For streams: "complete", "client-gone" (the caller hung up first) or "broken" (a stream-break directive);
    # `ended` is set once the outcome is known.
    stream_end: str = ""
    ended: threading.Event = field(default_factory=threading.Event, repr=False)


class _EventStream(StreamingResponse):
    """text/event-stream, each event flushed as written. With a record, a watcher notes whether the caller hung up
    before the end (how tests see cancellation propagate); without one (the benchmark CLI), no watcher task."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes], headers: dict[str, str], record: RecordedRequest | None) -> None:
        self._record = record
        self._finished = False
        super().__init__(self._mark_end(content), headers=headers)

    async def _mark_end(self, content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for event in content:
            yield event
        self._finished = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._record is None:
            await self.stream_response(send)
            return
        streaming = asyncio.ensure_future(self.stream_response(send))
        watcher = asyncio.ensure_future(self._watch(receive, streaming))
        outcome = "broken"
        try:
            await streaming
            outcome = "complete"
        except asyncio.CancelledError:
            if not watcher.done():
                raise
            outcome = "client-gone"
        finally:
            watcher.cancel()
            self._record.stream_end = outcome
            self._record.ended.set()

    async def _watch(self, receive: Any, streaming: asyncio.Future) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self._finished:
            streaming.cancel()


class FakeOpenAI:
    """`with FakeOpenAI() as fake: OpenAI(base_url=fake.base_url, api_key="sk-test")`; `fake.requests` logs calls."""

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        self.strict, self.record = strict, record
        self.host, self.port = host, port
        self.requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._oracles: Any = None
        self._flaky = FlakyCounts()
        azure = "/openai/deployments/{deployment}"
        self.app = Starlette(
            routes=[
                *self._routes("/v1", "/v1", OPENAI),
                *media_routes(self),  # OpenAI's and Azure's images and audio
                *embedding_routes(self),  # voyage, jina
                *self._routes("/mistral/v1", "/mistral/v1", MISTRAL),
                *self._routes(azure, "/openai", AZURE),
                Route("/{path:path}", self._invalid_url, methods=_ALL_METHODS),
            ]
        )

    def _routes(self, prefix: str, models_prefix: str, flavor: Flavor) -> list[Route]:
        return [
            Route(f"{prefix}/chat/completions", functools.partial(self._chat, flavor=flavor), methods=["POST"]),
            Route(f"{prefix}/embeddings", functools.partial(self._embeddings, flavor=flavor), methods=["POST"]),
            Route(f"{models_prefix}/models", functools.partial(self._models, flavor=flavor), methods=["GET"]),
        ]

    @property
    def origin(self) -> str:
        """Scheme, host and port: Azure's `azure_endpoint` (its routes are `/openai/deployments/{d}/...`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def mistral_url(self) -> str:
        """The Mistral dialect's API root (what `https://api.mistral.ai/v1` is to Mistral's clients)."""
        return f"{self.origin}/mistral/v1"

    def clear(self) -> None:
        """Forget recorded requests and the flaky-n counts."""
        self.requests.clear()
        self._flaky.clear()

    def calls(self, model: str) -> int:
        """Recorded requests (any endpoint) whose JSON body has exactly this `model`; needs record=True."""
        return sum(isinstance(r.json, dict) and r.json.get("model") == model for r in list(self.requests))

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Bind (port 0 = any free port), serve from a background thread with its own event loop, wait until up."""
        self._load_oracles()
        sock = self._bind()
        self._server = uvicorn.Server(_config(self.app))
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"fake-openai:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake OpenAI upstream did not start on port {self.port}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """CLI mode: serve in this thread; uvicorn turns SIGTERM / SIGINT into a graceful exit."""
        self._load_oracles()
        sock = self._bind()
        print(f"fake OpenAI upstream listening on {self.base_url} (strict={self.strict})", flush=True)
        self._server = uvicorn.Server(_config(self.app))
        # uvicorn re-raises a caught SIGTERM after its graceful shutdown; make that a clean exit.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        _run(self._server, sock)

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(4096)  # connections queue from now on, before uvicorn accepts them
        self.port = sock.getsockname()[1]
        return sock

    def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        _run(self._server, sock)

    def _load_oracles(self) -> None:
        if self.strict and self._oracles is None:
            from tests import oracles  # lazy: ~1 s to patch the SDK types, and only strict mode needs it

            oracles.chat_request_errors({"model": "warm-up", "messages": []})
            oracles.chat_request_errors({"model": "warm-up", "messages": [], "stream": True})
            oracles.embeddings_request_errors({"model": "warm-up", "input": ""})
            self._oracles = oracles

    # --- routes ---------------------------------------------------------------------------------------------------

    async def _chat(self, request: Request, flavor: Flavor = OPENAI) -> Response:
        record, body, directives, failure = await self._admit(request, "chat_request_errors", flavor)
        if failure is not None:
            return failure
        if (scripted := await self._scripted(body["model"], directives)) is not None:
            return scripted
        ident, created = f"chatcmpl-fake{next(self._ids):019d}", int(time.time())
        if body.get("stream"):
            chunks = [(kind, flavor.chunk(c)) for kind, c in replies.chat_chunks(body, id_=ident, created=created)]
            events = _events(chunks, directives, flavor.stream_prelude)
            return _EventStream(events, _headers(), record if self.record else None)
        return _json(200, flavor.completion(replies.chat_completion(body, id_=ident, created=created)))

    async def _embeddings(self, request: Request, flavor: Flavor = OPENAI) -> Response:
        record, body, directives, failure = await self._admit(request, "embeddings_request_errors", flavor)
        if failure is not None:
            return failure
        if (scripted := await self._scripted(body["model"], directives)) is not None:
            return scripted
        return _json(200, replies.embeddings(body))

    async def _models(self, request: Request, flavor: Flavor = OPENAI) -> Response:
        await self._log(request)
        refused = flavor.refuse(request)
        return _json(*refused) if refused is not None else _json(200, replies.models_page())

    async def _invalid_url(self, request: Request) -> Response:
        await self._log(request)
        message = f"Invalid URL ({request.method} {request.url.path})"
        return _json(404, replies.error_body(message, "invalid_request_error"))

    # --- request handling -----------------------------------------------------------------------------------------

    async def _admit(self, request: Request, oracle: str, flavor: Flavor) -> tuple[RecordedRequest, dict,
                                                                                     Directives, Response | None]:
        """Record, authenticate, parse and validate (the flavor's own rules; the OpenAI oracle when strict).
        Returns (record, the body as OpenAI's, directives, failure response)."""
        record = await self._log(request)
        if (refused := flavor.refuse(request)) is not None:
            return record, {}, _NO_DIRECTIVES, _json(*refused)
        if not isinstance(record.json, dict):
            failure = _json(400, replies.error_body(replies.BAD_JSON_REQUEST, "invalid_request_error"))
            return record, {}, _NO_DIRECTIVES, failure
        if (refused := flavor.check(record.json)) is not None:
            return record, {}, _NO_DIRECTIVES, _json(*refused)
        body = flavor.as_openai(record.json, request)
        if self._oracles is not None:
            record.oracle_errors = getattr(self._oracles, oracle)(body)
            if record.oracle_errors:
                message = "oracle: " + "; ".join(record.oracle_errors)
                return record, body, _NO_DIRECTIVES, _json(400, replies.error_body(message, "invalid_request_error"))
        return (record, body, *self._directives(body))

    @staticmethod
    def _directives(body: dict) -> tuple[Directives, Response | None]:
        model = body.get("model")
        if not isinstance(model, str):
            message = "you must provide a model parameter"
            return _NO_DIRECTIVES, _json(400, replies.error_body(message, "invalid_request_error"))
        try:
            return parse_directives(model), None
        except ValueError as error:
            return _NO_DIRECTIVES, _json(400, replies.error_body(str(error), "invalid_request_error", "model"))

    async def _log(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        record = RecordedRequest(
            request.method, request.url.path, dict(request.query_params), dict(request.headers), raw, parsed
        )
        if self.record:
            self.requests.append(record)
        return record

    async def _scripted(self, model: str, d: Directives) -> Response | None:
        """flaky-, delay-, error-, reset, html- and bad-json directives; None when the normal reply should follow."""
        flaky = d.flaky is not None and self._flaky.fails(model, d.flaky)  # counted on arrival, before any delay
        if d.delay:
            await asyncio.sleep(d.delay / 1000)
        if flaky or d.error is not None:
            status = 503 if flaky else d.error
            headers = {**(replies.RATE_LIMIT_HEADERS if status == 429 else {}), **d.retry_headers()}
            return _json(status, replies.status_error(status, model=d.base), headers)
        if d.reset:
            return ConnectionReset()
        if d.html is not None:
            return Response(replies.html_page(d.html), d.html, _headers(), media_type="text/html")
        if d.bad_json:
            return Response(replies.BROKEN_JSON, 200, _headers(), media_type="application/json")
        return None


_NO_DIRECTIVES = Directives(base="")


async def _events(
    chunks: list[tuple[str, dict]], d: Directives, prelude: tuple[dict, ...] = ()
) -> AsyncIterator[bytes]:
    """SSE `data:` lines (after the flavor's prelude events), then `[DONE]`; stream-break / stream-error cut in after
    n content chunks, bad-sse after the first chunk."""
    for event in prelude:
        yield b"data: " + orjson.dumps(event) + b"\n\n"
    cut = d.stream_break if d.stream_break is not None else d.stream_error
    sent = 0
    for position, (kind, chunk) in enumerate(chunks):
        if kind != "head" and sent == cut:
            if d.stream_break is not None:
                raise StreamBreak(f"stream-break-{cut}")
            yield b"data: " + orjson.dumps(replies.stream_error()) + b"\n\n"
            return
        if d.gap and position:
            await asyncio.sleep(d.gap / 1000)
        yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        sent += kind == "content"
        if d.bad_sse:
            yield replies.BROKEN_SSE_EVENT
            break
    yield _DONE


_request_ids = itertools.count(1)


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-request-id": f"req_{next(_request_ids):032x}", "openai-version": "2020-10-01", **(extra or {})}


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, _headers(headers), media_type="application/json")


def _config(app: Starlette) -> uvicorn.Config:
    # log_config=None: leave the test process's logging alone; access logs off (benchmark upstream).
    return uvicorn.Config(
        app,
        http=ResettableHttpTools,  # httptools, plus the +reset hook
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
        backlog=4096,
    )


def _run(server: uvicorn.Server, sock: socket.socket) -> None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(server.serve(sockets=[sock]))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a project dependency
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


logging.getLogger("uvicorn.error").addFilter(QuietFaults())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.openai_upstream", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port (printed on start)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-strict", dest="strict", action="store_false", help="skip SDK-type request validation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        FakeOpenAI(strict=args.strict, record=False, host=args.host, port=args.port).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
