"""`default.allowedRequestTypes` and `default.requiredMetadataKeys` (Portkey plugins/default/*.ts): rules on the
request's type (chatComplete, complete, embed) and on the keys of its `x-portkey-metadata`. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_grpc.guardrails.base import BEFORE, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.text_shape import operator_verdict, read_listed

# --- allowedRequestTypes --------------------------------------------------------------------------------------------


def _type_list(value: Any) -> tuple[str, ...]:
    """A metadata list or comma-separated string of request types (anything else: none)."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


def _lists(allowed: tuple[str, ...], blocked: tuple[str, ...], metadata: Mapping[str, Any]) -> tuple[tuple, tuple, str]:
    """The lists in force and Portkey's `source`: each list from the parameters, else from metadata
    `supported_endpoints` / `blocked_endpoints`."""
    supported, refused = metadata.get("supported_endpoints"), metadata.get("blocked_endpoints")
    source = "parameters" if allowed or blocked else "metadata" if supported or refused else "default"
    return allowed or _type_list(supported), blocked or _type_list(refused), source


def _explanation(kind: str, mode: str, verdict: bool, allowed: tuple[str, ...], blocked: tuple[str, ...]) -> str:
    """Portkey's sentence for each mode and verdict."""
    subject = f'Request type "{kind}"'
    if mode == "unrestricted":
        return f"{subject} is allowed (no restrictions configured)."
    if mode == "blocklist":
        return f"{subject} is allowed (not in blocklist)." if verdict else f"{subject} is blocked."
    if mode == "allowlist":
        listed = ", ".join(allowed)
        return f"{subject} is allowed." if verdict else f"{subject} is not allowed. Allowed types are: {listed}"
    if verdict:
        return f"{subject} is allowed (in allowlist and not blocked)."
    if kind in blocked:
        return f"{subject} is explicitly blocked."
    permitted = ", ".join(t for t in allowed if t not in blocked)
    return f"{subject} is not in the allowed list. Allowed types (excluding blocked): {permitted}"


def _mode(allowed: tuple[str, ...], blocked: tuple[str, ...]) -> str:
    if allowed:
        return "combined" if blocked else "allowlist"
    return "blocklist" if blocked else "unrestricted"


def _conflict(allowed: tuple[str, ...], blocked: tuple[str, ...]) -> list[str]:
    return [kind for kind in allowed if kind in blocked]


def _compile_request_types(params: Params, services: Services) -> CheckFn:
    allowed = params.strings("allowedTypes", comma_string=True)
    blocked = params.strings("blockedTypes", comma_string=True)
    if _conflict(allowed, blocked):
        raise params.error("blockedTypes", f"also in allowedTypes: {', '.join(_conflict(allowed, blocked))}")

    def check(subject: Subject) -> Outcome:
        allowed_now, blocked_now, source = _lists(allowed, blocked, subject.metadata)
        if _conflict(allowed_now, blocked_now):
            raise ValueError(f"Conflict detected: The following types appear in both allowedTypes and blockedTypes: "
                             f"{', '.join(_conflict(allowed_now, blocked_now))}")
        kind, mode = subject.request_type, _mode(allowed_now, blocked_now)
        verdict = kind not in blocked_now and (not allowed_now or kind in allowed_now)
        data: dict[str, Any] = {"currentRequestType": kind}
        if allowed_now or mode == "unrestricted":
            data["allowedTypes"] = list(allowed_now) or ["all"]
        if blocked_now:
            data["blockedTypes"] = list(blocked_now)
        data.update(explanation=_explanation(kind, mode, verdict, allowed_now, blocked_now), source=source, mode=mode)
        return Outcome(verdict, data)

    return check


# --- requiredMetadataKeys -------------------------------------------------------------------------------------------

_METADATA_EXPLAINED = {  # (operator, verdict) -> Portkey's sentence
    ("any", True): "At least one metadata key was found.", ("any", False): "No metadata keys were found.",
    ("all", True): "All metadata keys were found.", ("all", False): "Some metadata keys were missing.",
    ("none", True): "No metadata keys were found.", ("none", False): "Some metadata keys were found.",
}


def _compile_metadata_keys(params: Params, services: Services) -> CheckFn:
    keys, operator = read_listed(params, "metadataKeys", "all")

    def check(subject: Subject) -> Outcome:
        found = [key for key in keys if key in subject.metadata]
        missing = [key for key in keys if key not in subject.metadata]
        verdict = operator_verdict(operator, len(found), len(missing))
        explanation = (f"Check {'passed' if verdict else 'failed'} for '{operator}' metadata keys. "
                       f"{_METADATA_EXPLAINED[operator, verdict]}")
        return Outcome(verdict, {"explanation": explanation, "missing_metadata_keys": missing,
                                 "found_metadata_keys": found, "operator": operator})

    return check


ALLOWED_REQUEST_TYPES = CheckType("default.allowedRequestTypes", _compile_request_types, frozenset({BEFORE}),
                                  negatable=False)
REQUIRED_METADATA_KEYS = CheckType("default.requiredMetadataKeys", _compile_metadata_keys, frozenset({BEFORE}),
                                   negatable=False)
