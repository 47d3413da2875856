"""HttpOutbound against the loopback guardrail fake: the SSRF guard first, deadlines, the body cap, DNS, and errors
that never carry a URL's query."""

from __future__ import annotations

import socket

import pytest

from gateway_grpc.errors import CustomHostBlocked
from gateway_grpc.guardrails.outbound import HttpOutbound, where
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.transport import ProviderTransport
from tests.fakes.guardrail_upstreams import GuardrailUpstreams


@pytest.fixture(scope="module")
def fake():
    with GuardrailUpstreams() as server:
        yield server


@pytest.fixture
async def transport():
    transport = ProviderTransport()
    yield transport
    await transport.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_outbound_request_answers_status_headers_and_body(fake, transport):
    answer = await HttpOutbound(transport, HostGuard()).request("GET", fake.url("/status/404"))
    assert (answer.status, answer.body) == (404, b"status page")
    assert answer.headers["content-length"] == "11"


async def test_outbound_request_sends_method_headers_and_body(fake, transport):
    fake.clear()
    await HttpOutbound(transport, HostGuard()).request("POST", fake.url("/log"), body=b'{"a":1}',
                                                       headers={"x-team": "blue"})
    [seen] = fake.requests
    assert (seen.method, seen.body, seen.headers["x-team"]) == ("POST", b'{"a":1}', "blue")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://10.1.2.3/", "file:///etc/passwd",
                                 "http://metadata.google.internal/"])
async def test_outbound_request_refuses_what_the_guard_refuses(transport, url):
    with pytest.raises(CustomHostBlocked):
        await HttpOutbound(transport, HostGuard()).request("GET", url)


async def test_outbound_request_refused_url_is_never_sent(fake, transport):
    fake.clear()
    with pytest.raises(CustomHostBlocked):
        await HttpOutbound(transport, HostGuard(allowed=())).request("GET", fake.url("/status/200"))
    assert fake.requests == []


async def test_outbound_request_timeout_is_timeout_error_without_the_query(fake, transport):
    with pytest.raises(TimeoutError) as caught:
        await HttpOutbound(transport, HostGuard()).request("GET", fake.url("/slow?ms=2000&token=s3cret"),
                                                           timeout_s=0.2)
    assert "/slow" in str(caught.value) and "s3cret" not in str(caught.value)


async def test_outbound_request_unreachable_host_is_connection_error(transport):
    with pytest.raises(ConnectionError):
        await HttpOutbound(transport, HostGuard()).request("GET", f"http://127.0.0.1:{_closed_port()}/")


async def test_outbound_request_reads_at_most_the_body_cap(fake, transport):
    outbound = HttpOutbound(transport, HostGuard(), max_body_bytes=1000)
    answer = await outbound.request("GET", fake.url("/big?bytes=500000"))
    assert (answer.status, len(answer.body)) == (200, 1000)


@pytest.mark.parametrize(("host", "expected"), [("localhost", True), ("127.0.0.1", True),
                                                ("no-such-host.invalid", False)], ids=["name", "literal", "unknown"])
async def test_outbound_resolves(transport, host, expected):
    assert await HttpOutbound(transport, HostGuard()).resolves(host) is expected


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "fd00::1", "metadata.google.internal"])
async def test_outbound_resolves_refuses_guarded_hosts(transport, host):
    with pytest.raises(CustomHostBlocked):
        await HttpOutbound(transport, HostGuard()).resolves(host)


def test_outbound_where_drops_query_and_fragment():
    assert where("https://hooks.example.com:8443/v1/check?token=abc#x") == "https://hooks.example.com:8443/v1/check"
