"""edge/openai_response.py: proto -> OpenAI JSON, every body validated raw by the OpenAI SDK's response types."""

from __future__ import annotations

import orjson
import pytest
from google.protobuf import struct_pb2
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from edge.openai_response import (
    SSE_DONE,
    chat_chunk_json,
    chat_completion_json,
    models_json,
    sse_event,
    struct_to_json,
)
from gateway_grpc.v1 import chat_pb2, models_pb2


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def completion(*choices: chat_pb2.Choice, **fields) -> chat_pb2.CreateChatCompletionResponse:
    base = {"id": "chatcmpl-1", "created": 1700000000, "model": "gpt-4o", "provider": "openai"}
    return chat_pb2.CreateChatCompletionResponse(choices=list(choices), **{**base, **fields})


def answer(finish=chat_pb2.FINISH_REASON_STOP, **message) -> chat_pb2.Choice:
    return chat_pb2.Choice(
        index=0, message=chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, **message), finish_reason=finish
    )


def rendered_completion(response: chat_pb2.CreateChatCompletionResponse) -> dict:
    body = chat_completion_json(response)
    ChatCompletion.model_validate(body)
    return body


def test_openai_response_text_completion_is_a_chat_completion():
    usage = chat_pb2.Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    body = rendered_completion(completion(answer(text="Hello"), usage=usage))

    assert body == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "provider": "openai",
    }


def test_openai_response_tool_calls_have_null_content():
    call = chat_pb2.ToolCall(id="call_1", type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}"))
    body = rendered_completion(completion(answer(chat_pb2.FINISH_REASON_TOOL_CALLS, tool_calls=[call])))

    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_response_tool_call_extras_are_merged_and_custom_calls_have_no_function():
    signature = {"google": {"thought_signature": "c2ln"}}
    calls = [
        chat_pb2.ToolCall(id="call_1", type="function", function=chat_pb2.FunctionCall(name="f", arguments="{}"),
                          extra=struct({"extra_content": signature, "id": "not me"})),
        chat_pb2.ToolCall(id="call_2", type="custom", extra=struct({"custom": {"name": "grep", "input": "x"}})),
    ]
    body = rendered_completion(completion(answer(chat_pb2.FINISH_REASON_TOOL_CALLS, tool_calls=calls)))

    assert body["choices"][0]["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "extra_content": signature},
        {"id": "call_2", "type": "custom", "custom": {"name": "grep", "input": "x"}},
    ]  # a modelled field (id) wins over an extra of the same name


def test_openai_response_choice_extras_are_merged():
    filters = {"hate": {"filtered": False, "severity": "safe"}}
    choice = answer(text="x")
    choice.extra.update({"content_filter_results": filters, "index": 7})
    body = rendered_completion(completion(choice))

    assert body["choices"][0] == {"index": 0, "message": {"role": "assistant", "content": "x", "refusal": None},
                                  "logprobs": None, "finish_reason": "stop", "content_filter_results": filters}
    assert ChatCompletion.model_validate(body).choices[0].model_extra == {"content_filter_results": filters}


@pytest.mark.parametrize("render", [chat_completion_json, chat_chunk_json])
def test_openai_response_finish_reason_the_enum_lacks_comes_from_extra(render):
    fields = {"finish_reason": chat_pb2.FINISH_REASON_UNSPECIFIED, "extra": struct({"finish_reason": "abort"})}
    if render is chat_completion_json:
        message = completion(chat_pb2.Choice(index=0, message=chat_pb2.Message(), **fields))
    else:
        message = chunk(chat_pb2.ChunkChoice(index=0, **fields))

    assert render(message)["choices"][0]["finish_reason"] == "abort"


def test_openai_response_message_extras_refusal_and_reasoning_are_rendered():
    annotations = [
        {"type": "url_citation", "url_citation": {"url": "u", "title": "t", "start_index": 0, "end_index": 3}}
    ]
    choice = answer(text="x", refusal="no", reasoning_content="thinking", extra=struct({"annotations": annotations}))
    body = rendered_completion(completion(choice))

    message = body["choices"][0]["message"]
    assert message["refusal"] == "no"
    assert message["reasoning_content"] == "thinking"
    assert message["annotations"] == annotations  # integral doubles came back as ints
    assert ChatCompletion.model_validate(body).choices[0].message.annotations[0].url_citation.end_index == 3


def test_openai_response_usage_details_only_for_reported_counts():
    usage = chat_pb2.Usage(
        prompt_tokens=10, completion_tokens=5, total_tokens=15, cached_tokens=0, reasoning_tokens=2,
        cache_creation_tokens=4,
    )  # fmt: skip
    body = rendered_completion(completion(answer(text="x"), usage=usage))

    assert body["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }


def test_openai_response_logprobs_are_rendered():
    top = chat_pb2.TopLogprob(token="Hi", logprob=-0.1, bytes=[72, 105])
    token = chat_pb2.TokenLogprob(token="Hi", logprob=-0.1, bytes=[72, 105], top_logprobs=[top])
    choice = answer(text="Hi")
    choice.logprobs.content.append(token)
    body = rendered_completion(completion(choice))

    assert body["choices"][0]["logprobs"] == {
        "content": [
            {"token": "Hi", "logprob": pytest.approx(-0.1), "bytes": [72, 105],
             "top_logprobs": [{"token": "Hi", "logprob": pytest.approx(-0.1), "bytes": [72, 105]}]},
        ],
        "refusal": None,
    }  # fmt: skip


def test_openai_response_optional_top_level_fields_and_extras():
    extra = struct({"service_hint": "x", "count": 5.0, "ratio": 0.5, "nested": {"ids": [1.0, 2.0]}, "model": "no"})
    response = completion(answer(text="x"), system_fingerprint="fp_1", service_tier="default", extra=extra)
    body = rendered_completion(response)

    assert body["system_fingerprint"] == "fp_1"
    assert body["service_tier"] == "default"
    assert (body["service_hint"], body["count"], body["ratio"], body["nested"]) == ("x", 5, 0.5, {"ids": [1, 2]})
    assert isinstance(body["count"], int)
    assert body["model"] == "gpt-4o"  # a modelled field wins over an extra of the same name


def test_openai_response_empty_optional_fields_are_absent():
    body = rendered_completion(completion(answer(text="x"), provider=""))

    assert {"usage", "system_fingerprint", "service_tier", "provider"}.isdisjoint(body)


def test_openai_response_struct_numbers_become_ints_when_integral():
    value = struct({"a": 5.0, "b": -2.0, "c": 2.5, "d": [1.0, {"e": 0.0}], "f": None, "g": True, "h": "s"})

    rendered = orjson.dumps(struct_to_json(value), option=orjson.OPT_SORT_KEYS)

    assert rendered == b'{"a":5,"b":-2,"c":2.5,"d":[1,{"e":0}],"f":null,"g":true,"h":"s"}'


# --- chunks ----------------------------------------------------------------------------------------------------------


def chunk(*choices: chat_pb2.ChunkChoice, **fields) -> chat_pb2.ChatCompletionChunk:
    base = {"id": "chatcmpl-1", "created": 1700000000, "model": "gpt-4o", "provider": "openai"}
    return chat_pb2.ChatCompletionChunk(choices=list(choices), **{**base, **fields})


def rendered_chunk(message: chat_pb2.ChatCompletionChunk) -> dict:
    body = chat_chunk_json(message)
    ChatCompletionChunk.model_validate(body)
    return body


CHUNK_CASES = [
    ("role only", chat_pb2.ChatDelta(role=chat_pb2.ROLE_ASSISTANT, content=""), {"role": "assistant", "content": ""}),
    ("content only", chat_pb2.ChatDelta(content="Hel"), {"content": "Hel"}),
    ("empty delta", chat_pb2.ChatDelta(), {}),
    ("refusal and reasoning", chat_pb2.ChatDelta(refusal="no", reasoning_content="r"),
     {"refusal": "no", "reasoning_content": "r"}),
    (
        "first tool call piece",
        chat_pb2.ChatDelta(tool_calls=[chat_pb2.ToolCallDelta(
            index=0, id="call_1", type="function", function=chat_pb2.FunctionCall(name="f", arguments=""))]),
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
    ),
    (
        "later tool call piece",
        chat_pb2.ChatDelta(tool_calls=[chat_pb2.ToolCallDelta(index=1, function=chat_pb2.FunctionCall(arguments="{"))]),
        {"tool_calls": [{"index": 1, "function": {"arguments": "{"}}]},
    ),
    (
        "tool call piece extras",
        chat_pb2.ChatDelta(tool_calls=[chat_pb2.ToolCallDelta(
            index=0, id="c", type="function", function=chat_pb2.FunctionCall(name="f"),
            extra=struct({"extra_content": {"google": {"thought_signature": "c2ln"}}}))]),
        {"tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": ""},
                         "extra_content": {"google": {"thought_signature": "c2ln"}}}]},
    ),
    (
        "delta extras: audio, annotations, legacy function_call; modelled keys win",
        chat_pb2.ChatDelta(content="x", extra=struct({
            "audio": {"id": "audio_1", "transcript": "x"}, "annotations": [],
            "function_call": {"name": "f", "arguments": ""}, "content": "not me"})),
        {"content": "x", "audio": {"id": "audio_1", "transcript": "x"}, "annotations": [],
         "function_call": {"name": "f", "arguments": ""}},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "delta", "expected"), CHUNK_CASES, ids=[row[0] for row in CHUNK_CASES])
def test_openai_response_chunk_delta_has_only_set_keys(case, delta, expected):
    body = rendered_chunk(chunk(chat_pb2.ChunkChoice(index=0, delta=delta)))

    assert body["object"] == "chat.completion.chunk"
    assert body["choices"] == [{"index": 0, "delta": expected, "logprobs": None, "finish_reason": None}]
    assert "usage" not in body
    assert "provider" not in body


def test_openai_response_final_chunks_carry_finish_reason_and_usage():
    finish = rendered_chunk(chunk(chat_pb2.ChunkChoice(index=0, finish_reason=chat_pb2.FINISH_REASON_LENGTH)))
    usage = rendered_chunk(chunk(usage=chat_pb2.Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)))

    assert finish["choices"][0]["finish_reason"] == "length"
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def test_openai_response_chunk_extras_are_merged():
    filters = {"content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}
    body = rendered_chunk(
        chunk(chat_pb2.ChunkChoice(index=0, extra=struct(filters)), extra=struct({"obfuscation": "abc"}),
              service_tier="flex")
    )

    assert (body["obfuscation"], body["service_tier"]) == ("abc", "flex")
    assert body["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None, **filters}]


def test_openai_response_sse_event_framing():
    assert sse_event({"a": "é"}) == 'data: {"a":"é"}\n\n'.encode()
    assert SSE_DONE == b"data: [DONE]\n\n"


# --- models ----------------------------------------------------------------------------------------------------------


def test_openai_response_models_list():
    response = models_pb2.ListModelsResponse(
        models=[models_pb2.Model(id="gpt-4o", created=1700000000, owned_by="openai", provider="openai")]
    )
    body = models_json(response)

    assert body == {
        "object": "list",
        "data": [{"id": "gpt-4o", "object": "model", "created": 1700000000, "owned_by": "openai"}],
    }
    for item in body["data"]:
        Model.model_validate(item)
