"""The compiled routing tree, run per call: a Leaf calls one target (through its retries and circuit breaker); the
strategy nodes choose among children — Fallback in order, LoadBalance by weight (optionally sticky), Conditional
by the first matching query (Portkey contract §5, with §13 rows 27–28 fixed).

Built once by routing/plan.py. Nodes hold no per-call state; every fact of a call is in its CallContext.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

from gateway_grpc.cache.target_cache import CachePolicy, TargetCache
from gateway_grpc.errors import CircuitOpen, InvalidRequest, ProviderError
from gateway_grpc.guardrails.hooks import NO_HOOKS, HookSet
from gateway_grpc.guardrails.results import GuardrailReport
from gateway_grpc.guardrails.stage import TargetGuard
from gateway_grpc.retry import RetryPolicy, RetryStage
from gateway_grpc.routing.circuit import CircuitBreakers, CircuitPolicy
from gateway_grpc.routing.conditions import MISSING, Query, lookup_path
from gateway_grpc.types import EMPTY, AttemptRecord, CallContext, CallerInputs, Target

T = TypeVar("T")
Judge = Callable[[Any, CallContext], Awaitable[Any]]  # output guardrails: (answer, ctx) -> the answer they let out


class RouteOp(Protocol[T]):
    """One call the tree routes: how to run it against a handler, and the request body as routing sees it; for the
    response cache, its request, whether it streams, and the kind its answers are filed under (None: not cached)."""

    request: Any
    stream: bool
    cache_kind: str | None

    def __call__(self, handler: Any, ctx: CallContext) -> Awaitable[T]:
        """Run the call once against `handler` (the retry stage's next handler)."""
        ...

    def params(self) -> Mapping[str, Any]:
        """The request body for `params.*` lookups (conditional and sticky routing)."""
        ...

    def with_request(self, request: Any) -> RouteOp[T]:
        """The same call with another request (what an input guardrail's transformer made of it)."""
        ...


class Node(Protocol):
    path: str

    async def run(self, op: RouteOp[T], ctx: CallContext) -> T:
        """The answer of the chosen target(s); the last failure when every choice failed."""
        ...


def routing_lookup(op: RouteOp[Any], ctx: CallContext) -> Callable[[str], Any]:
    """`metadata.*`, `params.*` and `url.*` paths of this call, resolved at any depth; params built on first use."""
    roots: dict[str, Any] = {"metadata": ctx.metadata, "url": {"pathname": ctx.request_path}}

    def lookup(path: str) -> Any:
        if path.startswith("params") and "params" not in roots:
            roots["params"] = op.params()
        return lookup_path(roots, path)

    return lookup


# ---- leaves ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeafSpec:
    """A target with everything inherited resolved. Empty `provider` means the caller's (a policy-only config)."""

    path: str
    provider: str = ""
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    override_params: Mapping[str, Any] = EMPTY
    provider_options: Mapping[str, str] = field(default=EMPTY, repr=False)  # credentials: aws_*, service accounts
    forward_headers: tuple[str, ...] | None = None
    retry: RetryPolicy = RetryPolicy()
    timeout_ms: int | None = None
    strict_open_ai_compliance: bool | None = None
    circuit: CircuitPolicy | None = None
    cache: CachePolicy | None = None  # None: the server's default (cache/target_cache.py)
    hooks: HookSet = NO_HOOKS  # its guardrails, inherited ones and the server's defaults included


class AttemptObserver(Protocol):
    def attempt(self, provider: str, status: int, retry: int) -> None:
        """Called after every upstream try (metrics)."""
        ...


class Leaf:
    """Calls one target: builds it from the spec and the caller's inputs, honours its breaker, runs its input
    guardrails, answers from its cache entry or else retries and records; output guardrails judge every answer."""

    def __init__(self, spec: LeafSpec, retry: RetryStage, breakers: CircuitBreakers, clock: Callable[[], float],
                 observer: AttemptObserver | None = None, cache: TargetCache | None = None,
                 guard: TargetGuard | None = None) -> None:
        self.path = spec.path
        self.spec = spec
        self._cache = cache
        self._guard = guard
        self._retry = retry
        self._breakers = breakers
        self._clock = clock
        self._observer = observer

    def target(self, caller: CallerInputs) -> Target:
        spec = self.spec
        provider = spec.provider or caller.provider
        if not provider:
            raise InvalidRequest.field("x-portkey-provider", "required (or a config that names a provider)")
        own = not spec.provider or spec.provider == caller.provider  # the caller's key belongs to this provider
        names = spec.forward_headers if spec.forward_headers is not None else caller.forward_headers
        return Target(
            provider=provider,
            api_key=spec.api_key if spec.api_key is not None else (caller.api_key if own else ""),
            base_url=spec.base_url or ("" if spec.provider else caller.base_url),
            override_params=spec.override_params,
            provider_options=_merged(caller.provider_options, spec.provider_options) if own else spec.provider_options,
            forward_headers={n: caller.headers[n] for n in names if n in caller.headers} or EMPTY,
        )

    def available(self, caller: CallerInputs) -> bool:
        """False while the target's circuit is open (load balancing skips it); claims nothing."""
        circuit = self.spec.circuit
        return circuit is None or self._breakers.available(breaker_key(self.target(caller)), circuit)

    async def run(self, op: RouteOp[T], ctx: CallContext) -> T:
        spec = self.spec
        target = self.target(ctx.caller)
        ctx.log.path, ctx.log.provider, ctx.log.retries = spec.path, target.provider, 0
        key = breaker_key(target) if spec.circuit else ""
        if spec.circuit and not self._breakers.allows(key, spec.circuit):
            error = CircuitOpen(f"{spec.path}: circuit open for {target.provider}; target skipped",
                                provider=target.provider)
            ctx.log.attempts.append(_record(spec.path, target.provider, error, 0, 0.0))
            raise error
        timeout_ms = ctx.caller.timeout_ms or spec.timeout_ms
        strict = _first_set(ctx.caller.strict_open_ai_compliance, spec.strict_open_ai_compliance, True)
        attempt = ctx.for_target(target, timeout_ms / 1000 if timeout_ms else None, strict)
        hooks = spec.hooks + ctx.caller.guardrails if ctx.caller.guardrails else spec.hooks
        judge = None
        ctx.log.guardrails = None
        if self._guard is not None and self._guard.applies(hooks, op):
            ctx.log.guardrails = GuardrailReport()
            op = await self._guard.before(hooks, op, attempt)
            if hooks.after:
                judge = functools.partial(self._guard.after, hooks, op)

        def call() -> Awaitable[T]:
            return self._retry.run(self._recorded(op, key, judge), attempt, spec.retry)

        if self._cache is None:
            return await call()
        return await self._cache.run(op, attempt, spec.cache, spec.path, call, judge)

    def _recorded(self, op: RouteOp[T], key: str, judge: Judge | None) -> Callable[[Any, CallContext], Awaitable[T]]:
        """`op`, judged by the output guardrails (inside the try: a 446 can be retried), plus an AttemptRecord per
        try and the outcome fed to the circuit breaker."""
        tries = 0

        async def attempt(handler: Any, ctx: CallContext) -> T:
            nonlocal tries
            started, tries = self._clock(), tries + 1
            try:
                result = await op(handler, ctx)
                if judge is not None:
                    result = await judge(result, ctx)
            except ProviderError as error:
                self._settle(ctx, key, error, tries - 1, started)
                raise
            self._settle(ctx, key, None, tries - 1, started)
            return result

        return attempt

    def _settle(self, ctx: CallContext, key: str, error: ProviderError | None, retry: int, started: float) -> None:
        record = _record(self.path, ctx.target.provider if ctx.target else "", error, retry,
                         (self._clock() - started) * 1000)
        ctx.log.attempts.append(record)
        if self.spec.circuit:
            self._breakers.record(key, self.spec.circuit, record.status)
        if self._observer is not None:
            self._observer.attempt(record.provider, record.status, retry)


def _merged(caller: Mapping[str, str], config: Mapping[str, str]) -> Mapping[str, str]:
    """The caller's provider headers under the config's own options (the config wins)."""
    return {**caller, **config} if caller else config


def _first_set(*values: bool | None) -> bool:
    return next(value for value in values if value is not None)


def _record(path: str, provider: str, error: ProviderError | None, retry: int, elapsed_ms: float) -> AttemptRecord:
    if error is None:
        return AttemptRecord(path, provider, 200, retry=retry, duration_ms=elapsed_ms)
    return AttemptRecord(path, provider, error.http_status, error.reason, error.message, retry, elapsed_ms)


def breaker_key(target: Target) -> str:
    """A target's identity for circuit breaking: provider, host, model override and a hash of the key."""
    key_hash = hashlib.blake2b(target.api_key.encode(), digest_size=6).hexdigest() if target.api_key else "-"
    return f"{target.provider}|{target.base_url or '-'}|{target.override_params.get('model', '-')}|{key_hash}"


# ---- strategies -----------------------------------------------------------------------------------------------------


class Fallback:
    """Children in order; moves on after a provider failure whose status is in `on_status_codes` (any, when unset)
    and after an open circuit. Any other GatewayError stops the walk (Portkey's gateway-exception rule)."""

    def __init__(self, path: str, children: Sequence[Node], on_status_codes: frozenset[int] | None) -> None:
        self.path = path
        self.children = tuple(children)
        self._statuses = on_status_codes

    async def run(self, op: RouteOp[T], ctx: CallContext) -> T:
        last = len(self.children) - 1
        for index, child in enumerate(self.children):
            try:
                return await child.run(op, ctx)
            except ProviderError as error:
                moves_on = isinstance(error, CircuitOpen) or self._statuses is None \
                    or error.http_status in self._statuses
                if index == last or not moves_on:
                    raise
        raise AssertionError("unreachable: a fallback has at least one target")


class LoadBalance:
    """One child by weight (weight 0: never); with `sticky_fields`, the same field values pick the same child
    (weighted rendezvous hashing: stateless, so every replica agrees). Children with an open circuit are skipped."""

    def __init__(self, path: str, children: Sequence[Node], weights: Sequence[float], rng: random.Random,
                 sticky_fields: tuple[str, ...] = ()) -> None:
        self.path = path
        pairs = [(child, weight) for child, weight in zip(children, weights, strict=True) if weight > 0]
        self.children = tuple(child for child, _ in pairs)
        self.weights = tuple(weight for _, weight in pairs)
        self._rng = rng
        self._sticky = sticky_fields

    async def run(self, op: RouteOp[T], ctx: CallContext) -> T:
        return await self.choose(op, ctx).run(op, ctx)

    def choose(self, op: RouteOp[Any], ctx: CallContext) -> Node:
        healthy = [i for i, child in enumerate(self.children) if _available(child, ctx.caller)]
        pool = healthy or list(range(len(self.children)))  # all open: try anyway, the leaf reports the open circuit
        sticky = self._sticky_key(op, ctx) if self._sticky else None
        if sticky is not None:
            return self.children[max(pool, key=lambda i: _rendezvous(sticky, i, self.weights[i]))]
        point = self._rng.random() * sum(self.weights[i] for i in pool)
        for i in pool:
            point -= self.weights[i]
            if point < 0:
                return self.children[i]
        return self.children[pool[-1]]

    def _sticky_key(self, op: RouteOp[Any], ctx: CallContext) -> bytes | None:
        lookup = routing_lookup(op, ctx)
        values = [lookup(path) for path in self._sticky]
        if all(value is MISSING for value in values):
            return None  # nothing to stick by: weighted random
        return orjson.dumps([None if value is MISSING else value for value in values], default=str)


def _available(child: Node, caller: CallerInputs) -> bool:
    return child.available(caller) if isinstance(child, Leaf) else True


def _rendezvous(key: bytes, index: int, weight: float) -> float:
    digest = hashlib.blake2b(key + index.to_bytes(4, "little"), digest_size=8).digest()
    unit = (int.from_bytes(digest, "little") + 1) / (2 ** 64 + 1)  # in (0, 1)
    return -weight / math.log(unit)


class Conditional:
    """The first child whose query matches; else the `default` child; else a 400 naming the strategy."""

    def __init__(self, path: str, rules: Sequence[tuple[Query, Node]], default: Node | None) -> None:
        self.path = path
        self.rules = tuple(rules)
        self.default = default

    async def run(self, op: RouteOp[T], ctx: CallContext) -> T:
        return await self.choose(op, ctx).run(op, ctx)

    def choose(self, op: RouteOp[Any], ctx: CallContext) -> Node:
        lookup = routing_lookup(op, ctx)
        for query, child in self.rules:
            if query.matches(lookup):
                return child
        if self.default is None:
            raise InvalidRequest.field(f"{self.path}.strategy.conditions",
                                       "no condition matched the request and the strategy has no default target")
        return self.default

