"""Strict OpenAI compliance through ProviderCall: a translated answer's extras (reasoning, thinking blocks) reach the
caller only when strictness is off; the OpenAI family's own answers are relayed unchanged either way."""

from __future__ import annotations

import pytest

from gateway_grpc import types as t
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from tests.fakes.anthropic_upstream import FakeAnthropic

REQUEST = t.ChatRequest("claude-x+thinking", (t.Message("user", "think first"),))


@pytest.fixture(scope="module")
def fake():
    with FakeAnthropic() as server:
        yield server


def ctx(fake, strict: bool) -> t.CallContext:
    return t.CallContext("trace", target=t.Target("anthropic", "sk-ant", base_url=fake.base_url),
                         strict_open_ai_compliance=strict)


@pytest.mark.parametrize("strict", [True, False])
async def test_compliance_translated_reasoning_only_when_not_strict(fake, strict):
    call = ProviderCall(ProviderTransport())
    answer = await call.complete(REQUEST, ctx(fake, strict))
    message = answer.choices[0].message
    assert message.content  # the answer itself is there either way
    assert (message.reasoning_content is not None) is (not strict)
    assert bool(message.extra.get("thinking_blocks")) is (not strict)
    chunks = [c async for c in call.stream(REQUEST, ctx(fake, strict))]
    reasoning = "".join(ch.delta.reasoning_content or "" for c in chunks for ch in c.choices)
    assert bool(reasoning) is (not strict)
    assert any(ch.delta.extra for c in chunks for ch in c.choices) is (not strict)
