"""The server half every loopback fake upstream shares: an ASGI app served by uvicorn on 127.0.0.1 (or any host).

`LoopbackServer` owns the lifecycle: bind (port 0 = any free port), serve from a daemon thread with its own event
loop (`start()` / `stop()`, or `with`), or serve in this thread until SIGTERM / SIGINT (`serve_forever()`, the CLI
mode). `RecordingServer` adds what the SDK-compatible fakes share: the request log (`requests`, `clear()`,
`calls()`), strict-mode oracles loaded once before serving, and flaky-n counts. Also here: `RecordedRequest`, the
`EventStream` response that notes how a stream ended, the uvicorn config and runner, and `cli()` for the fakes'
`python -m tests.fakes.<fake> --port N` entry points. Builds no reply bodies; never imported by gateway code.
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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self

import orjson
import uvicorn
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp

from tests.fakes.faults import FlakyCounts, QuietFaults, ResettableHttpTools

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # for a fake's catch-all route
BACKLOG = 4096
START_TIMEOUT_S = 10


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


class EventStream(StreamingResponse):
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


class LoopbackServer:
    """Serves `app` on host:port; `port` is the bound one once started. Subclasses set `label` ("OpenAI"), which
    names the thread, the CLI banner and the start-up error, and `api_path` ("/v1"), the API root's path below the
    origin; they may override `_prepare()` (runs before binding)."""

    label = "loopback"
    api_path = ""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """Scheme, host and port."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root: the origin, then `api_path`."""
        return f"{self.origin}{self.api_path}"

    def start(self) -> Self:
        """Bind, serve from a background thread with its own event loop, wait until up; returns self."""
        self._prepare()
        sock = self._bind()
        self._server = uvicorn.Server(uvicorn_config(self.app))
        name = f"fake-{self.label.lower()}:{self.port}"
        self._thread = threading.Thread(target=run, args=(self._server, sock), name=name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake {self.label} upstream did not start on port {self.port}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Graceful shutdown (open streams get uvicorn's 2 s); a no-op when not started."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=START_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """CLI mode: serve in this thread; uvicorn turns SIGTERM / SIGINT into a graceful exit."""
        self._prepare()
        sock = self._bind()
        print(self._banner(), flush=True)
        self._server = uvicorn.Server(uvicorn_config(self.app))
        # uvicorn re-raises a caught SIGTERM after its graceful shutdown; make that a clean exit.
        signal.signal(signal.SIGTERM, exit_cleanly)
        run(self._server, sock)

    def _prepare(self) -> None:
        """Runs before binding, in start() and serve_forever()."""

    def _banner(self) -> str:
        return f"fake {self.label} upstream listening on {self.base_url}"

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(BACKLOG)  # connections queue from now on, before uvicorn accepts them
        self.port = sock.getsockname()[1]
        return sock


class RecordingServer(LoopbackServer):
    """A LoopbackServer that logs each request to `requests` (unless record=False: the benchmark CLI), loads its
    request oracles once before serving when strict (`_load_oracles()`, kept in `_oracles`), counts flaky-n
    directives (`_flaky`) and numbers the reply ids it makes (`_ids`)."""

    def __init__(self, app: ASGIApp, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(app, host=host, port=port)
        self.strict, self.record = strict, record
        self.requests: list[RecordedRequest] = []
        self._oracles: Any = None
        self._flaky = FlakyCounts()
        self._ids = itertools.count(1)

    def clear(self) -> None:
        """Forget recorded requests and the flaky-n counts."""
        self.requests.clear()
        self._flaky.clear()

    def calls(self, model: str) -> int:
        """Recorded requests (any endpoint) whose JSON body has exactly this `model`; needs record=True."""
        return sum(isinstance(r.json, dict) and r.json.get("model") == model for r in list(self.requests))

    def _prepare(self) -> None:
        if self.strict and self._oracles is None:
            self._oracles = self._load_oracles()

    def _load_oracles(self) -> Any:
        """The strict-mode request checks (imported lazily: only strict mode pays for them)."""
        return None

    def _banner(self) -> str:
        return f"fake {self.label} upstream listening on {self.base_url} (strict={self.strict})"

    async def _log(self, request: Request) -> RecordedRequest:
        """Read the body, parse it as JSON if it is, and record the request (when record=True)."""
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

    def _stream(self, content: AsyncIterator[bytes], headers: dict[str, str], record: RecordedRequest) -> EventStream:
        """An EventStream that reports its end to `record`, when requests are recorded."""
        return EventStream(content, headers, record if self.record else None)


def uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    # log_config=None: leave the test process's logging alone; access logs off (benchmark upstream).
    return uvicorn.Config(
        app,
        http=ResettableHttpTools,  # httptools, plus the +reset hook
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
        backlog=BACKLOG,
    )


def run(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve on an already bound socket until `server.should_exit`, on a fresh (uvloop) event loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(server.serve(sockets=[sock]))


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a project dependency
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cli(fake: Callable[..., LoopbackServer], module: str, description: str, argv: list[str] | None = None) -> int:
    """`python -m <module> --port N [--host H] [--no-strict]`: serve `fake(strict=, record=False, host=, port=)`."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port (printed on start)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-strict", dest="strict", action="store_false", help="skip SDK-type request validation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        fake(strict=args.strict, record=False, host=args.host, port=args.port).serve_forever()
    return 0


logging.getLogger("uvicorn.error").addFilter(QuietFaults())
