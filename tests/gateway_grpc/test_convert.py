"""Proto <-> neutral conversion: field-by-field tables, Struct number handling, request validation paths."""

import pytest
from google.protobuf import struct_pb2

from gateway_grpc import convert, convert_options
from gateway_grpc import types as t
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.v1 import chat_pb2, embeddings_pb2, options_pb2


def _struct(d):
    s = struct_pb2.Struct()
    s.update(d)
    return s


def test_convert_struct_restores_integers_and_nesting():
    raw = {"a": 1, "b": 1.5, "c": [1, 2.25, None, True, "x"], "d": {"e": -3}}
    assert convert.from_struct(_struct(raw)) == raw
    assert type(convert.from_struct(_struct({"n": 7}))["n"]) is int


def test_convert_chat_request_maps_every_modelled_field():
    msg = chat_pb2.CreateChatCompletionRequest(
        model="gpt-4o-mini",
        messages=[
            chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, text="be brief"),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, parts=[
                chat_pb2.ContentPart(text="what is this?"),
                chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://x/img.png", detail="low")),
                chat_pb2.ContentPart(input_audio=chat_pb2.AudioPart(data=b"RIFF", format="wav")),
            ]),
            chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, tool_calls=[chat_pb2.ToolCall(
                id="call_1", type="function", function=chat_pb2.FunctionCall(name="f", arguments='{"x":1}'))]),
            chat_pb2.Message(role=chat_pb2.ROLE_TOOL, text="42", tool_call_id="call_1"),
        ],
        tools=[chat_pb2.Tool(function=chat_pb2.FunctionDefinition(
            name="f", description="d", parameters=_struct({"type": "object", "properties": {}}), strict=True))],
        tool_choice=chat_pb2.ToolChoice(function_name="f"),
        response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT),
        temperature=0.2, max_tokens=64, n=2, stop=["\n"], seed=7, logprobs=True, top_logprobs=3,
        logit_bias={"50256": -100}, user="u1", parallel_tool_calls=False, metadata={"k": "v"},
        stream_options=chat_pb2.StreamOptions(include_usage=True),
        extra=_struct({"prompt_cache_key": "abc", "verbosity": "low"}),
    )
    req = convert.chat_request(msg)
    assert req.model == "gpt-4o-mini"
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool"]
    assert req.messages[0].content == "be brief"
    assert req.messages[1].content == (
        t.TextPart("what is this?"), t.ImagePart(url="https://x/img.png", detail="low"), t.AudioPart(b"RIFF", "wav"))
    assert req.messages[2].content is None
    assert req.messages[2].tool_calls == (t.ToolCall("call_1", "f", '{"x":1}'),)
    assert req.messages[3].tool_call_id == "call_1"
    assert req.tools == (t.FunctionTool("f", "d", {"type": "object", "properties": {}}, True),)
    assert req.tool_choice == t.ToolChoice(function_name="f")
    assert req.response_format == t.ResponseFormat("json_object")
    assert dict(req.params) == {
        "temperature": 0.2, "max_tokens": 64, "n": 2, "stop": ["\n"], "seed": 7, "logprobs": True,
        "top_logprobs": 3, "logit_bias": {"50256": -100}, "user": "u1", "parallel_tool_calls": False,
        "metadata": {"k": "v"},
    }
    assert dict(req.extra) == {"prompt_cache_key": "abc", "verbosity": "low"}
    assert req.include_usage is True


def test_convert_chat_request_unset_optionals_stay_unset():
    req = convert.chat_request(chat_pb2.CreateChatCompletionRequest(
        model="m", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="")]))
    assert req.params == {} and req.extra == {} and req.tools == () and req.tool_choice is None
    assert req.messages[0].content == ""  # an explicit empty string is kept, not turned into null


CACHE = {"cache_control": {"type": "ephemeral"}}
SIGNATURE = {"extra_content": {"google": {"thought_signature": "c2ln"}}}
# (case, proto request fields, neutral request attribute, expected value): every request-side extra is kept
REQUEST_EXTRAS = [
    ("typed parts keep their extra keys",
     {"messages": [chat_pb2.Message(role=chat_pb2.ROLE_USER, parts=[
         chat_pb2.ContentPart(text="hi", extra=_struct(CACHE)),
         chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="u"), extra=_struct(CACHE)),
         chat_pb2.ContentPart(input_audio=chat_pb2.AudioPart(data=b"a", format="wav"), extra=_struct(CACHE)),
         chat_pb2.ContentPart(file=chat_pb2.FilePart(file_id="f"), extra=_struct(CACHE))])]},
     lambda r: r.messages[0].content,
     (t.TextPart("hi", CACHE), t.ImagePart(url="u", extra=CACHE), t.AudioPart(b"a", "wav", CACHE),
      t.FilePart(file_id="f", extra=CACHE))),
    ("tool calls keep their extra keys; a custom call has no function",
     {"messages": [chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, tool_calls=[
         chat_pb2.ToolCall(id="a", type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}"),
                           extra=_struct(SIGNATURE)),
         chat_pb2.ToolCall(id="b", type="custom", extra=_struct({"custom": {"name": "g", "input": "x"}}))])]},
     lambda r: r.messages[0].tool_calls,
     (t.ToolCall("a", "f", "{}", "function", SIGNATURE),
      t.ToolCall("b", "", "", "custom", {"custom": {"name": "g", "input": "x"}}))),
    ("a response format type the enum lacks comes from its extra",
     {"response_format": chat_pb2.ResponseFormat(extra=_struct({"type": "grammar", "grammar": "root ::= x"}))},
     lambda r: r.response_format, t.ResponseFormat("grammar", None, {"grammar": "root ::= x"})),
    ("a typed response format keeps its extra keys",
     {"response_format": chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
                                                 extra=_struct({"schema": {}}))},
     lambda r: r.response_format, t.ResponseFormat("json_object", None, {"schema": {}})),
    ("a response format with neither a type nor an extra type is ignored",
     {"response_format": chat_pb2.ResponseFormat(extra=_struct({"grammar": "x"}))},
     lambda r: r.response_format, None),
    ("stream options keep their extra keys",
     {"stream_options": chat_pb2.StreamOptions(include_usage=True, extra=_struct({"include_obfuscation": False}))},
     lambda r: (r.include_usage, r.stream_extra), (True, {"include_obfuscation": False})),
    ("no extras: the shared EMPTY, nothing built",
     {"messages": [chat_pb2.Message(role=chat_pb2.ROLE_USER, parts=[chat_pb2.ContentPart(text="hi")])],
      "stream_options": chat_pb2.StreamOptions(include_usage=True)},
     lambda r: [r.messages[0].content[0].extra is t.EMPTY, r.stream_extra is t.EMPTY], [True, True]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "fields", "read", "expected"), REQUEST_EXTRAS, ids=[r[0] for r in REQUEST_EXTRAS])
def test_convert_chat_request_keeps_every_extra(case, fields, read, expected):
    base = {"model": "m", "messages": [chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi")]}
    value = read(convert.chat_request(chat_pb2.CreateChatCompletionRequest(**{**base, **fields})))
    assert value == expected


@pytest.mark.parametrize(
    ("msg", "fields"),
    [
        (chat_pb2.CreateChatCompletionRequest(), ["model", "messages"]),
        (chat_pb2.CreateChatCompletionRequest(model="m", messages=[chat_pb2.Message(text="hi")]), ["messages[0].role"]),
        (chat_pb2.CreateChatCompletionRequest(model="m", messages=[chat_pb2.Message(
            role=chat_pb2.ROLE_USER, parts=[chat_pb2.ContentPart()])]), ["messages[0].content[0]"]),
        (chat_pb2.CreateChatCompletionRequest(model="m", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER)],
                                              tools=[chat_pb2.Tool(function=chat_pb2.FunctionDefinition())]),
         ["tools[0].function.name"]),
    ],
)
def test_convert_chat_request_rejects_with_field_paths(msg, fields):
    with pytest.raises(InvalidRequest) as caught:
        convert.chat_request(msg)
    assert [v.field for v in caught.value.violations] == fields


def test_convert_chat_response_round_trips_usage_details_and_extras():
    resp = t.ChatResponse(
        id="chatcmpl-1", created=1700000000, model="gpt-4o-mini",
        choices=(t.Choice(0, t.Message("assistant", "hi", refusal=None, extra={"annotations": []}), "stop",
                          {"content": [{"token": "hi", "logprob": -0.1, "bytes": [104, 105], "top_logprobs": []}]}),),
        usage=t.Usage(3, 1, 4, cached_tokens=0, reasoning_tokens=0),
        system_fingerprint="fp_1", service_tier="default", extra={"custom": 1},
    )
    out = convert.chat_response(resp, "openai")
    assert (out.id, out.created, out.model, out.provider) == ("chatcmpl-1", 1700000000, "gpt-4o-mini", "openai")
    choice = out.choices[0]
    assert choice.message.role == chat_pb2.ROLE_ASSISTANT and choice.message.text == "hi"
    assert not choice.message.HasField("refusal")
    assert choice.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert choice.logprobs.content[0].bytes == [104, 105]
    assert out.usage.HasField("cached_tokens") and not out.usage.HasField("prompt_audio_tokens")
    assert convert.from_struct(out.extra) == {"custom": 1}
    assert convert.from_struct(choice.message.extra) == {"annotations": []}


def test_convert_chat_response_keeps_choice_tool_call_and_part_extras():
    filters = {"content_filter_results": {"hate": {"filtered": False}}}
    message = t.Message("assistant", (t.TextPart("a", CACHE), t.OtherPart({"type": "thinking", "thinking": "t"})),
                        tool_calls=(t.ToolCall("a", "f", "{}", extra=SIGNATURE),
                                    t.ToolCall("b", "", "", "custom", {"custom": {"input": "x"}})))
    resp = t.ChatResponse("c", 1, "m", (t.Choice(0, message, "tool_calls", extra=filters),
                                        t.Choice(1, t.Message("assistant", "b"), "abort")))
    out = convert.chat_response(resp, "openai")
    first, second = out.choices
    assert convert.from_struct(first.extra) == filters and first.finish_reason == chat_pb2.FINISH_REASON_TOOL_CALLS
    assert convert.from_struct(first.message.parts[0].extra) == CACHE
    assert convert.from_struct(first.message.parts[1].other) == {"type": "thinking", "thinking": "t"}
    call_a, call_b = first.message.tool_calls
    assert call_a.function.name == "f" and convert.from_struct(call_a.extra) == SIGNATURE
    assert not call_b.HasField("function") and convert.from_struct(call_b.extra) == {"custom": {"input": "x"}}
    # a finish reason the enum lacks travels in the choice extra
    assert second.finish_reason == chat_pb2.FINISH_REASON_UNSPECIFIED
    assert convert.from_struct(second.extra) == {"finish_reason": "abort"}
    assert not second.message.HasField("extra")


def test_convert_chunk_keeps_delta_choice_and_tool_call_extras():
    delta = t.Delta(content="x", tool_calls=(t.ToolCallDelta(0, "c", "function", "f", "", SIGNATURE),),
                    extra={"audio": {"id": "a1"}, "function_call": None})
    chunk = t.ChatChunk("c1", 1, "m", (t.ChunkChoice(0, delta, extra={"content_filter_results": {}}),
                                       t.ChunkChoice(1, t.Delta(content="y"))))
    first, second = convert.chat_chunk(chunk, "openai").chunk.choices
    assert convert.from_struct(first.delta.extra) == {"audio": {"id": "a1"}, "function_call": None}
    assert convert.from_struct(first.delta.tool_calls[0].extra) == SIGNATURE
    assert convert.from_struct(first.extra) == {"content_filter_results": {}}
    assert not (second.HasField("extra") or second.delta.HasField("extra"))


def test_convert_chunk_keeps_delta_presence_and_tool_indices():
    chunk = t.ChatChunk("c1", 1, "m", (t.ChunkChoice(0, t.Delta(role="assistant", content="", tool_calls=(
        t.ToolCallDelta(1, "call_b", "function", "g", ""),))),))
    out = convert.chat_chunk(chunk, "openai").chunk
    delta = out.choices[0].delta
    assert delta.role == chat_pb2.ROLE_ASSISTANT and delta.HasField("content") and delta.content == ""
    assert not delta.HasField("refusal")
    assert delta.tool_calls[0].index == 1 and delta.tool_calls[0].function.name == "g"
    assert out.choices[0].finish_reason == chat_pb2.FINISH_REASON_UNSPECIFIED
    assert not out.HasField("usage")


def test_convert_embeddings_request_requires_exactly_one_input_kind():
    req = convert.embeddings_request(embeddings_pb2.CreateEmbeddingsRequest(model="e", input=["a", "b"], dimensions=8))
    assert (req.inputs, req.dimensions) == (("a", "b"), 8)
    tokens = convert.embeddings_request(embeddings_pb2.CreateEmbeddingsRequest(
        model="e", token_input=[embeddings_pb2.TokenIds(ids=[1, 2])]))
    assert tokens.token_inputs == ((1, 2),)
    with pytest.raises(InvalidRequest):
        convert.embeddings_request(embeddings_pb2.CreateEmbeddingsRequest(model="e"))


def test_convert_typed_routing_config_becomes_portkey_json():
    config = options_pb2.RoutingConfig(
        strategy=options_pb2.RoutingStrategy(mode="conditional", default_target="b", conditions=[
            options_pb2.RoutingCondition(query=_struct({"metadata.tier": {"$eq": "gold"}}), then="a")]),
        targets=[options_pb2.RoutingConfig(name="a", provider="openai", weight=2),
                 options_pb2.RoutingConfig(name="b", provider="groq", provider_options={"api_version": "v1"})],
        retry=options_pb2.RetryPolicy(attempts=3),
    )
    opts = convert_options.call_options(options_pb2.RequestOptions(routing_config=config), {})
    raw = opts.routing_config
    assert raw["strategy"] == {"mode": "conditional", "default": "b",
                               "conditions": [{"query": {"metadata.tier": {"$eq": "gold"}}, "then": "a"}]}
    assert raw["targets"][0] == {"name": "a", "provider": "openai", "weight": 2}
    assert raw["targets"][1]["api_version"] == "v1"
    assert raw["retry"] == {"attempts": 3}


def test_convert_typed_routing_config_leaves_the_callers_own_json_alone():
    config = options_pb2.RoutingConfig(provider="openai", override_params=_struct(
        {"default_target": "mine", "provider_options": {"k": 1}, "max_tokens": 5}))
    raw = convert_options.call_options(options_pb2.RequestOptions(routing_config=config), {}).routing_config
    assert raw["override_params"] == {"default_target": "mine", "provider_options": {"k": 1}, "max_tokens": 5}
