"""Compiles a validated routing config (config.TargetConfig) into a tree of nodes, once per distinct config.

Owns inheritance (Portkey contract §5: override_params merged child-wins; retry, cache, timeout, forward headers,
strictness and guardrails inherited) plus provider-level fields (provider, api_key, custom_host, api_version, ...)
inherited only where the child names no other provider, and every check that needs the whole tree: target names,
weights, conditions, providers, custom hosts. Errors name the path under the config's source (`x-portkey-config`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_grpc.cache.target_cache import CachePolicy, TargetCache, cache_policy
from gateway_grpc.config import (
    PROVIDER_OPTION_FIELDS,
    CacheConfig,
    CircuitBreakerConfig,
    RetryConfig,
    TargetConfig,
)
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.hooks import NO_HOOKS, Hook, HookCompiler, HookSet
from gateway_grpc.guardrails.stage import TargetGuard
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.retry import DEFAULT_RETRY_STATUSES, MAX_RETRIES, NO_RETRY, RetryPolicy, RetryStage
from gateway_grpc.routing.circuit import CircuitBreakers, CircuitPolicy
from gateway_grpc.routing.conditions import compile_query
from gateway_grpc.routing.nodes import AttemptObserver, Conditional, Fallback, Leaf, LeafSpec, LoadBalance, Node
from gateway_grpc.types import EMPTY

ROOT = "config"  # Portkey's name for the root in x-portkey-last-used-option-index
_INHERITED = ("retry", "cache", "request_timeout", "forward_headers", "strict_open_ai_compliance",
              "before_request_hooks", "after_request_hooks", "input_guardrails", "output_guardrails")
_PROVIDER_LEVEL = ("api_key", "custom_host", *PROVIDER_OPTION_FIELDS)
_HOOK_FIELDS = ("before_request_hooks", "after_request_hooks", "input_guardrails", "output_guardrails")
_ROUTING_ROOTS = ("metadata.", "params.", "url.")


def inherit(parent: TargetConfig, child: TargetConfig) -> TargetConfig:
    """`child` with what it inherits from `parent` filled in."""
    update: dict[str, Any] = {n: getattr(parent, n) for n in _INHERITED
                              if getattr(child, n) is None and getattr(parent, n) is not None}
    if parent.override_params:
        update["override_params"] = {**parent.override_params, **(child.override_params or {})}
    if child.provider is None or parent.provider is None or child.provider == parent.provider:
        if child.provider is None and parent.provider is not None:
            update["provider"] = parent.provider
        update.update({n: getattr(parent, n) for n in _PROVIDER_LEVEL
                       if getattr(child, n) is None and getattr(parent, n) is not None})
    return child.model_copy(update=update) if update else child


def retry_policy(config: RetryConfig | None) -> RetryPolicy:
    if config is None or config.attempts == 0:
        return NO_RETRY
    statuses = frozenset(config.on_status_codes) if config.on_status_codes else DEFAULT_RETRY_STATUSES
    return RetryPolicy(min(config.attempts, MAX_RETRIES), statuses, config.use_retry_after_header)


def circuit_policy(config: CircuitBreakerConfig | None) -> CircuitPolicy | None:
    if config is None:
        return None
    codes = frozenset(config.failure_status_codes) if config.failure_status_codes else None
    return CircuitPolicy(config.failure_threshold, config.failure_threshold_percentage, config.minimum_requests,
                         config.cooldown_interval, max(60_000, config.cooldown_interval), codes)


@dataclass(frozen=True, slots=True)
class GuardrailPlan:
    """What leaves need for guardrails: the stage that runs them, the compiler of hook configs, and the server's
    default guardrails (appended to every target's)."""

    stage: TargetGuard
    compiler: HookCompiler
    defaults: HookSet = NO_HOOKS


class Planner:
    """Built once at start-up with what leaves need (retry stage, breakers, clock, RNG, host guard, cache,
    guardrails)."""

    def __init__(self, guard: HostGuard, retry: RetryStage, breakers: CircuitBreakers, rng: random.Random,
                 clock: Callable[[], float], default_circuit: CircuitBreakerConfig | None = None,
                 observer: AttemptObserver | None = None, cache: TargetCache | None = None,
                 guardrails: GuardrailPlan | None = None) -> None:
        self._observer = observer
        self._cache = cache
        self._guardrails = guardrails
        self._compiled_hooks: dict[tuple[int, ...], HookSet] = {}  # per compile(): inherited lists compiled once
        self._guard = guard
        self._retry = retry
        self._breakers = breakers
        self._rng = rng
        self._clock = clock
        self._default_circuit = default_circuit

    def compile(self, config: TargetConfig, source: str) -> Node:
        """The tree for `config`; `source` roots error paths (e.g. "x-portkey-config"). Raises InvalidConfig."""
        self._compiled_hooks.clear()
        try:
            return self._node(config, "", source, self._default_circuit, nested=False)
        finally:
            self._compiled_hooks.clear()

    def _node(self, config: TargetConfig, where: str, source: str, cb: CircuitBreakerConfig | None,
              nested: bool) -> Node:
        strategy = config.strategy
        hooks = self._hooks(config, source + where)  # checked where written, before children inherit them
        if not config.targets:
            if strategy is not None:
                raise InvalidConfig.field(f"{source}{where}.targets", "a strategy needs at least one target")
            return self._leaf(config, where, source, cb, nested, hooks)
        if strategy is not None and strategy.cb_config is not None:
            cb = strategy.cb_config
        _target_names(config.targets, source + where)  # unique names, whatever the strategy
        children = [self._node(inherit(config, child), f"{where}.targets[{i}]", source, cb, nested=True)
                    for i, child in enumerate(config.targets)]
        mode = strategy.mode if strategy else "single"
        if strategy is not None and strategy.sticky is not None and mode != "loadbalance":
            raise InvalidConfig.field(f"{source}{where}.strategy.sticky", "only a loadbalance strategy can be sticky")
        return _BUILDERS[mode](self, config, where, source, children)

    def _leaf(self, config: TargetConfig, where: str, source: str, cb: CircuitBreakerConfig | None,
              nested: bool, hooks: HookSet) -> Leaf:
        here = source + where
        if config.provider is None and nested:
            raise InvalidConfig.field(f"{here}.provider", "required: name a provider here or in a parent")
        if config.provider is not None and config.provider not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise InvalidConfig.field(f"{here}.provider", f"unknown provider {config.provider!r}; known: {known}")
        spec = LeafSpec(
            path=ROOT + where,
            provider=config.provider or "",
            api_key=config.api_key,
            base_url=self._guard.check(config.custom_host, f"{here}.custom_host") if config.custom_host else "",
            override_params=config.override_params or EMPTY,
            provider_options={n: _option_text(v) for n in PROVIDER_OPTION_FIELDS
                              if (v := getattr(config, n)) is not None} or EMPTY,
            forward_headers=_forward_names(config.forward_headers, f"{here}.forward_headers"),
            retry=retry_policy(config.retry),
            timeout_ms=config.request_timeout,
            strict_open_ai_compliance=config.strict_open_ai_compliance,
            circuit=circuit_policy(cb),
            cache=self._cache_policy(config.cache, here),
            hooks=hooks + self._guardrails.defaults if self._guardrails else NO_HOOKS,
        )
        stage = self._guardrails.stage if self._guardrails else None
        return Leaf(spec, self._retry, self._breakers, self._clock, self._observer, self._cache, stage)

    def header_hooks(self, text: str | None, event: str, header: str) -> tuple[Hook, ...]:
        """A default-guardrails header (a JSON array in the shorthand) compiled; InvalidConfig names the header."""
        if text is None:
            return ()
        if self._guardrails is None:
            raise InvalidConfig.field(header, "guardrails are not available in this planner")
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidConfig.field(header, f"not valid JSON ({exc})") from exc
        return self._guardrails.compiler.shorthand(raw, event, header)

    def _hooks(self, config: TargetConfig, where: str) -> HookSet:
        """The node's guardrails compiled (InvalidConfig names the path); lists a child inherited compile once."""
        lists = [getattr(config, name) for name in _HOOK_FIELDS]
        if all(value is None for value in lists):
            return NO_HOOKS
        if self._guardrails is None:
            raise InvalidConfig.field(where, "guardrails are not available in this planner")
        key = tuple(id(value) for value in lists)
        hooks = self._compiled_hooks.get(key)
        if hooks is None:
            before, after, inputs, outputs = lists
            hooks = self._guardrails.compiler.hook_set(before=before, after=after, inputs=inputs, outputs=outputs,
                                                       where=where)
            self._compiled_hooks[key] = hooks
        return hooks

    def _cache_policy(self, config: CacheConfig | None, here: str) -> CachePolicy | None:
        if config is None:
            return None
        if config.mode == "semantic" and (self._cache is None or self._cache.semantic is None):
            raise InvalidConfig.field(f"{here}.cache.mode", "semantic caching is off on this gateway "
                                                            "(cache.semantic.enabled in its config)")
        return cache_policy(config)

    # ---- strategies ----

    def _single(self, config: TargetConfig, where: str, source: str, children: Sequence[Node]) -> Node:
        return children[0]  # Portkey contract §5: `single` uses targets[0]

    def _fallback(self, config: TargetConfig, where: str, source: str, children: Sequence[Node]) -> Node:
        codes = config.strategy.on_status_codes if config.strategy else None
        return Fallback(ROOT + where, children, frozenset(codes) if codes else None)

    def _loadbalance(self, config: TargetConfig, where: str, source: str, children: Sequence[Node]) -> Node:
        targets = config.targets or []
        weights = [1.0 if t.weight is None else t.weight for t in targets]
        if sum(weights) <= 0:
            raise InvalidConfig.field(f"{source}{where}.targets", "loadbalance needs a target with weight > 0 "
                                                                  "(every weight is 0)")
        sticky = config.strategy.sticky if config.strategy else None
        fields: tuple[str, ...] = ()
        if sticky is not None and sticky.enabled:
            fields = tuple(sticky.hash_fields)
            for i, name in enumerate(fields):
                if not name.startswith(_ROUTING_ROOTS) or name.endswith("."):
                    raise InvalidConfig.field(f"{source}{where}.strategy.sticky.hash_fields[{i}]",
                                              f"{name!r} must be a path under metadata., params. or url.")
        return LoadBalance(ROOT + where, children, weights, self._rng, fields)

    def _conditional(self, config: TargetConfig, where: str, source: str, children: Sequence[Node]) -> Node:
        strategy = config.strategy
        assert strategy is not None
        here = f"{source}{where}.strategy"
        if not strategy.conditions:
            raise InvalidConfig.field(f"{here}.conditions", "a conditional strategy needs at least one condition")
        names = _target_names(config.targets or [], f"{source}{where}")
        rules = []
        for i, condition in enumerate(strategy.conditions):
            query = compile_query(condition.query, f"{here}.conditions[{i}].query")
            rules.append((query, children[_named(names, condition.then, f"{here}.conditions[{i}].then")]))
        default = None if strategy.default is None else children[_named(names, strategy.default, f"{here}.default")]
        return Conditional(ROOT + where, rules, default)


_BUILDERS = {
    "single": Planner._single,
    "fallback": Planner._fallback,
    "loadbalance": Planner._loadbalance,
    "conditional": Planner._conditional,
}


def _option_text(value: Any) -> str:
    """A provider option as Target carries it: a string; a JSON object (vertex_service_account_json) dumped."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _forward_names(names: list[str] | None, field: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    lowered = tuple(name.strip().lower() for name in names)
    if "x-portkey-forward-headers" in lowered:
        raise InvalidConfig.field(field, "may not list x-portkey-forward-headers itself")
    return lowered


def _target_names(targets: Sequence[TargetConfig], where: str) -> dict[str, int]:
    names: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name is None:
            continue
        if target.name in names:
            raise InvalidConfig.field(f"{where}.targets[{i}].name", f"duplicate target name {target.name!r}")
        names[target.name] = i
    return names


def _named(names: dict[str, int], name: str, field: str) -> int:
    if name not in names:
        known = ", ".join(repr(n) for n in names) or "none (give targets a `name`)"
        raise InvalidConfig.field(field, f"no target is named {name!r}; target names: {known}")
    return names[name]
