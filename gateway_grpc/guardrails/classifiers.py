"""The classifier targets model-judged checks call (base.ChatCaller): chat-capable targets by name
(`guardrails.classifiers` in the gateway config), each called through the same ProviderCall as every upstream
call (transport, credentials, SSRF-checked host), with the check's timeout as the call's deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from gateway_grpc.guardrails.base import CheckSkipped
from gateway_grpc.types import CallContext, ChatRequest, ChatResponse, Target

log = logging.getLogger("gateway_grpc.guardrails")
Complete = Callable[[ChatRequest, CallContext], Awaitable[ChatResponse]]


class ClassifierTargets:
    """`targets`: name -> (target, model). `complete` is ProviderCall.complete."""

    def __init__(self, targets: Mapping[str, tuple[Target, str]], complete: Complete) -> None:
        self._targets, self._complete = dict(targets), complete
        self._warned: set[str] = set()

    async def __call__(self, target: str, request: ChatRequest, timeout_s: float) -> ChatResponse:
        entry = self._targets.get(target)
        if entry is None:
            warning = (f"no classifier target named {target!r} is configured (guardrails.classifiers in the gateway "
                       f"config); check skipped")
            if target not in self._warned:  # once per name: every such call reports it in hook_results anyway
                self._warned.add(target)
                log.warning("%s", warning)
            raise CheckSkipped(warning)
        upstream, model = entry
        deadline = asyncio.get_running_loop().time() + timeout_s
        ctx = CallContext(f"guardrail-classifier-{time.monotonic_ns()}", deadline, target=upstream,
                          attempt_timeout=timeout_s, attempt_deadline=deadline)
        return await self._complete(replace(request, model=model), ctx)
