"""What guardrails report: a result per check and per hook, and the call's report (Portkey's `hook_results`).

Mutable, per call: the report lives on the call's RouteLog, so every copy of the CallContext shares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class CheckResult:
    """Portkey's check result: `error` is (name, message) for an errored check; `skipped` for one that could not run
    here (its warning in `error`)."""

    id: str
    verdict: bool
    data: Any = None
    error: tuple[str, str] | None = None
    execution_time_ms: float = 0.0
    created_at: float = 0.0  # seconds since the epoch
    transformed: bool = False
    fail_on_error: bool = False
    skipped: bool = False


@dataclass(slots=True)
class HookResult:
    """Portkey's hook result. `verdict` is true when every check passed or errored (an error fails only with
    `failOnError`); `deny` is the hook's setting (it acted only if the verdict is false)."""

    id: str
    verdict: bool
    deny: bool
    type: str = "guardrail"
    is_async: bool = False
    checks: list[CheckResult] = field(default_factory=list)
    transformed: bool = False
    feedback: dict[str, Any] | None = None
    execution_time_ms: float = 0.0
    created_at: float = 0.0
    skipped: bool = False

    @property
    def denied(self) -> bool:
        return self.deny and not self.verdict


@dataclass(slots=True)
class GuardrailReport:
    """The call's `hook_results`: before-request and after-request hooks of the target that answered (or denied)."""

    before: list[HookResult] = field(default_factory=list)
    after: list[HookResult] = field(default_factory=list)
    trailing: bool = False  # a stream's output results were decided at its end (window and final modes)

    @property
    def ran(self) -> bool:
        return bool(self.before or self.after)

    @property
    def failed(self) -> bool:
        """True when a synchronous hook's verdict was false (Portkey's 246, or 446 when it denied)."""
        return any(not hook.verdict and not hook.is_async for hook in (*self.before, *self.after))

    @property
    def output_failed(self) -> bool:
        return any(not hook.verdict and not hook.is_async for hook in self.after)
