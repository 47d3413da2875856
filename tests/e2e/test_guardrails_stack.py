"""Guardrails through the whole stack (Envoy, edge, gRPC) with the official openai SDK: the 446 `hooks_failed`
envelope with `hook_results`, a 246 answer the SDK still parses as a completion, and streams in every mode staying
valid OpenAI SSE (results on the first chunk, in a trailing chunk, or an in-band error the SDK raises)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

pytestmark = pytest.mark.e2e

ASK = [{"role": "user", "content": "alpha beta gamma FORBIDDEN delta epsilon"}]
DENY = {"default.regexMatch": {"rule": "FORBIDDEN", "not": True}, "deny": True}
FLAG = {"default.regexMatch": {"rule": "FORBIDDEN", "not": True}}
HOOK_KEYS = {"verdict", "id", "checks", "transformed", "feedback", "execution_time", "async", "type", "created_at",
             "deny", "skipped"}
CHECK_KEYS = {"verdict", "id", "data", "error", "execution_time", "created_at", "transformed", "fail_on_error",
              "skipped"}


def client(stack: Any, upstream: Any, **config: Any) -> openai.OpenAI:
    body = {"provider": "openai", "custom_host": upstream.base_url, "api_key": "sk-guard-e2e", **config}
    return openai.OpenAI(base_url=stack.openai_url, api_key="sk-guard-e2e", max_retries=0,
                         default_headers={"x-portkey-config": json.dumps(body)})


def test_denied_input_is_446_with_portkeys_envelope(gateway_stack, upstream):
    config = {"provider": "openai", "custom_host": upstream.base_url, "input_guardrails": [DENY]}
    response = httpx.post(f"{gateway_stack.openai_url}/chat/completions",
                          json={"model": "gpt-4o-mini", "messages": ASK},
                          headers={"authorization": "Bearer sk-x", "x-portkey-config": json.dumps(config)})
    assert response.status_code == 446
    body = response.json()
    assert body["error"] == {
        "message": "The guardrail checks defined in the config failed. You can find more information in the "
                   "`hook_results` object.",
        "type": "hooks_failed", "param": None, "code": None}
    hooks = body["hook_results"]
    assert hooks["after_request_hooks"] == [] and len(hooks["before_request_hooks"]) == 1
    hook = hooks["before_request_hooks"][0]
    assert set(hook) == HOOK_KEYS and set(hook["checks"][0]) == CHECK_KEYS
    assert (hook["verdict"], hook["deny"], hook["checks"][0]["id"]) == (False, True, "default.regexMatch")
    assert upstream.requests == []


def test_the_sdk_raises_on_446(gateway_stack, upstream):
    with client(gateway_stack, upstream, output_guardrails=[DENY]) as sdk, \
            pytest.raises(openai.APIStatusError) as caught:
        sdk.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    assert caught.value.status_code == 446
    assert caught.value.body["type"] == "hooks_failed"
    assert caught.value.response.json()["hook_results"]["after_request_hooks"][0]["verdict"] is False


def test_246_still_parses_as_a_completion(gateway_stack, upstream):
    with client(gateway_stack, upstream, output_guardrails=[FLAG]) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
    assert raw.status_code == 246
    completion = raw.parse()
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.choices[0].message.content == "Echo: " + ASK[0]["content"]
    results = completion.model_extra["hook_results"]
    assert results["after_request_hooks"][0]["verdict"] is False and results["before_request_hooks"] == []


def test_passing_guardrails_answer_200_with_hook_results(gateway_stack, upstream):
    with client(gateway_stack, upstream, input_guardrails=[{"default.wordCount": {"minWords": 1}}]) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
    assert raw.status_code == 200
    assert raw.parse().model_extra["hook_results"]["before_request_hooks"][0]["verdict"] is True


def stream(sdk: openai.OpenAI, model: str = "gpt-4o-mini") -> tuple[int, list[Any], Exception | None]:
    chunks: list[Any] = []
    with sdk.chat.completions.with_streaming_response.create(model=model, messages=ASK, stream=True) as response:
        try:
            for item in response.parse():
                chunks.append(item)
        except openai.APIError as error:
            return response.status_code, chunks, error
    return response.status_code, chunks, None


def text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_stream_input_failure_is_246_with_results_on_the_first_chunk(gateway_stack, upstream):
    with client(gateway_stack, upstream, input_guardrails=[FLAG]) as sdk:
        status, chunks, error = stream(sdk)
    assert (status, error) == (246, None)
    assert chunks[0].model_extra["hook_results"]["before_request_hooks"][0]["verdict"] is False
    assert text(chunks) == "Echo: " + ASK[0]["content"]


def test_stream_buffer_denial_is_a_plain_446(gateway_stack, upstream):
    with client(gateway_stack, upstream, output_guardrails=[DENY]) as sdk, \
            pytest.raises(openai.APIStatusError) as caught:
        stream(sdk)
    assert caught.value.status_code == 446


def test_stream_window_denial_is_an_in_band_error_after_the_clean_text(gateway_stack, upstream):
    with client(gateway_stack, upstream, output_guardrails=[{**DENY, "stream_mode": "window"}]) as sdk:
        status, chunks, error = stream(sdk)
    assert status == 200 and text(chunks) == "Echo: alpha beta gamma "
    assert isinstance(error, openai.APIError) and "guardrail checks" in error.message
    assert error.body["type"] == "hooks_failed"


def test_stream_final_mode_reports_in_a_trailing_chunk(gateway_stack, upstream):
    with client(gateway_stack, upstream, output_guardrails=[{**FLAG, "stream_mode": "final"}]) as sdk:
        status, chunks, error = stream(sdk)
    assert (status, error) == (200, None) and text(chunks) == "Echo: " + ASK[0]["content"]
    trailing = chunks[-1]
    assert trailing.choices == [] and trailing.id == chunks[0].id and trailing.object == "chat.completion.chunk"
    assert trailing.model_extra["hook_results"]["after_request_hooks"][0]["verdict"] is False
