"""Shared fixtures: the loopback fake OpenAI upstream and a real in-process gateway gRPC server on port 0."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio

from gateway_grpc.config import GatewaySettings
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import gateway_service_pb2_grpc
from tests.fakes.openai_upstream import FakeOpenAI


@pytest.fixture(scope="session")
def fake_openai():
    """One strict fake for the session (every request checked against the OpenAI SDK's request types)."""
    with FakeOpenAI(strict=True) as fake:
        yield fake


@pytest.fixture
def upstream(fake_openai):
    """The session fake, with its request log cleared for this test."""
    fake_openai.clear()
    return fake_openai


@pytest_asyncio.fixture
async def gateway():
    """A real GatewayServer on 127.0.0.1:0 (default settings) and a grpc.aio stub connected to it."""
    server = GatewayServer(GatewaySettings(), "127.0.0.1", 0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield gateway_service_pb2_grpc.GatewayServiceStub(channel)
    finally:
        await server.stop(grace=0)
