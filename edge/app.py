"""The OpenAI/Portkey REST surface as a Starlette app; its lifespan owns the grpc.aio channel to the gateway.

Routes only: JSON translation lives in openai_*.py, error mapping in errors.py, call handling in calls.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from edge import calls, openai_completions, openai_media
from edge.errors import EdgeError, ErrorReply, edge_error, error_response, reply_for
from edge.headers import InvalidHeader, request_metadata
from edge.hook_results import with_hook_results
from edge.openai_embeddings import embedding_encoding, embeddings_json, embeddings_request_from_json
from edge.openai_request import chat_request_from_json, wants_stream
from edge.openai_response import chat_completion_json, models_json
from edge.shapes import RequestShapeError
from gateway_grpc.v1 import chat_pb2, completions_pb2, gateway_service_pb2_grpc, models_pb2

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.primary_user_agent", "gateway-grpc-edge"),
)
# Portkey routes this gateway does not serve yet (Portkey contract §1): 501, not 404.
NOT_IMPLEMENTED_ROUTES = ("/v1/images", "/v1/audio", "/v1/messages", "/v1/responses", "/v1/files", "/v1/batches")
MULTIPART = "multipart/form-data"


# --- request body ----------------------------------------------------------------------------------------------------


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise edge_error(415, "missing Content-Type: send application/json")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise edge_error(415, f"unsupported Content-Type {content_type!r}: send application/json")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise edge_error(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise edge_error(413, f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise edge_error(calls.CLIENT_CLOSED, "client closed the request") from None
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object: 415 for another content type, 413 past `limit`, 400 for bad JSON."""
    _check_content_type(request)
    body = await _read_body(request, limit)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise edge_error(400, f"could not parse the JSON body of your request: {exc}") from None
    if not isinstance(value, dict):
        raise edge_error(400, "the request body must be a JSON object")
    return value


# --- endpoints -------------------------------------------------------------------------------------------------------


def _json(body: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, headers, "application/json")


def _answer(body: dict[str, Any], message: Any, headers: dict[str, str]) -> Response:
    """An answer with Portkey's `hook_results` when guardrails ran: 246 when one failed without denying."""
    return _json(body, headers, with_hook_results(body, message))


def _stub(request: Request) -> gateway_service_pb2_grpc.GatewayServiceStub:
    return request.app.state.stub


async def chat_completions(request: Request) -> Response:
    body = await read_json_object(request, request.app.state.max_body_bytes)
    metadata = request_metadata(request.headers.raw)
    message = chat_request_from_json(body)
    if wants_stream(body):
        wrapped = chat_pb2.StreamChatCompletionRequest(request=message)
        return await calls.stream(_stub(request).StreamChatCompletion(wrapped, metadata=metadata), request.receive)
    result = await calls.unary(_stub(request).CreateChatCompletion(message, metadata=metadata), request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    return _answer(chat_completion_json(result[0]), result[0], result[1])


async def completions(request: Request) -> Response:
    """OpenAI's legacy text completions (and fill-in-the-middle with `suffix`)."""
    body = await read_json_object(request, request.app.state.max_body_bytes)
    metadata = request_metadata(request.headers.raw)
    message = openai_completions.completion_request_from_json(body)
    stub = _stub(request)
    if wants_stream(body):
        call = stub.StreamCompletion(completions_pb2.StreamCompletionRequest(request=message), metadata=metadata)
        return await calls.stream(call, request.receive, openai_completions.completion_chunk_json)
    result = await calls.unary(stub.CreateCompletion(message, metadata=metadata), request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    return _answer(openai_completions.completion_json(result[0]), result[0], result[1])


async def embeddings(request: Request) -> Response:
    body = await read_json_object(request, request.app.state.max_body_bytes)
    metadata = request_metadata(request.headers.raw)
    encoding = embedding_encoding(body)
    message = embeddings_request_from_json(body)
    result = await calls.unary(_stub(request).CreateEmbeddings(message, metadata=metadata), request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    return _answer(embeddings_json(result[0], encoding), result[0], result[1])


async def models(request: Request) -> Response:
    metadata = request_metadata(request.headers.raw)
    call = _stub(request).ListModels(models_pb2.ListModelsRequest(), metadata=metadata)
    result = await calls.unary(call, request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    return _json(models_json(result[0]), result[1])


async def images(request: Request) -> Response:
    body = await read_json_object(request, request.app.state.max_body_bytes)
    metadata = request_metadata(request.headers.raw)
    call = _stub(request).CreateImage(openai_media.image_request_from_json(body), metadata=metadata)
    result = await calls.unary(call, request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    return _json(openai_media.images_json(result[0]), result[1])


async def speech(request: Request) -> Response:
    body = await read_json_object(request, request.app.state.max_body_bytes)
    metadata = request_metadata(request.headers.raw)
    call = _stub(request).CreateSpeech(openai_media.speech_request_from_json(body), metadata=metadata)
    return await calls.byte_stream(call, request.receive)


async def _read_form(request: Request) -> tuple[dict[str, list[Any]], tuple[str, bytes]]:
    """The multipart fields and the one uploaded `file`; the whole body is held to the size limit first."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != MULTIPART:
        raise edge_error(415, f"unsupported Content-Type {content_type!r}: send multipart/form-data")
    body = await _read_body(request, request.app.state.max_body_bytes)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    fields: dict[str, list[Any]] = {}
    upload = None
    async with Request(request.scope, replay).form(max_files=1, max_fields=64) as form:
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
            elif name == "file":
                upload = (value.filename or "audio", await value.read())
    if upload is None:
        raise edge_error(400, "file: required (an audio file in the multipart field `file`)")
    return fields, upload


async def audio_text(request: Request, translate: bool) -> Response:
    fields, upload = await _read_form(request)
    metadata = request_metadata(request.headers.raw)
    message = openai_media.audio_request_from_form(fields, upload, translate)
    stub = _stub(request)
    call = (stub.CreateTranslation if translate else stub.CreateTranscription)(message, metadata=metadata)
    result = await calls.unary(call, request.receive)
    if result is None:
        return Response(status_code=calls.CLIENT_CLOSED)
    body, media_type = openai_media.audio_reply(result[0], message.response_format or "json")
    if isinstance(body, dict):
        return _json(body, result[1])
    return Response(body, 200, result[1], media_type)


async def transcriptions(request: Request) -> Response:
    return await audio_text(request, translate=False)


async def translations(request: Request) -> Response:
    return await audio_text(request, translate=True)


async def not_implemented(request: Request) -> Response:
    raise edge_error(501, f"{request.url.path} is not implemented yet by this gateway", gateway_exception=True)


async def root(request: Request) -> Response:
    return PlainTextResponse("AI Gateway says hey!")  # Portkey contract §1


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


async def metrics(request: Request) -> Response:
    """Prometheus text format: the merged metrics of every process sharing PROMETHEUS_MULTIPROC_DIR (`gateway up`
    sets it); empty when the variable is unset."""
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)
    return Response(generate_latest(registry), 200, media_type=CONTENT_TYPE_LATEST)


# --- errors ----------------------------------------------------------------------------------------------------------


async def _on_error(request: Request, exc: Exception) -> Response:
    return error_response(reply_for(exc))


async def _on_http_exception(request: Request, exc: HTTPException) -> Response:
    """Router misses: 404 for an unknown path, 405 (with Allow) for a known path and the wrong method."""
    where = f"({request.method} {request.url.path})"
    message = f"Invalid URL {where}" if exc.status_code == 404 else f"{exc.detail} {where}"
    return error_response(ErrorReply(exc.status_code, message), exc.headers)


EXCEPTION_HANDLERS = {
    HTTPException: _on_http_exception,
    grpc.aio.AioRpcError: _on_error,
    EdgeError: _on_error,
    RequestShapeError: _on_error,
    InvalidHeader: _on_error,
    Exception: _on_error,
}


# --- app -------------------------------------------------------------------------------------------------------------


def routes() -> list[Route]:
    table = [
        Route("/", root, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/images/generations", images, methods=["POST"]),
        Route("/v1/audio/speech", speech, methods=["POST"]),
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/audio/translations", translations, methods=["POST"]),
    ]
    for path in NOT_IMPLEMENTED_ROUTES:
        table.append(Route(path, not_implemented, methods=["GET", "POST", "DELETE"]))
        table.append(Route(path + "/{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"]))
    return table


def create_app(grpc_target: str, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """The edge app; the channel to `grpc_target` opens in the lifespan, on the server's event loop."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with grpc.aio.insecure_channel(grpc_target, options=CHANNEL_OPTIONS) as channel:
            app.state.stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            yield

    app = Starlette(routes=routes(), exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.max_body_bytes = max_body_bytes
    return app
