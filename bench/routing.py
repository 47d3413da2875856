"""What routing costs per request, in the gateway process alone: `python -m bench.routing`.

Measures, in-process with the real RouteTable/Planner/RetryStage and a handler that answers at once (so only the
gateway's own routing work is timed):
  * resolving an `x-portkey-config` header seen before (parse, canonical hash, compiled-tree cache hit), and the
    first sight of a config (strict validation + compile);
  * running a call through trees: one target, a fallback whose first target answers, a fallback whose first target
    fails once, a weighted loadbalance, a sticky loadbalance, and a 3-rule conditional -> fallback tree.
Each figure is the median of 7 runs of N calls, in microseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable

import orjson
import uvloop

from gateway_grpc import errors as e
from gateway_grpc.config import GatewaySettings
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.retry import Backoff, RetryStage
from gateway_grpc.routing.circuit import CircuitBreakers
from gateway_grpc.routing.plan import Planner
from gateway_grpc.routing.router import ChatOp, RouteTable
from gateway_grpc.types import CallContext, CallerInputs, ChatRequest, ChatResponse, Message

REQUEST = ChatRequest(model="gpt-4o-mini", messages=(Message("user", "hello"),), params={"temperature": 0.2})
ANSWER = ChatResponse(id="x", created=0, model="gpt-4o-mini", choices=())


def target(model: str, **extra: object) -> dict:
    return {"provider": "openai", "api_key": "sk-bench", "override_params": {"model": model}, **extra}


TREES = {
    "single target": target("ok"),
    "fallback, first answers": {"strategy": {"mode": "fallback"}, "targets": [target("ok"), target("ok2")]},
    "fallback, first fails": {"strategy": {"mode": "fallback"}, "targets": [target("fail"), target("ok")]},
    "loadbalance 3:1": {"strategy": {"mode": "loadbalance"},
                        "targets": [target("ok", weight=3), target("ok2", weight=1)]},
    "sticky loadbalance": {"strategy": {"mode": "loadbalance", "sticky": {"hash_fields": ["metadata.user"]}},
                           "targets": [target("ok"), target("ok2")]},
    "conditional -> fallback": {
        "strategy": {"mode": "conditional", "default": "free", "conditions": [
            {"query": {"metadata.tier": {"$in": ["pro", "team"]}}, "then": "pro"},
            {"query": {"params.model": {"$regex": "^o[0-9]"}}, "then": "pro"},
            {"query": {"$or": [{"params.temperature": {"$gt": 1}}, {"url.pathname": "/v1/embeddings"}]},
             "then": "free"}]},
        "targets": [{"name": "pro", "strategy": {"mode": "fallback"}, "targets": [target("ok"), target("ok2")]},
                    {"name": "free", **target("ok2")}]},
}


class InstantHandler:
    """Answers at once; fails for the model "fail"."""

    async def complete(self, request: ChatRequest, ctx: CallContext) -> ChatResponse:
        if ctx.target is not None and ctx.target.override_params.get("model") == "fail":
            raise e.ProviderRejected("down", provider="openai", status=503)
        return ANSWER


def routes() -> RouteTable:
    """The real planner and route table, with leaves whose retry stage calls the instant handler."""
    rng = random.Random(0)

    async def no_wait(seconds: float) -> None:
        return None

    retry = RetryStage(InstantHandler(), Backoff(), rng, no_wait)
    planner = Planner(HostGuard(), retry, CircuitBreakers(time.monotonic), rng, time.monotonic)
    return RouteTable(GatewaySettings(), planner)


def per_call_us(run: Callable[[int], float], calls: int) -> float:
    return statistics.median(run(calls) for _ in range(7)) / calls * 1e6


def bench_header(table: RouteTable, calls: int) -> dict[str, float]:
    text = orjson.dumps(TREES["conditional -> fallback"]).decode()
    table.from_json(text, "x-portkey-config")

    def hit(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            table.from_json(text, "x-portkey-config")
        return time.perf_counter() - started

    def miss(n: int) -> float:
        texts = [orjson.dumps({**TREES["conditional -> fallback"], "name": str(random.random())}).decode()
                 for _ in range(n)]
        started = time.perf_counter()
        for item in texts:
            table.from_json(item, "x-portkey-config")
        return time.perf_counter() - started

    return {"config header, seen before": per_call_us(hit, calls),
            "config header, first sight (validate + compile)": per_call_us(miss, max(calls // 50, 20))}


def bench_trees(table: RouteTable, calls: int) -> dict[str, float]:
    results = {}
    for name, config in TREES.items():
        node = table.from_mapping(config, "x-portkey-config")

        async def run(n: int, node=node) -> float:
            op = ChatOp(REQUEST)
            started = time.perf_counter()
            for i in range(n):
                ctx = CallContext(trace_id="t", metadata={"user": f"u{i % 50}", "tier": "pro"},
                                  caller=CallerInputs(), route=node, request_path="/v1/chat/completions")
                await node.run(op, ctx)
            return time.perf_counter() - started

        results[name] = per_call_us(lambda n: asyncio.get_event_loop().run_until_complete(run(n)), calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.set_event_loop(uvloop.new_event_loop())
    table = routes()
    rows = {**bench_header(table, args.calls), **bench_trees(table, args.calls)}
    width = max(map(len, rows))
    for name, micros in rows.items():
        print(f"{name:<{width}}  {micros:8.2f} us/call")


if __name__ == "__main__":
    main()
