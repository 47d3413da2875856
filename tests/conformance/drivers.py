"""The two columns of the matrix, driving the gateway as users do: `GrpcColumn` with the generated stubs against a
real in-process GatewayServer, `RestColumn` with the official openai SDK (`max_retries=0`) against the whole stack
(Envoy, edge, gRPC worker). Both send the same OpenAI request and return an `Outcome` of the same shape.

The gRPC column turns protos into OpenAI JSON with the edge's documented mapping (edge/openai_response.py,
edge/errors.py), so both columns answer in one shape and share one golden file per provider and case; what only
gRPC shows (the status code, the ErrorInfo reason and metadata) is kept beside it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import grpc
import openai
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from edge.errors import error_body, reply_from_rpc_error, reply_from_stream_error
from edge.headers import portkey_headers
from edge.openai_embeddings import embeddings_json, embeddings_request_from_json
from edge.openai_request import chat_request_from_json
from edge.openai_response import chat_chunk_json, chat_completion_json
from gateway_grpc.config import GatewaySettings
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import chat_pb2, gateway_service_pb2_grpc

TIMEOUT_S = 20.0


@dataclass
class Outcome:
    """What a client saw. `body`: the answer, the list of chunks, or the error envelope (`error` True).
    REST fills `status`; gRPC fills `code`, `reason` and `info` (ErrorInfo metadata). `headers`: x-portkey-*."""

    body: Any
    error: bool = False
    status: int | None = None
    code: str | None = None
    reason: str | None = None
    info: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    stream_error: bool = False  # the stream started, then ended with an in-band error event


def _config_headers(api_key: str | None, config: dict[str, Any]) -> dict[str, str]:
    headers = {"x-portkey-config": json.dumps(config)}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


# --- gRPC ------------------------------------------------------------------------------------------------------------


class ThreadedGateway:
    """A real GatewayServer on 127.0.0.1:0, served from its own event loop in a background thread, so synchronous
    tests can call it with the generated (sync) stubs."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="conformance-gateway", daemon=True)
        self._server: GatewayServer | None = None

    async def _start(self) -> int:
        self._server = GatewayServer(self._settings, "127.0.0.1", 0)
        await self._server.start()
        return self._server.port

    def __enter__(self) -> str:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(TIMEOUT_S)
        return f"127.0.0.1:{port}"

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(grace=0), self._loop).result(TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT_S)
        self._loop.close()


def _error_info(err: grpc.RpcError) -> tuple[str | None, dict[str, str]]:
    status = rpc_status.from_call(err)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason, dict(info.metadata)
    return None, {}


class GrpcColumn:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)

    def run(self, kind: str, body: dict[str, Any], api_key: str | None, config: dict[str, Any]) -> Outcome:
        metadata = tuple(_config_headers(api_key, config).items())
        try:
            if kind == "stream":
                return self._stream(body, metadata)
            if kind == "embeddings":
                response, call = self._stub.CreateEmbeddings.with_call(
                    embeddings_request_from_json(body), metadata=metadata, timeout=TIMEOUT_S)
                return Outcome(embeddings_json(response, "float"), headers=_headers(call))
            response, call = self._stub.CreateChatCompletion.with_call(
                chat_request_from_json(body), metadata=metadata, timeout=TIMEOUT_S)
            return Outcome(chat_completion_json(response), headers=_headers(call))
        except grpc.RpcError as err:
            reason, info = _error_info(err)
            return Outcome(error_body(reply_from_rpc_error(err)), error=True, code=err.code().name, reason=reason,
                           info=info, headers=portkey_headers(err.initial_metadata(), err.trailing_metadata()))

    def _stream(self, body: dict[str, Any], metadata: tuple[tuple[str, str], ...]) -> Outcome:
        request = chat_pb2.StreamChatCompletionRequest(request=chat_request_from_json(body))
        call = self._stub.StreamChatCompletion(request, metadata=metadata, timeout=TIMEOUT_S)
        chunks: list[Any] = []
        for event in call:
            if event.WhichOneof("event") == "error":
                chunks.append(error_body(reply_from_stream_error(event.error)))
                return Outcome(chunks, error=True, stream_error=True, headers=_headers(call))
            chunks.append(chat_chunk_json(event.chunk))
        return Outcome(chunks, headers=_headers(call))


def _headers(call: Any) -> dict[str, str]:
    return portkey_headers(call.initial_metadata(), call.trailing_metadata())


# --- REST (openai SDK) -----------------------------------------------------------------------------------------------


def _sse_chunks(lines: list[str]) -> tuple[list[Any], bool]:
    """(the JSON of every `data:` event before `[DONE]`, whether an error event came); `[DONE]` must end it."""
    data = [line[len("data: "):] for line in lines if line.startswith("data: ")]
    assert data and data[-1] == "[DONE]", f"the stream does not end with data: [DONE]: {data[-3:]}"
    chunks = [json.loads(item) for item in data[:-1]]
    return chunks, any("error" in chunk for chunk in chunks)


class RestColumn:
    def __init__(self, openai_url: str) -> None:
        self._url = openai_url

    def run(self, kind: str, body: dict[str, Any], api_key: str | None, config: dict[str, Any]) -> Outcome:
        headers = _config_headers(None, config)
        with openai.OpenAI(base_url=self._url, api_key=api_key or "no-key", max_retries=0, timeout=TIMEOUT_S,
                           default_headers=headers) as client:
            try:
                if kind == "stream":
                    with client.chat.completions.with_streaming_response.create(**body) as response:
                        chunks, failed = _sse_chunks(list(response.iter_lines()))
                        return Outcome(chunks, error=failed, stream_error=failed, status=response.status_code,
                                       headers=_portkey(response.headers))
                api = client.embeddings if kind == "embeddings" else client.chat.completions
                raw = api.with_raw_response.create(**body)
                raw.parse()  # the SDK reads it too
                return Outcome(json.loads(raw.content), status=raw.status_code, headers=_portkey(raw.headers))
            except openai.APIStatusError as err:
                return Outcome(err.response.json(), error=True, status=err.status_code,
                               headers=_portkey(err.response.headers))


def _portkey(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-portkey-")}
