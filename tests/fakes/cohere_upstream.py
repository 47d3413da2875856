"""Loopback fake of Cohere's API (`POST /v2/chat` JSON and SSE, `POST /v2/embed`, `GET /v1/models`) on 127.0.0.1,
in Cohere's wire format: SSE events as `event:` + `data:` lines, errors as `{"id", "message"}`, `Authorization:
Bearer`. Owns HTTP (routing, auth, strict validation by tests/oracles_cohere, timing); bodies come from
cohere_replies, the server lifecycle and request log from loopback. Scripted by the model name with the OpenAI
fake's directives (`command-a+error-429+retry-after-2`).

    python -m tests.fakes.cohere_upstream --port 8002 --no-strict     # serves until SIGTERM / SIGINT
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import cohere_replies as replies
from tests.fakes.faults import ConnectionReset, StreamBreak
from tests.fakes.loopback import ALL_METHODS, RecordedRequest, RecordingServer, cli
from tests.fakes.openai_directives import Directives, parse_directives
from tests.fakes.openai_replies import html_page

_BAD_KEY = "sk-bad"
_EMBEDDING_TYPES = ("float", "int8")  # what the fake can produce


class FakeCohere(RecordingServer):
    """`with FakeCohere() as fake: cohere.ClientV2(api_key="k", base_url=fake.base_url)`; `fake.requests` logs calls."""

    label = "Cohere"  # base_url is the origin: Cohere's SDK and the gateway append `/v2/chat`, `/v2/embed`, ...

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        app = Starlette(routes=[
            Route("/v2/chat", self._chat, methods=["POST"]),
            Route("/v2/embed", self._embed, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/{path:path}", self._not_found, methods=ALL_METHODS),
        ])
        super().__init__(app, strict=strict, record=record, host=host, port=port)

    def _load_oracles(self) -> Any:
        from tests import oracles_cohere  # lazy: builds the SDK models, and only strict mode needs it

        oracles_cohere.chat_request_errors({"model": "warm-up", "messages": []})
        oracles_cohere.embed_request_errors({"model": "warm-up", "input_type": "search_query"})
        return oracles_cohere

    # --- routes ---------------------------------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        record, directives, failure = await self._admit(request, "chat_request_errors")
        if failure is not None:
            return failure
        body = record.json
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages) or not messages:
            return _json(400, replies.error_body("invalid request: messages must be a non-empty list", self._id()))
        if (failure := _unknown_tool_call_id(body, self._id())) is not None:
            return failure
        if (scripted := await self._scripted(body["model"], directives)) is not None:
            return scripted
        ident = self._id()
        if body.get("stream"):
            events = replies.chat_events(body, directives, id_=ident)
            return self._stream(_sse(events, directives), _headers(), record)
        return _json(200, replies.chat_response(body, directives, id_=ident))

    async def _embed(self, request: Request) -> Response:
        record, directives, failure = await self._admit(request, "embed_request_errors")
        if failure is not None:
            return failure
        body = record.json
        unknown = sorted(set(body.get("embedding_types") or ()) - set(_EMBEDDING_TYPES))
        if unknown:
            return _json(400, replies.error_body(f"the fake produces no {unknown} embeddings", self._id()))
        if (scripted := await self._scripted(body["model"], directives)) is not None:
            return scripted
        return _json(200, replies.embed_response(body, id_=self._id()))

    async def _models(self, request: Request) -> Response:
        await self._log(request)
        return _unauthorized(request, self._id()) or _json(200, replies.models_response())

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _json(404, replies.error_body(f"no route for {request.method} {request.url.path}"))

    # --- request handling -----------------------------------------------------------------------------------------

    def _id(self) -> str:
        return f"{next(self._ids):08x}-fake-4c0e-8d1a-c0h3re000000"

    async def _admit(self, request: Request, oracle: str) -> tuple[RecordedRequest, Directives, Response | None]:
        """Record, authenticate, parse and (strict) validate; returns (record, directives, failure response)."""
        record = await self._log(request)
        if (failure := _unauthorized(request, self._id())) is not None:
            return record, _NONE, failure
        body = record.json
        if not isinstance(body, dict):
            return record, _NONE, _json(400, replies.error_body("invalid request: could not parse body", self._id()))
        if self._oracles is not None:
            record.oracle_errors = getattr(self._oracles, oracle)(body)
            if record.oracle_errors:
                message = "invalid request: oracle: " + "; ".join(record.oracle_errors)
                return record, _NONE, _json(400, replies.error_body(message, self._id()))
        if not isinstance(body.get("model"), str):
            return record, _NONE, _json(400, replies.error_body("invalid request: model must be set", self._id()))
        try:
            return record, parse_directives(body["model"]), None
        except ValueError as error:
            return record, _NONE, _json(400, replies.error_body(f"invalid request: {error}", self._id()))

    async def _scripted(self, model: str, d: Directives) -> Response | None:
        """flaky-, delay-, error-, reset, html- and bad-json directives; None when the normal reply should follow."""
        flaky = d.flaky is not None and self._flaky.fails(model, d.flaky)
        if d.delay:
            await asyncio.sleep(d.delay / 1000)
        if flaky or d.error is not None:
            status = 503 if flaky else d.error
            headers = {**(replies.RATE_LIMIT_HEADERS if status == 429 else {}), **d.retry_headers()}
            return _json(status, replies.status_error(status, id_=self._id(), model=d.base), headers)
        if d.reset:
            return ConnectionReset()
        if d.html is not None:
            return Response(html_page(d.html), d.html, _headers(), media_type="text/html")
        if d.bad_json:
            return Response(replies.BROKEN_JSON, 200, _headers(), media_type="application/json")
        return None


_NONE = Directives(base="")


def _unknown_tool_call_id(body: dict, id_: str) -> Response | None:
    """Cohere refuses a tool result whose tool_call_id no earlier assistant turn issued (what a translator that drops
    assistant tool_calls runs into)."""
    issued: set[str] = set()
    for message in body["messages"]:
        issued |= {call.get("id") for call in message.get("tool_calls") or () if isinstance(call, dict)}
        if message.get("role") == "tool" and message.get("tool_call_id") not in issued:
            text = f"invalid request: tool call id {message.get('tool_call_id')!r} not found in previous tool calls"
            return _json(400, replies.error_body(text, id_))
    return None


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _sse(events: list[tuple[str, dict]], d: Directives) -> AsyncIterator[bytes]:
    """Cohere's SSE; stream-break / stream-error cut in after n delta events; bad-sse puts an unparseable event
    after the first one (and goes on)."""
    cut = d.stream_break if d.stream_break is not None else d.stream_error
    sent = 0
    broken = not d.bad_sse
    for position, (kind, data) in enumerate(events):
        if kind == "content" and sent == cut:
            if d.stream_break is not None:
                raise StreamBreak(f"stream-break-{cut}")
            yield _event(replies.stream_error())
            return
        if d.gap and position:
            await asyncio.sleep(d.gap / 1000)
        yield _event(data)
        sent += kind == "content"
        if not broken:
            yield replies.BROKEN_SSE_EVENT
            broken = True


_trace_ids = itertools.count(1)


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-debug-trace-id": f"{next(_trace_ids):032x}", **(extra or {})}


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, _headers(headers), media_type="application/json")


def _unauthorized(request: Request, id_: str) -> Response | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return _json(401, replies.error_body(replies.MISSING_KEY))
    if key == _BAD_KEY:
        return _json(401, replies.error_body(replies.BAD_KEY, id_))
    return None


def main(argv: list[str] | None = None) -> int:
    return cli(FakeCohere, "tests.fakes.cohere_upstream", __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
