"""A routing leaf's guardrails (contract §6 steps 2 and 9): input hooks before the target's cache and call, output
hooks on every answer the target returns, fresh or from its cache (a stored answer never bypasses a newer policy).

Hooks run for chat, text completions and embeddings (embeddings: input hooks only), as in the reference. A denying
hook raises GuardrailDenied (446); transformers replace the request sent upstream (and so the cache key) or the
answer returned (and so what is cached). Results go to the call's GuardrailReport (`ctx.log.guardrails`), which the
boundaries turn into `hook_results`. Streamed answers are judged by guardrails/streams.py.
"""

from __future__ import annotations

from typing import Any

from gateway_grpc.guardrails import streams
from gateway_grpc.guardrails.base import AFTER, BEFORE
from gateway_grpc.guardrails.hooks import HookSet
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.subjects import ANSWERS_JUDGED, REQUEST_TYPES, raise_if_denied, subject_of
from gateway_grpc.types import CallContext


class TargetGuard:
    """Built once at start-up with the hook runner; the hooks are each leaf's (compiled with its config)."""

    def __init__(self, runner: HookRunner) -> None:
        self.runner = runner

    @staticmethod
    def applies(hooks: HookSet, op: Any) -> bool:
        return bool(hooks) and op.cache_kind in REQUEST_TYPES

    async def before(self, hooks: HookSet, op: Any, ctx: CallContext) -> Any:
        """`op`, or a copy carrying the request as the transformers left it; GuardrailDenied when a hook denies."""
        if not hooks.before:
            return op
        report = ctx.log.guardrails
        results, subject = await self.runner.run(hooks.before, subject_of(BEFORE, op, None, ctx))
        report.before = results
        raise_if_denied(results, report, ctx)
        return op if subject.request is op.request else op.with_request(subject.request)

    async def after(self, hooks: HookSet, op: Any, answer: Any, ctx: CallContext) -> Any:
        """The answer as the output hooks leave it (a stream: judged per its hooks' stream modes)."""
        if not hooks.after or REQUEST_TYPES[op.cache_kind] not in ANSWERS_JUDGED:
            return answer
        if op.stream:
            return await streams.judged(self.runner, hooks.after, op, answer, ctx)
        report = ctx.log.guardrails
        results, subject = await self.runner.run(hooks.after, subject_of(AFTER, op, answer, ctx))
        report.after = results
        raise_if_denied(results, report, ctx)
        return subject.response
