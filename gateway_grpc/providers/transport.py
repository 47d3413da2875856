"""The only module that talks HTTP to providers: pooled httpx clients, deadlines, and transport-error mapping.

It moves bytes; it never translates. Errors of the HTTP client become ProviderTimeout / ProviderUnavailable here,
once (`map_transport_errors`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
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


@contextmanager
def map_transport_errors(provider: str) -> Iterator[None]:
    """Turn HTTP-client and deadline exceptions into the gateway's provider errors."""
    try:
        yield
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise ProviderTimeout(f"{provider} did not answer within the request timeout", provider=provider) from exc
    except httpx.TransportError as exc:
        detail = type(exc).__name__
        raise ProviderUnavailable(f"{provider} could not be reached ({detail})", provider=provider) from exc


class UpstreamStream:
    """An open streamed response: status and headers now, the body chunk by chunk, each read under the deadline."""

    def __init__(self, response: httpx.Response, provider: str, deadline: float | None) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self._response = response
        self._provider = provider
        self._deadline = deadline

    async def read(self) -> bytes:
        with map_transport_errors(self._provider):
            async with asyncio.timeout_at(self._deadline):
                return await self._response.aread()

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        chunks = self._response.aiter_bytes()
        while True:
            with map_transport_errors(self._provider):
                async with asyncio.timeout_at(self._deadline):
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
            yield chunk


class ProviderTransport:
    """One pooled httpx client per provider (so one slow provider cannot starve the others' connections)."""

    def __init__(self, limits: TransportLimits | None = None) -> None:
        self._limits = limits or TransportLimits()
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, provider: str) -> httpx.AsyncClient:
        client = self._clients.get(provider)
        if client is None:
            lim = self._limits
            client = httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=lim.max_connections,
                    max_keepalive_connections=lim.max_keepalive_connections,
                    keepalive_expiry=lim.keepalive_expiry_s,
                ),
                timeout=httpx.Timeout(None, connect=lim.connect_timeout_s),
                follow_redirects=False,
                trust_env=False,
            )
            self._clients[provider] = client
        return client

    def _request(self, call: HttpCall, provider: str) -> httpx.Request:
        return self._client(provider).build_request(call.method, call.url, headers=call.headers, content=call.body)

    async def send(self, call: HttpCall, provider: str, deadline: float | None) -> UpstreamResponse:
        """Send one request and read the whole answer before `deadline` (event-loop time)."""
        with map_transport_errors(provider):
            async with asyncio.timeout_at(deadline):
                response = await self._client(provider).send(self._request(call, provider))
                body = await response.aread()
        return UpstreamResponse(response.status_code, response.headers, body)

    @asynccontextmanager
    async def stream(self, call: HttpCall, provider: str, deadline: float | None) -> AsyncIterator[UpstreamStream]:
        """Open a streamed request; the connection is released (or closed, if unfinished) on exit."""
        client = self._client(provider)
        with map_transport_errors(provider):
            async with asyncio.timeout_at(deadline):
                response = await client.send(self._request(call, provider), stream=True)
        try:
            yield UpstreamStream(response, provider, deadline)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
