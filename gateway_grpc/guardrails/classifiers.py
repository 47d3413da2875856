"""The classifier targets model-judged checks call (base.ChatCaller): chat-capable targets by name
(`guardrails.classifiers` in the gateway config), each called through the same ProviderCall as every upstream
call (transport, credentials, SSRF-checked host), with the check's timeout as the call's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from gateway_grpc.guardrails.base import CheckSkipped
from gateway_grpc.types import CallContext, ChatRequest, ChatResponse, Target

Complete = Callable[[ChatRequest, CallContext], Awaitable[ChatResponse]]


class ClassifierTargets:
    """`targets`: name -> (target, model). `complete` is ProviderCall.complete."""

    def __init__(self, targets: Mapping[str, tuple[Target, str]], complete: Complete) -> None:
        self._targets, self._complete = dict(targets), complete

    async def __call__(self, target: str, request: ChatRequest, timeout_s: float) -> ChatResponse:
        entry = self._targets.get(target)
        if entry is None:
            raise CheckSkipped(f"no classifier target named {target!r} is configured (guardrails.classifiers in the "
                               f"gateway config); check skipped")
        upstream, model = entry
        deadline = asyncio.get_running_loop().time() + timeout_s
        ctx = CallContext(f"guardrail-classifier-{time.monotonic_ns()}", deadline, target=upstream,
                          attempt_timeout=timeout_s, attempt_deadline=deadline)
        return await self._complete(replace(request, model=model), ctx)
