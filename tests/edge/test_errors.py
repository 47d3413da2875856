"""edge/errors.py: gRPC failures (real grpc.aio errors with real status details) -> HTTP status and envelope."""

from __future__ import annotations

import asyncio
import socket

import grpc
import orjson
import pytest

from edge.errors import (
    GRPC_CODES,
    REASONS,
    ErrorReply,
    edge_error,
    error_body,
    error_response,
    reply_for,
    reply_from_rpc_error,
    reply_from_stream_error,
)
from edge.headers import InvalidHeader
from edge.shapes import RequestShapeError
from gateway_grpc.v1 import chat_pb2, gateway_service_pb2_grpc
from tests.edge.grpc_fakes import abort_with, rich_status

ARCHITECTURE_REASONS = {
    "HOOKS_FAILED",
    "INVALID_REQUEST",
    "INVALID_CONFIG",
    "CUSTOM_HOST_BLOCKED",
    "UPSTREAM_ERROR",
    "RATE_LIMITED",
    "REQUEST_TIMEOUT",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_INVALID_RESPONSE",
    "CIRCUIT_OPEN",
    "NOT_IMPLEMENTED",
    "INTERNAL",
}


class FailingGateway(gateway_service_pb2_grpc.GatewayServiceServicer):
    """CreateChatCompletion fails with the scripted status (rich) or plain code, plus trailing metadata."""

    def __init__(self, status=None, code=None, message="", trailing=()):
        self.status, self.code, self.message, self.trailing = status, code, message, trailing

    async def CreateChatCompletion(self, request, context):
        if self.status is not None:
            await abort_with(context, self.status, self.trailing)
        if self.code is not None:
            await context.abort(self.code, self.message, self.trailing)
        raise RuntimeError("servicer bug")


async def _failure(grpc_server, servicer, timeout=None) -> grpc.aio.AioRpcError:
    server = grpc_server(servicer)
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(), timeout=timeout)
    return caught.value


# (case, rich_status(**args), expected reply fields)
REASON_CASES = [
    (
        "invalid request names the first violation",
        {"code": 3, "message": "messages: empty", "reason": "INVALID_REQUEST", "fields": ["messages", "model"]},
        {"status": 400, "type": "invalid_request_error", "param": "messages", "gateway_exception": False},
    ),
    ("invalid config", {"code": 3, "message": "bad", "reason": "INVALID_CONFIG"}, {"status": 400, "param": None}),
    ("custom host blocked", {"code": 3, "message": "blocked", "reason": "CUSTOM_HOST_BLOCKED"}, {"status": 400}),
    (
        "upstream error keeps the provider's status and fields",
        {
            "code": 16,
            "message": "openai error: Incorrect API key provided",
            "reason": "UPSTREAM_ERROR",
            "metadata": {
                "upstream_status": "401", "type": "invalid_request_error", "code": "invalid_api_key",
                "provider": "openai",
            },
        },
        {"status": 401, "type": "invalid_request_error", "code": "invalid_api_key", "provider": "openai"},
    ),
    (
        "upstream error without a type takes it from the status",
        {"code": 5, "message": "no such model", "reason": "UPSTREAM_ERROR", "metadata": {"upstream_status": "404"}},
        {"status": 404, "type": "not_found_error", "code": None},
    ),
    (
        "upstream error without a status is a bad gateway",
        {"code": 2, "message": "broken", "reason": "UPSTREAM_ERROR"},
        {"status": 502, "type": "server_error"},
    ),
    (
        "rate limited",
        {
            "code": 8, "message": "slow down", "reason": "RATE_LIMITED",
            "metadata": {"upstream_status": "429", "provider": "anthropic"},
        },
        {"status": 429, "type": "rate_limit_error", "provider": "anthropic", "gateway_exception": False},
    ),
    (
        "request timeout",
        {"code": 4, "message": "timed out", "reason": "REQUEST_TIMEOUT"},
        {"status": 408, "type": "timeout_error"},
    ),
    (
        "upstream unavailable",
        {"code": 14, "message": "connect failed", "reason": "UPSTREAM_UNAVAILABLE"},
        {"status": 503, "type": "api_connection_error", "message": "connect failed", "gateway_exception": False},
    ),
    (
        "upstream invalid response",
        {"code": 2, "message": "Invalid response received from openai", "reason": "UPSTREAM_INVALID_RESPONSE"},
        {"status": 502, "type": "server_error"},
    ),
    (
        "not implemented is a gateway exception",
        {"code": 12, "message": "embed is not supported by anthropic", "reason": "NOT_IMPLEMENTED"},
        {"status": 501, "type": "invalid_request_error", "gateway_exception": True},
    ),
    (
        "internal is a gateway exception",
        {"code": 13, "message": "boom", "reason": "INTERNAL"},
        {"status": 500, "type": "server_error", "gateway_exception": True},
    ),
    (
        "an unknown reason falls back to the gRPC code",
        {"code": 3, "message": "odd", "reason": "SOMETHING_NEW"},
        {"status": 400, "type": "invalid_request_error"},
    ),
    (
        "ErrorInfo param wins over the BadRequest field",
        {
            "code": 3, "message": "bad", "reason": "INVALID_REQUEST", "metadata": {"param": "temperature"},
            "fields": ["messages"],
        },
        {"param": "temperature"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "args", "expected"), REASON_CASES, ids=[row[0] for row in REASON_CASES])
async def test_errors_reason_maps_to_http(grpc_server, case, args, expected):
    servicer = FailingGateway(status=rich_status(**args))
    reply = reply_from_rpc_error(await _failure(grpc_server, servicer))

    assert reply.message == expected.get("message", args["message"])
    for name, value in expected.items():
        assert getattr(reply, name) == value, name


CODE_CASES = [
    (grpc.StatusCode.DEADLINE_EXCEEDED, 504, "timeout_error", False),
    (grpc.StatusCode.CANCELLED, 499, "server_error", False),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "rate_limit_error", False),
    (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request_error", False),
    (grpc.StatusCode.UNIMPLEMENTED, 501, "invalid_request_error", True),
    (grpc.StatusCode.INTERNAL, 500, "server_error", True),
    (grpc.StatusCode.UNAUTHENTICATED, 401, "authentication_error", False),
]


@pytest.mark.parametrize(
    ("code", "status", "kind", "gateway_exception"), CODE_CASES, ids=[c[0].name for c in CODE_CASES]
)
async def test_errors_code_without_error_info_maps_by_code(grpc_server, code, status, kind, gateway_exception):
    reply = reply_from_rpc_error(await _failure(grpc_server, FailingGateway(code=code, message="plain failure")))

    assert (reply.status, reply.type, reply.gateway_exception) == (status, kind, gateway_exception)
    assert reply.message == "plain failure"


async def test_errors_servicer_exception_is_a_gateway_exception(grpc_server):
    reply = reply_from_rpc_error(await _failure(grpc_server, FailingGateway()))

    assert (reply.status, reply.type, reply.gateway_exception) == (500, "server_error", True)


async def test_errors_unavailable_without_details_is_backend_unavailable(grpc_server):
    servicer = FailingGateway(code=grpc.StatusCode.UNAVAILABLE, message="socket closed")
    reply = reply_from_rpc_error(await _failure(grpc_server, servicer))

    assert (reply.status, reply.message, reply.gateway_exception) == (503, "gateway backend unavailable", True)


async def test_errors_backend_down_is_503():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the call: nothing listens there
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(), timeout=5)

    reply = reply_from_rpc_error(caught.value)
    assert (reply.status, reply.message, reply.type) == (503, "gateway backend unavailable", "server_error")


async def test_errors_client_deadline_is_504(grpc_server):
    class Slow(gateway_service_pb2_grpc.GatewayServiceServicer):
        async def CreateChatCompletion(self, request, context):
            await asyncio.sleep(5)

    reply = reply_from_rpc_error(await _failure(grpc_server, Slow(), timeout=0.05))

    assert (reply.status, reply.type) == (504, "timeout_error")


async def test_errors_portkey_trailing_metadata_becomes_headers_and_provider(grpc_server):
    status = rich_status(8, "slow down", "RATE_LIMITED", {"upstream_status": "429"})
    trailing = (("x-portkey-provider", "groq"), ("x-portkey-retry-attempt-count", "-1"), ("x-internal", "no"))
    reply = reply_from_rpc_error(await _failure(grpc_server, FailingGateway(status=status, trailing=trailing)))

    assert reply.headers == {"x-portkey-provider": "groq", "x-portkey-retry-attempt-count": "-1"}
    assert reply.provider == "groq"


def test_errors_response_has_one_envelope_and_gateway_exception_header():
    reply = ErrorReply(500, "boom", "server_error", provider="openai", gateway_exception=True, headers={"x-a": "1"})
    response = error_response(reply)

    assert response.status_code == 500
    assert orjson.loads(response.body) == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None},
        "provider": "openai",
    }
    assert response.headers["x-portkey-gateway-exception"] == "true"
    assert response.headers["x-a"] == "1"
    assert response.headers["content-type"] == "application/json"


def test_errors_envelope_without_provider_has_no_provider_key():
    assert error_body(ErrorReply(400, "bad")) == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}
    }


STREAM_CASES = [
    (
        "fields are kept",
        chat_pb2.StreamError(
            code=16, http_status=401, message="bad key", type="invalid_request_error", param="p", error_code="c",
            reason="UPSTREAM_ERROR", provider="openai",
        ),
        ErrorReply(401, "bad key", "invalid_request_error", "p", "c", "openai"),
    ),
    (
        "type comes from the reason",
        chat_pb2.StreamError(code=4, http_status=408, message="too slow", reason="REQUEST_TIMEOUT"),
        ErrorReply(408, "too slow", "timeout_error"),
    ),
    (
        "type comes from the status without a reason",
        chat_pb2.StreamError(http_status=503, message="down"),
        ErrorReply(503, "down", "server_error"),
    ),
    (
        "gateway exception from the reason",
        chat_pb2.StreamError(code=13, http_status=500, message="boom", reason="INTERNAL"),
        ErrorReply(500, "boom", "server_error", gateway_exception=True),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "error", "expected"), STREAM_CASES, ids=[row[0] for row in STREAM_CASES])
def test_errors_stream_error_maps_like_unary(case, error, expected):
    assert reply_from_stream_error(error) == expected


EDGE_CASES = [
    (RequestShapeError("messages[0].role", "bad"), ErrorReply(400, "messages[0].role: bad", param="messages[0].role")),
    (InvalidHeader("x-a", "is bad"), ErrorReply(400, "header 'x-a' is bad", param="x-a")),
    (edge_error(413, "too big"), ErrorReply(413, "too big")),
    (edge_error(415, "json please"), ErrorReply(415, "json please")),
    (ValueError("oops"), ErrorReply(500, "internal error in the gateway edge", "server_error", gateway_exception=True)),
]


@pytest.mark.parametrize(("exc", "expected"), EDGE_CASES, ids=[type(row[0]).__name__ for row in EDGE_CASES])
def test_errors_edge_failure_maps_to_reply(exc, expected):
    assert reply_for(exc) == expected


def test_errors_every_architecture_reason_is_mapped():
    assert set(REASONS) == ARCHITECTURE_REASONS


def test_errors_every_grpc_code_is_mapped():
    assert set(GRPC_CODES) == set(grpc.StatusCode) - {grpc.StatusCode.OK}


async def test_errors_upstream_error_details_ride_in_the_envelope(grpc_server):
    inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {"hate": {"filtered": True}}}
    status = rich_status(3, "azure-openai error: filtered", "UPSTREAM_ERROR", {
        "upstream_status": "400", "code": "content_filter", "details": orjson.dumps({"innererror": inner}).decode()})
    reply = reply_from_rpc_error(await _failure(grpc_server, FailingGateway(status=status)))
    body = error_body(reply)
    assert body["error"]["innererror"] == inner and body["error"]["code"] == "content_filter"
    assert body["error"]["message"] == "azure-openai error: filtered"  # the envelope's own keys win
