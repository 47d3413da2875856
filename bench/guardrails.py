"""What a typical input guardrail set adds to a request, in process: `python -m bench.guardrails [-n N]`.

The set is the issue's: default.wordCount + default.regexMatch + default.pii (redact), as one shorthand guardrail on
a 2 kB chat prompt. Times, per call, each check alone (compiled, run on the prompt's text) and the whole input stage
a routing leaf runs (`TargetGuard.before`: the subject, the three checks, the verdict, the redacted request), on a
clean prompt and on one holding five PII entities. Medians (and p99) of `-n` calls after a warm-up. The same set
through the whole stack is a row of `python -m bench.latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from gateway_grpc.guardrails.base import BEFORE, CHAT, Services, Subject
from gateway_grpc.guardrails.checking import compile_check, evaluate_now
from gateway_grpc.guardrails.hooks import HookCompiler
from gateway_grpc.guardrails.registry import CHECKS
from gateway_grpc.guardrails.results import GuardrailReport
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.stage import TargetGuard
from gateway_grpc.routing.router import ChatOp
from gateway_grpc.types import CallContext, ChatRequest, Message, Target

INPUT_SET = {  # one guardrail: a length bound, a prompt-injection pattern that must not match, PII redaction
    "default.wordCount": {"minWords": 1, "maxWords": 1000},
    "default.regexMatch": {"rule": r"(?i)ignore (all|any|the) (previous|prior) instructions", "not": True},
    "default.pii": {"redact": True},
    "deny": True,
}
SENTENCE = ("Our quarterly review covers revenue growth across the northern region, the rollout of the new "
            "billing system, and the hiring plan for the support team. ")
PII_LINE = ("Contact ada.lovelace@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111, IBAN "
            "GB82 WEST 1234 5698 7654 32, server 203.0.113.42. ")


def prompt(with_pii: bool) -> str:
    text = PII_LINE if with_pii else ""
    while len(text) < 2048:
        text += SENTENCE
    return text[:2048]


def _median_p99(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99) - 1] * 1e6


async def _time(fn: Callable[[], Awaitable[object]], n: int) -> tuple[float, float]:
    for _ in range(max(50, n // 10)):
        await fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return _median_p99(samples)


def _time_sync(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(max(50, n // 10)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _median_p99(samples)


async def main_async(n: int) -> None:
    compiler = HookCompiler(CHECKS, Services())
    hooks = compiler.hook_set(inputs=[INPUT_SET])
    guard = TargetGuard(HookRunner())
    rows = []
    for with_pii in (False, True):
        request = ChatRequest("gpt-4o-mini", (Message("system", "You are a helpful analyst."),
                                              Message("user", prompt(with_pii))))
        label = "with 5 PII entities" if with_pii else "clean"
        subject = Subject(BEFORE, CHAT, request, None, request.messages[-1].content, "gpt-4o-mini", "openai")
        for check_id, params in INPUT_SET.items():
            if check_id.startswith("default."):
                check = compile_check(CHECKS[check_id], params, "bench", Services())
                rows.append((f"{check_id} alone, {label}",
                             _time_sync(lambda c=check, s=subject: evaluate_now(c, s), n)))
        op = ChatOp(request)

        async def stage(op: ChatOp = op) -> object:
            ctx = CallContext("bench", target=Target("openai"))
            ctx.log.guardrails = GuardrailReport()
            return await guard.before(hooks, op, ctx)

        rows.append((f"input stage (3 checks, redact), {label}", await _time(stage, n)))
    width = max(len(name) for name, _ in rows)
    print(f"{'path':<{width}}  p50 us   p99 us   (2 kB prompt, n={n})")
    for name, (p50, p99) in rows:
        print(f"{name:<{width}}  {p50:7.1f}  {p99:7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="timed calls per row")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
