"""The official `portkey-ai` SDK against the whole stack: Portkey's users switch to this gateway unchanged.
It sends its own header set (x-portkey-api-key, strict-open-ai-compliance: false, JSON metadata and config)."""

from __future__ import annotations

import pytest
from portkey_ai import Portkey

pytestmark = pytest.mark.e2e


def test_portkey_sdk_chat_with_provider_custom_host_trace_and_metadata(gateway_stack, upstream):
    client = Portkey(base_url=gateway_stack.openai_url, api_key="pk-unused", provider="openai",
                     custom_host=upstream.base_url, Authorization="Bearer sk-test", trace_id="pk-trace-1",
                     metadata={"team": "search"})
    completion = client.chat.completions.create(model="gpt-4o-mini",
                                                messages=[{"role": "user", "content": "from portkey"}])
    assert completion.get_headers()["trace-id"] == "pk-trace-1"  # the SDK strips the x-portkey- prefix
    assert completion.choices[0].message.content == "Echo: from portkey"
    sent = upstream.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test" and sent.oracle_errors == []
    assert not any(name.startswith("x-portkey-") for name in sent.headers)  # gateway headers stay at the gateway


def test_portkey_sdk_config_with_override_params_and_streaming(gateway_stack, upstream):
    config = {"provider": "openai", "api_key": "sk-from-config", "custom_host": upstream.base_url,
              "override_params": {"model": "gpt-4o-mini+chunks-2", "temperature": 0.1}}
    client = Portkey(base_url=gateway_stack.openai_url, api_key="pk-unused", config=config)
    chunks = list(client.chat.completions.create(model="ignored", stream=True,
                                                 messages=[{"role": "user", "content": "a b c d"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: a b c d"
    sent = upstream.requests[-1]
    assert sent.json["model"] == "gpt-4o-mini+chunks-2" and sent.json["temperature"] == 0.1
    assert sent.headers["authorization"] == "Bearer sk-from-config"


def test_portkey_sdk_bad_config_is_a_400_naming_the_path(gateway_stack):
    client = Portkey(base_url=gateway_stack.openai_url, api_key="pk-unused",
                     config={"provider": "openai", "retry": {"attempts": "many"}})
    with pytest.raises(Exception) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert getattr(caught.value, "status_code", None) == 400
    assert "x-portkey-config.retry.attempts" in str(caught.value)


def _target(upstream, model: str, **extra) -> dict:
    return {"provider": "openai", "api_key": "sk-test", "custom_host": upstream.base_url,
            "override_params": {"model": model}, **extra}


def test_portkey_sdk_fallback_config_answers_from_the_next_target(gateway_stack, upstream):
    config = {"strategy": {"mode": "fallback", "on_status_codes": [429, 503]},
              "targets": [_target(upstream, "gpt-4o-mini+error-503"), _target(upstream, "gpt-4o-mini")]}
    client = Portkey(base_url=gateway_stack.openai_url, api_key="pk-unused", config=config)
    completion = client.chat.completions.create(model="ignored", messages=[{"role": "user", "content": "fb"}])
    assert completion.choices[0].message.content == "Echo: fb"
    headers = completion.get_headers()
    assert headers["last-used-option-index"] == "config.targets[1]" and headers["retry-attempt-count"] == "0"
    assert (upstream.calls("gpt-4o-mini+error-503"), upstream.calls("gpt-4o-mini")) == (1, 1)


def test_portkey_sdk_loadbalance_config_with_a_nested_fallback_and_retry(gateway_stack, upstream):
    nested = {"strategy": {"mode": "fallback"}, "weight": 1, "retry": {"attempts": 1},
              "targets": [_target(upstream, "gpt-4o-mini+error-500"), _target(upstream, "gpt-4o-mini+flaky-1")]}
    config = {"strategy": {"mode": "loadbalance"},
              "targets": [nested, _target(upstream, "gpt-4o-mini+chunks-2", weight=0)]}
    client = Portkey(base_url=gateway_stack.openai_url, api_key="pk-unused", config=config)
    chunks = list(client.chat.completions.create(model="ignored", stream=True,
                                                 messages=[{"role": "user", "content": "lb"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: lb"
    # the first target failed twice (a try and a retry), the second once (flaky), then answered on its retry
    assert upstream.calls("gpt-4o-mini+error-500") == 2 and upstream.calls("gpt-4o-mini+flaky-1") == 2
    assert upstream.calls("gpt-4o-mini+chunks-2") == 0  # weight 0: never chosen
