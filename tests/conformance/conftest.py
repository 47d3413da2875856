"""Fixtures of the conformance matrix: the strict fakes (one of each kind, started on first use, for the session), the
in-process gRPC gateway and the REST stack (`gateway up` from tests/e2e/stack.py), both with a 1 ms retry backoff
so the retried error cases stay fast."""

from __future__ import annotations

import contextlib

import grpc
import pytest

from gateway_grpc.config import GatewaySettings, RoutingSettings
from tests.conformance.drivers import GrpcColumn, RestColumn, ThreadedGateway
from tests.conformance.providers import FAKES
from tests.e2e.stack import launch, stop_and_check

FAST_RETRIES = RoutingSettings(retry_backoff_base_ms=1, retry_backoff_cap_ms=5)


@pytest.fixture(scope="session")
def upstreams():
    """`upstreams(kind)` -> the running fake of that kind (FAKES), started on first use."""
    with contextlib.ExitStack() as stack:
        started: dict[str, object] = {}

        def get(kind: str):
            if kind not in started:
                started[kind] = stack.enter_context(FAKES[kind]())
            return started[kind]

        yield get


@pytest.fixture(scope="session")
def grpc_column():
    with ThreadedGateway(GatewaySettings(routing=FAST_RETRIES)) as target, grpc.insecure_channel(target) as channel:
        yield GrpcColumn(channel)


@pytest.fixture(scope="session")
def rest_column(tmp_path_factory):
    config = tmp_path_factory.mktemp("conformance") / "gateway.yaml"
    config.write_text(f"routing:\n  retry_backoff_base_ms: {FAST_RETRIES.retry_backoff_base_ms}\n"
                      f"  retry_backoff_cap_ms: {FAST_RETRIES.retry_backoff_cap_ms}\n")
    stack = launch("--config", str(config))
    try:
        yield RestColumn(stack.openai_url)
    finally:
        stop_and_check(stack)
