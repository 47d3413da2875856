"""Runs the hooks of one event over a Subject: each hook's checks (in order; I/O-bound checks of a hook run
concurrently unless `sequential`), transformers in series (each edit feeds the next check and hook), the verdict
rules (contract §8.1: a hook passes when every check passed or errored, an error failing only with `failOnError`),
and the feedback. Async hooks are started off the critical path: their results are logged and counted, never
awaited. Knows neutral types and results only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from gateway_grpc.guardrails.base import BEFORE, Outcome, Subject
from gateway_grpc.guardrails.checking import CompiledCheck, evaluate, evaluate_now
from gateway_grpc.guardrails.hooks import Hook
from gateway_grpc.guardrails.results import CheckResult, HookResult
from gateway_grpc.guardrails.texts import request_text, response_text

log = logging.getLogger("gateway_grpc.guardrails")


class GuardrailObserver(Protocol):
    def hook(self, event: str, result: HookResult) -> None:
        """Called once per hook run, async ones included (metrics)."""
        ...


class HookRunner:
    """Built once at start-up; holds the tasks of async hooks still running (so they are not collected early)."""

    def __init__(self, observer: GuardrailObserver | None = None) -> None:
        self._observer = observer
        self._background: set[asyncio.Task[Any]] = set()

    async def run(self, hooks: Sequence[Hook], subject: Subject) -> tuple[list[HookResult], Subject]:
        """The results of the synchronous hooks, and the subject as their transformers left it."""
        results = []
        for hook in hooks:
            if hook.is_async:
                self._spawn(hook, subject)
                continue
            result, subject = await run_hook(hook, subject)
            self._observe(hook, result)
            results.append(result)
        return results, subject

    def _spawn(self, hook: Hook, subject: Subject) -> None:
        task = asyncio.get_running_loop().create_task(self._run_async(hook, subject))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_async(self, hook: Hook, subject: Subject) -> None:
        result, _ = await run_hook(hook, subject)
        self._observe(hook, result)
        failed = [c.id for c in result.checks if not c.verdict]
        errored = [c.id for c in result.checks if c.error and not c.skipped]
        log.info("async guardrail %s (%s): verdict=%s failed=%s errored=%s", hook.id, hook.event, result.verdict,
                 ",".join(failed) or "-", ",".join(errored) or "-")

    def _observe(self, hook: Hook, result: HookResult) -> None:
        if self._observer is not None:
            self._observer.hook(hook.event, result)

    async def aclose(self) -> None:
        """Wait for async hooks still running (server shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


async def run_hook(hook: Hook, subject: Subject) -> tuple[HookResult, Subject]:
    started, created = time.perf_counter(), time.time()
    results: list[CheckResult | None] = [None] * len(hook.checks)
    pending: list[tuple[int, CompiledCheck]] = []
    for index, check in enumerate(hook.checks):
        if not check.enabled:
            continue
        if hook.sequential or check.transforms:
            subject = await _settle(pending, results, subject)
            result, outcome = await evaluate(check, subject)
        else:
            if check.is_async:
                pending.append((index, check))
                continue
            result, outcome = evaluate_now(check, subject)
        results[index] = result
        subject = _applied(subject, outcome)
    subject = await _settle(pending, results, subject)
    ran = [result for result in results if result is not None]
    verdict = all(result.verdict for result in ran)
    return HookResult(
        id=hook.id, verdict=verdict, deny=hook.deny, type=hook.type, is_async=hook.is_async, checks=ran,
        transformed=any(result.transformed for result in ran), feedback=_feedback(hook, verdict, ran),
        execution_time_ms=(time.perf_counter() - started) * 1000, created_at=created,
    ), subject


async def _settle(pending: list[tuple[int, CompiledCheck]], results: list[CheckResult | None],
                  subject: Subject) -> Subject:
    """Run the I/O-bound checks collected so far, concurrently, on `subject` (they do not transform)."""
    if not pending:
        return subject
    done = await asyncio.gather(*(evaluate(check, subject) for _, check in pending))
    for (index, _), (result, _outcome) in zip(pending, done, strict=True):
        results[index] = result
    pending.clear()
    return subject


def _applied(subject: Subject, outcome: Outcome | None) -> Subject:
    if outcome is None:
        return subject
    if subject.event == BEFORE and outcome.request is not None:
        return replace(subject, request=outcome.request, text=request_text(outcome.request))
    if subject.event != BEFORE and outcome.response is not None:
        return replace(subject, response=outcome.response, text=response_text(outcome.response))
    return subject


def _feedback(hook: Hook, verdict: bool, results: list[CheckResult]) -> dict[str, Any] | None:
    """The hook's on_success / on_fail feedback, its metadata extended with the checks that passed, failed and
    errored (comma-joined ids, as the reference)."""
    configured = hook.on_success if verdict else hook.on_fail
    if configured is None:
        return None
    metadata = dict(configured.get("metadata") or {})
    metadata["successfulChecks"] = ",".join(r.id for r in results if r.verdict and not r.error)
    metadata["failedChecks"] = ",".join(r.id for r in results if not r.verdict)
    metadata["erroredChecks"] = ",".join(r.id for r in results if r.error and not r.skipped)
    return {**configured, "metadata": metadata}

