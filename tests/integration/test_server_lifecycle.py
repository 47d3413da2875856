"""Graceful shutdown of the gRPC server: in-flight calls finish within the grace period, health turns NOT_SERVING,
new calls are refused."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway_grpc.config import GatewaySettings
from gateway_grpc.server import SERVICE_NAME, GatewayServer
from gateway_grpc.v1 import chat_pb2, gateway_service_pb2_grpc, options_pb2


def _request(upstream, model: str) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model=model, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="drain me")],
        options=options_pb2.RequestOptions(provider="openai", custom_host=upstream.base_url))


async def test_server_stop_drains_in_flight_calls_and_refuses_new_ones(upstream):
    server = GatewayServer(GatewaySettings(), "127.0.0.1", 0)
    await server.start()
    target = f"127.0.0.1:{server.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        meta = (("authorization", "Bearer sk-test"),)
        in_flight = asyncio.ensure_future(stub.CreateChatCompletion(_request(upstream, "m+delay-600"), metadata=meta))
        await asyncio.sleep(0.2)  # the call is now waiting on the upstream
        stopping = asyncio.ensure_future(server.stop(grace=5))
        await asyncio.sleep(0.05)
        answer = await in_flight
        assert answer.choices[0].message.text == "Echo: drain me"
        await stopping
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gateway_service_pb2_grpc.GatewayServiceStub(channel).CreateChatCompletion(
                _request(upstream, "m"), metadata=(("authorization", "Bearer sk-test"),), timeout=1)
        assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_server_stop_tells_health_watchers_not_serving(upstream):
    server = GatewayServer(GatewaySettings(), "127.0.0.1", 0)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        statuses = aiter(watch)
        assert (await anext(statuses)).status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.ensure_future(server.stop(grace=1))
        assert (await anext(statuses)).status == health_pb2.HealthCheckResponse.NOT_SERVING
        await stopping
