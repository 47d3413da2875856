"""edge/headers.py: HTTP request headers -> gRPC metadata; x-portkey-* response metadata -> HTTP headers."""

from __future__ import annotations

import pytest

from edge.headers import InvalidHeader, portkey_headers, request_metadata


def raw(*pairs: tuple[str, str | bytes]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value if isinstance(value, bytes) else value.encode()) for name, value in pairs]


FORWARDED = [
    ("authorization", "Bearer sk-test"),
    ("x-portkey-provider", "openai"),
    ("x-portkey-config", '{"retry":{"attempts":2}}'),
    ("x-portkey-metadata", '{"user":"u"}'),
    ("openai-beta", "assistants=v2"),
    ("x-stainless-lang", "python"),
    ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ("accept", "application/json"),
    ("x-custom", ""),
]
DROPPED = [
    ("host", "127.0.0.1:8000"),
    ("content-length", "12"),
    ("content-type", "application/json"),
    ("content-encoding", "gzip"),
    ("user-agent", "OpenAI/Python 3.57.0"),
    ("accept-encoding", "gzip"),
    ("expect", "100-continue"),
    ("te", "trailers"),
    ("connection", "keep-alive, x-hop"),
    ("x-hop", "named by Connection"),
    ("keep-alive", "timeout=5"),
    ("transfer-encoding", "chunked"),
    ("upgrade", "h2c"),
    ("proxy-authorization", "Basic abc"),
    ("x-envoy-expected-rq-timeout-ms", "15000"),
    ("grpc-timeout", "1S"),
]


def test_headers_forward_end_to_end_headers_in_order():
    assert request_metadata(raw(*FORWARDED)) == tuple(FORWARDED)


@pytest.mark.parametrize(("name", "value"), DROPPED, ids=[name for name, _ in DROPPED])
def test_headers_drop_hop_by_hop_and_transport_headers(name, value):
    assert request_metadata(raw((name, value), ("connection", "x-hop"), ("x-kept", "1"))) == (("x-kept", "1"),)


def test_headers_repeated_headers_stay_separate_entries():
    assert request_metadata(raw(("x-a", "1"), ("x-a", "2"))) == (("x-a", "1"), ("x-a", "2"))


def test_headers_upper_case_names_are_lowered():
    assert request_metadata([(b"X-Portkey-Provider", b"openai")]) == (("x-portkey-provider", "openai"),)


def test_headers_binary_keys_are_forwarded_as_bytes():
    assert request_metadata(raw(("x-trace-bin", b"\xff\x00"))) == (("x-trace-bin", b"\xff\x00"),)


@pytest.mark.parametrize("value", ["caf\u00e9".encode(), b"tab\there", b"bell\x07"], ids=["utf-8", "tab", "control"])
def test_headers_value_grpc_cannot_carry_names_the_header(value):
    with pytest.raises(InvalidHeader) as caught:
        request_metadata(raw(("x-ok", "1"), ("x-portkey-metadata", value)))

    assert caught.value.name == "x-portkey-metadata"
    assert "not printable ASCII" in str(caught.value)


def test_headers_name_grpc_cannot_carry_names_the_header():
    with pytest.raises(InvalidHeader) as caught:
        request_metadata(raw(("x-odd!name", "1")))

    assert caught.value.name == "x-odd!name"


def test_headers_portkey_response_headers_from_initial_and_trailing_metadata():
    initial = (("x-portkey-provider", "openai"), ("x-portkey-trace-id", "t-1"), ("x-internal", "no"))
    trailing = (("x-portkey-trace-id", "t-2"), ("x-portkey-retry-attempt-count", "-1"), ("x-portkey-raw-bin", b"\x00"))

    assert portkey_headers(initial, trailing) == {
        "x-portkey-provider": "openai",
        "x-portkey-trace-id": "t-2",
        "x-portkey-retry-attempt-count": "-1",
    }


def test_headers_portkey_response_headers_accept_missing_metadata():
    assert portkey_headers(None, ()) == {}
