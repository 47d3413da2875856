"""Text completions through the whole stack: the official openai SDK against the edge (`/v1/completions`) and the
native gRPC API, with the fake upstream behind; every body the gateway sends is checked by the strict SDK oracles
(openai's CompletionCreateParams, mistralai's FIMCompletionRequest)."""

from __future__ import annotations

import json

import grpc
import openai
import pytest

from gateway_grpc.v1 import completions_pb2, gateway_service_pb2_grpc, options_pb2

pytestmark = pytest.mark.e2e


def _sdk(gateway_stack, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0, default_headers=headers)


@pytest.fixture
def client(gateway_stack, upstream):
    with _sdk(gateway_stack, **{"x-portkey-provider": "openai", "x-portkey-custom-host": upstream.base_url}) as sdk:
        yield sdk


@pytest.fixture
def mistral(gateway_stack, upstream):
    with _sdk(gateway_stack, **{"x-portkey-provider": "mistral-ai", "x-portkey-custom-host": upstream.mistral_url,
                                "x-portkey-mistral-fim-completion": "true"}) as sdk:
        yield sdk


def test_completions_answer_with_usage_and_routing_headers(client, upstream):
    raw = client.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test",
                                                      max_tokens=16, temperature=0)
    answer = raw.parse()
    assert answer.object == "text_completion" and answer.model == "gpt-3.5-turbo-instruct"
    assert [(c.index, c.text, c.finish_reason) for c in answer.choices] == \
        [(0, "completion of: Say this is a", "stop")]
    assert answer.usage.prompt_tokens == 5
    assert raw.headers["x-portkey-provider"] == "openai"
    assert raw.headers["x-portkey-last-used-option-index"] == "config"
    (sent,) = upstream.requests
    assert sent.path == "/v1/completions" and sent.oracle_errors == []
    assert sent.json == {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 16,
                         "temperature": 0}


def test_completions_list_prompt_keeps_openais_choice_order(client):
    answer = client.completions.create(model="m", prompt=["first prompt", "second prompt"], n=2)
    assert [(c.index, c.text) for c in answer.choices] == [
        (0, "completion of: first prompt"), (1, "completion of: first prompt"),
        (2, "completion of: second prompt"), (3, "completion of: second prompt")]


def test_completions_stream_reassembles_and_reports_usage_last(client, upstream):
    chunks = list(client.completions.create(model="m", prompt="one two three", stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "completion of: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 3
    assert upstream.requests[0].json["stream_options"] == {"include_usage": True}


def test_completions_mistral_fim_goes_to_fim_and_reads_back_as_text(mistral, upstream):
    answer = mistral.completions.create(model="codestral-latest", prompt="def add(a, b):",
                                        suffix="print(add(1, 2))", seed=7, max_tokens=32)
    assert answer.choices[0].text == "completion of: def add(a, b): before: print(add(1, 2))"
    assert answer.choices[0].finish_reason == "stop" and answer.object == "text_completion"
    (sent,) = upstream.requests
    assert sent.path == "/mistral/v1/fim/completions" and sent.oracle_errors == []
    assert sent.json == {"model": "codestral-latest", "prompt": "def add(a, b):", "suffix": "print(add(1, 2))",
                         "random_seed": 7, "max_tokens": 32}


def test_completions_mistral_fim_stream_and_usage_only_when_asked(mistral):
    plain = list(mistral.completions.create(model="codestral-latest", prompt="x = ", suffix="y", stream=True))
    assert "".join(c.choices[0].text for c in plain) == "completion of: x = before: y"
    assert all(c.usage is None for c in plain)
    counted = list(mistral.completions.create(model="codestral-latest", prompt="x = ", stream=True,
                                              stream_options={"include_usage": True}))
    assert counted[-1].usage.prompt_tokens == 2


def test_completions_refusals_are_400s_naming_provider_and_field(gateway_stack, upstream, mistral):
    groq_headers = {"x-portkey-provider": "groq", "x-portkey-custom-host": upstream.base_url}
    with _sdk(gateway_stack, **groq_headers) as groq, pytest.raises(openai.BadRequestError) as unsupported:
        groq.completions.create(model="llama3", prompt="hi")
    assert "groq does not support text completions" in unsupported.value.message
    with pytest.raises(openai.BadRequestError) as listed:
        mistral.completions.create(model="codestral-latest", prompt=["a", "b"])
    assert "mistral-ai takes one prompt string" in listed.value.message
    with pytest.raises(openai.BadRequestError) as tokens:
        mistral.completions.create(model="codestral-latest", prompt=[1, 2, 3])
    assert "prompt[0]" in tokens.value.message
    assert upstream.requests == []


def test_completions_fallback_on_429_reaches_the_second_target(gateway_stack, upstream):
    config = {"strategy": {"mode": "fallback"}, "targets": [
        {"provider": "openai", "custom_host": upstream.base_url, "api_key": "sk-a",
         "override_params": {"model": "m+error-429"}},
        {"provider": "openai", "custom_host": upstream.base_url, "api_key": "sk-b"}]}
    with _sdk(gateway_stack, **{"x-portkey-config": json.dumps(config)}) as sdk:
        raw = sdk.completions.with_raw_response.create(model="m", prompt="hello there")
    assert raw.parse().choices[0].text == "completion of: hello there"
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert [r.json["model"] for r in upstream.requests] == ["m+error-429", "m"]


def test_completions_over_grpc_unary_and_stream(gateway_stack, upstream):
    options = options_pb2.RequestOptions(provider="openai", custom_host=upstream.base_url)
    meta = (("authorization", "Bearer sk-test"),)
    request = completions_pb2.CreateCompletionRequest(model="m", prompt=["grpc says hi"], max_tokens=2,
                                                      options=options)
    with grpc.insecure_channel(gateway_stack.grpc_target) as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        answer = stub.CreateCompletion(request, metadata=meta)
        assert [(c.text, c.finish_reason) for c in answer.choices] == [("completion of:", "length")]
        assert answer.provider == "openai" and answer.routing.last_used_option_index == "config"
        events = list(stub.StreamCompletion(completions_pb2.StreamCompletionRequest(request=request), metadata=meta))
    assert "".join(e.chunk.choices[0].text for e in events if e.chunk.choices) == "completion of:"
    assert events[0].routing.last_used_option_index == "config"
    assert [r.oracle_errors for r in upstream.requests] == [[], []]
