"""Portkey request headers (as gRPC metadata) and RequestOptions -> CallContext: a table per behaviour.

The target a call resolves to is what its compiled tree's leaf builds from the caller's inputs (`target()`).
"""

import orjson
import pytest

from gateway_grpc.config import GatewaySettings, TargetConfig
from gateway_grpc.errors import CustomHostBlocked, InvalidConfig, InvalidRequest
from gateway_grpc.pipeline import build_pipeline
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.request_context import CallOptions, RequestContextBuilder
from gateway_grpc.routing.nodes import Fallback, Leaf

BASE = {"x-portkey-provider": "openai", "authorization": "Bearer sk-test"}


def build(headers=None, settings=None, remaining=None, **options):
    settings = settings or GatewaySettings()
    builder = RequestContextBuilder(settings, build_pipeline(settings, ProviderTransport()).routes)
    return builder.build(CallOptions(headers={**BASE, **(headers or {})}, **options), remaining, 1000.0)


def target(ctx):
    assert isinstance(ctx.route, Leaf)
    return ctx.route.target(ctx.caller)


def test_request_context_reads_provider_and_bearer_key():
    ctx = build()
    assert target(ctx).provider == "openai"
    assert target(ctx).api_key == "sk-test"
    assert target(ctx).base_url == ""


def test_request_context_generates_a_trace_id_when_absent_and_echoes_a_given_one():
    generated = build().trace_id
    assert len(generated) == 32 and generated != build().trace_id
    assert build({"x-portkey-trace-id": "trace-42"}).trace_id == "trace-42"


def test_request_context_typed_options_win_over_headers():
    ctx = build({"x-portkey-trace-id": "from-header"}, provider="groq", trace_id="from-options")
    assert (target(ctx).provider, ctx.trace_id) == ("groq", "from-options")


@pytest.mark.parametrize(
    ("headers", "field", "fragment"),
    [
        ({"x-portkey-provider": "nope"}, "x-portkey-provider", "unknown provider 'nope'"),
        ({"x-portkey-metadata": "{not json"}, "x-portkey-metadata", "not valid JSON"),
        ({"x-portkey-metadata": "[1,2]"}, "x-portkey-metadata", "must be a JSON object"),
        ({"x-portkey-request-timeout": "soon"}, "x-portkey-request-timeout", "expected milliseconds"),
        ({"x-portkey-request-timeout": "0"}, "x-portkey-request-timeout", "expected milliseconds"),
        ({"x-portkey-strict-open-ai-compliance": "maybe"}, "x-portkey-strict-open-ai-compliance", "true"),
        ({"x-portkey-forward-headers": "x-portkey-forward-headers"}, "x-portkey-forward-headers", "itself"),
        ({"x-portkey-trace-id": "t" * 300}, "x-portkey-trace-id", "longer than"),
    ],
)
def test_request_context_bad_header_names_the_header(headers, field, fragment):
    with pytest.raises(InvalidRequest) as caught:
        build(headers)
    assert caught.value.violations[0].field == field
    assert fragment in caught.value.message


def test_request_context_missing_provider_is_reported_when_the_target_is_built():
    ctx = build({"x-portkey-provider": ""})
    with pytest.raises(InvalidRequest) as caught:
        target(ctx)
    assert caught.value.violations[0].field == "x-portkey-provider" and "required" in caught.value.message


def test_request_context_metadata_header_is_parsed():
    assert build({"x-portkey-metadata": '{"user_tier": "gold", "n": 3}'}).metadata == {"user_tier": "gold", "n": 3}


def test_request_context_deadline_is_the_grpc_callers_and_the_timeout_header_is_per_attempt():
    assert build({"x-portkey-request-timeout": "2500"}).deadline is None
    assert build({"x-portkey-request-timeout": "2500"}).caller.timeout_ms == 2500
    assert build(remaining=1.0).deadline == pytest.approx(1001.0)
    assert build(request_timeout_ms=700).caller.timeout_ms == 700


def test_request_context_custom_host_goes_through_the_ssrf_guard():
    assert target(build({"x-portkey-custom-host": "http://127.0.0.1:9/v1/"})).base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(CustomHostBlocked) as caught:
        build({"x-portkey-custom-host": "http://169.254.169.254/v1"})
    assert caught.value.violations[0].field == "x-portkey-custom-host"


def test_request_context_forwards_only_the_named_headers():
    ctx = build({"x-portkey-forward-headers": "X-Team, x-absent", "x-team": "blue", "x-other": "no"})
    assert dict(target(ctx).forward_headers) == {"x-team": "blue"}


def test_request_context_cache_force_refresh_by_presence():
    assert build({"x-portkey-cache-force-refresh": ""}).cache_force_refresh is True
    assert build().cache_force_refresh is False


def test_request_context_config_header_supplies_provider_key_and_overrides():
    config = {"provider": "groq", "api_key": "gsk-1", "override_params": {"model": "llama"}, "request_timeout": 500}
    ctx = build({"x-portkey-config": orjson.dumps(config).decode(), "x-portkey-provider": ""})
    assert (target(ctx).provider, target(ctx).api_key) == ("groq", "gsk-1")
    assert dict(target(ctx).override_params) == {"model": "llama"}
    assert ctx.route.spec.timeout_ms == 500


def test_request_context_single_strategy_inherits_down_the_tree():
    config = {
        "strategy": {"mode": "single"},
        "override_params": {"temperature": 0, "model": "parent"},
        "custom_host": "http://127.0.0.1:8000/v1",
        "targets": [{"provider": "openai", "override_params": {"model": "child"}}],
    }
    chosen = target(build({"x-portkey-config": orjson.dumps(config).decode()}))
    assert dict(chosen.override_params) == {"temperature": 0, "model": "child"}
    assert chosen.base_url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ('{"provider": "openai", "retyr": {"attempts": 2}}', "x-portkey-config.retyr"),
        ('{"retry": {"attempts": -1}}', "x-portkey-config.retry.attempts"),
        ('{"strategy": {"mode": "random"}, "targets": []}', "x-portkey-config.strategy.mode"),
        ('{"targets": [{"provider": "openai", "weight": -2}]}', "x-portkey-config.targets[0].weight"),
    ],
)
def test_request_context_bad_config_names_the_path(config, path):
    with pytest.raises(InvalidConfig) as caught:
        build({"x-portkey-config": config})
    assert path in [v.field for v in caught.value.violations]


def test_request_context_non_json_config_is_looked_up_by_id():
    settings = GatewaySettings(configs={"cheap": TargetConfig(provider="groq", api_key="gsk-2")})
    assert target(build({"x-portkey-config": "cheap"}, settings=settings)).provider == "groq"
    with pytest.raises(InvalidConfig) as caught:
        build({"x-portkey-config": "pc-unknown"}, settings=settings)
    assert "neither a JSON config nor the id" in caught.value.message


def test_request_context_identical_configs_share_one_compiled_tree():
    settings = GatewaySettings()
    builder = RequestContextBuilder(settings, build_pipeline(settings, ProviderTransport()).routes)
    first = '{"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"provider": "groq"}]}'
    reordered = '{"targets": [{"provider": "openai"}, {"provider": "groq"}], "strategy": {"mode": "fallback"}}'
    trees = [builder.build(CallOptions(headers={**BASE, "x-portkey-config": text}), None, 0.0).route
             for text in (first, reordered, first)]
    assert isinstance(trees[0], Fallback) and trees[0] is trees[1] is trees[2]


def test_request_context_typed_routing_config_validates_like_json():
    ctx = build(routing_config={"provider": "deepseek", "api_key": "dk"})
    assert (target(ctx).provider, target(ctx).api_key) == ("deepseek", "dk")
    with pytest.raises(InvalidConfig):
        build(routing_config={"provider": "deepseek", "typo": 1})


def test_request_context_provider_headers_become_provider_options_of_the_callers_provider():
    headers = {"x-portkey-aws-region": "eu-west-1", "anthropic-version": "2023-06-01",
               "x-portkey-azure-api-version": "2024-10-21"}
    options = dict(target(build(headers)).provider_options)
    assert options == {"aws_region": "eu-west-1", "anthropic_version": "2023-06-01", "api_version": "2024-10-21"}
    config = {"provider": "openai", "api_version": "from-config"}
    merged = target(build({**headers, "x-portkey-config": orjson.dumps(config).decode()}))
    assert merged.provider_options["api_version"] == "from-config"  # the config wins
    other = {"provider": "groq", "api_key": "g"}
    assert not target(build({**headers, "x-portkey-config": orjson.dumps(other).decode()})).provider_options
    assert "eu-west-1" not in repr(target(build(headers)))  # provider options may hold credentials
