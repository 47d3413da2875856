"""Per-target circuit breakers for the router: when a target is used (CLOSED), skipped (OPEN) or probed (HALF_OPEN).

Pure state machines over an injected monotonic clock, bounded by LRU; no I/O, no asyncio, never sleeps.
Names follow Portkey's hosted `cb_config` (the open-source reference has no circuit breaker).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When a target's circuit opens and how long it rests. With neither threshold set, it never opens."""

    failure_threshold: int | None = None
    failure_threshold_percentage: float | None = None
    minimum_requests: int = 10
    cooldown_interval_ms: int = 30_000
    window_ms: int = 60_000
    failure_status_codes: frozenset[int] | None = None

    def __post_init__(self) -> None:
        pct = self.failure_threshold_percentage
        checks = (
            (self.failure_threshold is not None and self.failure_threshold < 1, "failure_threshold must be >= 1"),
            (pct is not None and not 0 < pct <= 100, "failure_threshold_percentage must be in (0, 100]"),
            (self.minimum_requests < 1, "minimum_requests must be >= 1"),
            (self.cooldown_interval_ms <= 0, "cooldown_interval_ms must be > 0"),
            (self.window_ms <= 0, "window_ms must be > 0"),
        )
        problems = [message for bad, message in checks if bad]
        if problems:
            raise ValueError("; ".join(problems))

    def is_failure(self, status: int) -> bool:
        if self.failure_status_codes is None:
            return status >= 500 or status == 408
        return status in self.failure_status_codes


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def _can_open(policy: CircuitPolicy) -> bool:
    return policy.failure_threshold is not None or policy.failure_threshold_percentage is not None


class _Circuit:
    """One target's mutable state; only CircuitBreakers touches it."""

    __slots__ = ("consecutive", "failures", "opened_at", "probe_at", "requests", "state", "window_start")

    def __init__(self) -> None:
        self.state = CLOSED
        self.opened_at = 0.0
        self.probe_at: float | None = None  # when the outstanding HALF_OPEN probe was claimed
        self.reset()

    def reset(self) -> None:
        self.consecutive = self.requests = self.failures = 0
        self.window_start: float | None = None

    def count(self, policy: CircuitPolicy, status: int, now: float) -> None:
        """Counts one CLOSED-state attempt; a neutral status (not failure, not 2xx) is a request only."""
        if self.window_start is None or now - self.window_start >= policy.window_ms / 1000:
            self.window_start, self.requests, self.failures = now, 0, 0
        self.requests += 1
        if policy.is_failure(status):
            self.failures += 1
            self.consecutive += 1
        elif _is_success(status):
            self.consecutive = 0

    def trips(self, policy: CircuitPolicy) -> bool:
        if policy.failure_threshold is not None and self.consecutive >= policy.failure_threshold:
            return True
        pct = policy.failure_threshold_percentage
        if pct is None or self.requests < policy.minimum_requests:
            return False
        return self.failures * 100 >= pct * self.requests  # failures/requests*100 >= pct, without dividing


class CircuitBreakers:
    """The router's breakers, one circuit per target key, at most `max_targets` of them (least recently used go).

    The router calls `allows()` before trying a target and `record()` after each attempt. Keys seen only by
    `allows()`, or recorded only under a policy that can never open, are not tracked. A `record()` that arrives
    while the circuit is OPEN (a request let through before it opened) changes nothing; in HALF_OPEN, any
    `record()` is taken as the probe's outcome.
    """

    def __init__(self, clock: Callable[[], float], max_targets: int = 4096,
                 on_change: Callable[[str, str], None] | None = None) -> None:
        """clock: monotonic seconds. on_change(key, new_state) on every state transition (for metrics)."""
        if max_targets < 1:
            raise ValueError("max_targets must be >= 1")
        self._clock = clock
        self._max_targets = max_targets
        self._on_change = on_change
        self._circuits: OrderedDict[str, _Circuit] = OrderedDict()

    def allows(self, key: str, policy: CircuitPolicy) -> bool:
        circuit = self._circuits.get(key)
        if circuit is None:
            return True
        self._circuits.move_to_end(key)
        if circuit.state == CLOSED:
            return True
        return self._claim_probe(key, circuit, policy, self._clock())

    def available(self, key: str, policy: CircuitPolicy) -> bool:
        """Whether `allows()` would let a call through now; claims nothing (load balancing asks this)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.state == CLOSED:
            return True
        cooldown, now = policy.cooldown_interval_ms / 1000, self._clock()
        if circuit.state == OPEN:
            return now - circuit.opened_at >= cooldown
        return circuit.probe_at is None or now - circuit.probe_at >= cooldown

    def record(self, key: str, policy: CircuitPolicy, status: int) -> None:
        if key not in self._circuits and not _can_open(policy):
            return
        circuit, now = self._touch(key), self._clock()
        if circuit.state == CLOSED:
            circuit.count(policy, status, now)
            if circuit.trips(policy):
                self._open(key, circuit, now)
        elif circuit.state == HALF_OPEN:
            self._settle_probe(key, circuit, policy, status, now)

    def state(self, key: str) -> str:
        circuit = self._circuits.get(key)
        return CLOSED if circuit is None else circuit.state

    def _claim_probe(self, key: str, circuit: _Circuit, policy: CircuitPolicy, now: float) -> bool:
        cooldown = policy.cooldown_interval_ms / 1000
        if circuit.state == OPEN:
            if now - circuit.opened_at < cooldown:
                return False
            self._set(key, circuit, HALF_OPEN)
        elif circuit.probe_at is not None and now - circuit.probe_at < cooldown:
            return False  # a probe is outstanding; past the cooldown it counts as abandoned
        circuit.probe_at = now
        return True

    def _settle_probe(self, key: str, circuit: _Circuit, policy: CircuitPolicy, status: int, now: float) -> None:
        if policy.is_failure(status):
            self._open(key, circuit, now)
        elif _is_success(status):
            circuit.reset()
            circuit.probe_at = None
            self._set(key, circuit, CLOSED)
        else:
            circuit.probe_at = None

    def _open(self, key: str, circuit: _Circuit, now: float) -> None:
        circuit.opened_at = now
        circuit.probe_at = None
        self._set(key, circuit, OPEN)

    def _touch(self, key: str) -> _Circuit:
        circuit = self._circuits.get(key)
        if circuit is not None:
            self._circuits.move_to_end(key)
            return circuit
        if len(self._circuits) >= self._max_targets:
            evicted_key, evicted = self._circuits.popitem(last=False)
            if evicted.state != CLOSED:
                self._notify(evicted_key, CLOSED)  # forgotten state reads CLOSED; keep gauges honest
        circuit = self._circuits[key] = _Circuit()
        return circuit

    def _set(self, key: str, circuit: _Circuit, state: str) -> None:
        circuit.state = state
        self._notify(key, state)

    def _notify(self, key: str, state: str) -> None:
        if self._on_change is not None:
            self._on_change(key, state)
