"""Test doubles for the edge tests: a real grpc.aio GatewayService on its own thread, and scripted servicers.

The gRPC server runs on its own thread and event loop so that sync clients (Starlette's TestClient, the OpenAI SDK)
and async tests can both call it. Servicers here stand in for "a server that answers X"; they are not the gateway.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway_grpc.v1 import chat_pb2, embeddings_pb2, gateway_service_pb2_grpc, models_pb2


class ThreadedGrpcServer:
    """A grpc.aio server for one servicer, on a daemon thread with its own loop."""

    def __init__(self, servicer: gateway_service_pb2_grpc.GatewayServiceServicer) -> None:
        self.servicer = servicer
        self.target = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        gateway_service_pb2_grpc.add_GatewayServiceServicer_to_server(self.servicer, server)
        self.target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
        await server.start()
        self._ready.set()
        await self._stop.wait()
        await server.stop(grace=None)

    def start(self) -> str:
        self._thread.start()
        assert self._ready.wait(10), "gRPC test server did not start"
        return self.target

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def rich_status(
    code: int, message: str, reason: str | None = None, metadata: dict[str, str] | None = None, fields: Sequence = ()
) -> status_pb2.Status:
    """A google.rpc.Status with an ErrorInfo (when `reason`) and a BadRequest (when `fields`)."""
    status = status_pb2.Status(code=code, message=message)
    if reason is not None:
        info = error_details_pb2.ErrorInfo(reason=reason, domain="gateway-grpc", metadata=metadata or {})
        status.details.append(_packed(info))
    if fields:
        violations = [error_details_pb2.BadRequest.FieldViolation(field=f, description="bad") for f in fields]
        status.details.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
    return status


def _packed(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def abort_with(context: grpc.aio.ServicerContext, status: status_pb2.Status, trailing: Sequence = ()) -> None:
    """Fails the RPC with a rich status, as the gateway's service.py does, plus extra trailing metadata."""
    grpc_status = rpc_status.to_status(status)
    await context.abort(grpc_status.code, grpc_status.details, tuple(grpc_status.trailing_metadata) + tuple(trailing))


def chunk(text: str, **fields) -> chat_pb2.StreamChatCompletionResponse:
    delta = chat_pb2.ChatDelta(content=text)
    choice = chat_pb2.ChunkChoice(index=0, delta=delta, **fields)
    body = chat_pb2.ChatCompletionChunk(id="chatcmpl-1", created=1700000000, model="m", choices=[choice])
    return chat_pb2.StreamChatCompletionResponse(chunk=body)


RATE_LIMITED = rich_status(
    8, "openai error: slow down", "RATE_LIMITED", {"upstream_status": "429", "provider": "openai"}
)


class EchoGateway(gateway_service_pb2_grpc.GatewayServiceServicer):
    """Answers from the request: the model name picks a scripted behaviour; metadata and cancellations are recorded."""

    def __init__(self) -> None:
        self.metadata: list[tuple[tuple[str, str | bytes], ...]] = []
        self.requests: list = []
        self.cancelled = threading.Event()

    async def _begin(self, request, context: grpc.aio.ServicerContext) -> None:
        self.metadata.append(tuple((m.key, m.value) for m in context.invocation_metadata()))
        self.requests.append(request)
        await context.send_initial_metadata((("x-portkey-provider", "openai"), ("x-portkey-trace-id", "trace-1")))

    async def _wait_for_cancel(self) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def CreateChatCompletion(self, request, context):
        await self._begin(request, context)
        if request.model == "rate-limited":
            await abort_with(context, RATE_LIMITED, (("x-portkey-retry-attempt-count", "-1"),))
        if request.model == "slow":
            await self._wait_for_cancel()
        context.set_trailing_metadata((("x-portkey-cache-status", "MISS"), ("x-other", "no")))
        last = request.messages[-1].text if request.messages else ""
        message = chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, text=f"echo: {last}")
        choice = chat_pb2.Choice(index=0, message=message, finish_reason=chat_pb2.FINISH_REASON_STOP)
        usage = chat_pb2.Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
        return chat_pb2.CreateChatCompletionResponse(
            id="chatcmpl-1", created=1700000000, model=request.model, choices=[choice], usage=usage, provider="openai"
        )

    async def StreamChatCompletion(self, request, context):
        await self._begin(request, context)
        try:
            async for message in self._stream(request.request.model, context):
                yield message
        except (asyncio.CancelledError, GeneratorExit):
            # grpc.aio cancels the task when it is awaiting inside the servicer, and closes the generator when it
            # was cancelled between messages (while sending one): both are a cancelled call
            self.cancelled.set()
            raise

    async def _stream(self, model: str, context):
        if model == "fail-first":
            await abort_with(context, RATE_LIMITED)
        if model == "slow-first":
            await self._wait_for_cancel()
        if model == "inband-first":
            yield chat_pb2.StreamChatCompletionResponse(error=chat_pb2.StreamError(http_status=429, message="slow"))
            return
        yield chunk("Hel")
        yield chunk("lo", finish_reason=chat_pb2.FINISH_REASON_STOP)
        if model == "fail-after":
            await abort_with(context, rich_status(14, "openai is down", "UPSTREAM_UNAVAILABLE"))
        if model == "inband-after":
            error = chat_pb2.StreamError(code=4, http_status=408, message="too slow", reason="REQUEST_TIMEOUT")
            yield chat_pb2.StreamChatCompletionResponse(error=error)
        if model == "slow":
            await self._wait_for_cancel()

    async def CreateEmbeddings(self, request, context):
        await self._begin(request, context)
        data = [embeddings_pb2.Embedding(index=0, embedding=[0.5, -1.25, 3.0])]
        usage = chat_pb2.Usage(prompt_tokens=2, total_tokens=2)
        return embeddings_pb2.CreateEmbeddingsResponse(model=request.model, data=data, usage=usage, provider="openai")

    async def ListModels(self, request, context):
        await self._begin(request, context)
        models = [models_pb2.Model(id="gpt-test", created=1700000000, owned_by="openai")]
        return models_pb2.ListModelsResponse(models=models)
