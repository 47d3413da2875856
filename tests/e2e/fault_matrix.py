"""The fault matrix as data: upstream faults (rows) x routing strategies (columns), the `x-portkey-config` of each
cell, and `expect()`, a pure function of row, column, transport and mode giving what a client must observe.

The rules are the routing contract (Portkey's), not the gateway's code: retried statuses 408/429/500/502/503/504,
connection failures count as 503 and unreadable answers as 502, fallback on any failure before the first chunk,
never after it (an in-band error ends the stream), weight 0 never chosen, conditional picks the first match.
The fake upstream's own reply table (tests.fakes.openai_replies) gives the error `type` an upstream status carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import openai_replies as replies

PROMPT = "fault matrix probe"
ECHO = f"Echo: {PROMPT}"  # what every healthy target answers (the fake echoes the last user message)
BASE = "gpt-4o-mini"
HEALTHY = f"{BASE}+chunks-3"  # the fallback target; the directive only tells it apart in the fake's log
SPARE = f"{BASE}+chunks-4"  # the conditional's `free` branch: never chosen for tier "pro"
REQUEST_TIMEOUT_MS = 300
SLOW_MS = 1500  # well past REQUEST_TIMEOUT_MS
RETRY_AFTER_MS = 30
RETRIED = frozenset({408, 429, 500, 502, 503, 504, 529})  # the default `retry.on_status_codes`
PROVIDER = "openai"
API_KEY = "sk-test"
TIER_METADATA = '{"tier": "pro"}'


# --- rows: faults ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """How one failure reads: the status it counts as, its ErrorInfo reason, gRPC code and REST error `type`.
    `upstream`: the upstream answered with `status` itself (ErrorInfo metadata `upstream_status`)."""

    status: int
    reason: str
    code: str  # grpc.StatusCode name
    type: str
    upstream: bool = False


def upstream_failure(status: int) -> Failure:
    """An upstream error status: passed through, with the type the (fake) upstream put in its error body."""
    kind = replies.status_error(status)["error"]["type"]
    if status == 429:
        return Failure(429, "RATE_LIMITED", "RESOURCE_EXHAUSTED", kind, upstream=True)
    return Failure(status, "UPSTREAM_ERROR", "UNAVAILABLE", kind, upstream=True)


TIMED_OUT = Failure(408, "REQUEST_TIMEOUT", "DEADLINE_EXCEEDED", "timeout_error")
UNREACHABLE = Failure(503, "UPSTREAM_UNAVAILABLE", "UNAVAILABLE", "api_connection_error")
UNREADABLE = Failure(502, "UPSTREAM_INVALID_RESPONSE", "UNKNOWN", "server_error")


@dataclass(frozen=True, slots=True)
class Fault:
    """One row. `directive` scripts the fake through the faulty target's model; `mid_stream` is the number of
    content chunks sent before the fault strikes (None: it strikes before the first byte)."""

    id: str
    directive: str
    failure: Failure
    unary: bool = True
    stream: bool = True
    mid_stream: int | None = None
    unreachable: bool = False  # the faulty target's custom_host has nothing listening: the fake never sees it
    timed: bool = False  # the faulty target sets request_timeout
    retry_after_ms: int = 0  # the upstream asks for this wait and the config honours it

    @property
    def model(self) -> str:
        return BASE + self.directive


FAULTS = (
    Fault("429", "+error-429", upstream_failure(429)),
    Fault("429-retry-after-ms", f"+error-429+retry-after-ms-{RETRY_AFTER_MS}", upstream_failure(429),
          retry_after_ms=RETRY_AFTER_MS),
    Fault("500", "+error-500", upstream_failure(500)),
    Fault("502", "+error-502", upstream_failure(502)),
    Fault("503", "+error-503", upstream_failure(503)),
    Fault("504", "+error-504", upstream_failure(504)),
    Fault("connect-refused", "", UNREACHABLE, unreachable=True),
    Fault("connection-reset", "+reset", UNREACHABLE),
    Fault("slow-first-byte", f"+delay-{SLOW_MS}", TIMED_OUT, timed=True),
    Fault("slow-stream-gap", f"+gap-{SLOW_MS}", TIMED_OUT, unary=False, mid_stream=0, timed=True),
    Fault("stream-cut", "+stream-break-2", UNREACHABLE, unary=False, mid_stream=2),
    Fault("invalid-json", "+bad-json", UNREADABLE),  # streams too: the fake answers a JSON body that does not parse
    Fault("invalid-sse", "+bad-sse", UNREADABLE, unary=False, mid_stream=0),
)


# --- columns: strategies -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Strategy:
    """One column: where the faulty and healthy targets sit, and the retries the faulty one inherits."""

    id: str
    faulty_path: str
    fallback_path: str | None  # the healthy target the router falls back to, if it may
    retries: int = 0
    metadata: str | None = None  # x-portkey-metadata


STRATEGIES = (
    Strategy("single", "config.targets[0]", None, retries=2),
    Strategy("fallback", "config.targets[0]", "config.targets[1]"),
    Strategy("loadbalance", "config.targets[0]", None, retries=1),
    Strategy("conditional-fallback", "config.targets[0].targets[0]", "config.targets[0].targets[1]",
             metadata=TIER_METADATA),
)


def _leaf(model: str, **extra: Any) -> dict[str, Any]:
    return {"override_params": {"model": model}, **extra}


def config(fault: Fault, strategy: Strategy, upstream_url: str, dead_url: str) -> dict[str, Any]:
    """The cell's `x-portkey-config`: provider, key and host at the root (inherited), the fault on one leaf."""
    faulty = _leaf(fault.model, **({"custom_host": dead_url} if fault.unreachable else {}),
                   **({"request_timeout": REQUEST_TIMEOUT_MS} if fault.timed else {}))
    healthy = _leaf(HEALTHY)
    shapes = {
        "single": {"strategy": {"mode": "single"}, "targets": [faulty]},
        "fallback": {"strategy": {"mode": "fallback"}, "targets": [faulty, healthy]},
        "loadbalance": {"strategy": {"mode": "loadbalance"},
                        "targets": [{**faulty, "weight": 1}, {**healthy, "weight": 0}]},
        "conditional-fallback": {
            "strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.tier": "pro"}, "then": "pro"}],
                         "default": "free"},
            "targets": [{"name": "pro", "strategy": {"mode": "fallback"}, "targets": [faulty, healthy]},
                        {"name": "free", **_leaf(SPARE)}],
        },
    }
    root: dict[str, Any] = {"provider": PROVIDER, "api_key": API_KEY, "custom_host": upstream_url,
                            **shapes[strategy.id]}
    if strategy.retries:
        root["retry"] = {"attempts": strategy.retries,
                         **({"use_retry_after_header": True} if fault.retry_after_ms else {})}
    return root


# --- what a client sees --------------------------------------------------------------------------------------------

Attempt = tuple[str, int, str, int]  # (target_path, status, reason, retry)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call shows, reduced to what the matrix checks; fields a transport cannot show are None.

    `answer`/`content`: the model that produced the chunks or completion and their text (partial before an in-band
    error). `error`: the failure as the transport shows it. `headers`: the three routing headers (REST headers or
    gRPC metadata). `summary`: gRPC's RoutingSummary, or the REST error body's `attempts`. `ended`: the call ended
    cleanly (a stream closed after its last event; REST: `data: [DONE]` last). `calls`: requests the fake saw per
    model. `traced`: an x-portkey-trace-id came back.
    """

    answer: str | None
    content: str | None
    error: dict[str, Any] | None
    headers: dict[str, str]
    summary: dict[str, Any] | None
    ended: bool = True
    traced: bool = True
    calls: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Expected:
    outcome: Outcome
    waits_s: float  # retry-after waits the router must have made (a lower bound on the call's duration)


def applies(fault: Fault, stream: bool) -> bool:
    return fault.stream if stream else fault.unary


def error_view(failure: Failure, transport: str, in_band: bool) -> dict[str, Any]:
    """The error fields a transport shows: REST status and body type (an in-band SSE error has no status); gRPC
    code, ErrorInfo reason, and `upstream_status` (unary / before the first chunk) or StreamError.http_status."""
    if transport == "rest":
        return {"type": failure.type, "provider": PROVIDER} | ({} if in_band else {"status": failure.status})
    view: dict[str, Any] = {"code": failure.code, "reason": failure.reason}
    if in_band:
        view["http_status"] = failure.status
    elif failure.upstream:
        view["upstream_status"] = str(failure.status)
    return view


def _partial(chunks: int) -> str:
    return "".join(re.findall(r"\S+\s*", ECHO)[:chunks])


def expect(fault: Fault, strategy: Strategy, transport: str, stream: bool) -> Expected:
    """What the cell must show; derived from the row and column by the routing contract."""
    calls = {fault.model: 0, HEALTHY: 0, SPARE: 0}
    if stream and fault.mid_stream is not None:  # after the first chunk: no retry, no fallback; in-band error
        calls[fault.model] = 1
        return Expected(_outcome(transport, stream, answer=fault.model, content=_partial(fault.mid_stream),
                                 error=error_view(fault.failure, transport, in_band=True),
                                 last=strategy.faulty_path, retries=0,
                                 attempts=((strategy.faulty_path, 200, "", 0),), calls=calls), 0.0)
    retried = fault.failure.status in RETRIED
    tries = 1 + (strategy.retries if retried else 0)
    attempts = tuple((strategy.faulty_path, fault.failure.status, fault.failure.reason, n) for n in range(tries))
    calls[fault.model] = 0 if fault.unreachable else tries
    waits = (tries - 1) * fault.retry_after_ms / 1000
    if strategy.fallback_path is not None:
        calls[HEALTHY] = 1
        return Expected(_outcome(transport, stream, answer=HEALTHY, content=ECHO, error=None,
                                 last=strategy.fallback_path, retries=0,
                                 attempts=(*attempts, (strategy.fallback_path, 200, "", 0)), calls=calls), waits)
    exhausted = -1 if retried and strategy.retries else 0
    return Expected(_outcome(transport, stream, answer=None, content=None,
                             error=error_view(fault.failure, transport, in_band=False), last=strategy.faulty_path,
                             retries=exhausted, attempts=attempts, calls=calls), waits)


def _outcome(transport: str, stream: bool, *, answer: str | None, content: str | None, error: dict | None,
             last: str, retries: int, attempts: tuple[Attempt, ...], calls: dict[str, int]) -> Outcome:
    headers = {"x-portkey-last-used-option-index": last, "x-portkey-retry-attempt-count": str(retries),
               "x-portkey-provider": PROVIDER}
    if transport == "grpc":
        summary: dict[str, Any] | None = {"last_used_option_index": last, "retry_attempt_count": retries,
                                          "provider": PROVIDER, "attempts": attempts}
    else:  # REST reports attempts only in an error body: not on success, not in a stream that began
        summary = {"attempts": attempts} if answer is None else None
    return Outcome(answer, content, error, headers, summary, calls=calls)
