"""Routing over real gRPC with the typed `RoutingConfig` message (the gRPC twin of `x-portkey-config`), against the
loopback fake upstream: the message converts to the same tree as the JSON, and the RoutingSummary reports it."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_status import rpc_status

from gateway_grpc.v1 import chat_pb2, options_pb2, routing_pb2


def overrides(model: str) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"model": model})
    return value


def leaf(upstream, model: str, **fields) -> options_pb2.RoutingConfig:
    return options_pb2.RoutingConfig(provider="openai", api_key="sk-test", custom_host=upstream.base_url,
                                     override_params=overrides(model), **fields)


def request(config: options_pb2.RoutingConfig, **option_fields) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model="m", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="typed")],
        options=options_pb2.RequestOptions(routing_config=config, **option_fields))


@pytest.mark.asyncio
async def test_grpc_typed_fallback_config_answers_from_the_second_target(gateway, upstream):
    config = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(mode="fallback", on_status_codes=[503]),
        retry=options_pb2.RetryPolicy(attempts=1),
        targets=[leaf(upstream, "gpt-4o-mini+error-503"), leaf(upstream, "gpt-4o-mini")])
    call = gateway.CreateChatCompletion(request(config))
    response = await call
    assert response.choices[0].message.text == "Echo: typed"
    assert response.routing.last_used_option_index == "config.targets[1]"
    assert [(a.target_path, a.status, a.retry) for a in response.routing.attempts] == [
        ("config.targets[0]", 503, 0), ("config.targets[0]", 503, 1), ("config.targets[1]", 200, 0)]
    trailing = dict(await call.trailing_metadata())
    assert trailing["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert upstream.calls("gpt-4o-mini+error-503") == 2


@pytest.mark.asyncio
async def test_grpc_typed_conditional_config_uses_default_and_metadata(gateway, upstream):
    metadata = struct_pb2.Struct()
    metadata.update({"tier": "pro"})
    query = struct_pb2.Struct()
    query.update({"metadata.tier": {"$in": ["pro"]}})
    config = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(
            mode="conditional", conditions=[options_pb2.RoutingCondition(query=query, then="pro")],
            default_target="free"),
        targets=[leaf(upstream, "gpt-4o-mini+chunks-2", name="pro"), leaf(upstream, "gpt-4o-mini", name="free")])
    pro = await gateway.CreateChatCompletion(request(config, metadata=metadata))
    free = await gateway.CreateChatCompletion(request(config))
    assert pro.routing.last_used_option_index == "config.targets[0]"
    assert free.routing.last_used_option_index == "config.targets[1]"  # `default_target` is Portkey's `default`


@pytest.mark.asyncio
async def test_grpc_typed_sticky_and_circuit_breaker_fields_reach_the_router(gateway, upstream):
    config = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(
            mode="fallback", cb_config=options_pb2.CircuitBreakerPolicy(failure_threshold=1, cooldown_interval=60_000)),
        targets=[leaf(upstream, "gpt-4o-mini+error-500+chunks-9"), leaf(upstream, "gpt-4o-mini")])
    await gateway.CreateChatCompletion(request(config))
    second = await gateway.CreateChatCompletion(request(config))
    assert [a.reason for a in second.routing.attempts] == ["CIRCUIT_OPEN", ""]
    assert upstream.calls("gpt-4o-mini+error-500+chunks-9") == 1
    sticky = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(mode="fallback", sticky=options_pb2.StickyRouting(
            hash_fields=["metadata.user"])),
        targets=[leaf(upstream, "gpt-4o-mini")])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request(sticky))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "options.routing_config.strategy.sticky" in caught.value.details()


@pytest.mark.asyncio
async def test_grpc_every_target_failing_reports_the_last_error_and_all_attempts(gateway, upstream):
    config = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(mode="fallback"),
        targets=[leaf(upstream, "gpt-4o-mini+error-502"), leaf(upstream, "gpt-4o-mini+error-429")])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request(config))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # the last target's failure
    summary = next(s for s in (routing_pb2.RoutingSummary(),)
                   for d in rpc_status.from_call(caught.value).details if d.Unpack(s))
    assert [(a.target_path, a.status) for a in summary.attempts] == [("config.targets[0]", 502),
                                                                      ("config.targets[1]", 429)]
    assert dict(caught.value.trailing_metadata())["x-portkey-last-used-option-index"] == "config.targets[1]"


@pytest.mark.asyncio
async def test_grpc_rate_limit_carries_the_upstreams_wait_as_retry_info(gateway, upstream):
    from google.rpc import error_details_pb2

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.CreateChatCompletion(request(leaf(upstream, "gpt-4o-mini+error-429+retry-after-ms-250")))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = next(r for r in (error_details_pb2.RetryInfo(),)
                 for d in rpc_status.from_call(caught.value).details if d.Unpack(r))
    assert retry.retry_delay.ToMilliseconds() == 250
