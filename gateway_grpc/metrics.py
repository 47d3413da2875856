"""The gateway's Prometheus metrics: upstream attempts by provider and outcome, retries, and circuit-breaker state.

One instance per server, on its own registry (no module-level state). Under `gateway up` every process writes to the
shared PROMETHEUS_MULTIPROC_DIR and the edge serves the merged view at GET /metrics; in-process servers expose
`registry` directly.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

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
