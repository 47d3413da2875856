"""Routing and resilience end to end: every upstream fault (tests/e2e/fault_matrix.py FAULTS) under every routing
strategy (STRATEGIES), over REST (OpenAI surface) and native gRPC, unary and streamed, all through Envoy.

Each cell compares what the client saw (outcome, routing headers, attempts / RoutingSummary, upstream calls per
model) with `fault_matrix.expect()` in one assertion. Cells a fault cannot reach (stream-only faults on unary
calls) are skipped, visibly. One stack for the module, with millisecond retry backoff.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import grpc
import httpx
import openai
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway_grpc.v1 import chat_pb2, gateway_service_pb2_grpc, routing_pb2
from tests.e2e.fault_matrix import (
    API_KEY,
    BASE,
    FAULTS,
    PROMPT,
    STRATEGIES,
    Expected,
    Fault,
    Outcome,
    Strategy,
    applies,
    config,
    expect,
)
from tests.e2e.stack import RunningStack, free_port, launch, stop_and_check

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30, func_only=True)]

CLIENT_TIMEOUT_S = 10.0
ROUTING_HEADERS = ("x-portkey-last-used-option-index", "x-portkey-retry-attempt-count", "x-portkey-provider")
CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}
STACK_CONFIG = "routing:\n  retry_backoff_base_ms: 1\n  retry_backoff_cap_ms: 5\n"


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> RunningStack:
    """`gateway up --config` with millisecond backoff; stopped with SIGTERM: exit 0 and nothing left running."""
    path = tmp_path_factory.mktemp("fault-matrix") / "gateway.yaml"
    path.write_text(STACK_CONFIG)
    running = launch("--config", str(path))
    try:
        yield running
    finally:
        stop_and_check(running)


@pytest.fixture(scope="module")
def dead_url() -> str:
    """A loopback URL nothing listens on: connect refused."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture(scope="module")
def sdk(stack):
    with openai.OpenAI(base_url=stack.openai_url, api_key=API_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def http(stack):
    with httpx.Client(base_url=stack.openai_url, timeout=CLIENT_TIMEOUT_S, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def stub(stack):
    with grpc.insecure_channel(stack.grpc_target) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


# --- REST ----------------------------------------------------------------------------------------------------------


def _routing_headers(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in ROUTING_HEADERS if headers.get(name) is not None}


def _rest_failure(response: httpx.Response) -> Outcome:
    body = response.json()
    attempts = tuple((a["target_path"], a["status"], a["reason"] or "", a["retry"]) for a in body.get("attempts", ()))
    error = {"status": response.status_code, "type": body["error"]["type"], "provider": body.get("provider")}
    return Outcome(None, None, error, _routing_headers(response.headers), {"attempts": attempts},
                   traced=bool(response.headers.get("x-portkey-trace-id")))


def rest_unary(sdk: openai.OpenAI, headers: dict[str, str]) -> Outcome:
    try:
        raw = sdk.chat.completions.with_raw_response.create(
            model=BASE, messages=[{"role": "user", "content": PROMPT}], extra_headers=headers)
    except openai.APIStatusError as exc:
        return _rest_failure(exc.response)
    completion = raw.parse()
    return Outcome(completion.model, completion.choices[0].message.content, None, _routing_headers(raw.headers),
                   None, traced=bool(raw.headers.get("x-portkey-trace-id")))


def rest_stream(http: httpx.Client, headers: dict[str, str]) -> Outcome:
    body = {"model": BASE, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    with http.stream("POST", "/chat/completions", json=body,
                     headers={**headers, "authorization": f"Bearer {API_KEY}"}) as response:
        if response.status_code != 200:
            response.read()
            return _rest_failure(response)
        lines = [line for line in response.iter_lines() if line]
    events = [json.loads(line.removeprefix("data: ")) for line in lines if line != "data: [DONE]"]
    chunks = [event for event in events if "choices" in event]
    errors = [event for event in events if "error" in event]
    error = None
    if errors:
        error = {"type": errors[0]["error"]["type"], "provider": errors[0].get("provider")}
    ended = lines[-1:] == ["data: [DONE]"] and all("error" not in event for event in events[:-1])
    return Outcome(_models(chunk["model"] for chunk in chunks),
                   "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]), error,
                   _routing_headers(response.headers), None, ended=ended,
                   traced=bool(response.headers.get("x-portkey-trace-id")))


def _models(names: Any) -> str | None:
    """The model that produced the chunks (several, joined, if they disagree); None without chunks."""
    return "|".join(sorted(set(names))) or None


# --- gRPC ----------------------------------------------------------------------------------------------------------


def _summary(routing: routing_pb2.RoutingSummary) -> dict[str, Any]:
    return {"last_used_option_index": routing.last_used_option_index,
            "retry_attempt_count": routing.retry_attempt_count, "provider": routing.provider,
            "attempts": tuple((a.target_path, a.status, a.reason, a.retry) for a in routing.attempts)}


def _metadata_headers(metadata: Any) -> tuple[dict[str, str], bool]:
    pairs = dict(metadata or ())
    return _routing_headers(pairs), bool(pairs.get("x-portkey-trace-id"))


def _grpc_failure(err: grpc.RpcError) -> Outcome:
    """A failed call: code, the ErrorInfo and RoutingSummary of grpc-status-details-bin, trailing headers."""
    status = rpc_status.from_call(err)
    error: dict[str, Any] = {"code": err.code().name, "reason": None}
    summary = None
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            error["reason"] = info.reason
            if "upstream_status" in info.metadata:
                error["upstream_status"] = info.metadata["upstream_status"]
        elif detail.Is(routing_pb2.RoutingSummary.DESCRIPTOR):
            routing = routing_pb2.RoutingSummary()
            detail.Unpack(routing)
            summary = _summary(routing)
    headers, traced = _metadata_headers(err.trailing_metadata())
    return Outcome(None, None, error, headers, summary, traced=traced)


def _request() -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model=BASE, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text=PROMPT)])


def grpc_unary(stub: Any, headers: dict[str, str]) -> Outcome:
    try:
        response, call = stub.CreateChatCompletion.with_call(_request(), metadata=tuple(headers.items()),
                                                             timeout=CLIENT_TIMEOUT_S)
    except grpc.RpcError as err:
        return _grpc_failure(err)
    routing_headers, traced = _metadata_headers(call.trailing_metadata())
    return Outcome(response.model, response.choices[0].message.text, None, routing_headers,
                   _summary(response.routing), traced=traced)


def grpc_stream(stub: Any, headers: dict[str, str]) -> Outcome:
    call = stub.StreamChatCompletion(chat_pb2.StreamChatCompletionRequest(request=_request()),
                                     metadata=tuple(headers.items()), timeout=CLIENT_TIMEOUT_S)
    messages, broke = [], None
    try:
        for message in call:
            messages.append(message)
    except grpc.RpcError as err:
        if not messages:
            return _grpc_failure(err)
        broke = err  # the stream began, then failed out of band: shown as an error with ended=False
    chunks = [m.chunk for m in messages if m.WhichOneof("event") == "chunk"]
    errors = [m.error for m in messages if m.WhichOneof("event") == "error"]
    error = None
    if errors:
        error = {"code": CODE_NAMES.get(errors[0].code, errors[0].code), "reason": errors[0].reason,
                 "http_status": errors[0].http_status}
    elif broke is not None:
        error = {"code": broke.code().name, "out_of_band": broke.details()}
    routing_headers, traced = _metadata_headers(call.initial_metadata())
    ended = broke is None and all(m.WhichOneof("event") != "error" for m in messages[:-1])
    return Outcome(_models(chunk.model for chunk in chunks),
                   "".join(c.choices[0].delta.content for c in chunks if c.choices), error, routing_headers,
                   _summary(messages[0].routing) if messages[0].HasField("routing") else None, ended=ended,
                   traced=traced)


# --- the matrix ----------------------------------------------------------------------------------------------------


def _call(transport: str, stream: bool, headers: dict[str, str], sdk: Any, http: Any, stub: Any) -> Outcome:
    if transport == "rest":
        return rest_stream(http, headers) if stream else rest_unary(sdk, headers)
    return grpc_stream(stub, headers) if stream else grpc_unary(stub, headers)


# Every (fault, call kind) pair the fault can strike; a stream-only fault has no unary cells (rather than skips).
FAULT_CALLS = [pytest.param(fault, stream, id=f"{fault.id}-{'stream' if stream else 'unary'}")
               for fault in FAULTS for stream in (False, True) if applies(fault, stream)]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=[s.id for s in STRATEGIES])
@pytest.mark.parametrize(("fault", "stream"), FAULT_CALLS)
def test_fault_matrix(fault: Fault, strategy: Strategy, transport: str, stream: bool, upstream, dead_url, sdk, http,
                      stub):
    expected: Expected = expect(fault, strategy, transport, stream)
    headers = {"x-portkey-config": json.dumps(config(fault, strategy, upstream.base_url, dead_url))}
    if strategy.metadata is not None:
        headers["x-portkey-metadata"] = strategy.metadata
    started = time.monotonic()
    seen = _call(transport, stream, headers, sdk, http, stub)
    elapsed = time.monotonic() - started
    seen = dataclasses.replace(seen, calls={model: upstream.calls(model) for model in expected.outcome.calls})
    assert seen == expected.outcome
    if expected.waits_s:  # the retry-after-ms waits were made, and not the 1 s `retry-after` the fake also sends
        assert expected.waits_s <= elapsed < 1.0, f"{elapsed:.3f} s for {expected.waits_s:.3f} s of retry-after-ms"
