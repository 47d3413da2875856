"""A call as guardrails see it at one target: the Subject of an event, which calls run hooks, and the denial.

Shared by the leaf stage (stage.py) and the stream judge (streams.py).
"""

from __future__ import annotations

from typing import Any

from gateway_grpc.errors import GuardrailDenied
from gateway_grpc.guardrails.base import BEFORE, CHAT, COMPLETE, EMBED, Subject
from gateway_grpc.guardrails.results import GuardrailReport, HookResult
from gateway_grpc.guardrails.texts import request_text, response_text
from gateway_grpc.types import CallContext

REQUEST_TYPES = {"chat": CHAT, "completions": COMPLETE, "embeddings": EMBED}  # a route op's cache_kind -> Portkey's
ANSWERS_JUDGED = frozenset({CHAT, COMPLETE})  # output hooks: not for embeddings (contract §8.1)


def subject_of(event: str, op: Any, response: Any, ctx: CallContext, text: str | None = None) -> Subject:
    request = op.request
    target = ctx.target
    if text is None:
        text = request_text(request) if event == BEFORE else response_text(response)
    return Subject(
        event=event, request_type=REQUEST_TYPES[op.cache_kind], request=request, response=response, text=text,
        model=(target.override_params.get("model") if target else None) or request.model,
        provider=target.provider if target else "", metadata=ctx.metadata, headers=ctx.caller.headers,
        streaming=op.stream,
    )


def raise_if_denied(results: list[HookResult], report: GuardrailReport, ctx: CallContext) -> None:
    if any(result.denied for result in results):
        raise GuardrailDenied(report, provider=ctx.target.provider if ctx.target else "")
