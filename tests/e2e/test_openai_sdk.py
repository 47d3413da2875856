"""The whole stack (Envoy from the wheel, gRPC server, edge) driven by the official OpenAI SDK, generated gRPC
stubs and a plain HTTP client, with the loopback fake OpenAI upstream behind it (strict: every upstream request is
checked against the SDK's request types)."""

from __future__ import annotations

import base64
import struct
import time

import grpc
import httpx
import openai
import orjson
import pytest

from gateway_grpc.v1 import chat_pb2, embeddings_pb2, gateway_service_pb2_grpc, models_pb2, options_pb2
from tests import oracles
from tests.fakes import openai_replies as replies

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk_headers(upstream):
    return {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream.base_url}


@pytest.fixture
def client(gateway_stack, sdk_headers):
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0,
                       default_headers=sdk_headers) as sdk:
        yield sdk


@pytest.fixture
def stub(gateway_stack):
    with grpc.insecure_channel(gateway_stack.grpc_target) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


def test_e2e_sdk_chat_round_trip(client, upstream):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "brief"}, {"role": "user", "content": "hi you"}],
        temperature=0.2, seed=3, extra_headers={"x-portkey-trace-id": "e2e-1"})
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: hi you"
    assert raw.headers["x-portkey-provider"] == "openai" and raw.headers["x-portkey-trace-id"] == "e2e-1"
    oracles.check_chat_completion(orjson.loads(raw.content), allow_extra=("provider",))
    sent = upstream.requests[-1]
    assert sent.oracle_errors == [] and sent.json["temperature"] == 0.2 and sent.json["seed"] == 3


async def test_e2e_async_sdk_chat(gateway_stack, sdk_headers):
    async with openai.AsyncOpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0,
                                  default_headers=sdk_headers) as sdk:
        completion = await sdk.chat.completions.create(model="gpt-4o-mini",
                                                       messages=[{"role": "user", "content": "async hello"}])
    assert completion.choices[0].message.content == "Echo: async hello"


def test_e2e_sdk_multimodal_tools_and_json_schema_reach_the_upstream_intact(client, upstream):
    tools = [{"type": "function", "function": {"name": "lookup", "description": "find", "strict": True,
              "parameters": {"type": "object", "properties": {"q": {"type": "string", "maxLength": 10}},
                             "required": ["q"], "additionalProperties": False}}}]
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "what is it"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools,
                                                tool_choice={"type": "function", "function": {"name": "lookup"}})
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and orjson.loads(call.function.arguments) == {"echo": "what is it"}
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = upstream.requests[-1].json
    assert sent["tools"] == tools and sent["messages"] == messages and upstream.requests[-1].oracle_errors == []
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}})
    assert orjson.loads(answer.choices[0].message.content) == {"echo": "json please"}
    assert upstream.requests[-1].json["response_format"]["json_schema"]["schema"] == schema


def test_e2e_sdk_unknown_params_are_passed_through(client, upstream):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                   prompt_cache_key="tenant-7", extra_body={"verbosity": "low"})
    sent = upstream.requests[-1].json
    assert sent["prompt_cache_key"] == "tenant-7" and sent["verbosity"] == "low"


def test_e2e_sdk_stream_with_usage_matches_openai_framing(gateway_stack, sdk_headers, upstream):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one two three"}], "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{gateway_stack.openai_url}/chat/completions", json=body,
                      headers={**sdk_headers, "authorization": "Bearer sk-test"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    chunks = [orjson.loads(line[6:]) for line in lines[:-1]]
    for chunk in chunks:
        oracles.check_chat_chunk(chunk, allow_extra=("obfuscation",))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == \
        "Echo: one two three"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_e2e_sdk_stream_helper_assembles_the_answer(client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "a b c"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: a b c"
    assert chunks[-1].usage is not None


def test_e2e_stream_chunks_are_flushed_as_they_arrive(client):
    started = time.monotonic()
    stream = client.chat.completions.create(model="gpt-4o-mini+gap-300", stream=True,
                                            messages=[{"role": "user", "content": "a b c d"}])
    arrivals = [time.monotonic() - started for _ in stream]
    # Chunks 300 ms apart upstream must reach the SDK spread out, not in one burst at the end.
    assert arrivals[-1] - arrivals[0] > 1.0
    assert arrivals[1] < arrivals[-1] - 0.6


def test_e2e_sdk_mid_stream_error_reaches_the_sdk(client):
    stream = client.chat.completions.create(model="gpt-4o-mini+stream-error-2", stream=True,
                                            messages=[{"role": "user", "content": "a b c d e"}])
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    expected = replies.status_error(500)["error"]["message"]
    assert len(received) >= 2  # the chunks before the failure arrived
    assert caught.value.message == f"openai error: {expected}"
    assert caught.value.type == "server_error"


def test_e2e_sdk_embeddings_base64_default_and_float(client, upstream):
    default = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=6)
    assert upstream.requests[-1].json["encoding_format"] == "float"  # the edge produces base64 itself
    floats = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=6,
                                      encoding_format="float")
    for a, b in zip(default.data, floats.data, strict=True):
        assert len(a.embedding) == 6
        assert a.embedding == pytest.approx(b.embedding, rel=1e-6)
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="alpha", dimensions=6,
                                                     encoding_format="base64")
    encoded = orjson.loads(raw.content)["data"][0]["embedding"]
    assert list(struct.unpack("<6f", base64.b64decode(encoded))) == pytest.approx(floats.data[0].embedding)


def test_e2e_sdk_models_list(client):
    assert len(client.models.list().data) == 3


@pytest.mark.parametrize(("model", "error", "status"), [
    ("gpt-4o-mini+error-429", openai.RateLimitError, 429),
    ("gpt-4o-mini+error-400", openai.BadRequestError, 400),
    ("gpt-4o-mini+error-500", openai.InternalServerError, 500),
])
def test_e2e_sdk_upstream_errors_keep_their_status(client, model, error, status):
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    assert caught.value.body["message"].startswith("openai error:")


def test_e2e_bad_input_gets_a_clear_4xx_and_the_stack_keeps_serving(gateway_stack, client, sdk_headers):
    url = f"{gateway_stack.openai_url}/chat/completions"
    headers = {**sdk_headers, "authorization": "Bearer sk-test", "content-type": "application/json"}
    cases = [
        (b'{"model": "m", "messages": [', 400, "JSON"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model"),
        (b'{"model": "m", "messages": [{"role": "robot", "content": "x"}]}', 400, "messages[0].role"),
        (b'{"model": "m", "messages": "hi"}', 400, "messages"),
    ]
    for body, status, fragment in cases:
        response = httpx.post(url, content=body, headers=headers)
        assert response.status_code == status, response.text
        assert fragment in response.json()["error"]["message"]
    unknown = httpx.post(url, content=cases[1][0], headers={**headers, "x-portkey-provider": "nope"})
    assert unknown.status_code == 400 and "unknown provider" in unknown.json()["error"]["message"]
    blocked = httpx.post(url, content=b'{"model":"m","messages":[{"role":"user","content":"x"}]}',
                         headers={**headers, "x-portkey-custom-host": "http://169.254.169.254/v1"})
    assert blocked.status_code == 400 and "custom host" in blocked.json()["error"]["message"]
    assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "still"}]).choices


def test_e2e_native_grpc_through_envoy(stub, upstream):
    options = options_pb2.RequestOptions(provider="openai", custom_host=upstream.base_url)
    meta = (("authorization", "Bearer sk-test"),)
    message = chat_pb2.Message(role=chat_pb2.ROLE_USER, text="over grpc")
    unary = stub.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(model="m", messages=[message],
                                                                           options=options), metadata=meta)
    assert unary.choices[0].message.text == "Echo: over grpc"
    events = list(stub.StreamChatCompletion(chat_pb2.StreamChatCompletionRequest(
        request=chat_pb2.CreateChatCompletionRequest(model="m", messages=[message], options=options)), metadata=meta))
    assert "".join(e.chunk.choices[0].delta.content for e in events if e.chunk.choices) == "Echo: over grpc"
    vectors = stub.CreateEmbeddings(embeddings_pb2.CreateEmbeddingsRequest(model="e", input=["x"], options=options),
                                    metadata=meta)
    assert len(vectors.data[0].embedding) == 16
    assert len(stub.ListModels(models_pb2.ListModelsRequest(options=options), metadata=meta).models) == 3


def test_e2e_transcoded_rest_unary_and_sse_stream(gateway_stack, upstream):
    headers = {"authorization": "Bearer sk-test"}
    body = {"model": "m", "messages": [{"role": "ROLE_USER", "text": "rest hi"}],
            "options": {"provider": "openai", "custom_host": upstream.base_url}}
    unary = httpx.post(f"{gateway_stack.rest_url}chat/completions", json=body, headers=headers)
    assert unary.status_code == 200 and unary.json()["choices"][0]["message"]["text"] == "Echo: rest hi"
    with httpx.stream("POST", f"{gateway_stack.rest_url}chat/completions:stream", json=body,
                      headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [orjson.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert "".join(c["delta"].get("content", "") for e in events for c in e["chunk"]["choices"]) == "Echo: rest hi"
    no_provider = {"model": "m", "messages": body["messages"]}
    missing = httpx.post(f"{gateway_stack.rest_url}chat/completions", json=no_provider, headers=headers)
    assert missing.status_code == 400 and "x-portkey-provider" in missing.json()["message"]


def test_e2e_request_timeout_is_a_408_timeout_error(client):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini+delay-3000", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={"x-portkey-request-timeout": "300"})
    assert caught.value.status_code == 408 and caught.value.type == "timeout_error"
    assert time.monotonic() - started < 2.0


def test_e2e_oversized_body_is_a_413(gateway_stack, sdk_headers):
    big = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * (33 * 1024 * 1024) + b'"}]}'
    response = httpx.post(f"{gateway_stack.openai_url}/chat/completions", content=big, timeout=30,
                          headers={**sdk_headers, "authorization": "Bearer sk-test",
                                   "content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["message"]
