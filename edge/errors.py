"""Every failure the edge answers -> HTTP status + the one OpenAI error envelope (docs/architecture.md §Errors).

The only module that picks an error's HTTP status: gRPC errors by ErrorInfo reason (else by code), in-band stream
errors, and the edge's own failures (body, headers, routes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import grpc
import orjson
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from starlette.responses import Response

from edge.headers import InvalidHeader, portkey_headers
from edge.hook_results import hook_results_json
from edge.shapes import RequestShapeError
from gateway_grpc.v1 import chat_pb2, guardrails_pb2, routing_pb2


@dataclass(frozen=True, slots=True)
class Rule:
    """How one reason or gRPC code answers over HTTP. `type` None means: derived from the status."""

    status: int
    type: str | None
    gateway_exception: bool = False
    message: str | None = None  # replaces the gRPC message (errors without ErrorInfo only)


REASONS: dict[str, Rule] = {
    "INVALID_REQUEST": Rule(400, "invalid_request_error"),
    "INVALID_CONFIG": Rule(400, "invalid_request_error"),
    "CUSTOM_HOST_BLOCKED": Rule(400, "invalid_request_error"),
    "UPSTREAM_ERROR": Rule(502, None),
    "RATE_LIMITED": Rule(429, "rate_limit_error"),
    "REQUEST_TIMEOUT": Rule(408, "timeout_error"),
    "UPSTREAM_UNAVAILABLE": Rule(503, "api_connection_error"),
    "UPSTREAM_INVALID_RESPONSE": Rule(502, "server_error"),
    "CIRCUIT_OPEN": Rule(503, "server_error"),
    "HOOKS_FAILED": Rule(446, "hooks_failed"),  # a guardrail denied (Portkey contract §8.4)
    "NOT_IMPLEMENTED": Rule(501, "invalid_request_error", gateway_exception=True),
    "INTERNAL": Rule(500, "server_error", gateway_exception=True),
}

# Errors without ErrorInfo: the server is down or was never reached, the call was cancelled, or a gRPC runtime
# failure. Every error the server itself raises carries ErrorInfo.
GRPC_CODES: dict[grpc.StatusCode, Rule] = {
    grpc.StatusCode.CANCELLED: Rule(499, "server_error"),
    grpc.StatusCode.UNKNOWN: Rule(500, "server_error", gateway_exception=True),
    grpc.StatusCode.INVALID_ARGUMENT: Rule(400, "invalid_request_error"),
    grpc.StatusCode.DEADLINE_EXCEEDED: Rule(504, "timeout_error"),
    grpc.StatusCode.NOT_FOUND: Rule(404, "invalid_request_error"),
    grpc.StatusCode.ALREADY_EXISTS: Rule(409, "invalid_request_error"),
    grpc.StatusCode.PERMISSION_DENIED: Rule(403, "permission_error"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: Rule(429, "rate_limit_error"),
    grpc.StatusCode.FAILED_PRECONDITION: Rule(400, "invalid_request_error"),
    grpc.StatusCode.ABORTED: Rule(409, "server_error"),
    grpc.StatusCode.OUT_OF_RANGE: Rule(400, "invalid_request_error"),
    grpc.StatusCode.UNIMPLEMENTED: Rule(501, "invalid_request_error", gateway_exception=True),
    grpc.StatusCode.INTERNAL: Rule(500, "server_error", gateway_exception=True),
    grpc.StatusCode.UNAVAILABLE: Rule(503, "server_error", True, "gateway backend unavailable"),
    grpc.StatusCode.DATA_LOSS: Rule(500, "server_error", gateway_exception=True),
    grpc.StatusCode.UNAUTHENTICATED: Rule(401, "authentication_error"),
}
UNKNOWN_CODE = Rule(500, "server_error", gateway_exception=True)

# OpenAI error `type` for a status when neither the upstream nor the rule names one.
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def status_type(status: int) -> str:
    return STATUS_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """One error answer: HTTP status, envelope fields, and response headers."""

    status: int
    message: str
    type: str | None = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    provider: str | None = None
    gateway_exception: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    attempts: tuple[dict[str, Any], ...] = ()  # the router's upstream attempts, when it tried any
    details: dict[str, Any] = field(default_factory=dict)  # the upstream error's other fields, e.g. `innererror`
    hook_results: dict[str, Any] | None = None  # a guardrail denial's findings (Portkey's `hook_results`)


class EdgeError(Exception):
    """A failure of the edge itself (body, content type, route), already mapped to its reply."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.message)
        self.reply = reply


def edge_error(status: int, message: str, *, code: str | None = None, gateway_exception: bool = False) -> EdgeError:
    return EdgeError(ErrorReply(status, message, status_type(status), code=code, gateway_exception=gateway_exception))


# --- gRPC errors ---------------------------------------------------------------------------------------------------


def _rich_status(err: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    try:
        return rpc_status.from_call(err)
    except ValueError:  # the status proto contradicts the call's code or message: trust the call
        return None


@dataclass(slots=True)
class _Details:
    info: error_details_pb2.ErrorInfo | None = None
    fields: list[str] = field(default_factory=list)
    attempts: tuple[dict[str, Any], ...] = ()
    retry_after_ms: int | None = None
    hook_results: dict[str, Any] | None = None


def _attempt_json(attempt: routing_pb2.RoutingAttempt) -> dict[str, Any]:
    return {"target_path": attempt.target_path, "provider": attempt.provider, "status": attempt.status,
            "reason": attempt.reason or None, "error": attempt.message or None, "retry": attempt.retry,
            "duration_ms": attempt.duration_ms}


def _details(status: status_pb2.Status | None) -> _Details:
    """The ErrorInfo (if any), the BadRequest violation fields and the routing attempts of a google.rpc.Status."""
    found = _Details()
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and found.info is None:
            found.info = error_details_pb2.ErrorInfo()
            detail.Unpack(found.info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.fields.extend(violation.field for violation in bad_request.field_violations)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            found.retry_after_ms = retry.retry_delay.ToMilliseconds()
        elif detail.Is(routing_pb2.RoutingSummary.DESCRIPTOR):
            summary = routing_pb2.RoutingSummary()
            detail.Unpack(summary)
            found.attempts = tuple(_attempt_json(attempt) for attempt in summary.attempts)
        elif detail.Is(guardrails_pb2.GuardrailReport.DESCRIPTOR):
            report = guardrails_pb2.GuardrailReport()
            detail.Unpack(report)
            found.hook_results = hook_results_json(report)
    return found


def _upstream_status(value: str) -> int | None:
    return int(value) if value.isdigit() and 100 <= int(value) <= 599 else None


def _upstream_details(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def reply_from_rpc_error(err: grpc.aio.AioRpcError) -> ErrorReply:
    """A failed gRPC call -> its HTTP answer: ErrorInfo reason first, then the gRPC code alone."""
    details = _details(_rich_status(err))
    info, fields = details.info, details.fields
    headers = portkey_headers(err.initial_metadata(), err.trailing_metadata())
    if details.retry_after_ms is not None:  # the upstream's wait, in the headers OpenAI's SDKs honour
        headers["retry-after-ms"] = str(details.retry_after_ms)
        headers["retry-after"] = str(-(-details.retry_after_ms // 1000))
    meta: dict[str, str] = dict(info.metadata) if info else {}
    rule = REASONS.get(info.reason) if info else None
    if rule is None:
        rule = GRPC_CODES.get(err.code(), UNKNOWN_CODE)
    message = (rule.message if info is None else None) or err.details() or err.code().name.lower()
    status = _upstream_status(meta.get("upstream_status", "")) or rule.status
    return ErrorReply(
        status=status,
        message=message,
        type=meta.get("type") or rule.type or status_type(status),
        param=meta.get("param") or (fields[0] if fields else None),
        code=meta.get("code") or None,
        provider=meta.get("provider") or headers.get("x-portkey-provider") or None,
        gateway_exception=rule.gateway_exception,
        headers=headers,
        attempts=details.attempts,
        details=_upstream_details(meta.get("details", "")),
        hook_results=details.hook_results,
    )


def reply_from_stream_error(error: chat_pb2.StreamError) -> ErrorReply:
    """An in-band StreamChatCompletionResponse.error -> the same fields a unary failure would answer."""
    rule = REASONS.get(error.reason)
    status = error.http_status or (rule.status if rule else 500)
    return ErrorReply(
        status=status,
        message=error.message or "stream failed",
        type=error.type or (rule.type if rule else None) or status_type(status),
        param=error.param or None,
        code=error.error_code or None,
        provider=error.provider or None,
        gateway_exception=rule.gateway_exception if rule else False,
        hook_results=hook_results_json(error.hook_results) if error.HasField("hook_results") else None,
    )


# --- the edge's own failures -----------------------------------------------------------------------------------------


def reply_for(exc: Exception) -> ErrorReply:
    """Any exception an endpoint lets out -> its reply; unexpected ones are gateway exceptions (500)."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return reply_from_rpc_error(exc)
    if isinstance(exc, EdgeError):
        return exc.reply
    if isinstance(exc, RequestShapeError):
        return ErrorReply(400, str(exc), "invalid_request_error", param=exc.path)
    if isinstance(exc, InvalidHeader):
        return ErrorReply(400, str(exc), "invalid_request_error", param=exc.name)
    return ErrorReply(500, "internal error in the gateway edge", "server_error", gateway_exception=True)


# --- rendering -------------------------------------------------------------------------------------------------------


def error_body(reply: ErrorReply) -> dict[str, Any]:
    """The envelope `{"error": {message, type, param, code}}`, plus top-level `provider` when known and `attempts`
    (every upstream attempt: target path, status, error) when the router tried any."""
    body: dict[str, Any] = {
        "error": {**reply.details, "message": reply.message, "type": reply.type, "param": reply.param,
                  "code": reply.code}
    }
    if reply.provider:
        body["provider"] = reply.provider
    if reply.attempts:
        body["attempts"] = list(reply.attempts)
    if reply.hook_results is not None:
        body["hook_results"] = reply.hook_results
    return body


def error_response(reply: ErrorReply, headers: dict[str, str] | None = None) -> Response:
    """The JSON error response; `x-portkey-gateway-exception: true` for gateway-internal failures."""
    merged = {**reply.headers, **(headers or {})}
    if reply.gateway_exception:
        merged["x-portkey-gateway-exception"] = "true"
    return Response(orjson.dumps(error_body(reply)), reply.status, merged, "application/json")


def with_headers(reply: ErrorReply, headers: dict[str, str]) -> ErrorReply:
    return replace(reply, headers={**headers, **reply.headers})
