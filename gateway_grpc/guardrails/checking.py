"""One check, compiled and run: parameters read once (`not` and `failOnError` here, the rest by the check), then
per call the verdict, its inversion for `not`, timing, and errors turned into results (never raised).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import CheckFn, CheckSkipped, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.results import CheckResult

log = logging.getLogger("gateway_grpc.guardrails")
PORTKEY_ONLY = ("credentials",)  # partner plugins' credentials: accepted in parameters, unused by built-in checks


@dataclass(frozen=True, slots=True)
class CompiledCheck:
    id: str
    run: CheckFn
    negate: bool = False
    fail_on_error: bool = False
    transforms: bool = False
    enabled: bool = True
    is_async: bool = False  # `run` is a coroutine function (it does I/O): awaited, never run inline


def compile_check(check_type: CheckType, parameters: Mapping[str, Any], path: str, services: Services,
                  enabled: bool = True, check_id: str | None = None) -> CompiledCheck:
    """The check with its parameters validated; InvalidConfig names `<path>.<parameter>`. `check_id` is the id the
    config used (an alias reports as written)."""
    params = Params(parameters, path)
    negate = params.boolean("not")
    if negate and not check_type.negatable:  # Portkey configs carry `not: false` everywhere; `true` it would ignore
        raise params.error("not", f"{check_type.id} cannot be negated")
    fail_on_error = params.boolean("failOnError")
    for name in PORTKEY_ONLY:
        params.get(name)
    run = check_type.compile(params, services)
    unknown = params.unread()
    if unknown:
        raise InvalidConfig.field(f"{path}.{unknown[0]}", f"unknown parameter for {check_type.id}")
    transforms = check_type.transforms(parameters) if callable(check_type.transforms) else check_type.transforms
    return CompiledCheck(check_id or check_type.id, run, negate, fail_on_error, transforms, enabled,
                         inspect.iscoroutinefunction(run))


async def evaluate(check: CompiledCheck, subject: Subject) -> tuple[CheckResult, Outcome | None]:
    """The check's result, and its outcome when it answered (None when it errored or was skipped)."""
    started, created = time.perf_counter(), time.time()
    try:
        outcome = check.run(subject)
        if inspect.isawaitable(outcome):
            outcome = await outcome
    except Exception as exc:
        return _unanswered(check, exc, started, created), None
    return _answered(check, outcome, started, created), outcome


def evaluate_now(check: CompiledCheck, subject: Subject) -> tuple[CheckResult, Outcome | None]:
    """`evaluate` for a check that is not `is_async`, without an event-loop turn: the hot path, since most checks
    are pure functions of the text."""
    started, created = time.perf_counter(), time.time()
    try:
        outcome = check.run(subject)
        if inspect.isawaitable(outcome):
            raise TypeError(f"{check.id} returned an awaitable from a plain function; declare it `async def`")
    except Exception as exc:
        return _unanswered(check, exc, started, created), None
    return _answered(check, outcome, started, created), outcome


def _answered(check: CompiledCheck, outcome: Outcome, started: float, created: float) -> CheckResult:
    transformed = outcome.request is not None or outcome.response is not None
    return _result(check, outcome.verdict != check.negate, started, created, data=outcome.data,
                   transformed=transformed)


def _unanswered(check: CompiledCheck, exc: Exception, started: float, created: float) -> CheckResult:
    """A skipped check passes with its warning; any other failure is an errored check (a pass unless failOnError),
    never a failed call."""
    if isinstance(exc, CheckSkipped):
        return _result(check, True, started, created, error=("CheckSkipped", str(exc)), skipped=True)
    log.warning("guardrail check %s errored: %s: %s", check.id, type(exc).__name__, exc)
    return _result(check, not check.fail_on_error, started, created, error=(type(exc).__name__, str(exc)))


def _result(check: CompiledCheck, verdict: bool, started: float, created: float, *, data: Any = None,
            error: tuple[str, str] | None = None, transformed: bool = False, skipped: bool = False) -> CheckResult:
    return CheckResult(check.id, verdict, data, error, (time.perf_counter() - started) * 1000, created,
                       transformed, check.fail_on_error, skipped)


async def evaluate_check(check_type: CheckType, parameters: Mapping[str, Any], subject: Subject,
                         services: Services | None = None) -> tuple[CheckResult, Outcome | None]:
    """Compile and run one check (tests and tools): as the hook runner does, `not` and `failOnError` included."""
    return await evaluate(compile_check(check_type, parameters, "parameters", services or Services()), subject)
