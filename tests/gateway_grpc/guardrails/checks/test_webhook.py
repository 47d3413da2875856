"""default.webhook and default.log against the loopback guardrail fake (real HTTP; contract §8.3 rows 11-12)."""

from __future__ import annotations

import logging
import socket

import orjson
import pytest

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, CHAT, COMPLETE, Services, Subject
from gateway_grpc.guardrails.checking import evaluate_check
from gateway_grpc.guardrails.checks.webhook import LOG, WEBHOOK
from gateway_grpc.guardrails.outbound import HttpOutbound
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.types import ChatRequest, ChatResponse, Choice, Message
from tests.fakes.guardrail_upstreams import GuardrailUpstreams

SECRET = "hook-s3cret-value"
REQUEST = ChatRequest("gpt-4o-mini", (Message("system", "Be brief."), Message("user", "my password is hunter2")))
RESPONSE = ChatResponse("chatcmpl-1", 1, "gpt-4o-mini", (Choice(0, Message("assistant", "hunter2, noted"), "stop"),))
HEADERS = {"authorization": "Bearer caller-key", "x-portkey-api-key": "pk-caller"}


def _subject(event: str) -> Subject:
    after = event == AFTER
    return Subject(event, CHAT, REQUEST, RESPONSE if after else None,
                   text="hunter2, noted" if after else "my password is hunter2", model="gpt-4o-mini",
                   provider="openai", metadata={"_user": "u1"}, headers=HEADERS)


@pytest.fixture(scope="module")
def fake():
    with GuardrailUpstreams() as server:
        yield server


@pytest.fixture
async def services(fake):
    fake.clear()
    transport = ProviderTransport()
    yield Services(outbound=HttpOutbound(transport, HostGuard()))
    await transport.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("event", "query", "verdict"), [
    (BEFORE, "", True), (BEFORE, "?verdict=false", False), (AFTER, "", True), (AFTER, "?verdict=false", False),
], ids=["before-true", "before-false", "after-true", "after-false"])
async def test_webhook_verdict_is_the_remotes(fake, services, event, query, verdict):
    result, outcome = await evaluate_check(WEBHOOK, {"webhookURL": fake.url(f"/webhook{query}")}, _subject(event),
                                           services)
    assert (result.verdict, result.error, result.transformed) == (verdict, None, False)
    assert result.data["responseData"] == {"seen": event}
    assert result.data["explanation"] == ("Webhook request succeeded" if verdict else "Webhook request failed")


@pytest.mark.parametrize("event", [BEFORE, AFTER])
async def test_webhook_posts_portkeys_context_without_request_headers(fake, services, event):
    await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook")}, _subject(event), services)
    [seen] = fake.requests
    context = seen.json
    assert set(context) == {"request", "response", "provider", "requestType", "metadata", "eventType"}
    assert set(context["request"]) == {"json", "text", "isStreamingRequest", "isTransformed"}
    assert context["request"]["json"]["messages"][1] == {"role": "user", "content": "my password is hunter2"}
    assert context["request"]["text"] == "my password is hunter2"
    assert context["response"]["statusCode"] == (200 if event == AFTER else None)
    assert context["response"]["text"] == ("hunter2, noted" if event == AFTER else "")
    assert (context["provider"], context["requestType"], context["metadata"], context["eventType"]) == (
        "openai", CHAT, {"_user": "u1"}, event)
    assert b"caller-key" not in seen.body and b"pk-caller" not in seen.body
    assert seen.headers["content-type"] == "application/json"


async def test_webhook_transforms_the_request_before_the_call(fake, services):
    result, outcome = await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook?redact=hunter2")},
                                           _subject(BEFORE), services)
    assert (result.verdict, result.transformed, result.data["transformed"]) == (True, True, True)
    assert outcome.request.messages == (Message("system", "Be brief."), Message("user", "my password is [REDACTED]"))
    assert outcome.response is None


async def test_webhook_transforms_the_response_after_the_call_even_with_a_false_verdict(fake, services):
    result, outcome = await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook?redact=hunter2&verdict=false")},
                                           _subject(AFTER), services)
    assert (result.verdict, result.transformed) == (False, True)
    assert outcome.response.choices[0].message == Message("assistant", "[REDACTED], noted")
    assert outcome.request is None


async def test_webhook_transforms_a_completion(fake, services):
    subject = Subject(AFTER, COMPLETE, CompletionRequest("m", "say hunter2"),
                      Completion("c1", 1, "m", (CompletionChoice(0, "hunter2!", "stop"),)), text="hunter2!")
    result, outcome = await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook?redact=hunter2")}, subject,
                                           services)
    assert result.transformed and outcome.response.choices[0].text == "[REDACTED]!"


async def test_webhook_unchanged_transformed_data_is_no_transformation(fake, services):
    result, outcome = await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook?redact=absent-word")},
                                           _subject(BEFORE), services)
    assert (result.transformed, outcome.request) == (False, None)


@pytest.mark.parametrize(("url", "params", "error"), [
    ("/webhook?delay=1000", {"timeout": 100}, "TimeoutError"),
    ("/webhook?status=500", {}, "UnexpectedStatus"),
    ("/webhook?status=404", {}, "UnexpectedStatus"),
    ("/webhook?answer=bad-json", {}, "ValueError"),
    ("/webhook?answer=no-verdict", {}, "ValueError"),
], ids=["timeout", "http-500", "http-404", "bad-json", "no-verdict"])
@pytest.mark.parametrize("fail_on_error", [False, True], ids=["default", "failOnError"])
async def test_webhook_failures_are_errored_checks(fake, services, url, params, error, fail_on_error):
    parameters = {"webhookURL": fake.url(url), "failOnError": fail_on_error, **params}
    result, outcome = await evaluate_check(WEBHOOK, parameters, _subject(BEFORE), services)
    assert (result.error[0], result.verdict, outcome) == (error, not fail_on_error, None)


async def test_webhook_unreachable_remote_is_an_errored_check(services):
    result, _ = await evaluate_check(WEBHOOK, {"webhookURL": f"http://127.0.0.1:{_closed_port()}/hook"},
                                     _subject(BEFORE), services)
    assert (result.error[0], result.verdict) == ("ConnectionError", True)


async def test_webhook_without_outbound_service_is_skipped():
    result, _ = await evaluate_check(WEBHOOK, {"webhookURL": "https://hooks.example.com/check"}, _subject(BEFORE))
    assert (result.skipped, result.verdict) == (True, True)


@pytest.mark.parametrize("headers", [{"X-Api-Key": SECRET}, orjson.dumps({"X-Api-Key": SECRET}).decode()],
                         ids=["object", "json-string"])
async def test_webhook_sends_configured_headers_and_reports_only_their_names(fake, services, headers):
    result, _ = await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook"), "headers": headers},
                                     _subject(BEFORE), services)
    assert fake.requests[0].headers["x-api-key"] == SECRET
    assert result.data["requestContext"] == {"headers": {"x-api-key": "[REDACTED]"}, "timeout": 3000}


@pytest.mark.parametrize("url", ["/webhook?token=q-secret", "/webhook?status=500&token=q-secret",
                                 "/webhook?delay=500&token=q-secret"], ids=["ok", "http-500", "timeout"])
async def test_webhook_secrets_never_reach_logs_or_results(fake, services, caplog, url):
    caplog.set_level(logging.DEBUG)
    parameters = {"webhookURL": fake.url(url), "timeout": 200, "headers": {"authorization": f"Bearer {SECRET}"}}
    result, _ = await evaluate_check(WEBHOOK, parameters, _subject(BEFORE), services)
    assert fake.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("uvicorn")]  # not the fake's access log
    shown = "\n".join(ours) + repr(result)
    assert any("httpcore" in r.name for r in caplog.records)  # the HTTP client's debug log was captured too
    assert SECRET not in shown
    assert "q-secret" not in shown


@pytest.mark.parametrize(("parameters", "field"), [
    ({}, "webhookURL"),
    ({"webhookURL": "http://169.254.169.254/latest/meta-data"}, "webhookURL"),
    ({"webhookURL": "http://10.0.0.7/hook"}, "webhookURL"),
    ({"webhookURL": "ftp://hooks.example.com/"}, "webhookURL"),
    ({"webhookURL": "https://hooks.example.com/", "headers": "{not json"}, "headers"),
    ({"webhookURL": "https://hooks.example.com/", "headers": ["a"]}, "headers"),
    ({"webhookURL": "https://hooks.example.com/", "headers": {"x-n": 5}}, "headers"),
    ({"webhookURL": "https://hooks.example.com/", "headers": {"x-a": "v\r\nx-b: w"}}, "headers"),
    ({"webhookURL": "https://hooks.example.com/", "timeout": 0}, "timeout"),
    ({"webhookURL": "https://hooks.example.com/", "timeout": "3000"}, "timeout"),
    ({"webhookURL": "https://hooks.example.com/", "not": True}, "not"),
], ids=["missing-url", "metadata-address", "private-address", "scheme", "headers-bad-json", "headers-list",
        "headers-number", "headers-line-break", "timeout-zero", "timeout-string", "not-unsupported"])
async def test_webhook_config_errors_name_the_parameter(services, parameters, field):
    with pytest.raises(InvalidConfig) as caught:
        await evaluate_check(WEBHOOK, parameters, _subject(BEFORE), services)
    assert caught.value.violations[0].field == f"parameters.{field}"


async def test_webhook_config_error_never_echoes_header_values(services):
    with pytest.raises(InvalidConfig) as caught:
        await evaluate_check(WEBHOOK, {"webhookURL": "https://hooks.example.com/", "headers": {"x-a": f"{SECRET}\n"}},
                             _subject(BEFORE), services)
    assert SECRET not in str(caught.value)


async def test_webhook_url_blocked_by_the_operators_guard_is_a_config_error(fake):
    transport = ProviderTransport()
    services = Services(outbound=HttpOutbound(transport, HostGuard(allowed=())))
    with pytest.raises(InvalidConfig, match="webhookURL"):
        await evaluate_check(WEBHOOK, {"webhookURL": fake.url("/webhook")}, _subject(BEFORE), services)
    await transport.aclose()


@pytest.mark.parametrize(("query", "verdict", "error"), [("", True, None), ("?status=503", True, "UnexpectedStatus")],
                         ids=["delivered", "sink-failed"])
async def test_log_posts_the_context(fake, services, query, verdict, error):
    result, _ = await evaluate_check(LOG, {"logURL": fake.url(f"/log{query}")}, _subject(AFTER), services)
    assert (result.verdict, result.error and result.error[0]) == (verdict, error)
    [seen] = fake.requests
    assert seen.json["eventType"] == AFTER and seen.json["response"]["text"] == "hunter2, noted"
    assert b"caller-key" not in seen.body


async def test_log_failure_with_fail_on_error_is_false(fake, services):
    result, _ = await evaluate_check(LOG, {"logURL": fake.url("/log?status=500"), "failOnError": True},
                                     _subject(AFTER), services)
    assert (result.verdict, result.error[0]) == (False, "UnexpectedStatus")


def test_webhook_and_log_hooks_match_the_contract():
    assert (WEBHOOK.events, WEBHOOK.negatable, WEBHOOK.transforms) == (frozenset({BEFORE, AFTER}), False, True)
    assert (LOG.events, LOG.negatable, LOG.transforms) == (frozenset({AFTER}), False, False)
