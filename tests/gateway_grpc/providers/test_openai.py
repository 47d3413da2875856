"""The OpenAI translator: every encoded body passes the strict OpenAI SDK request types; every decoded fixture is
first proven OpenAI-shaped by the SDK response types; errors decode by status into the right typed error."""

import base64

import orjson
import pytest

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS, openai_wire
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.openai_dialect import OPENAI_DIALECT
from tests import oracles

OPENAI = PROVIDERS["openai"]
TARGET = t.Target("openai", api_key="sk-test")

USER = t.Message("user", "hello")
REQUESTS = {
    "text": t.ChatRequest("gpt-4o-mini", (t.Message("system", "be brief"), USER)),
    "multimodal": t.ChatRequest("gpt-4o-mini", (t.Message("user", (
        t.TextPart("what is this?"),
        t.ImagePart(url="https://example.com/a.png", detail="high"),
        t.ImagePart(data=b"\x89PNG", media_type="image/png"),
        t.AudioPart(b"RIFF", "wav"),
        t.FilePart(data=b"%PDF", media_type="application/pdf", filename="a.pdf"),
        t.FilePart(file_id="file-123"),
    )),)),
    "tools": t.ChatRequest(
        "gpt-4o-mini",
        (USER,
         t.Message("assistant", None, tool_calls=(t.ToolCall("call_1", "lookup", '{"q":"x"}'),)),
         t.Message("tool", "42", tool_call_id="call_1")),
        tools=(t.FunctionTool("lookup", "find things", {"type": "object", "properties": {"q": {"type": "string"}},
                                                        "required": ["q"]}, True),),
        tool_choice=t.ToolChoice(function_name="lookup"),
    ),
    "json_schema": t.ChatRequest("gpt-4o-mini", (USER,), response_format=t.ResponseFormat(
        "json_schema", t.JsonSchemaFormat("answer", {"type": "object", "properties": {}}, strict=True))),
    "sampling": t.ChatRequest("gpt-4o-mini", (USER,), params={
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 20, "n": 2, "stop": ["END"], "seed": 5,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "logprobs": True, "top_logprobs": 2,
        "logit_bias": {"50256": -100}, "user": "u", "parallel_tool_calls": True, "reasoning_effort": "low",
        "service_tier": "auto", "store": False, "metadata": {"team": "a"}}),
    "unknown_params": t.ChatRequest("gpt-4o-mini", (USER,), extra={"prompt_cache_key": "k", "verbosity": "low"}),
    "nested_extras": t.ChatRequest(
        "gpt-5",
        (USER,
         t.Message("assistant", None, tool_calls=(
             t.ToolCall("call_1", "lookup", "{}"),
             t.ToolCall("call_2", "", "", "custom", {"custom": {"name": "grep", "input": "TODO"}}))),
         t.Message("tool", "42", tool_call_id="call_1"), t.Message("tool", "3 hits", tool_call_id="call_2")),
        include_usage=True, stream_extra={"include_obfuscation": False},
    ),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_openai_encode_chat_passes_the_strict_sdk_types(case, stream):
    call = OPENAI.encode_chat(REQUESTS[case], TARGET, stream=stream)
    body = orjson.loads(call.body)
    assert oracles.chat_request_errors(body) == []
    assert call.method == "POST" and call.url == "https://api.openai.com/v1/chat/completions"
    assert call.headers["authorization"] == "Bearer sk-test"
    assert body.get("stream", False) is stream


def test_openai_encode_chat_keeps_content_shapes_and_data_urls():
    body = orjson.loads(OPENAI.encode_chat(REQUESTS["multimodal"], TARGET, stream=False).body)
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url", "input_audio", "file", "file"]
    assert parts[1]["image_url"] == {"url": "https://example.com/a.png", "detail": "high"}
    assert parts[2]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    assert parts[4]["file"] == {"file_data": "data:application/pdf;base64,JVBERg==", "filename": "a.pdf"}
    tools = orjson.loads(OPENAI.encode_chat(REQUESTS["tools"], TARGET, stream=False).body)
    assert tools["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}]}


def test_openai_encode_chat_passes_unknown_params_through_and_overrides_win():
    target = t.Target("openai", api_key="k", override_params={"model": "gpt-4.1", "temperature": 0})
    body = orjson.loads(OPENAI.encode_chat(REQUESTS["unknown_params"], target, stream=False).body)
    assert body["prompt_cache_key"] == "k" and body["verbosity"] == "low"
    assert body["model"] == "gpt-4.1" and body["temperature"] == 0


def test_openai_encode_chat_stream_options_only_when_streaming():
    request = t.ChatRequest("m", (USER,), include_usage=True)
    assert "stream_options" not in orjson.loads(OPENAI.encode_chat(request, TARGET, stream=False).body)
    streamed = OPENAI.encode_chat(request, TARGET, stream=True)
    assert orjson.loads(streamed.body)["stream_options"] == {"include_usage": True}
    assert streamed.headers["accept"] == "text/event-stream"


def test_openai_encode_chat_merges_nested_extras_into_their_objects():
    """Extras the SDK types do not know (other hosts' keys): checked by value, as the strict oracle would refuse."""
    signature = {"extra_content": {"google": {"thought_signature": "c2ln"}}}
    cache = {"cache_control": {"type": "ephemeral"}}
    request = t.ChatRequest(
        "m",
        (t.Message("user", (t.TextPart("hi", cache), t.ImagePart(url="https://x/a.png", extra=cache))),
         t.Message("assistant", None, tool_calls=(t.ToolCall("call_1", "f", "{}", extra=signature),))),
        response_format=t.ResponseFormat("grammar", extra={"grammar": "root ::= x"}),
    )
    body = orjson.loads(OPENAI.encode_chat(request, TARGET, stream=False).body)
    assert body["messages"][0]["content"] == [{"type": "text", "text": "hi", **cache},
                                              {"type": "image_url", "image_url": {"url": "https://x/a.png"}, **cache}]
    assert body["messages"][1]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}, **signature}]
    assert body["response_format"] == {"type": "grammar", "grammar": "root ::= x"}
    streamed = orjson.loads(OPENAI.encode_chat(REQUESTS["nested_extras"], TARGET, stream=True).body)
    assert streamed["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert streamed["messages"][1]["tool_calls"][1] == {"id": "call_2", "type": "custom",
                                                        "custom": {"name": "grep", "input": "TODO"}}


def test_openai_compatible_entries_use_their_base_url_or_the_custom_host():
    groq = PROVIDERS["groq"].encode_chat(REQUESTS["text"], t.Target("groq", "k"), stream=False)
    assert groq.url == "https://api.groq.com/openai/v1/chat/completions"
    local_target = t.Target("openai", "k", base_url="http://127.0.0.1:9/v1")
    local = OPENAI.encode_chat(REQUESTS["text"], local_target, stream=False)
    assert local.url == "http://127.0.0.1:9/v1/chat/completions"


def test_openai_dialect_is_the_identity_developer_role_and_every_parameter_kept():
    """OpenAI itself departs from nothing: the long-tail rules (openai_hosts.py) never touch an `openai` body."""
    assert OPENAI.dialect is OPENAI_DIALECT
    request = t.ChatRequest("m", (t.Message("developer", "d"), USER), params={
        "max_completion_tokens": 3, "logprobs": True, "logit_bias": {"1": 2}, "n": 3, "seed": 1},
        include_usage=True)
    body = orjson.loads(OPENAI.encode_chat(request, TARGET, stream=True).body)
    assert body["messages"][0]["role"] == "developer"
    assert (body["max_completion_tokens"], body["n"], body["seed"], body["logprobs"]) == (3, 3, 1, True)
    assert body["stream_options"] == {"include_usage": True}
    assert oracles.chat_request_errors(body) == []


def test_openai_encode_forwards_headers_and_org_options():
    target = t.Target("openai", "k", provider_options={"openai_organization": "org-1"},
                      forward_headers={"x-team": "blue"})
    headers = OPENAI.encode_chat(REQUESTS["text"], target, stream=False).headers
    assert headers["openai-organization"] == "org-1" and headers["x-team"] == "blue"


def test_openai_encode_embeddings_passes_the_strict_sdk_types():
    for request in (t.EmbeddingsRequest("text-embedding-3-small", ("a", "b"), dimensions=8, user="u"),
                    t.EmbeddingsRequest("text-embedding-3-small", token_inputs=((1, 2), (3,)))):
        body = orjson.loads(OPENAI.encode_embeddings(request, TARGET).body)
        assert oracles.embeddings_request_errors(body) == []
        assert body["encoding_format"] == "float"


COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "system_fingerprint": "fp_1", "service_tier": "default",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
        "role": "assistant", "content": None, "refusal": None, "annotations": [],
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
              "prompt_tokens_details": {"cached_tokens": 1, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
}


def test_openai_decode_chat_reads_a_real_shaped_completion():
    oracles.check_chat_completion(COMPLETION)
    resp = OPENAI.decode_chat(orjson.dumps(COMPLETION))
    assert (resp.id, resp.model, resp.system_fingerprint) == ("chatcmpl-1", "gpt-4o-mini", "fp_1")
    message = resp.choices[0].message
    assert message.tool_calls == (t.ToolCall("call_1", "f", "{}"),) and message.content is None
    assert dict(message.extra) == {"annotations": []}
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.usage == t.Usage(5, 2, 7, cached_tokens=1, prompt_audio_tokens=0, reasoning_tokens=0,
                                 completion_audio_tokens=0, accepted_prediction_tokens=0,
                                 rejected_prediction_tokens=0)


def test_openai_decode_chat_keeps_choice_tool_call_and_part_extras():
    signature = {"extra_content": {"google": {"thought_signature": "c2ln"}}}
    filters = {"content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}
    raw = {**COMPLETION, "choices": [{
        "index": 0, "finish_reason": "tool_calls", "logprobs": None, **filters,
        "message": {"role": "assistant", "content": None, "refusal": None, "function_call": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}, **signature},
            {"id": "call_2", "type": "custom", "custom": {"name": "grep", "input": "x"}}]}}]}
    oracles.check_chat_completion(raw)
    choice = OPENAI.decode_chat(orjson.dumps(raw)).choices[0]
    assert dict(choice.extra) == filters
    assert choice.message.tool_calls == (t.ToolCall("call_1", "f", "{}", extra=signature),
                                         t.ToolCall("call_2", "", "", "custom", {"custom": {"name": "grep",
                                                                                           "input": "x"}}))
    assert dict(choice.message.extra) == {"function_call": None}  # the legacy key is kept, not dropped
    parts = {"role": "assistant", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                                              {"type": "thinking", "thinking": "t"}]}
    assert openai_wire.decode_message(parts).content == (
        t.TextPart("a", {"cache_control": {"type": "ephemeral"}}), t.OtherPart({"type": "thinking", "thinking": "t"}))


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"choices": "x"}', b"{}"])
def test_openai_decode_chat_refuses_malformed_bodies(body):
    with pytest.raises(e.ProviderBadResponse):
        OPENAI.decode_chat(body)


CHUNKS = [
    {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "obfuscation": "x1",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "finish_reason": None}]},
    {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                                         "function": {"name": "g", "arguments": ""}}]},
                  "finish_reason": None}]},
    {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
     "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
    {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
     "choices": [{"index": 0, "finish_reason": None, "content_filter_results": {"hate": {"filtered": False}},
                  "delta": {"audio": {"id": "audio_1", "transcript": "hi"}, "function_call": {"arguments": "{"},
                            "tool_calls": [{"index": 0, "function": {"arguments": "}"},
                                            "extra_content": {"google": {"thought_signature": "c2ln"}}}]}}]},
]


def test_openai_stream_decoder_turns_events_into_chunks_and_stops_at_done():
    decoder = OPENAI.chat_stream_decoder()
    chunks = []
    for raw in CHUNKS:
        oracles.check_chat_chunk(raw, allow_extra=("obfuscation",))
        chunks += decoder.decode(SseEvent("", orjson.dumps(raw).decode()))
    assert not decoder.done
    assert decoder.decode(SseEvent("", "[DONE]")) == [] and decoder.done
    assert chunks[0].choices[0].delta == t.Delta(role="assistant", content="")
    assert dict(chunks[0].extra) == {"obfuscation": "x1"}
    assert chunks[1].choices[0].delta.tool_calls == (t.ToolCallDelta(1, "call_b", "function", "g", ""),)
    assert chunks[2].choices == () and chunks[2].usage == t.Usage(1, 2, 3)
    choice = chunks[3].choices[0]
    assert dict(choice.extra) == {"content_filter_results": {"hate": {"filtered": False}}}
    assert dict(choice.delta.extra) == {"audio": {"id": "audio_1", "transcript": "hi"},
                                        "function_call": {"arguments": "{"}}
    assert choice.delta.tool_calls == (t.ToolCallDelta(0, arguments="}", extra={
        "extra_content": {"google": {"thought_signature": "c2ln"}}}),)
    assert all(c.extra is t.EMPTY and c.delta.extra is t.EMPTY for c in chunks[0].choices + chunks[1].choices)


def test_openai_stream_decoder_raises_on_an_in_band_error_event():
    event = SseEvent("", '{"error": {"message": "overloaded", "type": "server_error", "code": null}}')
    with pytest.raises(e.ProviderRejected) as caught:
        OPENAI.chat_stream_decoder().decode(event)
    assert "overloaded" in caught.value.message and caught.value.error_type == "server_error"


ERRORS = [
    (429, {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
     {"retry-after-ms": "1500"}, e.RateLimited, 429, 1.5),
    (429, {"error": {"message": "slow", "type": "requests", "param": None, "code": None}},
     {"retry-after": "2"}, e.RateLimited, 429, 2.0),
    (400, {"error": {"message": "bad", "type": "invalid_request_error", "param": "messages", "code": None}},
     {}, e.ProviderRejected, 400, None),
    (401, {"error": {"message": "key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
     {}, e.ProviderRejected, 401, None),
    (500, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}},
     {}, e.ProviderRejected, 500, None),
    (502, "<html>Bad Gateway</html>", {}, e.ProviderRejected, 502, None),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "http_status", "retry_after"), ERRORS)
def test_openai_decode_error_by_status(status, body, headers, kind, http_status, retry_after):
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    error = OPENAI.decode_error(status, raw, headers)
    assert type(error) is kind
    assert (error.status, error.http_status, error.retry_after, error.provider) == (status, http_status, retry_after,
                                                                                 "openai")
    if isinstance(body, dict):
        assert error.message == f"openai error: {body['error']['message']}"
        assert error.error_type == body["error"]["type"] and error.param == (body["error"]["param"] or "")
    else:
        assert "Bad Gateway" in error.message
