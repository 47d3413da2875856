"""gateway_grpc.v1 GuardrailReport -> Portkey's `hook_results` JSON (contract §8.4), and the HTTP status it makes
an answer: 246 when a guardrail failed without denying, else 200. Denials (446) are errors: edge/errors.py."""

from __future__ import annotations

from typing import Any

from edge.openai_response import value_to_json
from gateway_grpc.v1 import guardrails_pb2

HOOKS_FAILED_STATUS = 246  # Portkey: "Hooks failed", a success carrying the failed results


def _check_json(check: guardrails_pb2.CheckResult) -> dict[str, Any]:
    return {
        "verdict": check.verdict, "id": check.id,
        "data": value_to_json(check.data) if check.HasField("data") else None,
        "error": {"name": check.error.name, "message": check.error.message} if check.HasField("error") else None,
        "execution_time": round(check.execution_time_ms, 3), "created_at": check.created_at,
        "transformed": check.transformed, "fail_on_error": check.fail_on_error, "skipped": check.skipped,
    }


def _hook_json(hook: guardrails_pb2.HookResult) -> dict[str, Any]:
    feedback = {key: value_to_json(value) for key, value in hook.feedback.fields.items()} \
        if hook.HasField("feedback") else None
    return {
        "verdict": hook.verdict, "id": hook.id, "checks": [_check_json(check) for check in hook.checks],
        "transformed": hook.transformed, "feedback": feedback, "execution_time": round(hook.execution_time_ms, 3),
        "async": hook.is_async, "type": hook.type, "created_at": hook.created_at, "deny": hook.deny,
        "skipped": hook.skipped,
    }


def hook_results_json(report: guardrails_pb2.GuardrailReport) -> dict[str, Any]:
    return {"before_request_hooks": [_hook_json(hook) for hook in report.before_request_hooks],
            "after_request_hooks": [_hook_json(hook) for hook in report.after_request_hooks]}


def with_hook_results(body: dict[str, Any], message: Any) -> int:
    """Adds `hook_results` to an answer's JSON when guardrails ran; the answer's HTTP status (200 or 246)."""
    if not message.HasField("hook_results"):
        return 200
    body["hook_results"] = hook_results_json(message.hook_results)
    return HOOKS_FAILED_STATUS if message.hook_results.failed else 200
