"""The routing tree at run time: fallback, weighted and sticky load balancing, conditional choice, circuit
breaking and stream priming. Trees are compiled by the real Planner; a scripted handler stands in for the provider
call (it answers or fails by the target's model), so no network is involved."""

import asyncio
import collections
import random

import pytest

from gateway_grpc import errors as e
from gateway_grpc.config import TargetConfig
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.retry import Backoff, RetryStage
from gateway_grpc.routing.circuit import CircuitBreakers
from gateway_grpc.routing.plan import Planner
from gateway_grpc.routing.router import ChatOp, RouterStage
from gateway_grpc.types import CallContext, CallerInputs, ChatChunk, ChatRequest, ChatResponse, Message

REQUEST = ChatRequest(model="m", messages=(Message("user", "hi"),))
FAILURES = {
    "e429": lambda: e.RateLimited("slow down", provider="openai", status=429),
    "e503": lambda: e.ProviderRejected("down", provider="openai", status=503),
    "e400": lambda: e.ProviderRejected("bad", provider="openai", status=400),
    "refused": lambda: e.ProviderUnavailable("refused", provider="openai"),
    "invalid": lambda: e.InvalidRequest("the gateway refuses this"),
}


class ScriptedHandler:
    """Answers with the target's model name, or raises FAILURES[model]; counts calls per model."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def _model(self, ctx: CallContext) -> str:
        model = ctx.target.override_params["model"]
        self.calls[model] += 1
        return model

    async def complete(self, request, ctx):
        model = self._model(ctx)
        if model in FAILURES:
            raise FAILURES[model]()
        return ChatResponse(id=model, created=0, model=model, choices=())

    async def stream(self, request, ctx):
        model = self._model(ctx)
        if model in FAILURES:
            raise FAILURES[model]()
        yield ChatChunk(id=model, created=0, model=model)
        if model.endswith("-breaks"):
            raise e.ProviderUnavailable("cut", provider="openai")
        yield ChatChunk(id=model + "-2", created=0, model=model)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def tree(config: dict, handler=None, seed=0, clock=None):
    handler = handler or ScriptedHandler()
    clock = clock or Clock()
    rng = random.Random(seed)

    async def no_sleep(seconds):
        return None

    planner = Planner(HostGuard(), RetryStage(handler, Backoff(0.001, 0.001, 60.0), rng, no_sleep),
                      CircuitBreakers(clock), rng, clock)
    return planner.compile(TargetConfig.model_validate(config), "x-portkey-config"), handler


def target(model: str, **extra) -> dict:
    return {"provider": "openai", "api_key": "k", "override_params": {"model": model}, **extra}


def context(metadata=None) -> CallContext:
    return CallContext(trace_id="t", metadata=metadata or {}, caller=CallerInputs(),
                       request_path="/v1/chat/completions")


def run(node, ctx=None):
    ctx = ctx or context()

    async def main():
        try:
            return await node.run(ChatOp(REQUEST), ctx)
        except e.GatewayError as error:
            return error

    return asyncio.run(main()), ctx


# ---- fallback ----


@pytest.mark.parametrize(
    ("first", "on_status_codes", "answered_by", "calls"),
    [
        ("e503", None, "ok", {"e503": 1, "ok": 1}),
        ("e429", None, "ok", {"e429": 1, "ok": 1}),
        ("refused", None, "ok", {"refused": 1, "ok": 1}),
        ("e400", None, "ok", {"e400": 1, "ok": 1}),  # unset: any failure moves on
        ("e429", [429], "ok", {"e429": 1, "ok": 1}),
        ("e503", [429], 503, {"e503": 1}),  # not in on_status_codes: stop there
        ("refused", [503], "ok", {"refused": 1, "ok": 1}),  # unreachable counts as 503
        ("invalid", None, 400, {"invalid": 1}),  # a gateway error stops the walk
    ],
)
def test_fallback_moves_on_only_for_the_statuses_it_names(first, on_status_codes, answered_by, calls):
    strategy = {"mode": "fallback", **({"on_status_codes": on_status_codes} if on_status_codes else {})}
    node, handler = tree({"strategy": strategy, "targets": [target(first), target("ok")]})
    result, ctx = run(node)
    if answered_by == "ok":
        assert result.model == "ok" and ctx.log.path == "config.targets[1]"
    else:
        assert isinstance(result, e.GatewayError) and ctx.log.path == "config.targets[0]"
        assert getattr(result, "http_status", 400) == answered_by
    assert dict(handler.calls) == calls


def test_fallback_exhausted_raises_the_last_failure_and_logs_every_attempt():
    node, _ = tree({"strategy": {"mode": "fallback"}, "retry": {"attempts": 1},
                    "targets": [target("e503"), target("e429")]})
    result, ctx = run(node)
    assert isinstance(result, e.RateLimited) and ctx.log.retries == -1
    assert [(a.path, a.status, a.retry) for a in ctx.log.attempts] == [
        ("config.targets[0]", 503, 0), ("config.targets[0]", 503, 1),
        ("config.targets[1]", 429, 0), ("config.targets[1]", 429, 1)]


# ---- load balancing ----


def choose_many(node, count, metadata=lambda i: {}):
    return collections.Counter(node.choose(ChatOp(REQUEST), context(metadata(i))).path for i in range(count))


def test_loadbalance_follows_the_weights():
    node, _ = tree({"strategy": {"mode": "loadbalance"},
                    "targets": [target("a", weight=3), target("b", weight=1), target("c", weight=0)]}, seed=11)
    counts = choose_many(node, 20_000)
    share = counts["config.targets[0]"] / 20_000
    assert abs(share - 0.75) < 4 * (0.75 * 0.25 / 20_000) ** 0.5  # within 4 standard errors
    assert counts["config.targets[2]"] == 0  # weight 0: never


def test_loadbalance_default_weight_is_one():
    node, _ = tree({"strategy": {"mode": "loadbalance"}, "targets": [target("a"), target("b")]}, seed=5)
    share = choose_many(node, 10_000)["config.targets[0]"] / 10_000
    assert abs(share - 0.5) < 4 * (0.25 / 10_000) ** 0.5


def test_loadbalance_sticky_keeps_a_user_on_one_target_and_spreads_users_by_weight():
    config = {"strategy": {"mode": "loadbalance", "sticky": {"hash_fields": ["metadata.user"]}},
              "targets": [target("a", weight=3), target("b", weight=1)]}
    node, _ = tree(config)
    assert len(choose_many(node, 50, lambda i: {"user": "alice"})) == 1
    spread = choose_many(node, 8_000, lambda i: {"user": f"user-{i}"})
    assert abs(spread["config.targets[0]"] / 8_000 - 0.75) < 4 * (0.75 * 0.25 / 8_000) ** 0.5
    other, _ = tree(config, seed=99)  # another replica (another RNG) picks the same target for the same user
    for i in range(200):
        ctx = context({"user": f"user-{i}"})
        assert node.choose(ChatOp(REQUEST), ctx).path == other.choose(ChatOp(REQUEST), ctx).path


def test_loadbalance_sticky_without_the_fields_falls_back_to_weighted_random():
    node, _ = tree({"strategy": {"mode": "loadbalance", "sticky": {"hash_fields": ["metadata.user"]}},
                    "targets": [target("a"), target("b")]})
    assert len(choose_many(node, 200)) == 2


def test_loadbalance_skips_a_target_whose_circuit_is_open_until_its_cooldown_ends():
    clock = Clock()
    config = {"strategy": {"mode": "loadbalance", "cb_config": {"failure_threshold": 2, "cooldown_interval": 30_000}},
              "targets": [target("e503"), target("ok")]}
    node, handler = tree(config, clock=clock)
    broken = node.children[0]
    for _ in range(2):
        run(broken)
    assert handler.calls["e503"] == 2
    assert set(choose_many(node, 200)) == {"config.targets[1]"}
    clock.now += 31
    assert "config.targets[0]" in choose_many(node, 200)  # cooldown over: a probe may go through


def test_circuit_open_target_is_skipped_without_a_call_and_fallback_moves_on():
    clock = Clock()
    config = {"strategy": {"mode": "fallback", "on_status_codes": [429],
                           "cb_config": {"failure_threshold": 1, "failure_status_codes": [429]}},
              "targets": [target("e429"), target("ok")]}
    node, handler = tree(config, clock=clock)
    run(node)
    result, ctx = run(node)
    assert result.model == "ok" and handler.calls["e429"] == 1  # the second call skipped it
    assert [(a.path, a.reason) for a in ctx.log.attempts] == [("config.targets[0]", "CIRCUIT_OPEN"),
                                                              ("config.targets[1]", "")]


# ---- conditional ----

CONDITIONAL = {
    "strategy": {"mode": "conditional", "conditions": [
        {"query": {"metadata.user.tier": {"$in": ["pro", "team"]}}, "then": "big"},
        {"query": {"$or": [{"params.model": {"$regex": "^mini"}}, {"url.pathname": "/v1/embeddings"}]},
         "then": "small"},
    ], "default": "small"},
    "targets": [target("big-model", name="big"), target("small-model", name="small")],
}


@pytest.mark.parametrize(
    ("metadata", "chosen"),
    [
        ({"user": {"tier": "pro"}}, "config.targets[0]"),
        ({"user": {"tier": "team"}}, "config.targets[0]"),
        ({"user": {"tier": "free"}}, "config.targets[1]"),
        ({}, "config.targets[1]"),
    ],
)
def test_conditional_first_match_wins_then_default(metadata, chosen):
    node, _ = tree(CONDITIONAL)
    result, ctx = run(node, context(metadata))
    assert ctx.log.path == chosen and result.model == ("big-model" if chosen.endswith("[0]") else "small-model")


def test_conditional_without_a_match_or_default_is_a_400_naming_the_strategy():
    config = {**CONDITIONAL, "strategy": {**CONDITIONAL["strategy"], "default": None}}
    config["strategy"]["conditions"] = config["strategy"]["conditions"][:1]
    node, handler = tree(config)
    result, _ = run(node, context({"user": {"tier": "free"}}))
    assert isinstance(result, e.InvalidRequest) and not handler.calls
    assert result.violations[0].field == "config.strategy.conditions" and "no condition matched" in result.message


# ---- streams ----


def stream_all(node, ctx):
    async def main():
        chunks = []
        try:
            async for chunk in RouterStage().stream(REQUEST, ctx):
                chunks.append(chunk.id)
        except e.GatewayError as error:
            chunks.append(error)
        return chunks

    return asyncio.run(main())


def test_stream_fails_over_before_the_first_chunk_but_never_after_it():
    node, handler = tree({"strategy": {"mode": "fallback"}, "targets": [target("e503"), target("ok")]})
    ctx = context()
    ctx.route = node
    assert stream_all(node, ctx) == ["ok", "ok-2"]
    node, handler = tree({"strategy": {"mode": "fallback"}, "targets": [target("a-breaks"), target("ok")]})
    ctx = context()
    ctx.route = node
    first, error = stream_all(node, ctx)
    assert first == "a-breaks" and isinstance(error, e.ProviderUnavailable)
    assert handler.calls == {"a-breaks": 1}  # the fallback target was never called
