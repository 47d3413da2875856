"""Loopback fake of OpenAI's REST API (chat, completions, embeddings, models, media) on 127.0.0.1 in OpenAI's wire
format, plus Azure's and Mistral's dialects (openai_flavors: `origin`, `mistral_url`; Mistral's FIM in
openai_completions_routes) and embeddings_upstream's `/voyage`, `/jina`.

Owns HTTP: routing, auth, strict request validation (tests/oracles.py, imported only when strict) and the timing
of replies; bodies come from openai_replies, connection faults from faults, the server lifecycle and request log
from loopback. Behaviour is
scripted by the model name (`gpt-4o-mini+chunks-5+delay-20`, see openai_directives), so callers in other processes
can script it. Never imported by gateway code.

    python -m tests.fakes.openai_upstream --port 8001 --no-strict     # serves until SIGTERM / SIGINT
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import openai_replies as replies
from tests.fakes.embeddings_upstream import embedding_routes
from tests.fakes.faults import ConnectionReset, StreamBreak
from tests.fakes.loopback import ALL_METHODS, RecordedRequest, RecordingServer, cli
from tests.fakes.openai_completions_routes import completion_routes
from tests.fakes.openai_directives import Directives, parse_directives
from tests.fakes.openai_flavors import AZURE, MISTRAL, OPENAI, Flavor
from tests.fakes.openai_media_routes import media_routes

_DONE = b"data: [DONE]\n\n"


class FakeOpenAI(RecordingServer):
    """`with FakeOpenAI() as fake: OpenAI(base_url=fake.base_url, api_key="sk-test")`; `fake.requests` logs calls.
    `fake.origin` is Azure's `azure_endpoint` (its routes are `/openai/deployments/{d}/...`)."""

    label = "OpenAI"
    api_path = "/v1"

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        azure = "/openai/deployments/{deployment}"
        app = Starlette(
            routes=[
                *self._routes("/v1", "/v1", OPENAI),
                *media_routes(self),  # OpenAI's and Azure's images and audio
                *embedding_routes(self),  # voyage, jina
                *self._routes("/mistral/v1", "/mistral/v1", MISTRAL),
                *self._routes(azure, "/openai", AZURE),
                Route("/{path:path}", self._invalid_url, methods=ALL_METHODS),
            ]
        )
        super().__init__(app, strict=strict, record=record, host=host, port=port)

    def _routes(self, prefix: str, models_prefix: str, flavor: Flavor) -> list[Route]:
        return [
            Route(f"{prefix}/chat/completions", functools.partial(self._chat, flavor=flavor), methods=["POST"]),
            Route(f"{prefix}/embeddings", functools.partial(self._embeddings, flavor=flavor), methods=["POST"]),
            Route(f"{models_prefix}/models", functools.partial(self._models, flavor=flavor), methods=["GET"]),
            *completion_routes(self, prefix, flavor),  # legacy completions, or Mistral's FIM
        ]

    @property
    def mistral_url(self) -> str:
        """The Mistral dialect's API root (what `https://api.mistral.ai/v1` is to Mistral's clients)."""
        return f"{self.origin}/mistral/v1"

    def _load_oracles(self) -> Any:
        from tests import oracles  # lazy: ~1 s to patch the SDK types, and only strict mode needs it

        oracles.chat_request_errors({"model": "warm-up", "messages": []})
        oracles.chat_request_errors({"model": "warm-up", "messages": [], "stream": True})
        oracles.embeddings_request_errors({"model": "warm-up", "input": ""})
        oracles.completions_request_errors({"model": "warm-up", "prompt": ""})
        return oracles

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
            return self._stream(events, _headers(), record)
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


def main(argv: list[str] | None = None) -> int:
    return cli(FakeOpenAI, "tests.fakes.openai_upstream", __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
