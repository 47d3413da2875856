"""Retries of one target: which failures are retried, how long to wait (exponential backoff with full jitter, or the
provider's retry-after), and never past the call's deadline. Also arms each attempt's time limits.

Knows neither routing nor HTTP: it sees ProviderError fields (`http_status`, `retry_after`) and the policy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway_grpc.errors import ProviderError
from gateway_grpc.types import CallContext

T = TypeVar("T")
Op = Callable[[Any, CallContext], Awaitable[T]]

MAX_RETRIES = 5  # Portkey contract §9, enforced (§13 row 10): larger configs load, clamped
# Portkey's 429/500/502/503/504, plus 408 (timeouts, §13) and 529 (Anthropic's "overloaded", a 503 by another name)
DEFAULT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
RETRY_AFTER_STATUSES = frozenset({429, 503, 529})  # §13 row 11: retry-after honoured on 503 (and 529) as well


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A target's compiled `retry`: `attempts` retries after the first try, on `statuses`."""

    attempts: int = 0
    statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    use_retry_after: bool = False


NO_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits in seconds: uniform(0, min(cap, base * 2**retry)) ("full jitter"); retry-after budget per target."""

    base_s: float = 1.0
    cap_s: float = 16.0
    retry_after_budget_s: float = 60.0

    def wait(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap_s, self.base_s * (2 ** retry)))


class RetryStage:
    """Runs `op` against `next` up to 1 + policy.attempts times. The clock is the event loop's; sleep is injectable."""

    def __init__(self, next_handler: Any, backoff: Backoff, rng: random.Random,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.next = next_handler
        self._backoff = backoff
        self._rng = rng
        self._sleep = sleep

    async def run(self, op: Op[T], ctx: CallContext, policy: RetryPolicy) -> T:
        """The first success; else the last failure, with ctx.log.retries set as Portkey reports it."""
        loop = asyncio.get_running_loop()
        budget = self._backoff.retry_after_budget_s
        retry = 0
        while True:
            try:
                result = await op(self.next, _armed(ctx, loop.time()))
            except ProviderError as error:
                wait = self._wait(error, retry, policy, budget)
                if wait is None or _past_deadline(ctx, loop.time() + wait):
                    ctx.log.retries = -1 if wait is not None or _exhausted(error, policy) else retry
                    raise
                if _uses_retry_after(error, policy):
                    budget -= wait
                await self._sleep(wait)
                retry += 1
                continue
            ctx.log.retries = retry
            return result

    def _wait(self, error: ProviderError, retry: int, policy: RetryPolicy, budget: float) -> float | None:
        """Seconds before the next try, or None when this failure is final."""
        if retry >= policy.attempts or error.http_status not in policy.statuses:
            return None
        if _uses_retry_after(error, policy):
            wait = error.retry_after or 0.0
            return wait if wait < budget else None
        return self._backoff.wait(retry, self._rng)


def _uses_retry_after(error: ProviderError, policy: RetryPolicy) -> bool:
    return policy.use_retry_after and error.retry_after is not None and error.http_status in RETRY_AFTER_STATUSES


def _exhausted(error: ProviderError, policy: RetryPolicy) -> bool:
    """Portkey's -1: retrying stopped while the failure was still one the policy retries."""
    return policy.attempts > 0 and error.http_status in policy.statuses


def _past_deadline(ctx: CallContext, wake: float) -> bool:
    return ctx.deadline is not None and wake >= ctx.deadline


def _armed(ctx: CallContext, now: float) -> CallContext:
    """The context of one try: its first-byte deadline is `attempt_timeout` from now, capped by the call's."""
    if ctx.attempt_timeout is None:
        return ctx.armed(ctx.deadline)
    deadline = now + ctx.attempt_timeout
    return ctx.armed(deadline if ctx.deadline is None else min(deadline, ctx.deadline))
