"""Routing behaviour that needs the whole stack: circuit-breaker state in GET /metrics, the timeout header over a
config's request_timeout, and a client that hangs up cancelling a pending fallback."""

from __future__ import annotations

import re
import time

import httpx
import orjson
import pytest

pytestmark = pytest.mark.e2e
HELLO = [{"role": "user", "content": "hi"}]


def target(upstream, model: str, **extra) -> dict:
    return {"provider": "openai", "api_key": "sk-test", "custom_host": upstream.base_url,
            "override_params": {"model": model}, **extra}


def post(stack, config: dict, timeout: float = 10, **headers) -> httpx.Response:
    return httpx.post(f"{stack.openai_url}/chat/completions", json={"model": "m", "messages": HELLO},
                      headers={"x-portkey-config": orjson.dumps(config).decode(), **headers}, timeout=timeout)


def metric(stack, name: str, **labels) -> float | None:
    text = httpx.get(f"{stack.base_url}/metrics").text
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return None


def test_stack_open_circuit_is_skipped_and_visible_in_metrics(gateway_stack, upstream):
    model = f"gpt-4o-mini+error-503+chunks-{time.monotonic_ns() % 1000 + 7}"  # a target no other test has tripped
    config = {"strategy": {"mode": "fallback", "cb_config": {"failure_threshold": 1, "cooldown_interval": 60_000}},
              "targets": [target(upstream, model), target(upstream, "gpt-4o-mini")]}
    first, second = post(gateway_stack, config), post(gateway_stack, config)
    assert first.status_code == second.status_code == 200
    assert upstream.calls(model) == 1  # the second request skipped the open circuit without calling it
    assert second.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    text = httpx.get(f"{gateway_stack.base_url}/metrics").text
    # the target label is provider|host|model|key-hash: no secret, and 2.0 means open
    states = [line for line in text.splitlines()
              if line.startswith("gateway_circuit_state{") and f"|{model}|" in line]
    assert len(states) == 1 and states[0].endswith(" 2.0"), text[-2000:]
    assert "sk-test" not in text
    assert metric(gateway_stack, "gateway_upstream_attempts_total", provider="openai", status="503") >= 1


def test_stack_timeout_header_overrides_the_configs_request_timeout(gateway_stack, upstream):
    config = target(upstream, "gpt-4o-mini+delay-800", request_timeout=5000)
    reply = post(gateway_stack, config, **{"x-portkey-request-timeout": "200"})
    assert reply.status_code == 408 and reply.json()["error"]["type"] == "timeout_error"
    assert "200ms" in reply.json()["error"]["message"]
    assert reply.json()["attempts"][0]["status"] == 408


def test_stack_client_hang_up_cancels_the_pending_fallback(gateway_stack, upstream):
    slow = "gpt-4o-mini+delay-1500+error-503"
    config = {"strategy": {"mode": "fallback"}, "targets": [target(upstream, slow), target(upstream, "gpt-4o-mini")]}
    with pytest.raises(httpx.ReadTimeout):
        post(gateway_stack, config, timeout=0.4)
    time.sleep(2.0)  # past the slow target's answer: a fallback would have run by now
    assert upstream.calls(slow) == 1 and upstream.calls("gpt-4o-mini") == 0


def test_stack_upstream_retry_after_reaches_the_client(gateway_stack, upstream):
    reply = post(gateway_stack, target(upstream, "gpt-4o-mini+error-429+retry-after-ms-1500"))
    assert reply.status_code == 429
    assert (reply.headers["retry-after-ms"], reply.headers["retry-after"]) == ("1500", "2")
    calm = post(gateway_stack, target(upstream, "gpt-4o-mini+error-500"))
    assert calm.status_code == 500 and "retry-after-ms" not in calm.headers
