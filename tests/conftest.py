"""Shared fixtures: the loopback fake OpenAI upstream, a real in-process gateway gRPC server on port 0, and a real
Redis server (tests/redis_server.py)."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio

from gateway_grpc.config import GatewaySettings
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import gateway_service_pb2_grpc
from tests.fakes.openai_upstream import FakeOpenAI
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def fake_openai():
    """One strict fake for the session (every request checked against the OpenAI SDK's request types)."""
    with FakeOpenAI(strict=True) as fake:
        yield fake


@pytest.fixture(scope="session")
def redis_server():
    """One real redis-server for the session, started on first use."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    """The session Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


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
