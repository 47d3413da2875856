"""edge/openai_request.py: OpenAI chat JSON -> CreateChatCompletionRequest, field by field, and shape errors."""

from __future__ import annotations

import base64

import orjson
import pytest
from google.protobuf import struct_pb2

from edge.openai_request import chat_request_from_json, wants_stream
from edge.shapes import MAX_JSON_DEPTH, RequestShapeError
from gateway_grpc.v1 import chat_pb2

USER_HI = {"role": "user", "content": "hi"}


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def request(**fields) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(**fields)


def message(**fields) -> chat_pb2.Message:
    return chat_pb2.Message(**fields)


def user(*parts: chat_pb2.ContentPart) -> chat_pb2.Message:
    return message(role=chat_pb2.ROLE_USER, parts=list(parts))


def other_part(value: dict) -> chat_pb2.ContentPart:
    return chat_pb2.ContentPart(other=struct(value))


AUDIO = base64.b64encode(b"RIFF-wav").decode()

# (case, OpenAI JSON body, expected request)
CASES = [
    (
        "minimal",
        {"model": "gpt-4o", "messages": [USER_HI]},
        request(model="gpt-4o", messages=[message(role=chat_pb2.ROLE_USER, text="hi")]),
    ),
    (
        "every scalar parameter",
        {
            "temperature": 0.5, "top_p": 1, "max_tokens": 10, "max_completion_tokens": 20, "n": 2,
            "presence_penalty": -1, "frequency_penalty": 0.5, "seed": 2**40, "logprobs": True, "top_logprobs": 3,
            "user": "u-1", "parallel_tool_calls": False, "reasoning_effort": "low", "service_tier": "auto",
            "store": True,
        },
        request(
            temperature=0.5, top_p=1.0, max_tokens=10, max_completion_tokens=20, n=2, presence_penalty=-1.0,
            frequency_penalty=0.5, seed=2**40, logprobs=True, top_logprobs=3, user="u-1", parallel_tool_calls=False,
            reasoning_effort="low", service_tier="auto", store=True,
        ),
    ),
    ("an integral float is an integer", {"max_tokens": 10.0}, request(max_tokens=10)),
    ("stop as a string", {"stop": "END"}, request(stop=["END"])),
    ("stop as a list", {"stop": ["a", "b"]}, request(stop=["a", "b"])),
    (
        "logit bias and OpenAI metadata",
        {"logit_bias": {"50256": -100}, "metadata": {"team": "search"}},
        request(logit_bias={"50256": -100.0}, metadata={"team": "search"}),
    ),
    (
        "null means absent for modelled keys",
        {"temperature": None, "tools": None, "stop": None, "messages": [{"role": "assistant", "content": None}]},
        request(messages=[message(role=chat_pb2.ROLE_ASSISTANT)]),
    ),
    (
        "every role",
        {"messages": [{"role": r} for r in ("system", "developer", "user", "assistant", "tool", "function")]},
        request(messages=[message(role=r) for r in range(1, 7)]),
    ),
    (
        "text and image parts; a data: URL stays a URL",
        {"messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]}]},
        request(messages=[user(
            chat_pb2.ContentPart(text="what is this?"),
            chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://x/cat.png", detail="high")),
            chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="data:image/png;base64,iVBORw0KGgo=")),
        )]),
    ),
    (
        "input audio is decoded to bytes",
        {"messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": AUDIO, "format": "wav"}},
        ]}]},
        request(messages=[user(chat_pb2.ContentPart(input_audio=chat_pb2.AudioPart(data=b"RIFF-wav", format="wav")))]),
    ),
    (
        "file parts: id, data: URL, raw base64",
        {"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-1"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
            {"type": "file", "file": {"file_data": base64.b64encode(b"%PDF-").decode(), "filename": "b.pdf"}},
        ]}]},
        request(messages=[user(
            chat_pb2.ContentPart(file=chat_pb2.FilePart(file_id="file-1")),
            chat_pb2.ContentPart(file=chat_pb2.FilePart(url="data:application/pdf;base64,JVBERi0=", filename="a.pdf")),
            chat_pb2.ContentPart(file=chat_pb2.FilePart(data=b"%PDF-", filename="b.pdf")),
        )]),
    ),
    (
        "unknown part types and unmodelled keys inside a part body are kept verbatim in other",
        {"messages": [{"role": "user", "content": [
            {"type": "refusal", "refusal": "no"},
            {"type": "image_url", "image_url": {"url": "https://x/a.png", "format": "image/png"}},
        ]}]},
        request(messages=[user(
            other_part({"type": "refusal", "refusal": "no"}),
            other_part({"type": "image_url", "image_url": {"url": "https://x/a.png", "format": "image/png"}}),
        )]),
    ),
    (
        "unmodelled keys beside a typed part's body go to the part extra",
        {"messages": [{"role": "user", "content": [
            {"type": "text", "text": "cache me", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "https://x/a.png"}, "cache_control": {"type": "ephemeral"}},
            {"type": "file", "file": {"file_id": "file-1"}, "citations": {"enabled": True}},
        ]}]},
        request(messages=[user(
            chat_pb2.ContentPart(text="cache me", extra=struct({"cache_control": {"type": "ephemeral"}})),
            chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://x/a.png"),
                                 extra=struct({"cache_control": {"type": "ephemeral"}})),
            chat_pb2.ContentPart(file=chat_pb2.FilePart(file_id="file-1"),
                                 extra=struct({"citations": {"enabled": True}})),
        )]),
    ),
    (
        "assistant tool calls, tool answers, names, refusal, reasoning",
        {"messages": [
            {"role": "assistant", "content": None, "name": "bot", "refusal": "can't", "reasoning_content": "hmm",
             "tool_calls": [{"id": "call_1", "type": "function",
                             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]},
        request(messages=[
            message(role=chat_pb2.ROLE_ASSISTANT, name="bot", refusal="can't", reasoning_content="hmm", tool_calls=[
                chat_pb2.ToolCall(id="call_1", type="function",
                                  function=chat_pb2.FunctionCall(name="get_weather", arguments="{\"city\":\"Paris\"}")),
            ]),
            message(role=chat_pb2.ROLE_TOOL, tool_call_id="call_1", text="sunny"),
        ]),
    ),
    (
        "unmodelled tool call keys go to the tool call extra; a function object FunctionCall cannot hold too",
        {"messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "custom", "custom": {"name": "grep", "input": "x"}},
            {"id": "g", "type": "function", "function": {"name": "f", "arguments": "{}"},
             "extra_content": {"google": {"thought_signature": "sig"}}},
            {"id": "h", "function": {"name": "f", "arguments": "{}", "parsed": {}}},
        ]}]},
        request(messages=[message(role=chat_pb2.ROLE_ASSISTANT, tool_calls=[
            chat_pb2.ToolCall(id="c", type="custom", extra=struct({"custom": {"name": "grep", "input": "x"}})),
            chat_pb2.ToolCall(id="g", type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}"),
                              extra=struct({"extra_content": {"google": {"thought_signature": "sig"}}})),
            chat_pb2.ToolCall(id="h", type="function",
                              extra=struct({"function": {"name": "f", "arguments": "{}", "parsed": {}}})),
        ])]),
    ),
    (
        "unknown message keys go to the message extra",
        {"messages": [{"role": "assistant", "content": "hi", "audio": {"id": "audio_1"}, "function_call": None}]},
        request(messages=[message(role=chat_pb2.ROLE_ASSISTANT, text="hi",
                                  extra=struct({"audio": {"id": "audio_1"}, "function_call": None}))]),
    ),
    (
        "function tools and unknown tools",
        {"tools": [
            {"type": "function", "function": {"name": "f", "description": "d", "strict": True,
                                              "parameters": {"type": "object", "properties": {}}}},
            {"type": "function", "function": {"name": "g"}},
            {"type": "web_search_preview"},
            {"type": "function", "function": {"name": "h"}, "cache_control": {"type": "ephemeral"}},
        ]},
        request(tools=[
            chat_pb2.Tool(function=chat_pb2.FunctionDefinition(
                name="f", description="d", strict=True, parameters_json='{"type":"object","properties":{}}')),
            chat_pb2.Tool(function=chat_pb2.FunctionDefinition(name="g")),
            chat_pb2.Tool(other=struct({"type": "web_search_preview"})),
            chat_pb2.Tool(other=struct({"type": "function", "function": {"name": "h"},
                                        "cache_control": {"type": "ephemeral"}})),
        ]),
    ),
    ("tool choice mode", {"tool_choice": "required"}, request(tool_choice=chat_pb2.ToolChoice(mode="required"))),
    (
        "tool choice function",
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
        request(tool_choice=chat_pb2.ToolChoice(function_name="f")),
    ),
    (
        "other tool choice objects are kept verbatim",
        {"tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}},
        request(tool_choice=chat_pb2.ToolChoice(
            other=struct({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}))),
    ),
    (
        "json schema response format",
        {"response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "description": "d", "strict": True, "schema": {"type": "object"}}}},
        request(response_format=chat_pb2.ResponseFormat(
            type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
            json_schema=chat_pb2.JsonSchemaFormat(name="answer", description="d", strict=True,
                                                  schema_json='{"type":"object"}'))),
    ),
    (
        "json object response format",
        {"response_format": {"type": "json_object"}},
        request(response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT)),
    ),
    (
        "a response format type the enum lacks is kept whole in the response format extra",
        {"response_format": {"type": "grammar", "grammar": "root ::= x"}},
        request(response_format=chat_pb2.ResponseFormat(extra=struct({"type": "grammar", "grammar": "root ::= x"}))),
    ),
    (
        "unmodelled response format keys go to its extra",
        {"response_format": {"type": "json_object", "schema": {"type": "object"}}},
        request(response_format=chat_pb2.ResponseFormat(
            type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT, extra=struct({"schema": {"type": "object"}}))),
    ),
    (
        "a json_schema JsonSchemaFormat cannot hold keeps the response format whole in its extra",
        {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "x-order": 1}}},
        request(response_format=chat_pb2.ResponseFormat(extra=struct(
            {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "x-order": 1}}))),
    ),
    (
        "stream options",
        {"stream": True, "stream_options": {"include_usage": True}},
        request(stream_options=chat_pb2.StreamOptions(include_usage=True)),
    ),
    (
        "stream options StreamOptions does not model go to its extra",
        {"stream_options": {"include_usage": True, "include_obfuscation": False}},
        request(stream_options=chat_pb2.StreamOptions(include_usage=True,
                                                      extra=struct({"include_obfuscation": False}))),
    ),
    (
        "every unmodelled top-level key is passed through in extra; stream is not copied",
        {
            "model": "m", "stream": True, "prompt_cache_key": "k", "verbosity": "low", "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"}, "prediction": {"type": "content", "content": "x"},
            "web_search_options": {}, "top_k": 40, "functions": [{"name": "f"}], "options": {"provider": "x"},
        },
        request(model="m", extra=struct({
            "prompt_cache_key": "k", "verbosity": "low", "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"}, "prediction": {"type": "content", "content": "x"},
            "web_search_options": {}, "top_k": 40, "functions": [{"name": "f"}], "options": {"provider": "x"},
        })),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "expected"), CASES, ids=[row[0] for row in CASES])
def test_openai_request_chat_json_maps_to_proto(case, body, expected):
    assert chat_request_from_json(body) == expected


def test_openai_request_unknown_keys_keep_their_json_values():
    result = chat_request_from_json({"top_k": 40, "prediction": {"content": ["a", 1.5, None, True]}})

    assert result.extra.fields["top_k"].number_value == 40
    values = result.extra.fields["prediction"].struct_value.fields["content"].list_value.values
    assert [v.WhichOneof("kind") for v in values] == ["string_value", "number_value", "null_value", "bool_value"]


# (OpenAI JSON body, path, message)
SHAPE_ERRORS = [
    ({"messages": {}}, "messages", "expected an array, got an object"),
    ({"messages": ["hi"]}, "messages[0]", 'expected an object, got "hi"'),
    (
        {"messages": [{"role": "robot"}]},
        "messages[0].role",
        'expected one of system, developer, user, assistant, tool, function; got "robot"',
    ),
    ({"temperature": "hot"}, "temperature", 'expected a number, got "hot"'),
    ({"temperature": True}, "temperature", "expected a number, got true"),
    ({"max_tokens": 1.5}, "max_tokens", "expected an integer, got 1.5"),
    ({"max_tokens": 2**40}, "max_tokens", f"integer {2**40} is out of range"),
    ({"seed": "1"}, "seed", 'expected an integer, got "1"'),
    ({"model": 4}, "model", "expected a string, got 4"),
    ({"logprobs": "yes"}, "logprobs", 'expected a boolean, got "yes"'),
    (
        {"messages": [{"role": "user", "content": 5}]},
        "messages[0].content",
        "expected a string, an array or null, got 5",
    ),
    ({"messages": [{"content": [{"text": "x"}]}]}, "messages[0].content[0].type", "expected a string, got null"),
    (
        {"messages": [{"content": [{"type": "image_url", "image_url": "https://x"}]}]},
        "messages[0].content[0].image_url",
        'expected an object, got "https://x"',
    ),
    (
        {"messages": [{"content": [{"type": "input_audio", "input_audio": {"data": "not base64!", "format": "wav"}}]}]},
        "messages[0].content[0].input_audio.data",
        "expected base64 data",
    ),
    (
        {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}]}]},
        "messages[0].tool_calls[0].function.arguments",
        "expected a string, got an object",
    ),
    (
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
        "tools[0].function.parameters",
        "expected an object, got an array",
    ),
    ({"tool_choice": 5}, "tool_choice", "expected a string or an object, got 5"),
    ({"response_format": {"json_schema": {}}}, "response_format.type", "expected a string, got null"),
    ({"stop": ["a", 1]}, "stop[1]", "expected a string, got 1"),
    ({"logit_bias": {"50256": "x"}}, "logit_bias.50256", 'expected a number, got "x"'),
    ({"metadata": {"team": 1}}, "metadata.team", "expected a string, got 1"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", 'expected a boolean, got "yes"'),
]


@pytest.mark.parametrize(("body", "path", "message"), SHAPE_ERRORS, ids=[row[1] for row in SHAPE_ERRORS])
def test_openai_request_wrong_shape_names_the_path(body, path, message):
    with pytest.raises(RequestShapeError) as caught:
        chat_request_from_json(body)

    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {message}"


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_openai_request_schemas_keep_their_key_order():
    schema = {"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "number"}},
              "required": ["zeta", "alpha"], "additionalProperties": False}
    body = {"tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}}
    message = chat_request_from_json(body)
    for text in (message.tools[0].function.parameters_json, message.response_format.json_schema.schema_json):
        assert list(orjson.loads(text)) == ["type", "properties", "required", "additionalProperties"]
        assert list(orjson.loads(text)["properties"]) == ["zeta", "alpha"]


def test_openai_request_deepest_json_a_struct_can_carry_round_trips():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"a": nested(MAX_JSON_DEPTH - 5)}}}]
    wrapped = chat_pb2.StreamChatCompletionRequest(request=chat_request_from_json({"tools": tools}))

    assert chat_pb2.StreamChatCompletionRequest.FromString(wrapped.SerializeToString()) == wrapped


def test_openai_request_json_nested_too_deep_names_the_path():
    with pytest.raises(RequestShapeError) as caught:
        chat_request_from_json({"x": nested(MAX_JSON_DEPTH)})

    assert caught.value.path == "x" + "[0]" * (MAX_JSON_DEPTH - 1)
    assert caught.value.message == f"nested deeper than {MAX_JSON_DEPTH} levels, which the gateway cannot carry"


@pytest.mark.parametrize(("body", "expected"), [({}, False), ({"stream": None}, False), ({"stream": True}, True)])
def test_openai_request_wants_stream_reads_the_flag(body, expected):
    assert wants_stream(body) is expected


def test_openai_request_wants_stream_rejects_a_non_boolean():
    with pytest.raises(RequestShapeError, match=r'^stream: expected a boolean, got "yes"$'):
        wants_stream({"stream": "yes"})
