"""guardrails.results (neutral) -> gateway_grpc.v1 GuardrailReport: Portkey's `hook_results`, typed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import json_format, struct_pb2

from gateway_grpc.guardrails.results import CheckResult, GuardrailReport, HookResult
from gateway_grpc.v1 import guardrails_pb2


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    try:
        json_format.ParseDict(data, value)
    except (json_format.ParseError, TypeError, ValueError):
        value.string_value = str(data)  # a check's data that JSON cannot hold, as text
    return value


def check_result(result: CheckResult) -> guardrails_pb2.CheckResult:
    message = guardrails_pb2.CheckResult(
        id=result.id, verdict=result.verdict, data=_value(result.data), execution_time_ms=result.execution_time_ms,
        created_at=_time(result.created_at), transformed=result.transformed, fail_on_error=result.fail_on_error,
        skipped=result.skipped,
    )
    if result.error is not None:
        message.error.name, message.error.message = result.error
    return message


def hook_result(result: HookResult) -> guardrails_pb2.HookResult:
    message = guardrails_pb2.HookResult(
        id=result.id, verdict=result.verdict, deny=result.deny, is_async=result.is_async, type=result.type,
        checks=[check_result(check) for check in result.checks], transformed=result.transformed,
        execution_time_ms=result.execution_time_ms, created_at=_time(result.created_at), skipped=result.skipped,
    )
    if result.feedback is not None:
        message.feedback.update(result.feedback)
    return message


def guardrail_report(report: GuardrailReport) -> guardrails_pb2.GuardrailReport:
    return guardrails_pb2.GuardrailReport(
        before_request_hooks=[hook_result(hook) for hook in report.before],
        after_request_hooks=[hook_result(hook) for hook in report.after],
        failed=report.failed,
    )
