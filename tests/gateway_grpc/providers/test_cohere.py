"""The Cohere v2 translator: every encoded body passes the strict Cohere SDK oracle (tests/oracles_cohere.py); every
decoded fixture is first proven Cohere-shaped by the SDK response types, and every translated answer, rendered as
the edge renders it, passes the strict OpenAI oracle. What Cohere cannot express is a 400 naming the field."""

from __future__ import annotations

import dataclasses

import httpx
import orjson
import pytest

from edge.openai_response import chat_chunk_json, chat_completion_json
from gateway_grpc import convert
from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import cohere_wire
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.cohere import Cohere
from gateway_grpc.providers.sse import SseDecoder
from tests import oracles, oracles_cohere
from tests.fakes.cohere_upstream import FakeCohere

NOW = 1_700_000_000
COHERE = Cohere(clock=lambda: NOW + 0.75)
TARGET = t.Target("cohere", api_key="co-test")
USER = t.Message("user", "hello")
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
CALL = t.ToolCall("call_1", "lookup", '{"q":"x"}')
RICH_CITATIONS = [{"start": 0, "end": 5, "text": "Paris", "type": "TEXT_CONTENT",
                   "sources": [{"type": "document", "id": "doc:0", "document": {"id": "doc:0"}}]}]


def openai_completion(resp: t.ChatResponse) -> dict:
    raw = chat_completion_json(convert.chat_response(resp, "cohere"))
    oracles.check_chat_completion(raw, allow_extra=("provider",))
    return raw


def openai_chunk(chunk: t.ChatChunk) -> dict:
    raw = chat_chunk_json(convert.chat_chunk(chunk, "cohere").chunk)
    oracles.check_chat_chunk(raw)
    return raw


def body_of(request: t.ChatRequest, target: t.Target = TARGET, stream: bool = False) -> dict:
    return orjson.loads(COHERE.encode_chat(request, target, stream=stream).body)


# --- requests -------------------------------------------------------------------------------------------------------

REQUESTS = {
    "text": t.ChatRequest("command-a-03-2025", (t.Message("system", "be brief"), USER)),
    "developer": t.ChatRequest("command-a-03-2025", (t.Message("developer", "be brief"), USER)),
    "parts": t.ChatRequest("command-a-vision-07-2025", (
        t.Message("system", (t.TextPart("be"), t.TextPart("brief"))),
        t.Message("user", (t.TextPart("what is this?"), t.ImagePart(url="https://example.com/a.png", detail="high"),
                           t.ImagePart(data=b"\x89PNG", media_type="image/png"))),
        t.Message("assistant", (t.TextPart("a logo"),)),
        t.Message("user", "sure?"),
    )),
    "tool_loop": t.ChatRequest(
        "command-a-03-2025",
        (USER, t.Message("assistant", None, tool_calls=(CALL,), reasoning_content="I will look it up."),
         t.Message("tool", "42", tool_call_id="call_1"), t.Message("tool", (t.TextPart("4"), t.TextPart("2")),
                                                                    tool_call_id="call_1")),
        tools=(t.FunctionTool("lookup", "find things", SCHEMA, True),),
        tool_choice=t.ToolChoice("required"),
    ),
    "reasoning_replayed": t.ChatRequest("command-a-reasoning-08-2025", (
        USER, t.Message("assistant", "hi!", reasoning_content="greet back"), t.Message("user", "again"))),
    "json_schema": t.ChatRequest("command-a-03-2025", (USER,), response_format=t.ResponseFormat(
        "json_schema", t.JsonSchemaFormat("answer", SCHEMA, strict=True))),
    "json_object": t.ChatRequest("command-a-03-2025", (USER,), response_format=t.ResponseFormat("json_object")),
    "sampling": t.ChatRequest("command-a-03-2025", (USER,), params={
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 20, "max_tokens": 20, "n": 1, "stop": ["END"],
        "seed": 5, "presence_penalty": 0.1, "frequency_penalty": 0.2, "logprobs": True, "top_logprobs": 0,
        "parallel_tool_calls": True, "store": False, "user": None}),
    "cohere_extras": t.ChatRequest("command-a-03-2025", (USER,), extra={
        "documents": ["Paris is in France", {"id": "d2", "data": {"title": "x", "text": "y"}}],
        "citation_options": {"mode": "ACCURATE"}, "safety_mode": "OFF", "k": 40, "thinking": {"type": "disabled"},
        "priority": 1}),
    "replayed_answers": t.ChatRequest("command-a-03-2025", (
        USER, t.Message("assistant", "Paris", extra={"citations": RICH_CITATIONS}),
        t.Message("user", "and?"), t.Message("assistant", "hm", extra={"annotations": [], "audio": None}),
        t.Message("user", "ok"))),
    "no_tool_parameters": t.ChatRequest("command-a-03-2025", (USER,), tools=(t.FunctionTool("now"),),
                                        tool_choice=t.ToolChoice("none")),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_cohere_encode_chat_passes_the_strict_sdk_oracle(case, stream):
    call = COHERE.encode_chat(REQUESTS[case], TARGET, stream=stream)
    body = orjson.loads(call.body)
    assert oracles_cohere.chat_request_errors(body) == []
    assert (call.method, call.url) == ("POST", "https://api.cohere.com/v2/chat")
    assert call.headers["authorization"] == "Bearer co-test"
    assert call.headers["accept"] == ("text/event-stream" if stream else "application/json")
    assert body["stream"] is stream


def test_cohere_encode_chat_keeps_tool_calls_and_tool_call_ids():
    """Portkey contract §13 row 31: the reference drops both; Cohere then refuses the tool result."""
    body = body_of(REQUESTS["tool_loop"])
    assert body["messages"][1] == {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}]}
    assert body["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    assert body["messages"][3]["content"] == [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}]
    assert body["tools"] == [{"type": "function", "function": {"name": "lookup", "description": "find things",
                                                               "parameters": SCHEMA}}]
    assert (body["strict_tools"], body["tool_choice"]) == (True, "REQUIRED")


def test_cohere_encode_chat_maps_roles_parts_and_reasoning():
    assert body_of(REQUESTS["developer"])["messages"][0] == {"role": "system", "content": "be brief"}
    parts = body_of(REQUESTS["parts"])["messages"]
    assert parts[0]["content"] == [{"type": "text", "text": "be"}, {"type": "text", "text": "brief"}]
    assert parts[1]["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}]
    assert parts[2] == {"role": "assistant", "content": [{"type": "text", "text": "a logo"}]}
    replayed = body_of(REQUESTS["reasoning_replayed"])["messages"][1]
    assert replayed == {"role": "assistant", "content": [{"type": "thinking", "thinking": "greet back"},
                                                         {"type": "text", "text": "hi!"}]}
    replayed = body_of(REQUESTS["replayed_answers"])["messages"]
    assert replayed[1] == {"role": "assistant", "content": "Paris", "citations": RICH_CITATIONS}
    assert replayed[3] == {"role": "assistant", "content": "hm"}
    no_params = body_of(REQUESTS["no_tool_parameters"])
    assert no_params["tools"][0]["function"] == {"name": "now", "parameters": {"type": "object", "properties": {}}}
    assert no_params["tool_choice"] == "NONE" and "strict_tools" not in no_params


def test_cohere_encode_chat_maps_params_and_formats():
    body = body_of(REQUESTS["sampling"])
    assert {k: v for k, v in body.items() if k not in ("model", "messages", "stream")} == {
        "temperature": 0.3, "p": 0.9, "max_tokens": 20, "stop_sequences": ["END"], "seed": 5,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "logprobs": True}
    assert body_of(t.ChatRequest("m", (USER,), params={"stop": "END", "max_tokens": 7}))["stop_sequences"] == ["END"]
    assert body_of(REQUESTS["json_schema"])["response_format"] == {"type": "json_object", "json_schema": SCHEMA}
    assert body_of(REQUESTS["json_object"])["response_format"] == {"type": "json_object"}
    auto = t.ChatRequest("m", (USER,), tools=(t.FunctionTool("f", strict=False),), tool_choice=t.ToolChoice("auto"))
    assert "tool_choice" not in body_of(auto) and body_of(auto)["strict_tools"] is False


def test_cohere_encode_chat_passes_extras_through_and_overrides_win():
    body = body_of(REQUESTS["cohere_extras"])
    assert body["documents"][1] == {"id": "d2", "data": {"title": "x", "text": "y"}}
    assert (body["citation_options"], body["k"], body["priority"]) == ({"mode": "ACCURATE"}, 40, 1)
    target = t.Target("cohere", "k", override_params={"model": "command-r7b-12-2024", "top_p": 0.5, "k": 3})
    overridden = body_of(REQUESTS["sampling"], target)
    assert (overridden["model"], overridden["p"], overridden["k"]) == ("command-r7b-12-2024", 0.5, 3)
    assert oracles_cohere.chat_request_errors(overridden) == []


def test_cohere_encode_chat_custom_host_and_forwarded_headers():
    target = t.Target("cohere", "k", base_url="http://127.0.0.1:9/", forward_headers={"x-team": "blue"})
    call = COHERE.encode_chat(REQUESTS["text"], target, stream=False)
    assert call.url == "http://127.0.0.1:9/v2/chat" and call.headers["x-team"] == "blue"


UNSUPPORTED = [
    ("n", t.ChatRequest("m", (USER,), params={"n": 2}), "n"),
    ("logit_bias", t.ChatRequest("m", (USER,), params={"logit_bias": {"1": 2}}), "logit_bias"),
    ("top_logprobs", t.ChatRequest("m", (USER,), params={"logprobs": True, "top_logprobs": 3}), "top_logprobs"),
    ("parallel_off", t.ChatRequest("m", (USER,), params={"parallel_tool_calls": False}), "parallel_tool_calls"),
    ("reasoning_effort", t.ChatRequest("m", (USER,), params={"reasoning_effort": "low"}), "reasoning_effort"),
    ("user", t.ChatRequest("m", (USER,), params={"user": "u-1"}), "user"),
    ("two_limits", t.ChatRequest("m", (USER,), params={"max_tokens": 5, "max_completion_tokens": 6}),
     "max_completion_tokens"),
    ("function_role", t.ChatRequest("m", (t.Message("function", "x", name="f"),)), "messages[0].role"),
    ("name", t.ChatRequest("m", (t.Message("user", "x", name="ann"),)), "messages[0].name"),
    ("message_extra", t.ChatRequest("m", (t.Message("user", "x", extra={"audio": {"id": "a"}}),)),
     "messages[0].audio"),
    ("user_citations", t.ChatRequest("m", (t.Message("user", "x", extra={"citations": RICH_CITATIONS}),)),
     "messages[0].citations"),
    ("audio", t.ChatRequest("m", (t.Message("user", (t.AudioPart(b"RIFF", "wav"),)),)), "messages[0].content[0].type"),
    ("file", t.ChatRequest("m", (t.Message("user", (t.FilePart(file_id="f"),)),)), "messages[0].content[0].type"),
    ("other_part", t.ChatRequest("m", (t.Message("user", (t.OtherPart({"type": "input_video"}),)),)),
     "messages[0].content[0].type"),
    ("part_extra", t.ChatRequest("m", (t.Message("user", (t.TextPart("x", {"cache_control": {}}),)),)),
     "messages[0].content[0].cache_control"),
    ("system_image", t.ChatRequest("m", (t.Message("system", (t.ImagePart(url="https://x/a.png"),)),)),
     "messages[0].content[0].type"),
    ("refusal", t.ChatRequest("m", (USER, t.Message("assistant", None, refusal="no"))), "messages[1].refusal"),
    ("custom_call", t.ChatRequest("m", (USER, t.Message("assistant", None, tool_calls=(
        t.ToolCall("c", "", "", "custom", {"custom": {}}),)))), "messages[1].tool_calls[0].type"),
    ("no_tool_call_id", t.ChatRequest("m", (t.Message("tool", "42"),)), "messages[0].tool_call_id"),
    ("no_content", t.ChatRequest("m", (t.Message("user", None),)), "messages[0].content"),
    ("forced_function", t.ChatRequest("m", (USER,), tools=(t.FunctionTool("f"),),
                                      tool_choice=t.ToolChoice(function_name="f")), "tool_choice"),
    ("other_tool", t.ChatRequest("m", (USER,), tools=(t.OtherTool({"type": "web_search"}),)), "tools[0].type"),
    ("mixed_strict", t.ChatRequest("m", (USER,), tools=(t.FunctionTool("f", strict=True), t.FunctionTool("g"))),
     "tools[1].strict"),
    ("grammar", t.ChatRequest("m", (USER,), response_format=t.ResponseFormat("grammar", extra={"grammar": "x"})),
     "response_format.grammar"),
    ("schema_description", t.ChatRequest("m", (USER,), response_format=t.ResponseFormat(
        "json_schema", t.JsonSchemaFormat("a", SCHEMA, "what it is"))), "response_format.json_schema.description"),
    ("stream_options", t.ChatRequest("m", (USER,), stream_extra={"include_obfuscation": False}),
     "stream_options.include_obfuscation"),
]


@pytest.mark.parametrize(("request_", "field"), [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_cohere_encode_chat_refuses_what_cohere_cannot_express(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        COHERE.encode_chat(request_, TARGET, stream=False)
    [violation] = caught.value.violations
    assert violation.field == field and violation.description.startswith("cohere does not support")


def test_cohere_every_openai_param_is_mapped_or_refused():
    tables = (cohere_wire.RENAMED_PARAMS, cohere_wire.FIXED_PARAMS, cohere_wire.SPECIAL_PARAMS,
              cohere_wire.UNSUPPORTED_PARAMS)
    for name in t.CHAT_PARAMS:
        assert sum(name in table for table in tables) == 1, name


# --- answers --------------------------------------------------------------------------------------------------------

TEXT_ANSWER = {
    "id": "resp-1", "finish_reason": "COMPLETE",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "!"}]},
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 2}, "tokens": {"input_tokens": 12,
                                                                                  "output_tokens": 2}},
}
TOOL_ANSWER = {
    "id": "resp-2", "finish_reason": "TOOL_CALL",
    "message": {"role": "assistant", "tool_plan": "I will call lookup.", "tool_calls": [
        {"id": "lookup_0", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}},
        {"id": "fetch_1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
    "usage": {"tokens": {"input_tokens": 20, "output_tokens": 9}, "cached_tokens": 4},
}
RICH_ANSWER = {
    "id": "resp-3", "finish_reason": "MAX_TOKENS",
    "message": {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm. "},
                                                 {"type": "text", "text": "Paris"}],
                "citations": RICH_CITATIONS},
    "logprobs": [{"text": "Par", "token_ids": [1, 2], "logprobs": [-0.5, -0.25]},
                 {"text": "is", "token_ids": [3], "logprobs": [-0.125]}],
}


def test_cohere_decode_chat_text_answer():
    oracles_cohere.check_chat_response(TEXT_ANSWER)
    resp = COHERE.decode_chat(orjson.dumps(TEXT_ANSWER), REQUESTS["text"])
    assert (resp.id, resp.created, resp.model) == ("resp-1", NOW, "command-a-03-2025")
    assert resp.choices[0].message == t.Message("assistant", "Hello!")
    assert resp.usage == t.Usage(5, 2, 7)  # billed units, not the template-inflated token count
    raw = openai_completion(resp)
    assert raw["choices"][0]["finish_reason"] == "stop" and raw["provider"] == "cohere"


def test_cohere_decode_chat_tool_calls_with_plan_as_reasoning():
    oracles_cohere.check_chat_response(TOOL_ANSWER)
    resp = COHERE.decode_chat(orjson.dumps(TOOL_ANSWER))
    message = resp.choices[0].message
    assert message.content is None and message.reasoning_content == "I will call lookup."
    assert message.tool_calls == (t.ToolCall("lookup_0", "lookup", '{"q":"x"}'), t.ToolCall("fetch_1", "fetch", "{}"))
    assert resp.usage == t.Usage(20, 9, 29, cached_tokens=4)  # no billed units: raw token counts
    raw = openai_completion(resp)
    assert raw["choices"][0]["finish_reason"] == "tool_calls" and raw["model"] == ""


def test_cohere_decode_chat_thinking_citations_and_logprobs():
    oracles_cohere.check_chat_response(RICH_ANSWER)
    choice = COHERE.decode_chat(orjson.dumps(RICH_ANSWER)).choices[0]
    assert (choice.message.content, choice.message.reasoning_content) == ("Paris", "hmm. ")
    assert dict(choice.message.extra) == {"citations": RICH_ANSWER["message"]["citations"]}
    assert choice.logprobs == {"refusal": None, "content": [
        {"token": "Par", "logprob": -0.75, "bytes": [80, 97, 114], "top_logprobs": []},
        {"token": "is", "logprob": -0.125, "bytes": [105, 115], "top_logprobs": []}]}
    raw = openai_completion(COHERE.decode_chat(orjson.dumps(RICH_ANSWER)))
    assert raw["choices"][0]["finish_reason"] == "length"
    assert raw["choices"][0]["message"]["citations"][0]["text"] == "Paris"


@pytest.mark.parametrize(("reason", "expected"), [
    ("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls"),
    ("ERROR_TOXIC", "content_filter"), ("ERROR_LIMIT", "length"),  # v1 values, outside the v2 enum
    ("ERROR", e.ProviderRejected), ("TIMEOUT", e.ProviderRejected), ("WEIRD", e.ProviderBadResponse),
])
def test_cohere_decode_chat_finish_reasons(reason, expected):
    body = orjson.dumps({**TEXT_ANSWER, "finish_reason": reason})
    if isinstance(expected, str):
        assert COHERE.decode_chat(body).choices[0].finish_reason == expected
        return
    with pytest.raises(expected) as caught:
        COHERE.decode_chat(body)
    assert caught.value.provider == "cohere" and reason in caught.value.message
    if reason != "WEIRD":
        oracles_cohere.check_chat_response({**TEXT_ANSWER, "finish_reason": reason})
        assert caught.value.status == {"ERROR": 500, "TIMEOUT": 504}[reason]


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"id": "x", "finish_reason": "COMPLETE"}',
                                  b'{"id": "x", "finish_reason": "COMPLETE", "message": {"content": [{"type": "x"}]}}'])
def test_cohere_decode_chat_refuses_malformed_bodies(body):
    with pytest.raises(e.ProviderBadResponse):
        COHERE.decode_chat(body)


# --- stream ---------------------------------------------------------------------------------------------------------

TOOL_STREAM = [
    {"type": "message-start", "id": "s-1", "delta": {"message": {"role": "assistant"}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will "}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "call both."}}},
    {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
        "id": "lookup_0", "type": "function", "function": {"name": "lookup", "arguments": ""}}}}},
    {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": '{"q":'}}}}},
    {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": '"x"}'}}}}},
    {"type": "tool-call-end", "index": 0},
    {"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {
        "id": "fetch_1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}}}},
    {"type": "tool-call-end", "index": 1},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {
        "billed_units": {"input_tokens": 3, "output_tokens": 9}, "tokens": {"input_tokens": 10, "output_tokens": 9}}}},
]
TEXT_STREAM = [
    {"type": "message-start", "id": "s-2", "delta": {"message": {"role": "assistant"}}},
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": "hmm"}}}},
    {"type": "content-end", "index": 0},
    {"type": "content-start", "index": 1, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": "Par"}}},
     "logprobs": {"text": "Par", "token_ids": [1, 2], "logprobs": [-0.5, -0.25]}},
    {"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": "is"}}}},
    {"type": "content-end", "index": 1},
    {"type": "citation-start", "index": 0, "delta": {"message": {"citations": {
        "start": 0, "end": 5, "text": "Paris", "type": "TEXT_CONTENT", "sources": []}}}},
    {"type": "citation-end", "index": 0},
    {"type": "debug", "prompt": "<prompt>"},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {
        "billed_units": {"input_tokens": 2, "output_tokens": 3}}}},
]


def decode_stream(events: list[dict], request: t.ChatRequest | None = None) -> tuple[list[t.ChatChunk], bool]:
    decoder = COHERE.chat_stream_decoder(request)
    chunks = []
    for raw in events:
        oracles_cohere.check_stream_event(raw)
        chunks += decoder.decode(SseEvent(raw["type"], orjson.dumps(raw).decode()))
    for chunk in chunks:
        openai_chunk(chunk)
    return chunks, decoder.done


def test_cohere_stream_tool_calls_are_indexed_per_call():
    request = t.ChatRequest("command-a-03-2025", (USER,), include_usage=True)
    chunks, done = decode_stream(TOOL_STREAM, request)
    assert done
    assert {(c.id, c.created, c.model) for c in chunks} == {("s-1", NOW, "command-a-03-2025")}
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0] == t.Delta(role="assistant", content="")
    assert {d.role for d in deltas[1:]} == {None}, "only the first chunk carries the role"
    assert [d.reasoning_content for d in deltas[1:3]] == ["I will ", "call both."]
    assert [d.tool_calls for d in deltas[3:7]] == [
        (t.ToolCallDelta(0, "lookup_0", "function", "lookup", ""),), (t.ToolCallDelta(0, arguments='{"q":'),),
        (t.ToolCallDelta(0, arguments='"x"}'),), (t.ToolCallDelta(1, "fetch_1", "function", "fetch", "{}"),)]
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == () and chunks[-1].usage == t.Usage(3, 9, 12)


def test_cohere_stream_text_thinking_logprobs_and_citations_without_usage_chunk():
    chunks, done = decode_stream(TEXT_STREAM, t.ChatRequest("command-a", (USER,)))
    assert done and all(c.usage is None for c in chunks)
    choices = [c.choices[0] for c in chunks]
    assert [c.delta.reasoning_content for c in choices[1:2]] == ["hmm"]
    assert [c.delta.content for c in choices[2:4]] == ["Par", "is"]
    assert choices[2].logprobs == {"content": [{"token": "Par", "logprob": -0.75, "bytes": [80, 97, 114],
                                                "top_logprobs": []}], "refusal": None}
    assert choices[4].delta.extra["citations"][0]["text"] == "Paris"
    assert choices[-1].finish_reason == "stop" and len(chunks) == 6


def test_cohere_stream_role_goes_first_even_without_message_start():
    chunks, done = decode_stream(TEXT_STREAM[4:7])
    assert not done and chunks[0].choices[0].delta == t.Delta(role="assistant", content="Par", extra=t.EMPTY)


@pytest.mark.parametrize(("data", "kind"), [
    ('{"type": "message-end", "delta": {"error": "overloaded", "finish_reason": "ERROR"}}', e.ProviderRejected),
    ('{"type": "message-end", "delta": {"finish_reason": "ERROR"}}', e.ProviderRejected),
    ('{"message": "internal server error"}', e.ProviderRejected),
    ("{not json", e.ProviderBadResponse),
    ("[1]", e.ProviderBadResponse),
    ('{"type": "tool-call-delta", "index": 4, "delta": {"message": {"tool_calls": {"function": {"arguments": "x"}}}}}',
     e.ProviderBadResponse),
    ('{"type": "tool-call-start", "index": 0, "delta": {"message": {}}}', e.ProviderBadResponse),
])
def test_cohere_stream_errors(data, kind):
    with pytest.raises(kind) as caught:
        COHERE.chat_stream_decoder().decode(SseEvent("message-end", data))
    assert caught.value.provider == "cohere"


def test_cohere_stream_in_band_error_message():
    event = SseEvent("message-end", '{"type": "message-end", "delta": {"error": "overloaded"}}')
    with pytest.raises(e.ProviderRejected) as caught:
        COHERE.chat_stream_decoder().decode(event)
    assert caught.value.message == "cohere error: overloaded" and caught.value.status == 500


# --- embeddings, models, errors ---------------------------------------------------------------------------------------


def test_cohere_encode_embeddings_passes_the_strict_sdk_oracle():
    cases = [
        (t.EmbeddingsRequest("embed-v4.0", ("a", "b"), dimensions=256), {"output_dimension": 256}),
        (t.EmbeddingsRequest("embed-v4.0", ("a",), extra={"input_type": "search_query", "truncate": "END"}),
         {"input_type": "search_query", "truncate": "END"}),
    ]
    for request, expected in cases:
        call = COHERE.encode_embeddings(request, TARGET)
        body = orjson.loads(call.body)
        assert oracles_cohere.embed_request_errors(body) == [], body
        assert call.url == "https://api.cohere.com/v2/embed"
        assert {**{"input_type": "search_document", "embedding_types": ["float"]}, **expected}.items() <= body.items()
    target = t.Target("cohere", "k", override_params={"model": "embed-v3", "dimensions": 512})
    body = orjson.loads(COHERE.encode_embeddings(cases[0][0], target).body)
    assert (body["model"], body["output_dimension"], body["texts"]) == ("embed-v3", 512, ["a", "b"])


@pytest.mark.parametrize(("request_", "field"), [
    (t.EmbeddingsRequest("embed-v4.0", token_inputs=((1, 2),)), "input"),
    (t.EmbeddingsRequest("embed-v4.0", ("a",), user="u"), "user"),
])
def test_cohere_encode_embeddings_refuses_what_cohere_cannot_express(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        COHERE.encode_embeddings(request_, TARGET)
    assert caught.value.violations[0].field == field


def test_cohere_decode_embeddings():
    raw = {"id": "e-1", "texts": ["a", "b"], "response_type": "embeddings_by_type",
           "embeddings": {"float": [[0.5, -1.0], [0.25, 0.0]]},
           "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 2}}}
    oracles_cohere.check_embed_response(raw)
    resp = COHERE.decode_embeddings(orjson.dumps(raw), t.EmbeddingsRequest("embed-v4.0", ("a", "b")))
    assert resp == t.EmbeddingsResponse("embed-v4.0", ([0.5, -1.0], [0.25, 0.0]), t.Usage(2, 0, 2))
    for broken in ({**raw, "embeddings": {"int8": [[1]]}}, {**raw, "embeddings": {"float": [1.0]}}):
        with pytest.raises(e.ProviderBadResponse):
            COHERE.decode_embeddings(orjson.dumps(broken))


def test_cohere_list_models():
    call = COHERE.encode_list_models(TARGET)
    assert (call.method, call.url, call.body) == ("GET", "https://api.cohere.com/v1/models?page_size=1000", None)
    assert "content-type" not in call.headers and call.headers["authorization"] == "Bearer co-test"
    raw = {"models": [{"name": "command-a-03-2025", "endpoints": ["chat"]}, {"name": "embed-v4.0"}]}
    oracles_cohere.check_models_response(raw)
    assert COHERE.decode_list_models(orjson.dumps(raw)) == [t.ModelInfo("command-a-03-2025", 0, "cohere"),
                                                            t.ModelInfo("embed-v4.0", 0, "cohere")]
    with pytest.raises(e.ProviderBadResponse):
        COHERE.decode_list_models(b'{"data": []}')


ERRORS = [
    (429, {"id": "r1", "message": "You are using a Trial key"}, {"retry-after": "2"}, e.RateLimited, 2.0),
    (400, {"id": "r2", "message": "invalid request: messages must not be empty"}, {}, e.ProviderRejected, None),
    (401, {"message": "no api key supplied"}, {}, e.ProviderRejected, None),
    (500, {"id": "r3", "message": "internal server error"}, {}, e.ProviderRejected, None),
    (503, {"id": "r4", "message": "overloaded"}, {"retry-after-ms": "1500"}, e.ProviderRejected, 1.5),
    (502, "<html>Bad Gateway</html>", {}, e.ProviderRejected, None),
    (500, "", {}, e.ProviderRejected, None),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "retry_after"), ERRORS)
def test_cohere_decode_error_by_status(status, body, headers, kind, retry_after):
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    error = COHERE.decode_error(status, raw, headers)
    assert type(error) is kind
    assert (error.status, error.http_status, error.retry_after, error.provider) == (status, status, retry_after,
                                                                                 "cohere")
    expected = body["message"] if isinstance(body, dict) else (body or f"HTTP {status}")
    assert error.message == f"cohere error: {expected}"


# --- against the loopback fake: what we send is accepted, what it answers decodes, stream == non-stream ------------


@pytest.fixture(scope="module")
def fake():
    with FakeCohere() as server:
        yield server


def send(call, fake) -> httpx.Response:
    url = call.url.replace("https://api.cohere.com", fake.base_url)
    return httpx.request(call.method, url, headers=dict(call.headers), content=call.body)


def accumulate(chunks: list[t.ChatChunk]) -> dict:
    """What a client assembles from the chunks: the same shape as `summary` of a non-stream answer."""
    text, reasoning, calls, citations, finish, usage = "", "", {}, [], None, None
    for chunk in chunks:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            reasoning += delta.reasoning_content or ""
            citations += delta.extra.get("citations", [])
            for call in delta.tool_calls:
                got = calls.setdefault(call.index, {"id": call.id, "name": call.name, "arguments": ""})
                got["arguments"] += call.arguments
            finish = choice.finish_reason or finish
    return {"content": text or None, "reasoning": reasoning or None, "finish": finish, "usage": usage,
            "tool_calls": [calls[i] for i in sorted(calls)], "citations": citations}


def summary(resp: t.ChatResponse) -> dict:
    choice = resp.choices[0]
    message = choice.message
    return {"content": message.content or None, "reasoning": message.reasoning_content, "finish": choice.finish_reason,
            "usage": resp.usage, "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                                                for c in message.tool_calls],
            "citations": list(message.extra.get("citations", []))}


FAKE_REQUESTS = {
    **REQUESTS,
    "parallel_tools": t.ChatRequest("command-a+parallel-tools+chunks-2", (USER,), tools=(
        t.FunctionTool("lookup", parameters=SCHEMA), t.FunctionTool("fetch"))),
    "thinking_and_tools": t.ChatRequest("command-a-reasoning", (USER,), tools=(t.FunctionTool("lookup"),),
                                        extra={"thinking": {"type": "enabled"}}),
    "stop_sequence": t.ChatRequest("command-a", (t.Message("user", "one two three"),), params={"stop": "two"}),
    "max_tokens": t.ChatRequest("command-a", (t.Message("user", "one two three"),), params={"max_tokens": 2}),
}


@pytest.mark.parametrize("case", list(FAKE_REQUESTS))
def test_cohere_round_trip_through_the_fake_stream_matches_non_stream(case, fake):
    request = dataclasses.replace(FAKE_REQUESTS[case], include_usage=True)
    answer = send(COHERE.encode_chat(request, TARGET, stream=False), fake)
    assert answer.status_code == 200, answer.text
    whole = COHERE.decode_chat(answer.content, request)
    openai_completion(whole)
    streamed = send(COHERE.encode_chat(request, TARGET, stream=True), fake)
    assert streamed.status_code == 200, streamed.text
    decoder, framer, chunks = COHERE.chat_stream_decoder(request), SseDecoder(), []
    for event in framer.feed(streamed.content) + framer.flush():
        assert not decoder.done, "nothing after message-end"
        chunks += decoder.decode(event)
    assert decoder.done
    for chunk in chunks:
        openai_chunk(chunk)
    roles = [c.choices[0].delta.role for c in chunks if c.choices]
    assert roles[0] == "assistant" and set(roles[1:]) == {None}
    assert {(c.id, c.created, c.model) for c in chunks} == {(chunks[0].id, NOW, request.model)}
    assert accumulate(chunks) == summary(whole)


def test_cohere_round_trip_embeddings_and_models(fake):
    request = t.EmbeddingsRequest("embed-v4.0", ("hello world", "bye"), dimensions=8)
    answer = send(COHERE.encode_embeddings(request, TARGET), fake)
    assert answer.status_code == 200, answer.text
    resp = COHERE.decode_embeddings(answer.content, request)
    assert [len(v) for v in resp.vectors] == [8, 8] and resp.usage == t.Usage(3, 0, 3)
    models = send(COHERE.encode_list_models(TARGET), fake)
    assert [m.id for m in COHERE.decode_list_models(models.content)][-1] == "embed-v4.0"


@pytest.mark.parametrize(("model", "kind", "status", "retry_after"), [
    ("command-a+error-429+retry-after-3", e.RateLimited, 429, 3.0),
    ("command-a+error-500", e.ProviderRejected, 500, None),
    ("command-a+error-404", e.ProviderRejected, 404, None),
])
def test_cohere_round_trip_errors(model, kind, status, retry_after, fake):
    answer = send(COHERE.encode_chat(t.ChatRequest(model, (USER,)), TARGET, stream=False), fake)
    error = COHERE.decode_error(answer.status_code, answer.content, answer.headers)
    assert (type(error), error.status, error.retry_after) == (kind, status, retry_after)
    assert error.message == f"cohere error: {answer.json()['message']}"


def test_cohere_round_trip_in_band_stream_error(fake):
    call = COHERE.encode_chat(t.ChatRequest("command-a+stream-error-1", (USER,)), TARGET, stream=True)
    decoder, framer = COHERE.chat_stream_decoder(), SseDecoder()
    with pytest.raises(e.ProviderRejected) as caught:
        for event in framer.feed(send(call, fake).content):
            decoder.decode(event)
    assert caught.value.message == "cohere error: internal server error during generation"
