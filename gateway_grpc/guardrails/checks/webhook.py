"""The checks that POST Portkey's plugin context to a remote (contract §8.3 rows 11-12): `default.webhook` takes
the remote's verdict and, optionally, its transformed request or response; `default.log` only delivers the context.

The context is context_json.plugin_context: OpenAI-shaped request and response JSON, texts, provider, request
type, metadata and `eventType`, never the caller's request headers. Any answer but a 2xx (and, for the webhook, a
JSON object with a boolean `verdict`) raises: an errored check, a pass unless `failOnError`. The configured
`headers` may hold credentials: results show their names only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_grpc.guardrails.base import (
    AFTER,
    BEFORE,
    CheckFn,
    CheckSkipped,
    CheckType,
    Outcome,
    Params,
    Services,
    Subject,
)
from gateway_grpc.guardrails.context_json import applied_request, applied_response, plugin_context
from gateway_grpc.guardrails.outbound import UnexpectedStatus, url_param, where

DEFAULT_TIMEOUT_MS = 3000  # Portkey's fixed 3 s, now the `timeout` parameter's default
REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class Post:
    """Where and how a check posts: the URL, the headers (content-type first, then the configured ones) and the
    timeout in milliseconds."""

    url: str
    headers: Mapping[str, str]
    timeout_ms: int

    def context(self) -> dict[str, Any]:
        """What a result may say about the post: header names, never their values."""
        return {"headers": {name: REDACTED for name in self.headers if name != "content-type"},
                "timeout": self.timeout_ms}


def _headers(params: Params) -> dict[str, str]:
    """`headers`: a JSON object of strings, or a JSON string of one (Portkey takes both). Errors never echo values."""
    raw = params.get("headers")
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise params.error("headers", "not valid JSON (expected an object of header names to values)") from None
    if not isinstance(raw, dict):
        raise params.error("headers", "expected a JSON object of header names to values")
    for name, value in raw.items():
        if not isinstance(value, str) or not name or any(c in value for c in "\r\n\0"):
            raise params.error("headers", f"the value of {name!r} must be a string on one line")
    return {name.lower(): value for name, value in raw.items()}


def read_post(params: Params, url_name: str, services: Services) -> Post:
    url = url_param(params, url_name, services.outbound)
    headers = {"content-type": "application/json", **_headers(params)}
    timeout_ms = params.integer("timeout", DEFAULT_TIMEOUT_MS)
    if timeout_ms <= 0:
        raise params.error("timeout", f"expected a positive number of milliseconds, got {timeout_ms}")
    return Post(url, headers, timeout_ms)


async def send_context(post: Post, subject: Subject, services: Services) -> bytes:
    """POST the plugin context; the answer's body when it is a 2xx, else UnexpectedStatus."""
    if services.outbound is None:
        raise CheckSkipped("no outbound HTTP service is configured for guardrails; check skipped")
    body = orjson.dumps(plugin_context(subject))
    answer = await services.outbound.request("POST", post.url, body=body, headers=post.headers,
                                             timeout_s=post.timeout_ms / 1000)
    if not 200 <= answer.status < 300:
        raise UnexpectedStatus(f"{where(post.url)} answered HTTP {answer.status}")
    return answer.body


def _verdict_answer(body: bytes) -> dict[str, Any]:
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the webhook's answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("verdict"), bool):
        raise ValueError("the webhook's answer has no boolean `verdict`")
    return answer


def _transformed_json(answer: Mapping[str, Any], part: str) -> Any:
    """transformedData.<part>.json when the remote sent one (Portkey applies it only when truthy)."""
    data = answer.get("transformedData")
    section = data.get(part) if isinstance(data, dict) else None
    return section.get("json") if isinstance(section, dict) else None


def _transformed(subject: Subject, answer: Mapping[str, Any]) -> tuple[Any, Any]:
    """(request, response) replaced by the answer's transformedData: the request before the call, the response
    after it, as Portkey applies them; None where nothing changed."""
    if subject.event == BEFORE:
        raw = _transformed_json(answer, "request")
        return (applied_request(subject.request, raw) if raw else None), None
    raw = _transformed_json(answer, "response")
    return None, (applied_response(subject.response, raw) if raw and subject.response is not None else None)


def _compile_webhook(params: Params, services: Services) -> CheckFn:
    post = read_post(params, "webhookURL", services)

    async def check(subject: Subject) -> Outcome:
        answer = _verdict_answer(await send_context(post, subject, services))
        request, response = _transformed(subject, answer)
        verdict = answer["verdict"]
        data = {"verdict": verdict, "explanation": "Webhook request succeeded" if verdict else "Webhook request failed",
                "webhookUrl": where(post.url), "responseData": answer.get("data"), "requestContext": post.context(),
                "transformed": request is not None or response is not None}
        return Outcome(verdict, data, request=request, response=response)

    return check


def _compile_log(params: Params, services: Services) -> CheckFn:
    post = read_post(params, "logURL", services)

    async def check(subject: Subject) -> Outcome:
        await send_context(post, subject, services)
        return Outcome(True, {"message": f"Logged the request to {where(post.url)}"})

    return check


WEBHOOK = CheckType("default.webhook", _compile_webhook, frozenset({BEFORE, AFTER}), negatable=False, transforms=True)
LOG = CheckType("default.log", _compile_log, frozenset({AFTER}), negatable=False)
