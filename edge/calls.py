"""Runs one gRPC call for one HTTP request: unary results, chat streams as SSE, cancellation on client disconnect.

Owns the rule that a call never outlives its HTTP client: every path ends in `call.cancel()` (a no-op once done).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from edge.errors import error_body, error_response, reply_from_rpc_error, reply_from_stream_error, with_headers
from edge.headers import portkey_headers
from edge.hook_results import HOOKS_FAILED_STATUS, with_hook_results
from edge.openai_response import SSE_DONE, chat_chunk_json, sse_event

Render = Callable[[Any], dict[str, Any]]  # a stream's chunk message -> its OpenAI JSON
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never seen by the client


class ClientGone:
    """Set by the disconnect watcher; tells a CancelledError it caused apart from a cancelled task."""

    disconnected = False


async def _watch(receive: Receive, call: grpc.aio.Call, gone: ClientGone) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.disconnected = True
    call.cancel()


@asynccontextmanager
async def cancel_on_disconnect(receive: Receive, call: grpc.aio.Call) -> AsyncIterator[ClientGone]:
    """Cancels `call` if the client disconnects inside the block. Use only after the body has been read."""
    gone = ClientGone()
    watcher = asyncio.create_task(_watch(receive, call, gone))
    try:
        yield gone
    finally:
        watcher.cancel()


def _ours(gone: ClientGone) -> bool:
    """True when a CancelledError came from our call.cancel(), not from cancelling this task."""
    task = asyncio.current_task()
    return gone.disconnected and (task is None or task.cancelling() == 0)


async def unary(call: Any, receive: Receive) -> tuple[Any, dict[str, str]] | None:
    """The response and its x-portkey-* headers; None when the client left (the call is cancelled)."""
    try:
        async with cancel_on_disconnect(receive, call) as gone:
            try:
                response = await call
            except asyncio.CancelledError:
                if _ours(gone):
                    return None
                raise
        return response, portkey_headers(await call.initial_metadata(), await call.trailing_metadata())
    finally:
        call.cancel()


class CallStream(StreamingResponse):
    """A streamed response fed by a gRPC call; cancels the call however the response ends."""

    def __init__(self, call: Any, body: AsyncIterator[bytes], headers: dict[str, str], media_type: str,
                 status: int = 200) -> None:
        super().__init__(body, status, headers, media_type)
        self.call = call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.call.cancel()


def _trailing_chunk(last: dict[str, Any] | None, message: Any) -> dict[str, Any]:
    """Guardrail results judged during or at the end of a stream, as one more valid chunk: the stream's id, object,
    created and model, no choices (like OpenAI's usage chunk), and `hook_results`."""
    body = {key: last[key] for key in ("id", "object", "created", "model") if key in last} if last else {}
    body["choices"] = []
    with_hook_results(body, message)
    return body


async def sse_events(call: Any, first: Any, render: Render = chat_chunk_json) -> AsyncIterator[bytes]:
    """Each chunk as soon as it arrives, as `render` writes it (the first with `hook_results` when guardrails ran);
    a failure ends the stream in-band; always `data: [DONE]` last."""
    message, last = first, None
    while message is not grpc.aio.EOF:
        event = message.WhichOneof("event")
        if event == "chunk":
            last = render(message.chunk)
            if message is first:
                with_hook_results(last, message)
            yield sse_event(last)
        elif event is None and message.HasField("hook_results"):
            yield sse_event(_trailing_chunk(last, message))
        elif event == "error":
            yield sse_event(error_body(reply_from_stream_error(message.error)))
            break
        try:
            message = await call.read()
        except grpc.aio.AioRpcError as err:
            yield sse_event(error_body(reply_from_rpc_error(err)))
            break
    yield SSE_DONE


async def _audio(call: Any, first: Any) -> AsyncIterator[bytes]:
    """The audio bytes; a failure after the first bytes can only end the body early (the status is already sent)."""
    message = first
    while message is not grpc.aio.EOF:
        if message.audio:
            yield message.audio
        try:
            message = await call.read()
        except grpc.aio.AioRpcError:
            return


async def _first(call: Any, receive: Receive) -> tuple[Any, dict[str, str]] | None:
    """The call's first message and its x-portkey-* headers; None when the client left first (the call is
    cancelled). Waiting for it lets a failure before any output keep its real HTTP status."""
    try:
        async with cancel_on_disconnect(receive, call) as gone:
            try:
                first = await call.read()
            except asyncio.CancelledError:
                if _ours(gone):
                    call.cancel()
                    return None
                raise
        return first, portkey_headers(await call.initial_metadata())
    except BaseException:
        call.cancel()
        raise


async def stream(call: Any, receive: Receive, render: Render = chat_chunk_json) -> Response:
    """A chat (or, with its `render`, text completion) stream as `text/event-stream`; an error before the first
    chunk is an ordinary error answer."""
    opened = await _first(call, receive)
    if opened is None:
        return Response(status_code=CLIENT_CLOSED)
    first, headers = opened
    if first is not grpc.aio.EOF and first.WhichOneof("event") == "error":
        call.cancel()
        return error_response(with_headers(reply_from_stream_error(first.error), headers))
    failed = first is not grpc.aio.EOF and first.HasField("hook_results") and first.hook_results.failed
    return CallStream(call, sse_events(call, first, render), {**headers, "cache-control": "no-cache"},
                      "text/event-stream", HOOKS_FAILED_STATUS if failed else 200)


async def byte_stream(call: Any, receive: Receive) -> Response:
    """Speech audio as it arrives, with the upstream's content type."""
    opened = await _first(call, receive)
    if opened is None:
        return Response(status_code=CLIENT_CLOSED)
    first, headers = opened
    if first is grpc.aio.EOF:
        call.cancel()
        return Response(b"", 200, headers, "application/octet-stream")
    return CallStream(call, _audio(call, first), headers, first.content_type or "application/octet-stream")
