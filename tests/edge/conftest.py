"""Fixtures for the edge tests: real grpc.aio servers on 127.0.0.1:0 and the edge app in front of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from edge.app import create_app
from gateway_grpc.v1 import gateway_service_pb2_grpc
from tests.edge.grpc_fakes import EchoGateway, ThreadedGrpcServer

TEST_MAX_BODY_BYTES = 64 * 1024


@pytest.fixture
def grpc_server() -> Iterator[Callable[[gateway_service_pb2_grpc.GatewayServiceServicer], ThreadedGrpcServer]]:
    """`grpc_server(servicer)` starts a server for the test; every one started is stopped afterwards."""
    servers: list[ThreadedGrpcServer] = []

    def serve(servicer) -> ThreadedGrpcServer:
        server = ThreadedGrpcServer(servicer)
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def echo_server(grpc_server) -> ThreadedGrpcServer:
    return grpc_server(EchoGateway())


@pytest.fixture
def client(echo_server) -> Iterator[TestClient]:
    app = create_app(echo_server.target, max_body_bytes=TEST_MAX_BODY_BYTES)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
