"""RetryStage: which failures are retried, the waits (full jitter, retry-after, budgets), the deadline, and the
retry count Portkey reports. A scripted operation stands in for the upstream; waits are recorded, not slept."""

import asyncio
import random

import pytest

from gateway_grpc import errors as e
from gateway_grpc.retry import DEFAULT_RETRY_STATUSES, Backoff, RetryPolicy, RetryStage
from gateway_grpc.types import CallContext


class Script:
    """An operation that fails with each scripted error in turn, then answers "ok"; records each try's context."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.contexts: list[CallContext] = []

    async def __call__(self, handler, ctx):
        self.contexts.append(ctx)
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def fail(status: int, kind=e.ProviderRejected, retry_after=None) -> e.ProviderError:
    return kind(f"HTTP {status}", provider="openai", status=status, retry_after=retry_after)


def timeout() -> e.ProviderError:
    return e.ProviderTimeout("slow", provider="openai")


def unreachable() -> e.ProviderError:
    return e.ProviderUnavailable("refused", provider="openai")


def run(script, policy, *, deadline_in=None, timeout_s=None, backoff=Backoff(1.0, 16.0, 60.0), seed=7):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main():
        loop = asyncio.get_running_loop()
        ctx = CallContext(trace_id="t", attempt_timeout=timeout_s,
                          deadline=None if deadline_in is None else loop.time() + deadline_in)
        stage = RetryStage(object(), backoff, random.Random(seed), sleep)
        try:
            return await stage.run(script, ctx, policy), ctx, loop.time()
        except e.ProviderError as error:
            return error, ctx, loop.time()

    outcome, ctx, now = asyncio.run(main())
    return outcome, ctx.log.retries, waits, now


RETRY_2 = RetryPolicy(attempts=2)


@pytest.mark.parametrize(
    ("failures", "policy", "outcome", "tries", "retries"),
    [
        ((), RETRY_2, "ok", 1, 0),
        ((fail(503), fail(502)), RETRY_2, "ok", 3, 2),
        ((fail(429, e.RateLimited),), RETRY_2, "ok", 2, 1),
        ((timeout(),), RETRY_2, "ok", 2, 1),
        ((unreachable(),), RETRY_2, "ok", 2, 1),
        ((e.ProviderBadResponse("junk", provider="openai"),), RETRY_2, "ok", 2, 1),
        ((fail(503), fail(503), fail(503)), RETRY_2, 503, 3, -1),
        ((fail(400),), RETRY_2, 400, 1, 0),
        ((fail(503), fail(400)), RETRY_2, 400, 2, 1),
        ((fail(503),), RetryPolicy(attempts=0), 503, 1, 0),
        ((fail(503),), RetryPolicy(2, frozenset({429})), 503, 1, 0),
        ((fail(429, e.RateLimited),), RetryPolicy(2, frozenset({429})), "ok", 2, 1),
    ],
)
def test_retry_decides_from_the_failure_status_and_the_policy(failures, policy, outcome, tries, retries):
    script = Script(*failures)
    result, reported, _, _ = run(script, policy)
    assert (result if result == "ok" else result.http_status) == outcome
    assert len(script.contexts) == tries
    assert reported == retries


def test_retry_default_statuses_are_portkeys_plus_timeouts_and_overloaded():
    assert {408, 429, 500, 502, 503, 504, 529} == DEFAULT_RETRY_STATUSES


def test_retry_backoff_is_full_jitter_below_the_exponential_cap():
    script = Script(*[fail(503)] * 5)
    _, _, waits, _ = run(script, RetryPolicy(attempts=5), backoff=Backoff(1.0, 4.0, 60.0))
    assert len(waits) == 5
    for retry, wait in enumerate(waits):
        assert 0 <= wait <= min(4.0, 2 ** retry)
    assert len(set(waits)) == 5  # jittered, not a fixed schedule


def test_retry_backoff_spreads_waits_over_the_whole_window():
    rng = random.Random(1)
    draws = [Backoff(1.0, 16.0, 60.0).wait(3, rng) for _ in range(4000)]
    assert max(draws) <= 8.0 and min(draws) >= 0.0
    assert 3.7 < sum(draws) / len(draws) < 4.3  # uniform(0, 8): mean 4


@pytest.mark.parametrize(
    ("failure", "use_header", "expected_wait"),
    [
        (fail(429, e.RateLimited, retry_after=0.25), True, 0.25),
        (fail(503, retry_after=1.5), True, 1.5),
        (fail(500, retry_after=9.0), True, None),  # not a retry-after status: backoff
        (fail(429, e.RateLimited, retry_after=9.0), False, None),  # not asked for: backoff
    ],
)
def test_retry_after_replaces_the_backoff_when_asked(failure, use_header, expected_wait):
    _, _, waits, _ = run(Script(failure), RetryPolicy(2, DEFAULT_RETRY_STATUSES, use_header),
                         backoff=Backoff(0.001, 0.001, 60.0))
    assert len(waits) == 1
    assert waits[0] == expected_wait if expected_wait is not None else waits[0] <= 0.001


def test_retry_after_past_the_budget_stops_retrying_with_minus_one():
    script = Script(fail(429, e.RateLimited, retry_after=61.0))
    result, retries, waits, _ = run(script, RetryPolicy(3, DEFAULT_RETRY_STATUSES, True))
    assert result.http_status == 429 and waits == [] and retries == -1 and len(script.contexts) == 1


def test_retry_after_budget_is_spent_across_retries():
    failures = [fail(429, e.RateLimited, retry_after=25.0) for _ in range(4)]
    script = Script(*failures)
    result, retries, waits, _ = run(script, RetryPolicy(4, DEFAULT_RETRY_STATUSES, True),
                                    backoff=Backoff(1.0, 16.0, 60.0))
    assert waits == [25.0, 25.0]  # a third 25 s wait would pass the 60 s budget
    assert result.http_status == 429 and retries == -1


def test_retry_never_waits_past_the_calls_deadline():
    script = Script(fail(503), fail(503))
    result, retries, waits, _ = run(script, RETRY_2, deadline_in=0.5, backoff=Backoff(10.0, 10.0, 60.0), seed=3)
    # the first wait (uniform 0..10 s with this seed) ends past the 0.5 s deadline: no retry
    assert waits == [] and len(script.contexts) == 1 and retries == -1 and result.http_status == 503


def test_retry_arms_each_try_with_its_own_first_byte_deadline():
    script = Script(fail(503))
    run(script, RETRY_2, timeout_s=2.0, backoff=Backoff(0.001, 0.001, 60.0))
    first, second = script.contexts
    assert first.attempt_timeout == second.attempt_timeout == 2.0
    assert second.attempt_deadline >= first.attempt_deadline  # re-armed, not shared
    script = Script()
    run(script, RETRY_2, timeout_s=5.0, deadline_in=1.0)
    ctx = script.contexts[0]
    assert ctx.attempt_deadline == ctx.deadline  # the caller's deadline wins when it is sooner


def test_retry_lets_cancellation_through():
    async def main():
        async def never(handler, ctx):
            await asyncio.Event().wait()

        stage = RetryStage(object(), Backoff(), random.Random(0))
        task = asyncio.create_task(stage.run(never, CallContext(trace_id="t"), RETRY_2))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
