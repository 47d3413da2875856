"""The gRPC server against the loopback fake OpenAI upstream: success paths, metadata, and every error class,
end to end over real gRPC and real HTTP (no mocks), and the edge-to-upstream pass-through of unmodelled keys."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import grpc
import orjson
import pytest
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from edge.openai_request import chat_request_from_json
from gateway_grpc import convert
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.types import Target
from gateway_grpc.v1 import chat_pb2, embeddings_pb2, models_pb2, options_pb2


def options(upstream, **extra) -> options_pb2.RequestOptions:
    return options_pb2.RequestOptions(provider="openai", custom_host=upstream.base_url, **extra)


AUTH = (("authorization", "Bearer sk-test"),)


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def chat(upstream, model="gpt-4o-mini", text="hello there", **fields) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model=model, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text=text)], options=options(upstream),
        **fields)


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(err)
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo detail")


async def test_grpc_unary_chat_reaches_the_upstream_and_returns_its_answer(gateway, upstream):
    call = gateway.CreateChatCompletion(chat(upstream, temperature=0.5), metadata=AUTH)
    response = await call
    assert response.choices[0].message.text == "Echo: hello there"
    assert response.choices[0].finish_reason == chat_pb2.FINISH_REASON_STOP
    assert response.provider == "openai" and response.usage.total_tokens > 0
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.oracle_errors == []
    assert sent.headers["authorization"] == "Bearer sk-test" and sent.json["temperature"] == 0.5
    trailing = dict(await call.trailing_metadata())  # unary: x-portkey-* travel as trailing metadata
    assert trailing["x-portkey-provider"] == "openai" and len(trailing["x-portkey-trace-id"]) == 32


async def test_grpc_unary_chat_echoes_the_trace_id_header(gateway, upstream):
    call = gateway.CreateChatCompletion(chat(upstream), metadata=(*AUTH, ("x-portkey-trace-id", "t-1")))
    await call
    assert dict(await call.trailing_metadata())["x-portkey-trace-id"] == "t-1"


async def test_grpc_stream_chat_yields_role_first_content_then_usage(gateway, upstream):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(
        upstream, text="one two three", stream_options=chat_pb2.StreamOptions(include_usage=True)))
    call = gateway.StreamChatCompletion(request, metadata=AUTH)
    events = [event async for event in call]
    chunks = [event.chunk for event in events]
    assert all(event.WhichOneof("event") == "chunk" for event in events)
    assert chunks[0].choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    text = "".join(c.choices[0].delta.content for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert chunks[-1].HasField("usage") and not chunks[-1].choices
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}
    assert dict(await call.initial_metadata())["x-portkey-provider"] == "openai"


async def test_grpc_stream_tool_calls_keep_their_indices(gateway, upstream):
    tools = [chat_pb2.Tool(function=chat_pb2.FunctionDefinition(name=n)) for n in ("a", "b")]
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, model="gpt-4o-mini+parallel-tools",
                                                                tools=tools))
    deltas = [d for e in [e async for e in gateway.StreamChatCompletion(request, metadata=AUTH)]
              for c in e.chunk.choices for d in c.delta.tool_calls]
    names = {d.index: d.function.name for d in deltas if d.function.name}
    args = {}
    for d in deltas:
        args[d.index] = args.get(d.index, "") + d.function.arguments
    assert names == {0: "a", 1: "b"}
    assert all(orjson.loads(a) == {"echo": "hello there"} for a in args.values())


async def test_grpc_unmodelled_choice_and_delta_keys_travel_through(gateway, upstream):
    filters = {"content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}
    request = chat(upstream, model="m+choice-extra", stream_options=chat_pb2.StreamOptions(
        include_usage=True, extra=struct({"include_obfuscation": True})))
    response = await gateway.CreateChatCompletion(request, metadata=AUTH)
    assert json_format.MessageToDict(response.choices[0].extra) == filters
    events = [e async for e in gateway.StreamChatCompletion(
        chat_pb2.StreamChatCompletionRequest(request=request), metadata=AUTH)]
    choices = [c for e in events for c in e.chunk.choices]
    assert choices and all(json_format.MessageToDict(c.extra) == filters for c in choices)
    assert all(json_format.MessageToDict(c.delta.extra) == {"reasoning_details": []} for c in choices)
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True, "include_obfuscation": True}
    assert upstream.requests[-1].oracle_errors == []


EPHEMERAL = {"cache_control": {"type": "ephemeral"}}
# OpenAI-family bodies with keys the gateway does not model, at every level (request side of "nothing lost")
PASS_THROUGH = [
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi", **EPHEMERAL},
                                               {"type": "image_url", "image_url": {"url": "https://x"}, **EPHEMERAL},
                                               {"type": "image_url", "image_url": {"url": "https://x", "uuid": "u"}},
                                               {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}]}]},
    {"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"},
         "extra_content": {"google": {"thought_signature": "c2ln"}}},
        {"id": "b", "type": "custom", "custom": {"name": "grep", "input": "x"}},
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}", "parsed": {"a": 1}}}]}]},
    {"response_format": {"type": "grammar", "grammar": "root ::= x"}},
    {"response_format": {"type": "json_object", "schema": {"type": "object"}}},
    {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "x-order": 1}}},
    {"stream_options": {"include_usage": True, "include_obfuscation": False}},
]  # fmt: skip


@pytest.mark.parametrize("body", PASS_THROUGH, ids=range(len(PASS_THROUGH)))
def test_grpc_edge_json_reaches_the_upstream_body_unchanged(body):
    """Edge translator -> proto -> neutral -> OpenAI body, pure: every unmodelled key comes out where it went in."""
    sent = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}
    request = convert.chat_request(chat_request_from_json(sent))
    encoded = orjson.loads(PROVIDERS["openai"].encode_chat(request, Target("openai"), stream=True).body)
    assert encoded == {**sent, "stream": True}


async def test_grpc_embeddings_return_the_upstream_vectors(gateway, upstream):
    request = embeddings_pb2.CreateEmbeddingsRequest(model="text-embedding-3-small", input=["a", "b"], dimensions=4,
                                                     options=options(upstream))
    response = await gateway.CreateEmbeddings(request, metadata=AUTH)
    assert [len(d.embedding) for d in response.data] == [4, 4]
    assert [d.index for d in response.data] == [0, 1]
    assert upstream.requests[-1].oracle_errors == []


async def test_grpc_list_models_lists_the_upstream_models(gateway, upstream):
    response = await gateway.ListModels(models_pb2.ListModelsRequest(options=options(upstream)), metadata=AUTH)
    assert len(response.models) == 3 and all(m.provider == "openai" for m in response.models)


@pytest.mark.parametrize(
    ("model", "code", "reason", "upstream_status"),
    [
        ("m+error-429", grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED", "429"),
        ("m+error-400", grpc.StatusCode.INVALID_ARGUMENT, "UPSTREAM_ERROR", "400"),
        ("m+error-401", grpc.StatusCode.UNAUTHENTICATED, "UPSTREAM_ERROR", "401"),
        ("m+error-500", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_ERROR", "500"),
        ("m+html-502", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_ERROR", "502"),
        ("m+bad-json", grpc.StatusCode.UNKNOWN, "UPSTREAM_INVALID_RESPONSE", None),
    ],
)
async def test_grpc_upstream_errors_map_to_status_and_error_info(gateway, upstream, model, code, reason,
                                                                 upstream_status):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(chat(upstream, model=model), metadata=AUTH)
    info = error_info(caught.value)
    assert caught.value.code() == code and info.reason == reason and info.domain == "gateway-grpc"
    assert info.metadata.get("upstream_status") == upstream_status
    assert info.metadata["provider"] == "openai"
    trailing = dict(caught.value.trailing_metadata())
    assert trailing["x-portkey-provider"] == "openai"


async def test_grpc_invalid_request_carries_field_violations(gateway, upstream):
    request = chat_pb2.CreateChatCompletionRequest(options=options(upstream))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request, metadata=AUTH)
    status = rpc_status.from_call(caught.value)
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    assert [v.field for v in bad.field_violations] == ["model", "messages"]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_grpc_unreachable_upstream_is_unavailable(gateway):
    request = chat_pb2.CreateChatCompletionRequest(
        model="m", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="x")],
        options=options_pb2.RequestOptions(provider="openai", custom_host=f"http://127.0.0.1:{_closed_port()}/v1"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request, metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(caught.value).reason == "UPSTREAM_UNAVAILABLE"


async def test_grpc_request_timeout_header_bounds_the_upstream_call(gateway, upstream):
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(chat(upstream, model="m+delay-2000"),
                                           metadata=(*AUTH, ("x-portkey-request-timeout", "200")))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert error_info(caught.value).reason == "REQUEST_TIMEOUT"
    assert time.monotonic() - started < 1.5


async def test_grpc_request_timeout_also_bounds_a_stalled_stream(gateway, upstream):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, model="m+gap-1500", text="a b c"))
    call = gateway.StreamChatCompletion(request, metadata=(*AUTH, ("x-portkey-request-timeout", "300")))
    events = [event async for event in call]
    assert events[0].WhichOneof("event") == "chunk"
    assert events[-1].WhichOneof("event") == "error"
    assert events[-1].error.reason == "REQUEST_TIMEOUT"


async def test_grpc_callers_deadline_wins(gateway, upstream):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(chat(upstream, model="m+delay-2000"), metadata=AUTH, timeout=0.2)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


@pytest.mark.parametrize(("model", "reason"), [("m+stream-error-2", "UPSTREAM_ERROR"),
                                               ("m+stream-break-2", "UPSTREAM_UNAVAILABLE")])
async def test_grpc_error_after_first_chunk_arrives_in_band(gateway, upstream, model, reason):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, model=model, text="a b c d e f"))
    events = [event async for event in gateway.StreamChatCompletion(request, metadata=AUTH)]
    assert [e.WhichOneof("event") for e in events[:-1]] == ["chunk"] * (len(events) - 1) and len(events) > 1
    assert events[-1].WhichOneof("event") == "error"
    assert events[-1].error.reason == reason and events[-1].error.provider == "openai"


async def test_grpc_error_before_first_chunk_fails_the_call(gateway, upstream):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, model="m+error-429"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        [event async for event in gateway.StreamChatCompletion(request, metadata=AUTH)]
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_grpc_server_keeps_serving_after_bad_requests(gateway, upstream):
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await gateway.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(), metadata=AUTH)
    assert (await gateway.CreateChatCompletion(chat(upstream), metadata=AUTH)).choices


async def test_grpc_cancelled_stream_cancels_the_upstream_request_within_milliseconds(gateway, upstream):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, model="m+gap-100",
                                                                text=" ".join(["w"] * 50)))
    call = gateway.StreamChatCompletion(request, metadata=AUTH)
    async for _ in call:
        break
    record = upstream.requests[-1]
    cancelled_at = time.monotonic()
    call.cancel()
    assert await asyncio.to_thread(record.ended.wait, 2.0), "the upstream stream never ended"
    assert record.stream_end == "client-gone"  # 50 chunks 100 ms apart would take 5 s to complete
    assert time.monotonic() - cancelled_at < 0.1


async def test_grpc_completed_stream_is_seen_complete_by_the_upstream(gateway, upstream):
    request = chat_pb2.StreamChatCompletionRequest(request=chat(upstream, text="a b"))
    assert [e async for e in gateway.StreamChatCompletion(request, metadata=AUTH)]
    record = upstream.requests[-1]
    assert await asyncio.to_thread(record.ended.wait, 2.0) and record.stream_end == "complete"


async def test_grpc_provider_key_never_reaches_logs(gateway, upstream, caplog):
    secret = "sk-live-SECRET-123"
    caplog.set_level("DEBUG")
    metadata = (("authorization", f"Bearer {secret}"), ("x-portkey-config", '{"provider": "openai", "typo": 1}'))
    for request, meta in ((chat(upstream), (("authorization", f"Bearer {secret}"),)),
                          (chat(upstream, model="m+error-401"), (("authorization", f"Bearer {secret}"),)),
                          (chat(upstream), metadata)):
        with contextlib.suppress(grpc.aio.AioRpcError):
            await gateway.CreateChatCompletion(request, metadata=meta)
    assert caplog.records, "the calls above log at least at DEBUG (httpx, gateway)"
    assert all(secret not in record.getMessage() and secret not in str(record.args) for record in caplog.records)


@pytest.mark.parametrize(("given", "echoed"), [("t-early", "t-early"), (None, None)])
async def test_grpc_error_before_the_context_still_carries_a_trace_id(gateway, upstream, given, echoed):
    meta = (*AUTH, ("x-portkey-provider", "nope")) + ((("x-portkey-trace-id", given),) if given else ())
    request = chat_pb2.CreateChatCompletionRequest(model="m", messages=[chat_pb2.Message(role=3, text="x")])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request, metadata=meta)
    trace = dict(caught.value.trailing_metadata())["x-portkey-trace-id"]
    assert trace == echoed if echoed else len(trace) == 32
