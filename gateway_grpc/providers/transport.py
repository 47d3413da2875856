"""The only module that talks HTTP to providers: pooled httpx clients, deadlines, and transport-error mapping.

It moves bytes; it never translates. Errors of the HTTP client become ProviderTimeout / ProviderUnavailable here,
once (`map_transport_errors`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx

from gateway_grpc.errors import ProviderTimeout, ProviderUnavailable
from gateway_grpc.providers.base import HttpCall


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Connection pool size per provider and the connect timeout."""

    max_connections: int = 512
    max_keepalive_connections: int = 128
    keepalive_expiry_s: float = 30.0
    connect_timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: httpx.Headers
    body: bytes


def _timeout_message(provider: str, limit_ms: int | None) -> str:
    if limit_ms is None:
        return f"{provider} did not answer before the call's deadline"
    return f"Request exceeded the timeout sent in the request: {limit_ms}ms ({provider})"  # Portkey contract §9


@contextmanager
def map_transport_errors(provider: str, limit_ms: int | None = None) -> Iterator[None]:
    """Turn HTTP-client and deadline exceptions into the gateway's provider errors; `limit_ms` names the timeout."""
    try:
        yield
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise ProviderTimeout(_timeout_message(provider, limit_ms), provider=provider) from exc
    except httpx.TransportError as exc:
        detail = type(exc).__name__
        raise ProviderUnavailable(f"{provider} could not be reached ({detail})", provider=provider) from exc


class UpstreamStream:
    """An open streamed response: status and headers now, then the body chunk by chunk, each read under a deadline:
    the first by the first-byte deadline, each next within `gap` seconds of asking for it, all by `overall`."""

    def __init__(self, response: httpx.Response, provider: str, deadline: float | None, limit_ms: int | None) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self._response = response
        self._provider = provider
        self._deadline = deadline
        self._limit_ms = limit_ms

    async def read(self) -> bytes:
        with map_transport_errors(self._provider, self._limit_ms):
            async with asyncio.timeout_at(self._deadline):
                return await self._response.aread()

    async def iter_bytes(self, gap: float | None, overall: float | None) -> AsyncIterator[bytes]:
        chunks = self._response.aiter_bytes()
        loop = asyncio.get_running_loop()
        deadline = self._deadline
        while True:
            with map_transport_errors(self._provider, self._limit_ms):
                async with asyncio.timeout_at(deadline):
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
            yield chunk
            deadline = overall if gap is None else _earliest(loop.time() + gap, overall)


def _earliest(deadline: float, other: float | None) -> float:
    return deadline if other is None else min(deadline, other)


class ProviderTransport:
    """One connection pool per provider (so one slow provider cannot starve the others' connections).

    Calls httpx's pooled transport directly: the client layer above it (redirects, cookies, auth, event hooks) is
    nothing the gateway uses and costs ~0.14 ms a call (bench/latency.py).
    """

    def __init__(self, limits: TransportLimits | None = None) -> None:
        self._limits = limits or TransportLimits()
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        # Reads and writes are bounded by the call's deadline (asyncio.timeout_at), not per operation.
        timeouts = {"connect": self._limits.connect_timeout_s, "read": None, "write": None, "pool": None}
        self._extensions = {"timeout": timeouts}

    def _pool(self, provider: str) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(provider)
        if pool is None:
            lim = self._limits
            pool = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=lim.max_connections,
                    max_keepalive_connections=lim.max_keepalive_connections,
                    keepalive_expiry=lim.keepalive_expiry_s,
                ),
                trust_env=False,
            )
            self._pools[provider] = pool
        return pool

    def _open(self, call: HttpCall, provider: str) -> Awaitable[httpx.Response]:
        request = httpx.Request(call.method, call.url, headers=call.headers, content=call.body,
                                extensions=self._extensions)
        return self._pool(provider).handle_async_request(request)

    async def send(self, call: HttpCall, provider: str, deadline: float | None,
                   limit_ms: int | None = None) -> UpstreamResponse:
        """Send one request and read the whole answer before `deadline` (event-loop time)."""
        with map_transport_errors(provider, limit_ms):
            async with asyncio.timeout_at(deadline):
                response = await self._open(call, provider)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
        return UpstreamResponse(response.status_code, response.headers, body)

    @asynccontextmanager
    async def stream(self, call: HttpCall, provider: str, deadline: float | None,
                     limit_ms: int | None = None) -> AsyncIterator[UpstreamStream]:
        """Open a streamed request by `deadline`; the connection is released (or closed, if unfinished) on exit."""
        with map_transport_errors(provider, limit_ms):
            async with asyncio.timeout_at(deadline):
                response = await self._open(call, provider)
        try:
            yield UpstreamStream(response, provider, deadline, limit_ms)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
