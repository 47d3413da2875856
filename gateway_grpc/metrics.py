"""The gateway's Prometheus metrics: upstream attempts by provider and outcome, retries, circuit-breaker state, and
the response cache's lookups, backend failures and semantic similarity, and guardrail hooks and checks by outcome.

One instance per server, on its own registry (no module-level state). Under `gateway up` every process writes to the
shared PROMETHEUS_MULTIPROC_DIR and the edge serves the merged view at GET /metrics; in-process servers expose
`registry` directly.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway_grpc.routing.circuit import CLOSED, HALF_OPEN, OPEN

CIRCUIT_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class RoutingMetrics:
    """What the router reports. Labels never carry secrets: a target is `provider|host|model|key-hash`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.attempts = Counter("gateway_upstream_attempts", "Upstream attempts by provider and outcome status",
                                ("provider", "status"), registry=self.registry)
        self.retries = Counter("gateway_upstream_retries", "Retries made after a failed attempt", ("provider",),
                               registry=self.registry)
        self.circuit_state = Gauge("gateway_circuit_state", "Circuit state per target: 0 closed, 1 half-open, 2 open",
                                   ("target",), registry=self.registry, multiprocess_mode="max")
        self.circuit_transitions = Counter("gateway_circuit_transitions", "Circuit state changes per target",
                                           ("target", "state"), registry=self.registry)

    def attempt(self, provider: str, status: int, retry: int) -> None:
        self.attempts.labels(provider, str(status)).inc()
        if retry:
            self.retries.labels(provider).inc()

    def circuit(self, target: str, state: str) -> None:
        self.circuit_state.labels(target).set(CIRCUIT_VALUES[state])
        self.circuit_transitions.labels(target, state).inc()


SIMILARITY_BUCKETS = (0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0)


class CacheMetrics:
    """What the response cache reports: lookups by mode and status, backend failures, semantic hit similarity."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lookups = Counter("gateway_cache_lookups", "Cached calls by mode and x-portkey-cache-status",
                               ("mode", "status"), registry=registry)
        self.backend_errors = Counter("gateway_cache_backend_errors", "Cache backend failures (each read a miss)",
                                      ("backend", "operation"), registry=registry)
        self.similarity = Histogram("gateway_cache_semantic_similarity", "Cosine similarity of semantic hits",
                                    registry=registry, buckets=SIMILARITY_BUCKETS)

    def lookup(self, mode: str, status: str) -> None:
        self.lookups.labels(mode, status).inc()

    def backend_error(self, backend: str, operation: str) -> None:
        self.backend_errors.labels(backend, operation).inc()

    def semantic_hit(self, similarity: float) -> None:
        self.similarity.observe(similarity)


class GuardrailMetrics:
    """What guardrails report: every hook run (async ones too) by event and outcome, and every check by outcome
    (pass, fail, error, skipped): errored checks pass by default (contract §13 #16), so they are counted here."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.hooks = Counter("gateway_guardrail_hooks", "Guardrail hooks run, by event, mode and outcome",
                             ("event", "mode", "outcome"), registry=registry)
        self.checks = Counter("gateway_guardrail_checks", "Guardrail checks run, by check id and outcome",
                              ("check", "outcome"), registry=registry)

    def hook(self, event: str, result: Any) -> None:
        outcome = "pass" if result.verdict else ("deny" if result.deny else "fail")
        self.hooks.labels(event, "async" if result.is_async else "sync", outcome).inc()
        for check in result.checks:
            self.checks.labels(check.id, _check_outcome(check)).inc()


def _check_outcome(check: Any) -> str:
    if check.skipped:
        return "skipped"
    if check.error:
        return "error"
    return "pass" if check.verdict else "fail"
