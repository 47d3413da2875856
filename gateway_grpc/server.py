"""The grpc.aio server process: builds the pipeline once, serves GatewayService + health + reflection, and stops
gracefully (NOT_SERVING, stop accepting, drain in-flight calls up to the grace period)."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sys

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway_grpc.config import GatewaySettings
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.pipeline import build_pipeline
from gateway_grpc.providers.transport import ProviderTransport, TransportLimits
from gateway_grpc.request_context import RequestContextBuilder
from gateway_grpc.service import GatewayService
from gateway_grpc.v1 import gateway_service_pb2, gateway_service_pb2_grpc

log = logging.getLogger("gateway_grpc.server")
SERVICE_NAME = gateway_service_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name


def server_options(settings: GatewaySettings) -> list[tuple[str, int]]:
    """Channel arguments (shared/reference/envoy-grpc.md §5)."""
    max_bytes = settings.server.max_request_bytes + 1024 * 1024  # room for the envelope around the largest body
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_concurrent_streams", 1000),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.max_send_message_length", max_bytes),
    ]


class GatewayServer:
    """One server: `start()` binds and serves, `stop()` drains. Port 0 picks a free port (see `port`)."""

    def __init__(self, settings: GatewaySettings, host: str = "127.0.0.1", port: int = 0, *,
                 rng: random.Random | None = None) -> None:
        """Compiles every configured routing tree first: InvalidConfig (naming the path) before anything binds."""
        up = settings.upstream
        self.settings = settings
        self.transport = ProviderTransport(TransportLimits(
            max_connections=up.max_connections, max_keepalive_connections=up.max_keepalive_connections,
            connect_timeout_s=up.connect_timeout_s,
        ))
        self.pipeline = build_pipeline(settings, self.transport, rng=rng)
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(options=server_options(settings),
                                      maximum_concurrent_rpcs=settings.server.max_concurrent_rpcs)
        service = GatewayService(self.pipeline.handler, RequestContextBuilder(settings, self.pipeline.routes))
        gateway_service_pb2_grpc.add_GatewayServiceServicer_to_server(service, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")

    async def start(self) -> None:
        await self.pipeline.cache.start()
        await self.server.start()
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float | None = None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.server.grace_period_s if grace is None else grace)
        await self.pipeline.guardrails.aclose()
        await self.transport.aclose()
        await self.pipeline.cache.aclose()


async def serve(settings: GatewaySettings, host: str, port: int) -> int:
    """Run until SIGINT/SIGTERM; the exit code for the process."""
    try:
        server = GatewayServer(settings, host, port)
    except RuntimeError as exc:  # grpc raises RuntimeError when the port cannot be bound
        print(f"gateway_grpc: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    except InvalidRequest as exc:  # a named or default routing config that does not compile
        print(f"gateway_grpc: invalid config: {exc.message}", file=sys.stderr)
        return 2
    await server.start()
    print(f"gateway_grpc serving on {host}:{server.port}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("stopping: draining in-flight calls for up to %ss", settings.server.grace_period_s)
    await server.stop()
    return 0
