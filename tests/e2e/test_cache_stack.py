"""The response cache through the whole stack with the official openai SDK: `x-portkey-cache-status` headers, a
stored answer replayed as an SSE stream the SDK reads like any other, and `x-portkey-cache-force-refresh`."""

from __future__ import annotations

import json

import openai
import pytest

pytestmark = pytest.mark.e2e

ASK = [{"role": "user", "content": "Name a prime number, cached"}]


@pytest.fixture
def client(gateway_stack, upstream):
    config = {"provider": "openai", "custom_host": upstream.base_url, "cache": {"mode": "simple", "max_age": 300}}
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-cache-e2e", max_retries=0,
                       default_headers={"x-portkey-config": json.dumps(config), "x-portkey-provider": "openai"}) as sdk:
        yield sdk


def test_cache_stack_plain_answer_then_a_replayed_stream(client, upstream):
    model = "gpt-4o-mini+chunks-3"
    first = client.chat.completions.with_raw_response.create(model=model, messages=ASK)
    answer = first.parse()
    with client.chat.completions.with_streaming_response.create(
            model=model, messages=ASK, stream=True, stream_options={"include_usage": True}) as response:
        assert response.headers["x-portkey-cache-status"] == "HIT"
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.parse())
    assert first.headers["x-portkey-cache-status"] == "MISS"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].id == answer.id
    assert chunks[-1].usage.total_tokens == answer.usage.total_tokens and chunks[-1].choices == []
    assert upstream.calls(model) == 1


def test_cache_stack_force_refresh_calls_the_upstream_again(client, upstream):
    model = "gpt-4o-mini"
    client.chat.completions.create(model=model, messages=ASK)
    refreshed = client.chat.completions.with_raw_response.create(
        model=model, messages=ASK, extra_headers={"x-portkey-cache-force-refresh": "true"})
    again = client.chat.completions.with_raw_response.create(model=model, messages=ASK)
    assert refreshed.headers["x-portkey-cache-status"] == "REFRESH" and again.headers["x-portkey-cache-status"] == "HIT"
    assert upstream.calls(model) == 2
