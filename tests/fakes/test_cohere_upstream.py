"""The fake Cohere upstream, proved with the official SDK (`cohere.ClientV2`, provider-oracles.md §4) and the strict
Cohere oracles (§3.5). Every reply is also re-validated from its raw bytes: the SDK builds objects loosely and skips a
malformed SSE event with only a warning."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import cohere
import httpx
import pytest
from cohere import errors as co_errors
from cohere.core.api_error import ApiError

from tests import oracles_cohere
from tests.fakes.cohere_upstream import FakeCohere

REPO = Path(__file__).resolve().parents[2]
HELLO = [{"role": "user", "content": "hello big world"}]
TOOLS = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "fetch", "description": "get a page", "parameters": {}}},
]


@pytest.fixture(scope="module")
def strict_cohere():
    with FakeCohere() as server:
        yield server


@pytest.fixture(scope="module")
def lenient_cohere():
    with FakeCohere(strict=False) as server:
        yield server


@pytest.fixture
def cohere_fake(strict_cohere):
    strict_cohere.clear()
    return strict_cohere


@pytest.fixture
def co(cohere_fake):
    return cohere.ClientV2(api_key="co-test", base_url=cohere_fake.base_url, max_retries=0)


@pytest.fixture
def raw(cohere_fake):
    with httpx.Client(base_url=cohere_fake.base_url, headers={"authorization": "Bearer co-test"}) as client:
        yield client


def chat_json(raw: httpx.Client, **body) -> dict:
    response = raw.post("/v2/chat", json={"model": "command-a", "messages": HELLO, **body})
    assert response.status_code == 200, response.text
    oracles_cohere.check_chat_response(response.json())
    return response.json()


def stream_events(raw: httpx.Client, **body) -> list[dict]:
    response = raw.post("/v2/chat", json={"model": "command-a", "messages": HELLO, **body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    return oracles_cohere.check_sse(response.content)


# --- the oracles themselves ---------------------------------------------------------------------------------------

BODY = {"model": "command-a", "messages": HELLO}
ORACLE_VERDICTS = [
    (BODY, []),
    ({**BODY, "messages": [{"role": "model", "content": "x"}]}, ["messages[0].role: Input should be one of"]),
    ({**BODY, "top_p": 0.5}, ["top_p: unknown key"]),
    ({**BODY, "messages": [{"role": "user", "content": "x", "name": "ann"}]}, ["messages[0].name: unknown key"]),
    ({**BODY, "messages": [{"role": "tool", "content": "42"}]}, ["messages[0].tool_call_id: Field required"]),
    ({**BODY, "tool_choice": "AUTO"}, ["tool_choice: 'AUTO' is not one of ['REQUIRED', 'NONE']"]),
    ({**BODY, "response_format": {"type": "json_schema"}}, ["response_format.type: Input should be one of"]),
    ({**BODY, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "u", "detail": "x"}}]}]},
     ["messages[0].content[0].image_url.detail: 'x' is not one of"]),
    ({**BODY, "tools": [{"type": "function", "function": {"name": "f"}}]}, ["tools[0].function.parameters: Field"]),
]


@pytest.mark.parametrize(("body", "expected"), ORACLE_VERDICTS)
def test_oracle_chat_request_verdicts(body, expected):
    errors = oracles_cohere.chat_request_errors(body)
    assert len(errors) == len(expected) and all(e.startswith(x) for e, x in zip(errors, expected, strict=True)), errors


def test_oracle_response_and_stream_verdicts():
    good = {"id": "x", "finish_reason": "COMPLETE", "message": {"role": "assistant"}}
    oracles_cohere.check_chat_response(good)
    with pytest.raises(AssertionError, match="finish_reason: 'stop' is not one of"):
        oracles_cohere.check_chat_response({**good, "finish_reason": "stop"})
    with pytest.raises(AssertionError, match=r"message\.refusal: unknown key"):
        oracles_cohere.check_chat_response({**good, "message": {"role": "assistant", "refusal": None}})
    with pytest.raises(AssertionError, match=r"delta\.message\.content\.txt: unknown key"):
        oracles_cohere.check_stream_event({"type": "content-delta", "delta": {"message": {"content": {"txt": "x"}}}})
    with pytest.raises(AssertionError, match="event name != data type"):
        oracles_cohere.check_sse(b'event: content-end\ndata: {"type": "content-start"}\n\n')
    with pytest.raises(AssertionError, match="unexpected error keys"):
        oracles_cohere.check_error_body({"message": "x", "error": "y"})
    assert oracles_cohere.embed_request_errors({"model": "e", "texts": ["a"]}) == ["input_type: Field required"]


# --- chat ---------------------------------------------------------------------------------------------------------


def test_chat_text_echoes_last_user_message(co, raw):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"}, *HELLO]
    answer = co.chat(model="command-a-03-2025", messages=messages)
    assert (answer.message.content[0].text, answer.finish_reason) == ("Echo: hello big world", "COMPLETE")
    assert (answer.usage.billed_units.input_tokens, answer.usage.billed_units.output_tokens) == (7, 4)
    assert (answer.usage.tokens.input_tokens, answer.usage.tokens.output_tokens) == (14, 4)
    body = chat_json(raw)
    assert body["message"] == {"role": "assistant", "content": [{"type": "text", "text": "Echo: hello big world"}]}


def test_chat_stream_events_in_cohere_order(co, raw):
    events = list(co.chat_stream(model="command-a+chunks-2", messages=HELLO))
    assert [e.type for e in events] == ["message-start", "content-start", "content-delta", "content-delta",
                                        "content-end", "message-end"]
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == "Echo: hello big world"
    assert events[-1].delta.finish_reason == "COMPLETE" and events[-1].delta.usage.billed_units.output_tokens == 4
    raw_events = stream_events(raw, model="command-a+chunks-2")
    assert [e["type"] for e in raw_events] == [e.type for e in events]
    assert raw_events[0] == {"type": "message-start", "id": raw_events[0]["id"],
                             "delta": {"message": {"role": "assistant"}}}


def test_chat_tool_calls_with_a_tool_plan(co, raw):
    answer = co.chat(model="command-a+parallel-tools", messages=HELLO, tools=TOOLS)
    assert answer.finish_reason == "TOOL_CALL" and answer.message.tool_plan == "I will call lookup and fetch."
    assert [(c.id, c.function.name) for c in answer.message.tool_calls] == [("lookup_0fake", "lookup"),
                                                                            ("fetch_1fake", "fetch")]
    assert json.loads(answer.message.tool_calls[0].function.arguments) == {"echo": "hello big world"}
    assert [c["function"]["name"] for c in chat_json(raw, tools=TOOLS)["message"]["tool_calls"]] == ["lookup"]
    assert chat_json(raw, tools=TOOLS, tool_choice="NONE")["finish_reason"] == "COMPLETE"


def test_chat_stream_tool_calls(co, raw):
    events = list(co.chat_stream(model="command-a+parallel-tools", messages=HELLO, tools=TOOLS))
    starts = [e for e in events if e.type == "tool-call-start"]
    assert [(e.index, e.delta.message.tool_calls.function.name) for e in starts] == [(0, "lookup"), (1, "fetch")]
    arguments = "".join(e.delta.message.tool_calls.function.arguments for e in events
                        if e.type == "tool-call-delta" and e.index == 1)
    assert json.loads(arguments) == {"echo": "hello big world"}
    assert "".join(e.delta.message.tool_plan for e in events if e.type == "tool-plan-delta").startswith("I will")
    assert stream_events(raw, tools=TOOLS)[-1]["delta"]["finish_reason"] == "TOOL_CALL"


def test_chat_tool_result_answers_text_and_unknown_ids_are_refused(co):
    call = {"id": "lookup_0fake", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    messages = [*HELLO, {"role": "assistant", "tool_calls": [call], "tool_plan": "look"},
                {"role": "tool", "tool_call_id": "lookup_0fake", "content": "42"}]
    answer = co.chat(model="command-a", messages=messages, tools=TOOLS)
    assert (answer.finish_reason, answer.message.content[0].text) == ("COMPLETE", "Echo: hello big world")
    with pytest.raises(co_errors.BadRequestError) as caught:  # what dropping assistant tool_calls leads to
        co.chat(model="command-a", messages=[*HELLO, messages[2]], tools=TOOLS)
    assert "tool call id 'lookup_0fake' not found" in caught.value.body["message"]


def test_chat_thinking_citations_logprobs_and_limits(raw):
    thought = chat_json(raw, thinking={"type": "enabled"})["message"]["content"]
    assert [block["type"] for block in thought] == ["thinking", "text"]
    cited = chat_json(raw, documents=["Paris is in France"])["message"]["citations"][0]
    assert cited["sources"][0]["document"] == {"text": "Paris is in France", "id": "doc:0"}
    assert [item["text"] for item in chat_json(raw, logprobs=True)["logprobs"]] == ["Echo: ", "hello ", "big ", "world"]
    stopped = chat_json(raw, stop_sequences=["big"])
    assert (stopped["finish_reason"], stopped["message"]["content"][0]["text"]) == ("STOP_SEQUENCE", "Echo: hello ")
    assert chat_json(raw, max_tokens=2)["finish_reason"] == "MAX_TOKENS"
    assert json.loads(chat_json(raw, response_format={"type": "json_object"})["message"]["content"][0]["text"]) == {
        "echo": "hello big world"}
    events = stream_events(raw, thinking={"type": "enabled"}, documents=["d"], logprobs=True)
    assert {"citation-start", "citation-end"} <= {e["type"] for e in events}
    assert all("logprobs" in e for e in events if e["type"] == "content-delta" and "text" in e["delta"]["message"][
        "content"])


# --- embed and models ---------------------------------------------------------------------------------------------


def test_embed_float_and_int8(co, raw):
    answer = co.embed(model="embed-v4.0", texts=["a b", "c"], input_type="search_query", embedding_types=["float"],
                      output_dimension=8)
    assert [len(v) for v in answer.embeddings.float_] == [8, 8] and answer.meta.billed_units.input_tokens == 3
    body = {"model": "embed-v4.0", "texts": ["a"], "input_type": "search_document",
            "embedding_types": ["float", "int8"]}
    response = raw.post("/v2/embed", json=body)
    oracles_cohere.check_embed_response(response.json())
    floats, ints = response.json()["embeddings"]["float"][0], response.json()["embeddings"]["int8"][0]
    assert ints == [round(v * 127) for v in floats] and len(floats) == 16
    refused = raw.post("/v2/embed", json={**body, "embedding_types": ["ubinary"]})
    assert refused.status_code == 400 and "ubinary" in oracles_cohere.check_error_body(refused.json())


def test_models_list(co, raw):
    assert [m.name for m in co.models.list().models] == ["command-a-03-2025", "command-r7b-12-2024", "embed-v4.0"]
    oracles_cohere.check_models_response(raw.get("/v1/models").json())


# --- errors and directives ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "kind", "status"), [
    ("command-a+error-429+retry-after-2", co_errors.TooManyRequestsError, 429),
    ("command-a+error-500", co_errors.InternalServerError, 500),
    ("command-a+error-404", co_errors.NotFoundError, 404),
    ("command-a+error-503", co_errors.ServiceUnavailableError, 503),
])
def test_error_directives(co, raw, model, kind, status):
    with pytest.raises(kind) as caught:
        co.chat(model=model, messages=HELLO)
    assert caught.value.status_code == status and set(caught.value.body) == {"id", "message"}
    response = raw.post("/v2/chat", json={**BODY, "model": model})
    oracles_cohere.check_error_body(response.json())
    if status == 429:
        assert response.headers["retry-after"] == "2"


def test_auth_and_routes(cohere_fake, co):
    missing = httpx.post(f"{cohere_fake.base_url}/v2/chat", json=BODY)
    assert (missing.status_code, missing.json()) == (401, {"message": "no api key supplied"})
    bad = cohere.ClientV2(api_key="sk-bad", base_url=cohere_fake.base_url, max_retries=0)
    with pytest.raises(co_errors.UnauthorizedError):
        bad.chat(model="command-a", messages=HELLO)
    assert httpx.get(f"{cohere_fake.base_url}/v1/chat").status_code == 404
    co.chat(model="command-a", messages=HELLO)
    record = cohere_fake.requests[-1]
    assert (record.path, record.headers["authorization"], record.json) == (
        "/v2/chat", "Bearer co-test", {"model": "command-a", "messages": HELLO, "stream": False})


def test_strict_mode_refuses_what_the_oracle_refuses(co, cohere_fake, lenient_cohere):
    with pytest.raises(ApiError) as caught:
        co.chat(model="command-a", messages=HELLO, request_options={"additional_body_parameters": {"top_p": 0.5}})
    assert caught.value.status_code == 400 and "top_p: unknown key" in caught.value.body["message"]
    assert cohere_fake.requests[-1].oracle_errors == ["top_p: unknown key (extra inputs are not permitted)"]
    lenient = httpx.post(f"{lenient_cohere.base_url}/v2/chat", json={**BODY, "top_p": 0.5},
                         headers={"authorization": "Bearer k"})
    assert lenient.status_code == 200
    for messages in ([], None, ["hi"]):
        refused = httpx.post(f"{lenient_cohere.base_url}/v2/chat", json={**BODY, "messages": messages},
                             headers={"authorization": "Bearer k"})
        assert refused.status_code == 400 and "messages" in oracles_cohere.check_error_body(refused.json())


def test_flaky_html_and_bad_json(raw):
    statuses = [raw.post("/v2/chat", json={**BODY, "model": "command-a+flaky-1"}).status_code for _ in range(2)]
    assert statuses == [503, 200]
    html = raw.post("/v2/chat", json={**BODY, "model": "command-a+html-502"})
    assert (html.status_code, html.headers["content-type"]) == (502, "text/html; charset=utf-8")
    with pytest.raises(json.JSONDecodeError):
        raw.post("/v2/chat", json={**BODY, "model": "command-a+bad-json"}).json()


def test_stream_error_break_and_bad_sse(co, raw, caplog):
    failed = stream_events(raw, model="command-a+stream-error-1")
    assert failed[-1] == {"type": "message-end", "delta": {"error": "internal server error during generation",
                                                           "finish_reason": "ERROR"}}
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post("/v2/chat", json={**BODY, "model": "command-a+stream-break-1", "stream": True})
    broken = raw.post("/v2/chat", json={**BODY, "model": "command-a+bad-sse", "stream": True})
    with pytest.raises(json.JSONDecodeError):
        oracles_cohere.check_sse(broken.content)
    with caplog.at_level(logging.WARNING):  # the SDK only warns, and invents an event: why raw bytes are checked
        events = list(co.chat_stream(model="command-a+bad-sse", messages=HELLO))
    assert [e.type for e in events].count("message-start") == 2 and events[1].model_extra["data"] == "{not json"
    assert events[-1].type == "message-end" and "Failed to parse SSE data field as JSON" in caplog.text


# --- command line -----------------------------------------------------------------------------------------------


def test_cli_serves_until_sigterm():
    command = [sys.executable, "-m", "tests.fakes.cohere_upstream", "--port", "0", "--no-strict"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            banner = process.stdout.readline()
            base_url = banner.split(" on ")[1].split()[0]
            client = cohere.ClientV2(api_key="k", base_url=base_url, max_retries=0)
            events = list(client.chat_stream(model="command-a", messages=HELLO))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
    assert banner.startswith("fake Cohere upstream listening on http://127.0.0.1:") and events[-1].type == "message-end"
