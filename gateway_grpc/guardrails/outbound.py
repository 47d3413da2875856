"""HTTP and DNS for the guardrail checks that call out (webhook, log, validUrls, jwt): `HttpOutbound`, the
base.Outbound the server builds once, plus the compile-time URL check those checks share.

Every URL passes the custom-host SSRF guard before anything is sent (a refused one raises CustomHostBlocked), is
sent by the providers' transport on its own `guardrails` connection pool, and has its answer read up to
`max_body_bytes` (the rest is not read; the connection is closed). Transport failures become the protocol's
TimeoutError / ConnectionError naming the host only: URLs may carry tokens in their query and headers may carry
credentials, so neither a header value nor a full URL is ever put in an error, a result or a log line.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from gateway_grpc.errors import CustomHostBlocked, ProviderTimeout, ProviderUnavailable
from gateway_grpc.guardrails.base import Outbound, OutboundResponse, Params
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.transport import ProviderTransport

POOL = "guardrails"  # the transport's connection pool for guardrail calls
MAX_BODY_BYTES = 1 << 20


class UnexpectedStatus(Exception):
    """A remote answered with a status the check cannot use (webhook, log, JWKS: anything but 2xx)."""


def where(url: str) -> str:
    """What errors and results may say about a URL: scheme, host, port and path; never its query or fragment."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class HttpOutbound:
    """base.Outbound over `transport`, every URL and host checked by `guard` (the custom-host allowlist's)."""

    def __init__(self, transport: ProviderTransport, guard: HostGuard, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._transport, self._guard, self._max_body = transport, guard, max_body_bytes

    def check_url(self, url: str, field: str) -> str:
        self._guard.check(url, field)
        return url

    async def request(self, method: str, url: str, *, body: bytes | None = None,
                      headers: Mapping[str, str] | None = None, timeout_s: float = 3.0) -> OutboundResponse:
        """One request, answered within `timeout_s`; raises CustomHostBlocked, TimeoutError or ConnectionError."""
        self._guard.check(url, "guardrail URL")
        deadline = asyncio.get_running_loop().time() + timeout_s
        call = HttpCall(method, url, dict(headers or {}), body)
        try:
            async with self._transport.stream(call, POOL, deadline) as upstream:
                content = await self._read(upstream.iter_bytes(None, deadline))
                return OutboundResponse(upstream.status, dict(upstream.headers), content)
        except ProviderTimeout:
            raise TimeoutError(f"{method} {where(url)} did not answer within {timeout_s:g} s") from None
        except ProviderUnavailable:
            raise ConnectionError(f"{method} {where(url)}: the host could not be reached") from None

    async def _read(self, chunks: AsyncIterator[bytes]) -> bytes:
        parts, size = [], 0
        async for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size >= self._max_body:
                break
        return b"".join(parts)[: self._max_body]

    async def resolves(self, host: str, timeout_s: float = 3.0) -> bool:
        """True when `host` has an address; CustomHostBlocked when the guard refuses it (nothing is looked up)."""
        self._guard.check(f"http://[{host}]/" if ":" in host else f"http://{host}/", "host")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                answers = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):  # socket.gaierror is an OSError
            return False
        return bool(answers)


def url_param(params: Params, name: str, outbound: Outbound | None) -> str:
    """A required URL parameter, refused at compile time when the SSRF guard would refuse it at run time (the
    outbound's own guard when it has one, else the default rules)."""
    url = params.string(name, required=True)
    try:
        if outbound is not None:
            outbound.check_url(url, name)
        else:
            HostGuard().check(url, name)
    except CustomHostBlocked as exc:
        reason = exc.violations[0].description if exc.violations else str(exc)
        raise params.error(name, f"refused by the SSRF guard: {reason}") from None
    return url
