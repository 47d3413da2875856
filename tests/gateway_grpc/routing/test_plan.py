"""Config -> compiled tree: inheritance down the tree (Portkey contract §5 plus provider-level fields), and every
whole-tree check with the exact path it names. Trees come from the real RouteTable, as requests get them."""

import pytest

from gateway_grpc.config import GatewaySettings, RoutingSettings, TargetConfig
from gateway_grpc.errors import CustomHostBlocked, InvalidConfig
from gateway_grpc.pipeline import build_pipeline
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.retry import DEFAULT_RETRY_STATUSES, RetryPolicy
from gateway_grpc.routing.nodes import Conditional, Fallback, Leaf, LoadBalance
from gateway_grpc.types import CallerInputs

OPENAI = {"provider": "openai", "api_key": "sk-a"}


def routes(settings=None):
    return build_pipeline(settings or GatewaySettings(), ProviderTransport()).routes


def compile_(config):
    return routes().from_mapping(config, "x-portkey-config")


def leaves(node):
    if isinstance(node, Leaf):
        return [node]
    children = getattr(node, "children", None)
    if children is None:  # conditional
        children = [child for _, child in node.rules] + ([node.default] if node.default else [])
    return [leaf for child in children for leaf in leaves(child)]


def spec_of(config, path):
    return next(leaf.spec for leaf in leaves(compile_(config)) if leaf.path == path)


def test_plan_single_config_is_one_leaf_at_the_root():
    node = compile_(OPENAI)
    assert isinstance(node, Leaf) and node.path == "config"
    assert node.target(CallerInputs()).api_key == "sk-a"


def test_plan_strategies_compile_to_their_nodes():
    two = [{**OPENAI, "name": "a"}, {**OPENAI, "name": "b"}]
    assert isinstance(compile_({"strategy": {"mode": "fallback"}, "targets": two}), Fallback)
    assert isinstance(compile_({"strategy": {"mode": "loadbalance"}, "targets": two}), LoadBalance)
    conditional = {"strategy": {"mode": "conditional", "conditions": [{"query": {"params.model": "x"}, "then": "b"}],
                                "default": "a"}, "targets": two}
    assert isinstance(compile_(conditional), Conditional)
    single = compile_({"strategy": {"mode": "single"}, "targets": two})
    assert isinstance(single, Leaf) and single.path == "config.targets[0]"


PARENT = {
    "provider": "openai", "api_key": "sk-parent", "custom_host": "http://127.0.0.1:9000/v1", "api_version": "v1",
    "override_params": {"model": "parent", "temperature": 0}, "retry": {"attempts": 2}, "request_timeout": 900,
    "forward_headers": ["x-team"], "strict_open_ai_compliance": False, "strategy": {"mode": "fallback"},
}


@pytest.mark.parametrize(
    ("child", "field", "expected"),
    [
        ({}, "provider", "openai"),
        ({}, "api_key", "sk-parent"),
        ({"api_key": "sk-child"}, "api_key", "sk-child"),
        ({}, "base_url", "http://127.0.0.1:9000/v1"),
        ({}, "provider_options", {"api_version": "v1"}),
        ({"override_params": {"model": "child"}}, "override_params", {"model": "child", "temperature": 0}),
        ({}, "retry", RetryPolicy(2, DEFAULT_RETRY_STATUSES)),
        ({"retry": {"attempts": 9, "on_status_codes": [429]}}, "retry", RetryPolicy(5, frozenset({429}))),
        ({}, "timeout_ms", 900),
        ({"request_timeout": 50}, "timeout_ms", 50),
        ({}, "forward_headers", ("x-team",)),
        ({}, "strict_open_ai_compliance", False),
        # another provider inherits no credentials, host or provider fields (the reference's users trip over this)
        ({"provider": "groq"}, "api_key", None),
        ({"provider": "groq"}, "base_url", ""),
        ({"provider": "groq"}, "provider_options", {}),
        ({"provider": "groq"}, "timeout_ms", 900),  # policies still inherit
    ],
)
def test_plan_children_inherit_from_the_parent(child, field, expected):
    spec = spec_of({**PARENT, "targets": [child, {"provider": "openai"}]}, "config.targets[0]")
    assert getattr(spec, field) == expected


def test_plan_inheritance_reaches_any_depth():
    config = {"provider": "openai", "api_key": "k", "override_params": {"a": 1}, "strategy": {"mode": "fallback"},
              "targets": [{"strategy": {"mode": "fallback"}, "override_params": {"b": 2},
                           "targets": [{"override_params": {"a": 3}}]}]}
    spec = spec_of(config, "config.targets[0].targets[0]")
    assert (spec.provider, spec.api_key, dict(spec.override_params)) == ("openai", "k", {"a": 3, "b": 2})


def test_plan_circuit_breaker_config_flows_down_from_the_strategy():
    config = {"strategy": {"mode": "fallback", "cb_config": {"failure_threshold": 3, "cooldown_interval": 5000}},
              "targets": [OPENAI, {"strategy": {"mode": "loadbalance"}, "targets": [OPENAI]}]}
    for leaf in leaves(compile_(config)):
        assert leaf.spec.circuit.failure_threshold == 3 and leaf.spec.circuit.cooldown_interval_ms == 5000
    assert spec_of(OPENAI, "config").circuit is None  # off by default


def test_plan_server_default_circuit_breaker_applies_where_configs_set_none():
    settings = GatewaySettings(routing=RoutingSettings(circuit_breaker={"failure_threshold": 4}))
    leaf = routes(settings).from_mapping(OPENAI, "x-portkey-config")
    assert leaf.spec.circuit.failure_threshold == 4


NAMED = [{**OPENAI, "name": "a"}, {**OPENAI, "name": "b"}]


@pytest.mark.parametrize(
    ("config", "field", "fragment"),
    [
        ({"strategy": {"mode": "fallback"}}, "x-portkey-config.targets", "at least one target"),
        ({"strategy": {"mode": "fallback"}, "targets": [OPENAI, {"api_key": "k"}]},
         "x-portkey-config.targets[1].provider", "required"),
        ({"provider": "nope"}, "x-portkey-config.provider", "unknown provider 'nope'"),
        ({"strategy": {"mode": "loadbalance"}, "targets": [{**OPENAI, "weight": 0}, {**OPENAI, "weight": 0}]},
         "x-portkey-config.targets", "every weight is 0"),
        ({"strategy": {"mode": "conditional", "default": "a"}, "targets": NAMED},
         "x-portkey-config.strategy.conditions", "at least one condition"),
        ({"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.x": 1}, "then": "c"}]},
          "targets": NAMED}, "x-portkey-config.strategy.conditions[0].then", "no target is named 'c'"),
        ({"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.x": 1}, "then": "a"}],
                       "default": "zz"}, "targets": NAMED}, "x-portkey-config.strategy.default", "'zz'"),
        ({"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.x": {"$near": 1}}, "then": "a"}]},
          "targets": NAMED}, "x-portkey-config.strategy.conditions[0].query.metadata.x.$near", "$near"),
        ({"strategy": {"mode": "fallback"}, "targets": [{**OPENAI, "name": "a"}, {**OPENAI, "name": "a"}]},
         "x-portkey-config.targets[1].name", "duplicate"),
        ({"strategy": {"mode": "fallback", "sticky": {"hash_fields": ["metadata.user"]}}, "targets": NAMED},
         "x-portkey-config.strategy.sticky", "only a loadbalance"),
        ({"strategy": {"mode": "loadbalance", "sticky": {"hash_fields": ["user"]}}, "targets": NAMED},
         "x-portkey-config.strategy.sticky.hash_fields[0]", "metadata."),
        ({**OPENAI, "forward_headers": ["X-Portkey-Forward-Headers"]}, "x-portkey-config.forward_headers", "itself"),
        ({"strategy": {"mode": "fallback"}, "targets": [OPENAI, {**OPENAI, "custom_host": "http://10.0.0.1/v1"}]},
         "x-portkey-config.targets[1].custom_host", "refused"),
        # strict parsing (pydantic) keeps naming paths for the new fields too
        ({"strategy": {"mode": "fallback", "on_status_codes": [42]}, "targets": NAMED},
         "x-portkey-config.strategy.on_status_codes[0]", "greater than or equal to 100"),
        ({"strategy": {"mode": "fallback", "cb_config": {"failure_threshold": 0}}, "targets": NAMED},
         "x-portkey-config.strategy.cb_config.failure_threshold", "greater than or equal to 1"),
        ({"strategy": {"mode": "fallback", "cb_config": {"cooldown": 1}}, "targets": NAMED},
         "x-portkey-config.strategy.cb_config.cooldown", "Extra inputs"),
        ({**OPENAI, "retry": {"attempts": 2, "on_status_codes": [600]}}, "x-portkey-config.retry.on_status_codes[0]",
         "less than or equal to 599"),
        ({**OPENAI, "weight": -1}, "x-portkey-config.weight", "greater than or equal to 0"),
    ],
)
def test_plan_rejects_bad_trees_naming_the_path(config, field, fragment):
    with pytest.raises(InvalidConfig if "custom_host" not in field else CustomHostBlocked) as caught:
        compile_(config)
    assert field in [v.field for v in caught.value.violations]
    assert fragment in caught.value.message


def test_plan_named_and_default_configs_compile_at_start_up_naming_their_path():
    bad = TargetConfig.model_validate({"strategy": {"mode": "loadbalance"}, "targets": [{**OPENAI, "weight": 0}]})
    with pytest.raises(InvalidConfig) as caught:
        routes(GatewaySettings(configs={"cheap": bad}))
    assert caught.value.violations[0].field == "configs.cheap.targets"
    with pytest.raises(InvalidConfig) as caught:
        routes(GatewaySettings(default_config=bad))
    assert caught.value.violations[0].field == "default_config.targets"


def test_plan_compiled_trees_are_cached_by_canonical_json_and_bounded():
    table = routes(GatewaySettings(routing=RoutingSettings(compiled_config_cache_size=2)))
    first = table.from_mapping({"provider": "openai", "api_key": "k"}, "x")
    assert table.from_mapping({"api_key": "k", "provider": "openai"}, "x") is first
    for key in ("k1", "k2", "k3"):
        table.from_mapping({"provider": "openai", "api_key": key}, "x")
    assert len(table) == 2
    assert table.from_mapping({"provider": "openai", "api_key": "k"}, "x") is not first  # evicted, recompiled
