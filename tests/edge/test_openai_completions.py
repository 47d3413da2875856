"""edge/openai_completions.py: OpenAI completions JSON <-> proto (answers and chunks checked against the `openai`
SDK's Completion model), and through gateway_grpc/convert_completions.py to the neutral types and back."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from openai.types import Completion as SdkCompletion

from edge.openai_completions import completion_chunk_json, completion_json, completion_request_from_json
from edge.shapes import RequestShapeError
from gateway_grpc import convert_completions
from gateway_grpc import types as t
from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.v1 import chat_pb2, completions_pb2

Request = completions_pb2.CreateCompletionRequest


def extra(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


CASES = [
    ("one prompt", {"model": "m", "prompt": "hi"}, Request(model="m", prompt=["hi"])),
    ("prompt list", {"prompt": ["a", "b"]}, Request(prompt=["a", "b"], prompt_is_list=True)),
    ("fim", {"prompt": "def f(", "suffix": "return 1", "max_tokens": 5},
     Request(prompt=["def f("], suffix="return 1", max_tokens=5)),
    ("sampling", {"prompt": "x", "temperature": 0.5, "top_p": 0.9, "n": 2, "seed": 7, "best_of": 3, "echo": True,
                  "logprobs": 2, "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "u"},
     Request(prompt=["x"], temperature=0.5, top_p=0.9, n=2, seed=7, best_of=3, echo=True, logprobs=2,
             presence_penalty=0.1, frequency_penalty=0.2, user="u")),
    ("stop string", {"prompt": "x", "stop": "\n"}, Request(prompt=["x"], stop=["\n"])),
    ("stop list and logit_bias", {"prompt": "x", "stop": ["a", "b"], "logit_bias": {"50256": -100}},
     Request(prompt=["x"], stop=["a", "b"], logit_bias={"50256": -100})),
    ("stream usage", {"prompt": "x", "stream": True, "stream_options": {"include_usage": True}},
     Request(prompt=["x"], stream_options=chat_pb2.StreamOptions(include_usage=True))),
    ("unknown keys go to extra", {"prompt": "x", "min_tokens": 2},
     Request(prompt=["x"], extra=extra({"min_tokens": 2}))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "expected"), CASES, ids=[row[0] for row in CASES])
def test_openai_completions_json_maps_to_proto(case, body, expected):
    assert completion_request_from_json(body) == expected


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"model": "m"}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": []}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt[0]"),
        ({"prompt": ["a", [1]]}, "prompt[1]"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "x", "max_tokens": "many"}, "max_tokens"),
        ({"prompt": "x", "logit_bias": {"1": "up"}}, "logit_bias.1"),
        ({"prompt": "x", "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
    ],
)
def test_openai_completions_bad_bodies_name_the_field(body, path):
    with pytest.raises(RequestShapeError) as caught:
        completion_request_from_json(body)
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"model": "m", "prompt": "hi"}, CompletionRequest("m", "hi")),
        ({"model": "m", "prompt": ["a", "b"], "n": 2, "stream_options": {"include_usage": True}},
         CompletionRequest("m", ("a", "b"), {"n": 2}, include_usage=True)),
        ({"model": "m", "prompt": "x", "suffix": "", "stop": "s", "logit_bias": {"7": 5, "8": 0.5}, "min_tokens": 1},
         CompletionRequest("m", "x", {"stop": ["s"], "logit_bias": {"7": 5, "8": 0.5}},  # "" is no suffix
                           {"min_tokens": 1})),
    ],
)
def test_openai_completions_reach_the_neutral_request(body, expected):
    assert convert_completions.completion_request(completion_request_from_json(body)) == expected


LOGPROBS = {"tokens": ["This", " is"], "token_logprobs": [-0.1, -2]}
def test_openai_completions_several_prompts_without_the_list_flag_are_refused_not_dropped():
    with pytest.raises(InvalidRequest) as caught:
        convert_completions.completion_request(Request(model="m", prompt=["a", "b"]))
    assert caught.value.violations[0].field == "prompt"


ANSWER = Completion("cmpl-1", 1700000000, "gpt-3.5-turbo-instruct",
                    (CompletionChoice(0, "This is", "length", LOGPROBS),
                     CompletionChoice(1, "", "stop")),
                    t.Usage(5, 2, 7), "fp_1", {"warning": "deprecated"})


def test_openai_completions_answer_json_is_an_sdk_completion_with_provider():
    body = completion_json(convert_completions.completion_response(ANSWER, "openai"))
    parsed = SdkCompletion.model_validate(body)
    assert (parsed.id, parsed.object, parsed.model, parsed.system_fingerprint) == \
        ("cmpl-1", "text_completion", "gpt-3.5-turbo-instruct", "fp_1")
    assert [(c.index, c.text, c.finish_reason) for c in parsed.choices] == [(0, "This is", "length"), (1, "", "stop")]
    assert parsed.choices[0].logprobs.tokens == ["This", " is"] and parsed.choices[1].logprobs is None
    assert parsed.usage.total_tokens == 7
    assert body["provider"] == "openai" and body["warning"] == "deprecated"


def test_openai_completions_chunk_json_is_openais_chunk_without_provider():
    """As OpenAI streams them: `finish_reason` null until a choice ends (the SDK builds chunks unvalidated)."""
    chunk = Completion("cmpl-1", 1, "m", (CompletionChoice(0, "Hel"),))
    body = completion_chunk_json(convert_completions.completion_chunk(chunk, "openai").chunk)
    assert body == {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "text": "Hel", "finish_reason": None, "logprobs": None}]}
