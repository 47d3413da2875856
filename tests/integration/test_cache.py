"""The response cache over real gRPC (cache/target_cache.py), the same behaviours against the embedded store and a
real Redis: MISS then HIT, REFRESH, DISABLED, tenants apart, errors and broken streams never stored, a completed
stream stored and replayed to streams and plain calls alike, a cache entry per target of a fallback chain,
embeddings and text completions, the server's default policy, and `semantic` refused while it is off."""

from __future__ import annotations

import json

import grpc
import pytest
import pytest_asyncio

from gateway_grpc.config import CacheConfig, CacheSettings, GatewaySettings, SemanticCacheSettings
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import chat_pb2, completions_pb2, embeddings_pb2, gateway_service_pb2_grpc, options_pb2

SIMPLE = {"mode": "simple", "max_age": 600}


async def _serve(settings: GatewaySettings):
    server = GatewayServer(settings, "127.0.0.1", 0)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    return server, channel, gateway_service_pb2_grpc.GatewayServiceStub(channel)


@pytest_asyncio.fixture(params=["memory", "redis"])
async def gateway(request):
    """A gateway whose cache lives in the embedded store or in the session's real Redis (semantic off here)."""
    cache = CacheSettings(semantic=SemanticCacheSettings(enabled=False))
    if request.param == "redis":
        cache = cache.model_copy(update={"backend": "redis", "redis_url": request.getfixturevalue("redis_url"),
                                         "redis_timeout_ms": 3000})  # a loaded CI box must not turn hits into misses
    server, channel, stub = await _serve(GatewaySettings(cache=cache))
    yield stub
    await channel.close()
    await server.stop(grace=0)


def _options(upstream, cache=SIMPLE, key: str = "sk-test", **config) -> options_pb2.RequestOptions:
    body = {"provider": "openai", "custom_host": upstream.base_url, "api_key": key, **config}
    if cache is not None:
        body["cache"] = cache
    return options_pb2.RequestOptions(config_json=json.dumps(body))


def chat(upstream, text: str = "What is the capital of France?", model: str = "gpt-4o-mini",
         **options) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model=model, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text=text)],
        options=_options(upstream, **options))


async def unary(method, request, metadata=()) -> tuple[object, dict[str, str]]:
    call = method(request, metadata=metadata)
    response = await call
    return response, dict(await call.trailing_metadata())


async def streamed(stub, request, metadata=()) -> tuple[list, dict[str, str]]:
    call = stub.StreamChatCompletion(chat_pb2.StreamChatCompletionRequest(request=request), metadata=metadata)
    events = [event async for event in call]
    return events, dict(await call.initial_metadata())


def text_of(events) -> str:
    return "".join(e.chunk.choices[0].delta.content for e in events if e.chunk.choices)


async def test_cache_miss_then_hit_answers_without_the_upstream(gateway, upstream):
    first, meta1 = await unary(gateway.CreateChatCompletion, chat(upstream))
    second, meta2 = await unary(gateway.CreateChatCompletion, chat(upstream))
    assert (meta1["x-portkey-cache-status"], meta2["x-portkey-cache-status"]) == ("MISS", "HIT")
    assert (first.routing.cache_status, second.routing.cache_status) == ("MISS", "HIT")
    assert second.choices[0].message.text == first.choices[0].message.text and second.id == first.id
    assert [(a.target_path, a.status, a.reason) for a in second.routing.attempts] == [("config", 200, "CACHE_HIT")]
    assert upstream.calls("gpt-4o-mini") == 1


async def test_cache_force_refresh_skips_the_read_and_rewrites(gateway, upstream):
    await unary(gateway.CreateChatCompletion, chat(upstream))
    refresh = (("x-portkey-cache-force-refresh", "true"),)
    _, meta = await unary(gateway.CreateChatCompletion, chat(upstream), refresh)
    _, after = await unary(gateway.CreateChatCompletion, chat(upstream))
    assert (meta["x-portkey-cache-status"], after["x-portkey-cache-status"]) == ("REFRESH", "HIT")
    assert upstream.calls("gpt-4o-mini") == 2


async def test_cache_disabled_without_a_cache_config(gateway, upstream):
    for _ in range(2):
        response, meta = await unary(gateway.CreateChatCompletion, chat(upstream, cache=None))
        assert meta["x-portkey-cache-status"] == response.routing.cache_status == "DISABLED"
    assert upstream.calls("gpt-4o-mini") == 2


async def test_cache_tenants_never_read_each_others_answers(gateway, upstream):
    await unary(gateway.CreateChatCompletion, chat(upstream, key="sk-tenant-a"))
    _, other = await unary(gateway.CreateChatCompletion, chat(upstream, key="sk-tenant-b"))
    shared = chat(upstream, key="sk-server")  # a config's shared key: the callers' own credentials part them
    _, a = await unary(gateway.CreateChatCompletion, shared, (("authorization", "Bearer caller-a"),))
    _, b = await unary(gateway.CreateChatCompletion, shared, (("authorization", "Bearer caller-b"),))
    _, a_again = await unary(gateway.CreateChatCompletion, shared, (("authorization", "Bearer caller-a"),))
    assert [m["x-portkey-cache-status"] for m in (other, a, b, a_again)] == ["MISS", "MISS", "MISS", "HIT"]


async def test_cache_never_stores_errors(gateway, upstream):
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gateway.CreateChatCompletion(chat(upstream, model="gpt-4o-mini+error-500"))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # an upstream 500
    assert upstream.calls("gpt-4o-mini+error-500") == 2


async def test_cache_completed_stream_is_stored_and_replayed_to_streams_and_plain_calls(gateway, upstream):
    request = chat(upstream, model="gpt-4o-mini+chunks-3")
    first, meta1 = await streamed(gateway, request)
    again, meta2 = await streamed(gateway, request)
    plain, meta3 = await unary(gateway.CreateChatCompletion, request)
    assert [m["x-portkey-cache-status"] for m in (meta1, meta2, meta3)] == ["MISS", "HIT", "HIT"]
    assert text_of(again) == text_of(first) == plain.choices[0].message.text
    assert again[0].chunk.choices[0].delta.role == chat_pb2.ROLE_ASSISTANT
    assert [e.chunk.choices[0].finish_reason for e in again if e.chunk.choices][-1] == chat_pb2.FINISH_REASON_STOP
    assert again[0].routing.cache_status == "HIT"
    assert upstream.calls("gpt-4o-mini+chunks-3") == 1


async def test_cache_stream_replay_has_usage_only_when_asked(gateway, upstream):
    request = chat(upstream)
    await unary(gateway.CreateChatCompletion, request)  # stored with its usage
    request.stream_options.include_usage = True
    counted, _ = await streamed(gateway, request)
    request.stream_options.include_usage = False
    plain, _ = await streamed(gateway, request)
    assert counted[-1].chunk.HasField("usage") and not counted[-1].chunk.choices
    assert not any(e.chunk.HasField("usage") for e in plain)


async def test_cache_broken_stream_is_never_stored(gateway, upstream):
    request = chat(upstream, model="gpt-4o-mini+chunks-4+stream-break-2")
    for _ in range(2):
        events, meta = await streamed(gateway, request)
        assert meta["x-portkey-cache-status"] == "MISS" and events[-1].WhichOneof("event") == "error"
    assert upstream.calls("gpt-4o-mini+chunks-4+stream-break-2") == 2


async def test_cache_fallback_chain_has_an_entry_per_target(gateway, upstream):
    config = {"strategy": {"mode": "fallback"}, "cache": SIMPLE, "targets": [
        {"provider": "openai", "custom_host": upstream.base_url, "api_key": "k",
         "override_params": {"model": "gpt-4o-mini+error-503"}},
        {"provider": "openai", "custom_host": upstream.base_url, "api_key": "k"}]}
    request = chat_pb2.CreateChatCompletionRequest(
        model="gpt-4o-mini", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi")],
        options=options_pb2.RequestOptions(config_json=json.dumps(config)))
    first, _ = await unary(gateway.CreateChatCompletion, request)
    second, meta = await unary(gateway.CreateChatCompletion, request)
    assert first.routing.last_used_option_index == second.routing.last_used_option_index == "config.targets[1]"
    assert meta["x-portkey-cache-status"] == "HIT"
    # the failing first target is tried again (nothing of its own is stored); the answer is the second target's entry
    assert [(a.target_path, a.status, a.reason) for a in second.routing.attempts] == [
        ("config.targets[0]", 503, "UPSTREAM_ERROR"), ("config.targets[1]", 200, "CACHE_HIT")]
    assert (upstream.calls("gpt-4o-mini+error-503"), upstream.calls("gpt-4o-mini")) == (2, 1)


async def test_cache_embeddings_and_text_completions(gateway, upstream):
    embed = embeddings_pb2.CreateEmbeddingsRequest(model="text-embedding-3-small", input=["a", "b"],
                                                   options=_options(upstream))
    one, m1 = await unary(gateway.CreateEmbeddings, embed)
    two, m2 = await unary(gateway.CreateEmbeddings, embed)
    assert (m1["x-portkey-cache-status"], m2["x-portkey-cache-status"]) == ("MISS", "HIT")
    assert [list(e.embedding) for e in two.data] == [list(e.embedding) for e in one.data]
    text = completions_pb2.CreateCompletionRequest(model="m", prompt=["say hi"], options=_options(upstream))
    stream = completions_pb2.StreamCompletionRequest(request=text)
    _, t1 = await unary(gateway.CreateCompletion, text)
    events = [e async for e in gateway.StreamCompletion(stream)]
    assert t1["x-portkey-cache-status"] == "MISS" and events[0].routing.cache_status == "HIT"
    assert "".join(c.text for e in events for c in e.chunk.choices) == "completion of: say hi"
    assert upstream.calls("m") == 1 and upstream.calls("text-embedding-3-small") == 1


async def test_cache_max_age_zero_looks_up_but_never_stores(gateway, upstream):
    for _ in range(2):
        _, meta = await unary(gateway.CreateChatCompletion, chat(upstream, cache={"mode": "simple", "max_age": 0}))
        assert meta["x-portkey-cache-status"] == "MISS"
    assert upstream.calls("gpt-4o-mini") == 2


async def test_cache_semantic_is_refused_while_it_is_off(gateway, upstream):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(chat(upstream, cache={"mode": "semantic"}))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "semantic caching is off" in caught.value.details() and upstream.requests == []


async def test_cache_server_default_applies_where_no_config_says(upstream):
    cache = CacheSettings(default=CacheConfig(mode="simple", max_age=60), semantic=SemanticCacheSettings(enabled=False))
    server, channel, stub = await _serve(GatewaySettings(cache=cache))
    try:
        request = chat(upstream, cache=None)
        statuses = [(await unary(stub.CreateChatCompletion, request))[1]["x-portkey-cache-status"] for _ in range(2)]
    finally:
        await channel.close()
        await server.stop(grace=0)
    assert statuses == ["MISS", "HIT"] and upstream.calls("gpt-4o-mini") == 1


async def test_cache_redis_outage_is_a_miss_and_the_call_still_answers(redis_server, redis_url, upstream):
    cache = CacheSettings(backend="redis", redis_url=redis_url, redis_timeout_ms=100,
                          semantic=SemanticCacheSettings(enabled=False))
    server, channel, stub = await _serve(GatewaySettings(cache=cache))
    try:
        await unary(stub.CreateChatCompletion, chat(upstream))
        redis_server.pause()
        try:
            answer, meta = await unary(stub.CreateChatCompletion, chat(upstream))
        finally:
            redis_server.resume()
        errors = server.pipeline.metrics.registry.get_sample_value(
            "gateway_cache_backend_errors_total", {"backend": "redis", "operation": "get"})
    finally:
        await channel.close()
        await server.stop(grace=0)
    assert meta["x-portkey-cache-status"] == "MISS" and answer.choices[0].message.text
    assert errors == 1 and upstream.calls("gpt-4o-mini") == 2
