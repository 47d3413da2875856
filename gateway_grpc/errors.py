"""The gateway's error tree. Imports no grpc and no HTTP client: boundaries map these by type (service.py, edge).

GatewayError                      a gateway-side failure (Portkey: x-portkey-gateway-exception; stops fallback)
├── InvalidRequest                the caller's request is wrong; `violations` name each bad field
│   ├── InvalidConfig             a routing config (header, message or file) is wrong
│   └── CustomHostBlocked         the custom host failed the SSRF guard
├── NotImplementedYet             a feature the request asks for is not built yet
└── ProviderError                 the upstream call failed; carries the upstream status when there is one
    ├── RateLimited               upstream 429
    ├── ProviderTimeout           no answer (or no next chunk) within the request timeout
    ├── ProviderUnavailable       connection refused, reset or dropped
    ├── ProviderBadResponse       the upstream answered something that is not its documented format
    ├── ProviderRejected          any other upstream error status, passed through
    ├── CircuitOpen               the target's circuit breaker is open: skipped without a call
    └── GuardrailDenied           a target's guardrails denied its request or answer (Portkey's 446)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field of a request; `field` is a path such as `messages[2].content`."""

    field: str
    description: str


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    reason = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(GatewayError):
    reason = "INVALID_REQUEST"

    def __init__(self, message: str, violations: Sequence[FieldViolation] = ()) -> None:
        super().__init__(message)
        self.violations = tuple(violations)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidRequest:
        """One bad field: the message says where and what."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class InvalidConfig(InvalidRequest):
    reason = "INVALID_CONFIG"


class CustomHostBlocked(InvalidRequest):
    reason = "CUSTOM_HOST_BLOCKED"


class NotImplementedYet(GatewayError):
    reason = "NOT_IMPLEMENTED"


class ProviderError(GatewayError):
    """An upstream failure. `status` is the provider's HTTP status (0 when none was received).

    `http_status` is the status the failure counts as for retry, fallback and circuit-breaker rules: the upstream's
    error status, else the kind's own (408 timeout, 503 unreachable, 502 unreadable answer).
    """

    reason = "UPSTREAM_ERROR"
    kind_status = 502

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int = 0,
        error_type: str = "",
        param: str = "",
        code: str = "",
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.error_type = error_type
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.details = details or {}  # the upstream error's other fields (Azure's `innererror`, ...), verbatim

    @property
    def http_status(self) -> int:
        return self.status if self.status >= 400 else self.kind_status


class RateLimited(ProviderError):
    reason = "RATE_LIMITED"
    kind_status = 429


class ProviderTimeout(ProviderError):
    reason = "REQUEST_TIMEOUT"
    kind_status = 408


class ProviderUnavailable(ProviderError):
    reason = "UPSTREAM_UNAVAILABLE"
    kind_status = 503


class ProviderBadResponse(ProviderError):
    reason = "UPSTREAM_INVALID_RESPONSE"


class ProviderRejected(ProviderError):
    """Any other upstream error status, passed through."""


class CircuitOpen(ProviderError):
    reason = "CIRCUIT_OPEN"
    kind_status = 503


HOOKS_FAILED_MESSAGE = ("The guardrail checks defined in the config failed. You can find more information in the "
                        "`hook_results` object.")  # Portkey contract §8.4, verbatim


class GuardrailDenied(ProviderError):
    """A hook with `deny` failed: the request is not sent, or the answer not returned (HTTP 446). A ProviderError
    so routing treats it as that target's failure: with 446 in `retry.on_status_codes` the attempt is retried, and
    in `strategy.on_status_codes` the next target is tried (contract §6 step 9). `report` is the call's
    guardrails.results.GuardrailReport (its `hook_results`)."""

    reason = "HOOKS_FAILED"
    kind_status = 446

    def __init__(self, report: Any, *, provider: str) -> None:
        super().__init__(HOOKS_FAILED_MESSAGE, provider=provider, error_type="hooks_failed")
        self.report = report
