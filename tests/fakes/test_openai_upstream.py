"""The fake OpenAI upstream, proved with the official SDK (provider-oracles.md §4) and the strict oracles (§2).

Every response kind is also re-validated from its raw bytes: the SDK builds objects without validating them.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests import oracles
from tests.fakes.conftest import HELLO, chat, sse_data, stream_chunks

REPO = Path(__file__).resolve().parents[2]
TOOLS = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "fetch", "parameters": {"type": "object", "properties": {}}}},
]


# --- chat -------------------------------------------------------------------------------------------------------


def test_chat_text_echoes_last_user_message(client):
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        *HELLO,
    ]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason, completion.model) == (
        "Echo: hello big world",
        "stop",
        "gpt-4o-mini",
    )
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        7,
        4,
        11,
    )


def test_chat_raw_body_is_openai_shaped(http):
    raw = http.post("/chat/completions", json=chat()).json()
    oracles.check_chat_completion(raw)
    assert (raw["object"], raw["service_tier"], raw["choices"][0]["logprobs"]) == ("chat.completion", "default", None)
    assert raw["system_fingerprint"].startswith("fp_") and isinstance(raw["created"], int)
    assert raw["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Echo: hello big world",
        "refusal": None,
        "annotations": [],
    }
    assert raw["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert raw["usage"]["completion_tokens_details"] == {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }


def test_chat_image_part_is_left_out_of_echo_and_usage(client):
    content = [
        {"type": "text", "text": "what is"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": "this"},
    ]
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": content}])
    assert completion.choices[0].message.content == "Echo: what is this"
    assert completion.usage.prompt_tokens == 3


def test_chat_tools_answer_with_first_tool_call(client, http):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=TOOLS)
    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("tool_calls", None)
    [call] = choice.message.tool_calls
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "lookup")
    assert json.loads(call.function.arguments) == {"echo": "hello big world"}
    oracles.check_chat_completion(http.post("/chat/completions", json=chat(tools=TOOLS)).json())


def test_chat_forced_tool_choice_calls_named_function(client):
    forced = {"type": "function", "function": {"name": "search"}}
    completion = client.chat.completions.create(
        model="m+parallel-tools", messages=HELLO, tools=TOOLS, tool_choice=forced
    )
    assert [c.function.name for c in completion.choices[0].message.tool_calls] == ["search"]


def test_chat_parallel_tools_directive_calls_every_tool(client):
    completion = client.chat.completions.create(model="m+parallel-tools", messages=HELLO, tools=TOOLS)
    calls = completion.choices[0].message.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [("call_0", "lookup"), ("call_1", "search"), ("call_2", "fetch")]


def test_chat_tool_choice_none_answers_text(client):
    completion = client.chat.completions.create(model="m", messages=HELLO, tools=TOOLS, tool_choice="none")
    assert (completion.choices[0].message.content, completion.choices[0].message.tool_calls) == (
        "Echo: hello big world",
        None,
    )


def test_chat_after_tool_result_answers_text(client):
    call = {"id": "call_0", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    messages = [
        *HELLO,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_0", "content": "42"},
    ]
    completion = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert (completion.choices[0].finish_reason, completion.choices[0].message.content) == (
        "stop",
        "Echo: hello big world",
    )


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {
            "type": "json_schema",
            "json_schema": {
                "name": "echo",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"echo": {"type": "string"}},
                    "required": ["echo"],
                    "additionalProperties": False,
                },
            },
        },
    ],
)
def test_chat_response_format_returns_json_content(client, response_format):
    completion = client.chat.completions.create(model="m", messages=HELLO, response_format=response_format)
    assert json.loads(completion.choices[0].message.content) == {"echo": "hello big world"}


def test_chat_n_returns_n_identical_choices(client):
    completion = client.chat.completions.create(model="m", messages=HELLO, n=3)
    assert [(c.index, c.message.content) for c in completion.choices] == [
        (i, "Echo: hello big world") for i in range(3)
    ]
    assert completion.usage.completion_tokens == 12


def test_chat_logprobs_has_one_entry_per_word(client, http):
    completion = client.chat.completions.create(model="m", messages=HELLO, logprobs=True, top_logprobs=2)
    entries = completion.choices[0].logprobs.content
    assert [e.token for e in entries] == ["Echo: ", "hello ", "big ", "world"]
    assert all(len(e.top_logprobs) == 2 and e.top_logprobs[0].token == e.token and e.logprob < 0 for e in entries)
    oracles.check_chat_completion(http.post("/chat/completions", json=chat(logprobs=True, top_logprobs=2)).json())


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_chat_token_limit_truncates_with_length(client, limit):
    completion = client.chat.completions.create(model="m", messages=HELLO, **{limit: 2})
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == ("Echo: hello", "length")
    assert completion.usage.completion_tokens == 2


async def test_chat_async_client_completes_and_streams(fake):
    async with AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as aclient:
        completion = await aclient.chat.completions.create(model="m", messages=HELLO)
        stream = await aclient.chat.completions.create(
            model="m", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    assert completion.choices[0].message.content == "Echo: hello big world"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello big world"
    assert chunks[-1].usage.total_tokens == 7


# --- streaming --------------------------------------------------------------------------------------------------


def test_stream_include_usage_sends_role_content_finish_usage_done(client, http):
    chunks = list(
        client.chat.completions.create(model="m", messages=HELLO, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == "Echo: hello big world"
    assert [c.choices[0].finish_reason for c in chunks[:-1]][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    raw, lines = stream_chunks(http, chat(stream_options={"include_usage": True}))
    assert lines[-1] == "[DONE]" and len(lines) == len(chunks) + 1
    assert all(c["usage"] is None for c in raw[:-1]) and all(c["obfuscation"] for c in raw)
    assert raw[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}


def test_stream_without_include_usage_omits_usage(http):
    raw, lines = stream_chunks(http, chat())
    assert all("usage" not in c for c in raw) and all(c["choices"] for c in raw) and lines[-1] == "[DONE]"


@pytest.mark.parametrize(("chunks", "expected"), [(1, 1), (2, 2), (4, 4), (30, len("Echo: hello big world"))])
def test_stream_chunks_directive_splits_content(http, chunks, expected):
    raw, _ = stream_chunks(http, chat(f"m+chunks-{chunks}", logprobs=True))
    pieces = [c["choices"][0] for c in raw if c["choices"][0]["delta"].get("content")]
    assert len(pieces) == expected and "".join(p["delta"]["content"] for p in pieces) == "Echo: hello big world"
    assert [e["token"] for p in pieces for e in p["logprobs"]["content"]] == ["Echo: ", "hello ", "big ", "world"]


def test_stream_parallel_tool_calls_reassemble_by_index(client, http):
    raw, _ = stream_chunks(http, chat("m+parallel-tools", tools=TOOLS))
    deltas = [d for c in raw for d in c["choices"][0]["delta"].get("tool_calls", [])]
    for index, call in enumerate(TOOLS):
        header, *fragments = [d for d in deltas if d["index"] == index]
        assert header == {
            "index": index,
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        assert len(fragments) >= 2 and all(
            set(f) == {"index", "function"} and set(f["function"]) == {"arguments"} for f in fragments
        )
    with client.chat.completions.stream(model="m+parallel-tools", messages=HELLO, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [("call_0", "lookup"), ("call_1", "search"), ("call_2", "fetch")]
    assert all(json.loads(c.function.arguments) == {"echo": "hello big world"} for c in calls)
    assert final.choices[0].finish_reason == "tool_calls"


def test_choice_extra_directive_adds_content_filter_results_and_a_delta_key(client, http):
    filters = {"hate": {"filtered": False, "severity": "safe"}}
    completion = client.chat.completions.create(model="m+choice-extra", messages=HELLO)
    assert completion.choices[0].model_extra == {"content_filter_results": filters}
    raw, _ = stream_chunks(http, chat("m+choice-extra"))
    assert all(c["choices"][0]["content_filter_results"] == filters for c in raw)
    assert all(c["choices"][0]["delta"]["reasoning_details"] == [] for c in raw)


def test_stream_n_choices_each_reassemble(http):
    raw, _ = stream_chunks(http, chat(n=2))
    texts = {
        i: "".join(c["choices"][0]["delta"].get("content") or "" for c in raw if c["choices"][0]["index"] == i)
        for i in (0, 1)
    }
    assert texts == {0: "Echo: hello big world", 1: "Echo: hello big world"}


def test_stream_break_directive_drops_connection_before_done(client):
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="m+stream-break-2", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Echo: ", "hello "]


def test_stream_error_directive_raises_api_error(client, http):
    received = []
    with pytest.raises(openai.APIError, match="The server had an error") as caught:
        for chunk in client.chat.completions.create(model="m+stream-error-1", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Echo: "] and caught.value.type == "server_error"
    lines = sse_data(http.post("/chat/completions", json=chat("m+stream-error-1", stream=True)).content)
    assert json.loads(lines[-1]) == {
        "error": {"message": caught.value.message, "type": "server_error", "param": None, "code": None}
    }


# --- embeddings and models --------------------------------------------------------------------------------------


def test_embeddings_sdk_default_base64_decodes_to_float_values(fake, client):
    default = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    floats = client.embeddings.create(model="text-embedding-3-small", input="hello world", encoding_format="float")
    assert [r.json["encoding_format"] for r in fake.requests] == ["base64", "float"]
    assert default.data[0].embedding == floats.data[0].embedding
    assert len(floats.data[0].embedding) == 16 and all(-1 <= v <= 1 for v in floats.data[0].embedding)
    assert floats.usage.prompt_tokens == 2


def test_embeddings_explicit_base64_is_little_endian_float32(client):
    encoded = client.embeddings.create(model="e", input="hi", encoding_format="base64", dimensions=8)
    floats = client.embeddings.create(model="e", input="hi", encoding_format="float", dimensions=8)
    assert list(struct.unpack("<8f", base64.b64decode(encoded.data[0].embedding))) == floats.data[0].embedding


@pytest.mark.parametrize(
    ("input_", "vectors", "tokens"),
    [
        ("one two three", 1, 3),
        (["one two", "three"], 2, 3),
        ([11, 22, 33], 1, 3),
        ([[11, 22], [33]], 2, 3),
    ],
)
def test_embeddings_accept_every_input_form(http, input_, vectors, tokens):
    for encoding in ("float", "base64"):
        raw = http.post("/embeddings", json={"model": "e", "input": input_, "encoding_format": encoding}).json()
        parsed = oracles.check_embeddings_response(raw)
        assert (len(parsed.data), parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (vectors, tokens, tokens)
        assert [d.index for d in parsed.data] == list(range(vectors))


def test_embeddings_are_deterministic_per_input(client):
    first = client.embeddings.create(model="e", input=["a", "b", "a"], dimensions=32).data
    again = client.embeddings.create(model="e", input="a", dimensions=32).data
    assert first[0].embedding == first[2].embedding == again[0].embedding != first[1].embedding
    assert len(first[0].embedding) == 32


def test_models_list_returns_three_models(client, http):
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
    oracles.check_models_page(http.get("/models").json())


# --- the oracle bites -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (chat(messages=[{"role": "robot", "content": "hi"}]), "messages[0].role: Input should be one of"),
        (chat(extra_body={"top_k": 3}), "top_k: unknown key"),
    ],
)
def test_oracle_strict_mode_rejects_invalid_chat_bodies(fake, lenient_server, body, error):
    with (
        OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        sdk.chat.completions.create(**body)
    assert caught.value.message.startswith(f"Error code: 400 - oracle: {error}")
    assert fake.requests[-1].oracle_errors[0].startswith(error)
    with OpenAI(base_url=lenient_server.base_url, api_key="sk-test", max_retries=0) as sdk:
        assert sdk.chat.completions.create(**body).choices[0].finish_reason == "stop"


def test_oracle_strict_mode_rejects_invalid_embeddings_body(http, lenient_server):
    body = {"model": "e", "input": "hi", "encoding_format": "int8"}
    raw = http.post("/embeddings", json=body)
    assert (raw.status_code, raw.json()["error"]["message"]) == (
        400,
        "oracle: encoding_format: Input should be 'float' or 'base64'",
    )
    lenient = httpx2.post(f"{lenient_server.base_url}/embeddings", json=body, headers={"authorization": "Bearer k"})
    assert lenient.status_code == 200


def test_oracles_request_errors_are_readable():
    tool_without_id = chat(messages=[*HELLO, {"role": "tool", "content": "42"}])
    anthropic_image = chat(messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}])
    assert oracles.chat_request_errors(tool_without_id) == ["messages[1].tool_call_id: Field required"]
    assert oracles.chat_request_errors(anthropic_image) == [
        "messages[0].content[0].type: Input should be one of 'text', 'image_url', 'input_audio', 'file'"
    ]
    assert oracles.chat_request_errors(chat(temperature="0.5")) == ["temperature: Input should be a valid number"]
    assert oracles.chat_request_errors(chat(stream=True, stream_options={"include_usage": True})) == []
    assert oracles.embeddings_request_errors({"model": "e", "input": [[1, 2], [3]]}) == []


def test_oracles_response_checks_reject_drift():
    good = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "finish_reason": "stop", "logprobs": None, "message": {"role": "assistant", "content": "x"}}
        ],
    }
    oracles.check_chat_completion({**good, "provider": "p"}, allow_extra=("provider",))
    with pytest.raises(AssertionError, match=r"unexpected top-level keys \['provider'\]"):
        oracles.check_chat_completion({**good, "provider": "p"})
    with pytest.raises(AssertionError, match=r"choices\[0\]\.finish_reason: Input should be"):
        oracles.check_chat_completion({**good, "choices": [{**good["choices"][0], "finish_reason": "end_turn"}]})
    with pytest.raises(AssertionError, match="created: Field required"):
        oracles.check_chat_completion({k: v for k, v in good.items() if k != "created"})
    usage_only = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    oracles.check_chat_chunk(usage_only)
    with pytest.raises(AssertionError, match="not base64"):
        oracles.check_embeddings_response(
            {
                "object": "list",
                "model": "e",
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
                "data": [{"object": "embedding", "index": 0, "embedding": "@@@"}],
            }
        )
    with pytest.raises(AssertionError, match="object: expected 'list'"):
        oracles.check_models_page({"object": "page", "data": []})


def test_oracles_make_strict_is_idempotent():
    assert oracles.make_strict() == oracles.make_strict() > 1000


# --- command line -----------------------------------------------------------------------------------------------


def test_cli_serves_until_sigterm():
    command = [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", "0", "--no-strict"]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    ) as process:
        try:
            banner = process.stdout.readline()
            base_url = banner.split(" on ")[1].split()[0]
            with OpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as sdk:
                chunks = list(sdk.chat.completions.create(model="m+chunks-2", messages=HELLO, stream=True))
                assert sdk.chat.completions.create(model="m", messages=[{"role": "robot", "content": "x"}]).choices
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
    assert banner.startswith("fake OpenAI upstream listening on http://127.0.0.1:") and len(chunks) == 4
