"""The Anthropic translator: every encoded body passes the strict anthropic SDK request types (and the exact body is
asserted); every decoded fixture is first proven Anthropic-shaped by the SDK response types, and every result, turned
into OpenAI JSON, passes the strict OpenAI oracle. Ends with a real call through ProviderCall to the loopback fake."""

from __future__ import annotations

import base64
from dataclasses import replace

import orjson
import pytest

from edge import openai_response
from gateway_grpc import convert
from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS, anthropic_request
from gateway_grpc.providers.anthropic import Anthropic
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from tests import oracles
from tests import oracles_anthropic as oracle
from tests.fakes.anthropic_upstream import FakeAnthropic, models_page

NOW = 1_700_000_000
PROVIDER = Anthropic(clock=lambda: NOW + 0.75)
TARGET = t.Target("anthropic", api_key="sk-ant-test")
USER = t.Message("user", "hello")
CACHE = {"cache_control": {"type": "ephemeral"}}
PNG = b"\x89PNG\r\n"
PNG64 = base64.b64encode(PNG).decode()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
THINKING = [{"type": "thinking", "thinking": "Paris, then Rome.", "signature": "c2ln"}]


def encode(request: t.ChatRequest, target: t.Target = TARGET, *, stream: bool = False) -> dict:
    return orjson.loads(PROVIDER.encode_chat(request, target, stream=stream).body)


def completion_json(response: t.ChatResponse) -> dict:
    """The neutral answer as the edge renders it, checked by the strict OpenAI oracle."""
    raw = openai_response.chat_completion_json(convert.chat_response(response, "anthropic"))
    oracles.check_chat_completion(raw, allow_extra=("provider",))
    return raw


def chunk_json(chunk: t.ChatChunk) -> dict:
    raw = openai_response.chat_chunk_json(convert.chat_chunk(chunk, "anthropic").chunk)
    oracles.check_chat_chunk(raw)
    return raw


# --- requests ---------------------------------------------------------------------------------------------------

# name -> (request, the exact body expected, minus model / max_tokens unless listed)
ENCODE = {
    "system_string": (
        t.ChatRequest("claude-sonnet-4-5", (t.Message("system", "be brief"), USER)),
        {"system": "be brief", "messages": [{"role": "user", "content": "hello"}]},
    ),
    "system_blocks_keep_cache_control": (
        t.ChatRequest("claude-sonnet-4-5", (
            t.Message("system", (t.TextPart("long rules", CACHE),)), USER, t.Message("developer", "and be kind"))),
        {"system": [{"type": "text", "text": "long rules", **CACHE}, {"type": "text", "text": "and be kind"}],
         "messages": [{"role": "user", "content": "hello"}]},
    ),
    "multimodal": (
        t.ChatRequest("claude-sonnet-4-5", (t.Message("user", (
            t.TextPart("what are these?", CACHE),
            t.ImagePart(url="https://example.com/a.png", detail="auto"),
            t.ImagePart(url=f"data:image/png;base64,{PNG64}"),
            t.ImagePart(data=PNG, media_type="image/webp", extra=CACHE),
            t.FilePart(data=b"%PDF-1.7", filename="a.pdf"),
            t.FilePart(url="data:application/pdf;base64,JVBERg=="),
            t.FilePart(url="data:text/plain;base64," + base64.b64encode("héllo".encode()).decode()),
            t.FilePart(file_id="file_011"),
            t.OtherPart({"type": "search_result", "source": "s", "title": "t",
                         "content": [{"type": "text", "text": "found"}]}),
        )),)),
        {"messages": [{"role": "user", "content": [
            {"type": "text", "text": "what are these?", **CACHE},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG64}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": PNG64}, **CACHE},
            {"type": "document", "title": "a.pdf",
             "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjc="}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "héllo"}},
            {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
            {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "found"}]},
        ]}]},
    ),
    "tool_round_trip": (
        t.ChatRequest(
            "claude-sonnet-4-5",
            (USER,
             t.Message("assistant", "Checking both.", tool_calls=(
                 t.ToolCall("toolu_1", "weather", '{"city": "Paris"}'), t.ToolCall("toolu_2", "weather", ""))),
             t.Message("tool", "18C", tool_call_id="toolu_1"),
             t.Message("tool", (t.TextPart("21C", CACHE),), tool_call_id="toolu_2"),
             t.Message("user", "thanks")),
            tools=(t.FunctionTool("weather", "Weather by city", WEATHER, True), t.FunctionTool("noop")),
            tool_choice=t.ToolChoice(mode="required"),
            params={"parallel_tool_calls": False},
        ),
        {"messages": [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2",
                 "content": [{"type": "text", "text": "21C", **CACHE}]}]},
            {"role": "user", "content": "thanks"}],
         "tools": [{"name": "weather", "description": "Weather by city", "input_schema": WEATHER, "strict": True},
                   {"name": "noop", "input_schema": {"type": "object", "properties": {}}}],
         "tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
    ),
    "forced_function": (
        t.ChatRequest("claude-sonnet-4-5", (USER,), tools=(t.FunctionTool("noop"),),
                      tool_choice=t.ToolChoice(function_name="noop")),
        {"messages": [{"role": "user", "content": "hello"}], "tool_choice": {"type": "tool", "name": "noop"},
         "tools": [{"name": "noop", "input_schema": {"type": "object", "properties": {}}}]},
    ),
    "server_tool_and_none": (
        t.ChatRequest("claude-sonnet-4-5", (USER,),
                      tools=(t.OtherTool({"type": "web_search_20250305", "name": "web_search", "max_uses": 2}),),
                      tool_choice=t.ToolChoice(mode="none"), params={"parallel_tool_calls": False}),
        {"messages": [{"role": "user", "content": "hello"}], "tool_choice": {"type": "none"},
         "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]},
    ),
    "sampling_and_no_op_defaults": (
        t.ChatRequest("claude-sonnet-4-5", (USER,), params={
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "stop": "END", "user": "u-1", "n": 1,
            "presence_penalty": 0, "frequency_penalty": 0.0, "logprobs": False, "store": False, "metadata": {},
            "logit_bias": {}, "service_tier": "default", "reasoning_effort": "high"}),
        {"max_tokens": 100, "messages": [{"role": "user", "content": "hello"}], "temperature": 0.2, "top_p": 0.9,
         "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}, "service_tier": "standard_only",
         "output_config": {"effort": "high"}},
    ),
    "max_completion_tokens_wins": (
        t.ChatRequest("claude-sonnet-4-5", (USER,), params={"max_tokens": 100, "max_completion_tokens": 50,
                                                           "stop": ["a", "b"]}),
        {"max_tokens": 50, "messages": [{"role": "user", "content": "hello"}], "stop_sequences": ["a", "b"]},
    ),
    "json_schema_and_extras_pass_through": (
        t.ChatRequest("claude-sonnet-4-5", (USER,),
                      response_format=t.ResponseFormat("json_schema",
                                                       t.JsonSchemaFormat("answer", WEATHER, strict=True)),
                      extra={"top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 1024}, **CACHE}),
        {"messages": [{"role": "user", "content": "hello"}], "top_k": 5, **CACHE,
         "thinking": {"type": "enabled", "budget_tokens": 1024},
         "output_config": {"format": {"type": "json_schema", "schema": WEATHER}}},
    ),
    "thinking_blocks_go_back": (
        t.ChatRequest("claude-sonnet-4-5", (
            USER,
            t.Message("assistant", None, tool_calls=(t.ToolCall("toolu_1", "weather", '{"city":"Rome"}', extra=CACHE),),
                      reasoning_content="Paris, then Rome.", extra={"thinking_blocks": THINKING, "annotations": []}),
            t.Message("tool", "20C", tool_call_id="toolu_1"),
            t.Message("assistant", "Done.", refusal=""))),
        {"messages": [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": [
                *THINKING,
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Rome"}, **CACHE}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "20C"}]},
            {"role": "assistant", "content": "Done."}]},
    ),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(ENCODE))
def test_anthropic_encode_chat_passes_the_strict_sdk_types(case, stream):
    request, expected = ENCODE[case]
    body = encode(request, stream=stream)
    assert oracle.message_request_errors(body) == []
    streamed = {"stream": True} if stream else {}
    assert body == {"model": "claude-sonnet-4-5", "max_tokens": 4096, **expected, **streamed}


def test_anthropic_encode_chat_url_headers_and_default_max_tokens():
    call = PROVIDER.encode_chat(ENCODE["system_string"][0], TARGET, stream=False)
    assert (call.method, call.url) == ("POST", "https://api.anthropic.com/v1/messages")
    assert dict(call.headers) == {"content-type": "application/json", "accept": "application/json",
                                  "anthropic-version": "2023-06-01", "x-api-key": "sk-ant-test"}
    assert orjson.loads(call.body)["max_tokens"] == anthropic_request.DEFAULT_MAX_TOKENS == 4096
    streamed = PROVIDER.encode_chat(ENCODE["system_string"][0], TARGET, stream=True)
    assert streamed.headers["accept"] == "text/event-stream"


def test_anthropic_encode_chat_honours_version_beta_custom_host_and_forwarded_headers():
    target = t.Target("anthropic", "k", base_url="http://127.0.0.1:9/v1/",
                      provider_options={"anthropic_version": "2024-01-01", "anthropic_beta": "files-api-2025-04-14"},
                      forward_headers={"x-team": "blue"})
    call = PROVIDER.encode_chat(ENCODE["system_string"][0], target, stream=False)
    assert call.url == "http://127.0.0.1:9/v1/messages"
    assert (call.headers["anthropic-version"], call.headers["anthropic-beta"], call.headers["x-team"]) == (
        "2024-01-01", "files-api-2025-04-14", "blue")


def test_anthropic_encode_chat_applies_override_params_before_translating():
    target = t.Target("anthropic", "k", override_params={"model": "claude-opus-4-1", "max_tokens": 9, "stop": "X",
                                                         "top_k": 3, "temperature": 0})
    body = encode(t.ChatRequest("claude-sonnet-4-5", (USER,), params={"temperature": 0.5}), target)
    assert oracle.message_request_errors(body) == []
    assert body == {"model": "claude-opus-4-1", "max_tokens": 9, "messages": [{"role": "user", "content": "hello"}],
                    "temperature": 0, "stop_sequences": ["X"], "top_k": 3}


def test_anthropic_maps_or_refuses_every_openai_parameter():
    handled = set(anthropic_request._PARAMS) | set(anthropic_request._NO_OP)
    assert set(t.CHAT_PARAMS) <= handled and not set(anthropic_request._PARAMS) & set(anthropic_request._NO_OP)


def _with(*messages: t.Message, **fields) -> t.ChatRequest:
    return t.ChatRequest("claude-sonnet-4-5", messages or (USER,), **fields)


def _parts(*parts: t.Part) -> t.ChatRequest:
    return _with(t.Message("user", parts))


CALL = t.ToolCall("toolu_1", "f", "{}")
# request -> the field the InvalidRequest names (never a silent drop)
REFUSED = [
    (_parts(t.AudioPart(b"RIFF", "wav")), "messages[0].content[0]"),
    (_parts(t.ImagePart(url="https://x/a.png", detail="high")), "messages[0].content[0].image_url.detail"),
    (_parts(t.ImagePart(url="data:image/bmp;base64,Qk0=")), "messages[0].content[0]"),
    (_parts(t.ImagePart(url="data:image/png,raw")), "messages[0].content[0].image_url.url"),
    (_parts(t.ImagePart(url="ftp://x/a.png")), "messages[0].content[0].image_url.url"),
    (_parts(t.FilePart(data=b"PK\x03\x04", filename="a.docx")), "messages[0].content[0]"),
    (_parts(t.FilePart(url="data:text/plain;base64,//79")), "messages[0].content[0].file.file_data"),
    (_parts(t.OtherPart({"type": "input_text", "text": "x"})), "messages[0].content[0].type"),
    (_with(t.Message("system", (t.ImagePart(url="https://x/a.png"),)), USER), "messages[0].content[0]"),
    (_with(t.Message("user", "hi", name="ann")), "messages[0].name"),
    (_with(USER, t.Message("tool", "42", name="f", tool_call_id="c")), "messages[1].name"),
    (_with(USER, t.Message("function", "42")), "messages[1].role"),
    (_with(USER, t.Message("assistant", "no", refusal="I can't")), "messages[1].refusal"),
    (_with(USER, t.Message("assistant", "x", reasoning_content="hmm")), "messages[1].reasoning_content"),
    (_with(USER, t.Message("assistant", "x", extra={"audio": {"id": "a1"}})), "messages[1].audio"),
    (_with(USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c", "", "", "custom"),))),
     "messages[1].tool_calls[0].type"),
    (_with(USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c", "f", "[1]"),))),
     "messages[1].tool_calls[0].function.arguments"),
    (_with(USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c", "f", "{oops"),))),
     "messages[1].tool_calls[0].function.arguments"),
    (_with(tools=(t.OtherTool({"type": "custom", "custom": {"name": "grep"}}),)), "tools[0].type"),
    (_with(tools=(t.FunctionTool("f"),), tool_choice=t.ToolChoice(other={"type": "allowed_tools"})), "tool_choice"),
    (_with(tool_choice=t.ToolChoice(function_name="f")), "tool_choice"),
    (_with(params={"n": 2}), "n"),
    (_with(params={"presence_penalty": 0.5}), "presence_penalty"),
    (_with(params={"seed": 7}), "seed"),
    (_with(params={"logprobs": True}), "logprobs"),
    (_with(params={"top_logprobs": 0}), "top_logprobs"),
    (_with(params={"logit_bias": {"50256": -100}}), "logit_bias"),
    (_with(params={"store": True}), "store"),
    (_with(params={"metadata": {"team": "a"}}), "metadata"),
    (_with(params={"reasoning_effort": "minimal"}), "reasoning_effort"),
    (_with(params={"service_tier": "flex"}), "service_tier"),
    (_with(response_format=t.ResponseFormat("json_object")), "response_format.type"),
    (_with(stream_extra={"include_obfuscation": False}), "stream_options.include_obfuscation"),
]


@pytest.mark.parametrize(("request_", "field"), REFUSED)
def test_anthropic_encode_chat_refuses_what_it_cannot_express(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        PROVIDER.encode_chat(request_, TARGET, stream=False)
    [violation] = caught.value.violations
    assert violation.field == field and "anthropic" in violation.description


def test_anthropic_has_no_embeddings_and_lists_models():
    with pytest.raises(e.InvalidRequest, match="anthropic does not support embeddings"):
        PROVIDER.encode_embeddings(t.EmbeddingsRequest("voyage-3", ("a",)), TARGET)
    call = PROVIDER.encode_list_models(TARGET)
    assert (call.method, call.url, call.body) == ("GET", "https://api.anthropic.com/v1/models?limit=1000", None)
    assert "content-type" not in call.headers and call.headers["x-api-key"] == "sk-ant-test"
    page = models_page()
    oracle.check_models_page(page)
    models = PROVIDER.decode_list_models(orjson.dumps(page))
    assert models[0] == t.ModelInfo("claude-opus-4-1-20250805", 1754352000, "anthropic") and len(models) == 3


# --- answers ----------------------------------------------------------------------------------------------------


def _message(content: list, stop_reason: str = "end_turn", **usage) -> dict:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, **usage}}


TOOL_USES = [{"type": "tool_use", "id": f"toolu_{i}", "name": "weather", "input": {"city": c}}
             for i, c in enumerate(["Paris", "Rome"])]
SEARCH = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
# name -> (Anthropic Message, expected OpenAI message, finish_reason, usage)
DECODE = {
    "text": (_message([{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]),
             {"role": "assistant", "content": "Hi there", "refusal": None}, "stop", {}),
    "parallel_tools": (_message(TOOL_USES, "tool_use"), {"role": "assistant", "content": None, "refusal": None,
                                                         "tool_calls": [
        {"id": "toolu_0", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
        {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}}]},
        "tool_calls", {}),
    "thinking_and_cache": (
        _message([*THINKING, {"type": "redacted_thinking", "data": "enc"}, {"type": "text", "text": "Rome."}],
                 cache_read_input_tokens=100, cache_creation_input_tokens=20,
                 output_tokens_details={"thinking_tokens": 3}, service_tier="standard"),
        {"role": "assistant", "content": "Rome.", "refusal": None, "reasoning_content": "Paris, then Rome.",
         "thinking_blocks": [*THINKING, {"type": "redacted_thinking", "data": "enc"}]},
        "stop", {"prompt_tokens": 130, "total_tokens": 135,
                 "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
                 "completion_tokens_details": {"reasoning_tokens": 3}}),
    "max_tokens": (_message([{"type": "text", "text": "Hi"}], "max_tokens"),
                   {"role": "assistant", "content": "Hi", "refusal": None}, "length", {}),
    "stop_sequence": (_message([{"type": "text", "text": "Hi"}], "stop_sequence"),
                      {"role": "assistant", "content": "Hi", "refusal": None}, "stop", {}),
    "refusal": (_message([{"type": "text", "text": "I can"}], "refusal"),
                {"role": "assistant", "content": "I can", "refusal": None}, "content_filter", {}),
    "server_tool_blocks_kept": (_message([SEARCH, {"type": "text", "text": "Found."}], "pause_turn"),
                                {"role": "assistant", "content": "Found.", "refusal": None,
                                 "content_blocks": [SEARCH]}, "stop", {}),
    "empty": (_message([], "max_tokens"), {"role": "assistant", "content": "", "refusal": None}, "length", {}),
}


@pytest.mark.parametrize("case", list(DECODE))
def test_anthropic_decode_chat_gives_valid_openai_answers(case):
    raw, message, finish, usage = DECODE[case]
    oracle.check_message(raw)
    response = PROVIDER.decode_chat(orjson.dumps(raw))
    body = completion_json(response)
    assert (body["id"], body["created"], body["model"], body["provider"]) == ("msg_01", NOW, "claude-sonnet-4-5",
                                                                              "anthropic")
    assert body["choices"] == [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, **usage}


def test_anthropic_decode_chat_maps_service_tier_and_every_stop_reason():
    standard = _message([], "end_turn", service_tier="standard")
    assert PROVIDER.decode_chat(orjson.dumps(standard)).service_tier == "default"
    for reason in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal",
                   "model_context_window_exceeded"):
        raw = _message([], reason)
        oracle.check_message(raw)
        assert completion_json(PROVIDER.decode_chat(orjson.dumps(raw)))["choices"][0]["finish_reason"] in (
            "stop", "length", "tool_calls", "content_filter")


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"type": "error", "error": {}}',
                                  orjson.dumps({**_message([]), "content": [{"text": "no type"}]})])
def test_anthropic_decode_chat_refuses_malformed_bodies(body):
    with pytest.raises(e.ProviderBadResponse):
        PROVIDER.decode_chat(body)


# --- streams ----------------------------------------------------------------------------------------------------


def _start(**usage) -> dict:
    message = {**_message([], None), "usage": {"input_tokens": 10, "output_tokens": 1, **usage}}
    return {"type": "message_start", "message": message}


def _block(index: int, block: dict) -> dict:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, **delta) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict:
    return {"type": "content_block_stop", "index": index}


def _end(reason: str, **usage) -> list[dict]:
    return [{"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
             "usage": {"output_tokens": 7, **usage}}, {"type": "message_stop"}]


PING = {"type": "ping"}
TEXT_EVENTS = [_start(), PING, _block(0, {"type": "text", "text": ""}), _delta(0, type="text_delta", text="Hi"),
               PING, _delta(0, type="text_delta", text=" there"), _stop(0), *_end("end_turn")]
TOOL_EVENTS = [
    _start(), PING, _block(0, {"type": "text", "text": ""}), _delta(0, type="text_delta", text="Checking."), _stop(0),
    *[event for i, city in ((1, "Paris"), (2, "Rome"), (3, "Oslo")) for event in (
        _block(i, {"type": "tool_use", "id": f"toolu_{i}", "name": "weather", "input": {}}),
        _delta(i, type="input_json_delta", partial_json=""),
        _delta(i, type="input_json_delta", partial_json='{"city": '),
        _delta(i, type="input_json_delta", partial_json=f'"{city}"}}'), _stop(i))],
    _block(4, {"type": "tool_use", "id": "toolu_4", "name": "now", "input": {}}), _stop(4),
    *_end("tool_use"),
]
THINKING_EVENTS = [
    _start(cache_read_input_tokens=100, cache_creation_input_tokens=20), _block(0, {"type": "thinking", "thinking": "",
                                                                                    "signature": ""}),
    _delta(0, type="thinking_delta", thinking="Paris, "), _delta(0, type="thinking_delta", thinking="then Rome."),
    _delta(0, type="signature_delta", signature="c2ln"), _stop(0),
    _block(1, {"type": "redacted_thinking", "data": "enc"}), _stop(1),
    _block(2, {"type": "text", "text": ""}), _delta(2, type="text_delta", text="Rome."), _stop(2),
    *_end("max_tokens", output_tokens_details={"thinking_tokens": 4}),
]


def _decode_stream(events: list[dict], include_usage: bool = True) -> tuple[list[dict], object]:
    """Each event validated by the Anthropic oracle, fed as SSE; each chunk rendered and checked by the OpenAI one."""
    decoder = PROVIDER.chat_stream_decoder(t.ChatRequest("m", (USER,), include_usage=include_usage))
    chunks = []
    for event in events:
        oracle.check_stream_event(event)
        assert not decoder.done
        chunks += [chunk_json(c) for c in decoder.decode(SseEvent(event["type"], orjson.dumps(event).decode()))]
    return chunks, decoder


def _deltas(chunks: list[dict]) -> list[dict]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def test_anthropic_stream_text_role_first_usage_last_same_ids():
    chunks, decoder = _decode_stream(TEXT_EVENTS)
    assert decoder.done
    assert _deltas(chunks) == [{"role": "assistant", "content": ""}, {"content": "Hi"}, {"content": " there"}, {}]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None, None, None, "stop"]
    assert {(c["id"], c["created"], c["model"]) for c in chunks} == {("msg_01", NOW, "claude-sonnet-4-5")}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 7,
                                                                   "total_tokens": 17}


def test_anthropic_stream_numbers_parallel_tool_calls_by_call_not_by_block():
    chunks, _ = _decode_stream(TOOL_EVENTS)
    calls = [d["tool_calls"] for d in _deltas(chunks) if "tool_calls" in d]
    assert [c for [c] in calls if "id" in c] == [
        {"index": k, "id": f"toolu_{k + 1}", "type": "function", "function": {"name": n, "arguments": ""}}
        for k, n in enumerate(["weather", "weather", "weather", "now"])]
    arguments: dict[int, str] = {}
    for [call] in calls:
        arguments[call["index"]] = arguments.get(call["index"], "") + call["function"]["arguments"]
    assert arguments == {0: '{"city": "Paris"}', 1: '{"city": "Rome"}', 2: '{"city": "Oslo"}', 3: "{}"}
    assert all(set(call) == {"index", "function"} for [call] in calls if "id" not in call)
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_anthropic_stream_thinking_signature_and_cache_usage():
    chunks, _ = _decode_stream(THINKING_EVENTS)
    deltas = _deltas(chunks)
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Paris, then Rome."
    assert [d["thinking_blocks"] for d in deltas if "thinking_blocks" in d] == [
        [{"type": "thinking", "signature": "c2ln"}], [{"type": "redacted_thinking", "data": "enc"}]]
    assert "".join(d.get("content", "") for d in deltas) == "Rome."
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"] == {"prompt_tokens": 130, "completion_tokens": 7, "total_tokens": 137,
                                   "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
                                   "completion_tokens_details": {"reasoning_tokens": 4}}


def test_anthropic_stream_without_include_usage_ends_at_the_finish_chunk():
    chunks, decoder = _decode_stream(TEXT_EVENTS, include_usage=False)
    assert decoder.done and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)


def test_anthropic_stream_ignores_pings_and_unknown_events():
    decoder = PROVIDER.chat_stream_decoder()
    assert decoder.decode(SseEvent("ping", '{"type": "ping"}')) == []
    assert decoder.decode(SseEvent("future_event", '{"type": "future_event", "x": 1}')) == []
    assert decoder.decode(SseEvent("", "")) == [] and not decoder.done


@pytest.mark.parametrize(("error", "kind", "status"), [
    ({"type": "overloaded_error", "message": "Overloaded"}, e.ProviderRejected, 529),
    ({"type": "rate_limit_error", "message": "slow down"}, e.RateLimited, 429),
    ({"type": "api_error", "message": "Internal server error"}, e.ProviderRejected, 500),
    ({"type": "brand_new_error", "message": "?"}, e.ProviderRejected, 500),
])
def test_anthropic_stream_in_band_error_raises_the_matching_provider_error(error, kind, status):
    decoder = PROVIDER.chat_stream_decoder()
    for event in TEXT_EVENTS[:4]:
        decoder.decode(SseEvent(event["type"], orjson.dumps(event).decode()))
    with pytest.raises(e.ProviderError) as caught:
        decoder.decode(SseEvent("error", orjson.dumps({"type": "error", "error": error}).decode()))
    assert type(caught.value) is kind
    assert (caught.value.status, caught.value.error_type, caught.value.message) == (
        status, error["type"], f"anthropic error: {error['message']}")


@pytest.mark.parametrize("data", ["{not json", "[1]", '{"type": "content_block_delta", "index": 0}'])
def test_anthropic_stream_refuses_malformed_events(data):
    with pytest.raises(e.ProviderBadResponse):
        PROVIDER.chat_stream_decoder().decode(SseEvent("content_block_delta", data))


# --- errors -----------------------------------------------------------------------------------------------------


def _envelope(type_: str, message: str) -> dict:
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_1"}


ERRORS = [
    (400, _envelope("invalid_request_error", "max_tokens: Field required"), {}, e.ProviderRejected, None),
    (401, _envelope("authentication_error", "invalid x-api-key"), {}, e.ProviderRejected, None),
    (404, _envelope("not_found_error", "model: claude-9"), {}, e.ProviderRejected, None),
    (429, _envelope("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
     {"retry-after": "7"}, e.RateLimited, 7.0),
    (500, _envelope("api_error", "Internal server error"), {}, e.ProviderRejected, None),
    (529, _envelope("overloaded_error", "Overloaded"), {"retry-after": "2"}, e.ProviderRejected, 2.0),
    (502, "<html>Bad Gateway</html>", {}, e.ProviderRejected, None),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "retry_after"), ERRORS)
def test_anthropic_decode_error_reads_the_envelope(status, body, headers, kind, retry_after):
    if isinstance(body, dict):
        oracle.check_error(body)
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    error = PROVIDER.decode_error(status, raw, headers)
    assert type(error) is kind
    assert (error.status, error.http_status, error.retry_after, error.provider) == (status, status, retry_after,
                                                                                 "anthropic")
    if isinstance(body, dict):
        assert error.message == f"anthropic error: {body['error']['message']}"
        assert error.error_type == body["error"]["type"]
    else:
        assert error.message == "anthropic error: <html>Bad Gateway</html>" and error.error_type == ""


# --- through the real transport to the loopback fake --------------------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def call(fake, monkeypatch):
    """ProviderCall with this provider under its slug (the registry entry the gateway will have)."""
    monkeypatch.setitem(PROVIDERS, "anthropic", PROVIDER)
    fake.clear()
    return ProviderCall(ProviderTransport())


def _ctx(fake: FakeAnthropic) -> t.CallContext:
    return t.CallContext("trace-1", target=t.Target("anthropic", "sk-ant-test", base_url=fake.base_url))


async def test_anthropic_through_provider_call_to_the_fake(call, fake):
    request = t.ChatRequest("claude+parallel-tools", (t.Message("system", "be brief"), t.Message("user", "hi there")),
                            tools=(t.FunctionTool("weather", parameters=WEATHER), t.FunctionTool("now")))
    answer = await call.complete(request, _ctx(fake))
    assert [c.name for c in answer.choices[0].message.tool_calls] == ["weather", "now"]
    streamed = [chunk async for chunk in call.stream(replace(request, include_usage=True), _ctx(fake))]
    calls = [d for c in streamed for ch in c.choices for d in ch.delta.tool_calls]
    assert sorted({d.index for d in calls}) == [0, 1] and streamed[-1].usage.prompt_tokens == 4
    plain = [chunk async for chunk in call.stream(request, _ctx(fake))]  # no include_usage: no usage anywhere
    assert plain and all(chunk.usage is None for chunk in plain) and all(chunk.choices for chunk in plain)
    assert [r.oracle_errors for r in fake.requests] == [[], [], []]
    assert fake.requests[0].headers["x-api-key"] == "sk-ant-test" and fake.requests[0].json["system"] == "be brief"
    models = await call.list_models(_ctx(fake))
    assert [m.id for m in models][:1] == ["claude-opus-4-1-20250805"] and fake.requests[-1].query == {"limit": "1000"}


async def test_anthropic_upstream_errors_through_provider_call(call, fake):
    with pytest.raises(e.ProviderRejected) as overloaded:
        await call.complete(t.ChatRequest("claude+error-529", (USER,)), _ctx(fake))
    assert (overloaded.value.status, overloaded.value.error_type) == (529, "overloaded_error")
    with pytest.raises(e.ProviderRejected) as in_band:
        [chunk async for chunk in call.stream(t.ChatRequest("claude+stream-error-1", (USER,)), _ctx(fake))]
    assert (in_band.value.status, in_band.value.message) == (529, "anthropic error: Overloaded")
