"""The fake Gemini upstream, proved with the official google-genai SDK (provider-oracles.md §4) and the strict
oracles (tests/oracles_gemini.py). The SDK parses leniently, so every answer is also re-validated from its raw bytes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from google import genai
from google.genai import errors, types

from tests import oracles_gemini
from tests.fakes import gemini_replies
from tests.fakes.gemini_upstream import FakeGemini

REPO = Path(__file__).resolve().parents[2]
MODEL = "gemini-2.5-flash"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello big world"}]}]}
LOOKUP = types.FunctionDeclaration(name="lookup", description="find", parameters_json_schema={
    "type": "object", "properties": {"q": {"type": "string"}}})
FETCH = types.FunctionDeclaration(name="fetch", parameters_json_schema={"type": "object", "properties": {}})
TOOLS = [types.Tool(function_declarations=[LOOKUP, FETCH])]


@pytest.fixture(scope="module")
def server():
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.clear()
    return server


@pytest.fixture
def client(fake):
    return genai.Client(api_key="k-test", http_options=types.HttpOptions(base_url=fake.origin))


@pytest.fixture
def http(fake):
    with httpx2.Client(base_url=fake.base_url, headers={"x-goog-api-key": "k-test"}) as raw:
        yield raw


def sse_events(raw: bytes) -> list[dict]:
    """Google separates events with \\r\\n\\r\\n; every `data:` line is one GenerateContentResponse."""
    text = raw.decode()
    assert text.endswith("\r\n\r\n") and "[DONE]" not in text
    events = [json.loads(block.removeprefix("data: ")) for block in text.split("\r\n\r\n") if block]
    for event in events:
        oracles_gemini.check_generate_content_response(event)
    return events


# --- generateContent ----------------------------------------------------------------------------------------------


def test_generate_content_echoes_with_usage_and_records_the_sdk_request(client, fake):
    config = types.GenerateContentConfig(system_instruction="be brief", temperature=0.5, max_output_tokens=50)
    response = client.models.generate_content(model=MODEL, contents="hello big world", config=config)
    assert (response.text, response.candidates[0].finish_reason) == ("Echo: hello big world", types.FinishReason.STOP)
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (5, 4, 9)
    assert response.model_version == MODEL and response.response_id.startswith("fake")
    [record] = fake.requests
    assert record.path == f"/v1/models/{MODEL}:generateContent"  # google-genai 3.6.1 calls v1 by default
    assert record.headers["x-goog-api-key"] == "k-test" and record.oracle_errors == []
    assert record.json["systemInstruction"] == {"parts": [{"text": "be brief"}], "role": "user"}
    assert record.json["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 50}
    assert oracles_gemini.generate_content_errors(record.json) == []  # the SDK's own body is camelCase here


def test_generate_content_raw_body_is_gemini_shaped(http):
    raw = http.post(f"/models/{MODEL}:generateContent", json=HELLO).json()
    oracles_gemini.check_generate_content_response(raw)
    assert raw["candidates"] == [{"index": 0, "finishReason": "STOP", "content": {
        "role": "model", "parts": [{"text": "Echo: hello big world"}]}}]


@pytest.mark.parametrize(("model", "config", "check"), [
    (f"{MODEL}+thinking", {}, lambda r: (r.text, r.usage_metadata.thoughts_token_count,
                                         r.candidates[0].content.parts[0].thought) == ("Echo: hi", 3, True)),
    (f"{MODEL}+safety", {}, lambda r: (r.candidates[0].finish_reason, r.candidates[0].content) == ("SAFETY", None)),
    (f"{MODEL}+blocked", {}, lambda r: (r.candidates, r.prompt_feedback.block_reason) == (None, "SAFETY")),
    (MODEL, {"max_output_tokens": 1}, lambda r: (r.text, r.candidates[0].finish_reason) == ("Echo:", "MAX_TOKENS")),
    (MODEL, {"candidate_count": 2}, lambda r: [c.index for c in r.candidates] == [0, 1]),
    (MODEL, {"response_mime_type": "application/json"}, lambda r: json.loads(r.text) == {"echo": "hi"}),
    (MODEL, {"response_logprobs": True, "logprobs": 2},
     lambda r: [len(t.candidates) for t in r.candidates[0].logprobs_result.top_candidates] == [2, 2]),
])
def test_generate_content_directives_and_config(client, fake, model, config, check):
    response = client.models.generate_content(model=model, contents="hi", config=types.GenerateContentConfig(**config))
    assert check(response)
    raw = httpx2.post(f"{fake.base_url}/models/{model}:generateContent", headers={"x-goog-api-key": "k"},
                      json={**fake.requests[-1].json})
    oracles_gemini.check_generate_content_response(raw.json())


# --- streamGenerateContent ------------------------------------------------------------------------------------------


def test_stream_yields_pieces_and_ends_with_finish_reason(client, fake):
    chunks = list(client.models.generate_content_stream(model=f"{MODEL}+chunks-2", contents="hello big world"))
    assert [c.text for c in chunks] == ["Echo: hello ", "big world"]
    assert [c.candidates[0].finish_reason for c in chunks] == [None, types.FinishReason.STOP]
    assert chunks[-1].usage_metadata.total_token_count == 7
    assert fake.requests[-1].path.endswith(":streamGenerateContent") and fake.requests[-1].query == {"alt": "sse"}
    assert (fake.calls(f"{MODEL}+chunks-2"), fake.calls(MODEL)) == (1, 0)


def test_stream_raw_events_use_crlf_and_no_done_marker(http):
    response = http.post(f"/models/{MODEL}+thinking:streamGenerateContent", params={"alt": "sse"}, json=HELLO)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.content)
    assert {e["responseId"] for e in events} == {events[0]["responseId"]}
    parts = [p for e in events for p in e["candidates"][0]["content"]["parts"]]
    assert [p.get("thought", False) for p in parts] == [True] * 5 + [False] * 4
    assert [e["candidates"][0].get("finishReason") for e in events][-2:] == [None, "STOP"]


def test_stream_without_alt_sse_is_one_json_array(http):
    events = http.post(f"/models/{MODEL}:streamGenerateContent", json=HELLO).json()
    assert isinstance(events, list) and "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == (
        "Echo: hello big world")


def test_stream_unfinished_ends_cleanly_without_a_finish_reason(http):
    events = sse_events(http.post(f"/models/{MODEL}+unfinished:streamGenerateContent?alt=sse", json=HELLO).content)
    assert len(events) == 3 and all("finishReason" not in e["candidates"][0] for e in events)


@pytest.mark.parametrize(("model", "error"), [
    (f"{MODEL}+stream-error-1", errors.ServerError),
    (f"{MODEL}+stream-break-1", httpx2.RemoteProtocolError),
])
def test_stream_faults_reach_the_sdk(client, model, error):
    received = []
    with pytest.raises(error):
        received.extend(c.text for c in client.models.generate_content_stream(model=model, contents="a b c"))
    assert received == ["Echo: "]


# --- function calling ---------------------------------------------------------------------------------------------


def test_function_calling_round_trip(client, fake):
    config = types.GenerateContentConfig(tools=TOOLS)
    first = client.models.generate_content(model=MODEL, contents="find x", config=config)
    [call] = first.function_calls
    assert (call.name, call.args) == ("lookup", {"echo": "find x"})
    assert first.candidates[0].content.parts[0].thought_signature == b"fake-thought-signature"
    history = [types.Content(role="user", parts=[types.Part(text="find x")]), first.candidates[0].content,
               types.Content(role="user", parts=[types.Part.from_function_response(name="lookup",
                                                                                   response={"output": "42"})])]
    second = client.models.generate_content(model=MODEL, contents=history, config=config)
    assert (second.text, second.function_calls) == ("Echo: find x", None)
    sent = fake.requests[-1].json["contents"]
    assert sent[1]["parts"][0]["thoughtSignature"] == gemini_replies.SIGNATURE and fake.requests[-1].oracle_errors == []


@pytest.mark.parametrize(("model", "calling", "names"), [
    (f"{MODEL}+parallel-tools", None, ["lookup", "fetch"]),
    (MODEL, {"mode": "ANY", "allowed_function_names": ["fetch"]}, ["fetch"]),
    (MODEL, {"mode": "NONE"}, []),
])
def test_function_calling_modes(client, model, calling, names):
    tool_config = types.ToolConfig(function_calling_config=calling) if calling else None
    config = types.GenerateContentConfig(tools=TOOLS, tool_config=tool_config)
    response = client.models.generate_content(model=model, contents="go", config=config)
    assert [c.name for c in response.function_calls or ()] == names


def test_function_calls_stream_as_one_event(client):
    chunks = list(client.models.generate_content_stream(
        model=f"{MODEL}+parallel-tools", contents="go", config=types.GenerateContentConfig(tools=TOOLS)))
    assert [[c.name for c in chunk.function_calls or ()] for chunk in chunks] == [["lookup", "fetch"]]


# --- embeddings and models ----------------------------------------------------------------------------------------


def test_embed_content_batches_with_dimensions(client, fake):
    result = client.models.embed_content(model="gemini-embedding-001", contents=["a", "b"],
                                         config=types.EmbedContentConfig(output_dimensionality=4))
    assert [len(e.values) for e in result.embeddings] == [4, 4] and result.embeddings[0] != result.embeddings[1]
    record = fake.requests[-1]
    assert record.path == "/v1/models/gemini-embedding-001:batchEmbedContents" and record.oracle_errors == []
    assert record.json["requests"][0]["model"] == "models/gemini-embedding-001"
    raw = httpx2.post(f"{fake.base_url}/models/gemini-embedding-001:batchEmbedContents", json=record.json,
                      headers={"x-goog-api-key": "k"}).json()
    oracles_gemini.check_embed_response(raw)


def test_embed_content_model_must_match_the_url(http):
    body = {"requests": [{"model": "models/other", "content": {"parts": [{"text": "a"}]}}]}
    response = http.post("/models/gemini-embedding-001:batchEmbedContents", json=body)
    assert response.status_code == 400 and "must match the model in the URL" in response.json()["error"]["message"]


def test_models_list(client, http):
    assert [m.name for m in client.models.list()] == [f"models/{name}" for name, _, _ in gemini_replies.MODELS]
    oracles_gemini.check_models_response(http.get("/models").json())


# --- auth and errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "params", "status", "state"), [
    ({}, {"key": "k"}, 200, None),
    ({}, {}, 403, "PERMISSION_DENIED"),
    ({"x-goog-api-key": "bad-key"}, {}, 400, "INVALID_ARGUMENT"),
])
def test_auth_by_header_or_query_key(fake, headers, params, status, state):
    response = httpx2.post(f"{fake.base_url}/models/{MODEL}:generateContent", headers=headers, params=params,
                           json=HELLO)
    assert response.status_code == status
    if state:
        assert oracles_gemini.check_error(response.json()).error.status == state


@pytest.mark.parametrize(("model", "kind", "status", "state"), [
    (f"{MODEL}+error-429", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    (f"{MODEL}+error-503", errors.ServerError, 503, "UNAVAILABLE"),
    (f"{MODEL}+error-500", errors.ServerError, 500, "INTERNAL"),
    (f"{MODEL}+error-404", errors.ClientError, 404, "NOT_FOUND"),
    (f"{MODEL}+no-such-directive", errors.ClientError, 400, "INVALID_ARGUMENT"),
])
def test_errors_use_googles_envelope(client, fake, model, kind, status, state):
    with pytest.raises(kind) as caught:
        client.models.generate_content(model=model, contents="x")
    assert (caught.value.code, caught.value.status) == (status, state)
    oracles_gemini.check_error(caught.value.details)
    if status == 429:
        retry = caught.value.details["error"]["details"][1]
        assert retry == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}


def test_unknown_method_and_version_are_404(http, fake):
    for url in (f"{fake.base_url}/models/{MODEL}:countTokens", f"{fake.origin}/v2/models/{MODEL}:generateContent"):
        response = http.post(url, json=HELLO)
        assert response.status_code == 404 and oracles_gemini.check_error(response.json()).error.code == 404


# --- the oracle bites -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "error"), [
    ({**HELLO, "model": "models/x"}, "model: Extra inputs are not permitted"),
    ({**HELLO, "generationConfig": {"max_tokens": 3}}, "generationConfig.max_tokens: Extra inputs"),
    ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "contents[0].role: 'system' is not one of"),
    ({"contents": [{"role": "function", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]},
     "contents[0].role: 'function'"),
    ({"contents": [{"role": "model", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]},
     "contents[0].parts[0].functionResponse: only in a 'user' turn"),
    ({**HELLO, "systemInstruction": {"role": "system", "parts": [{"text": "x"}]}}, "systemInstruction.role"),
    ({**HELLO, "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}, "<body>: SOMETIMES is not a valid"),
    ({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "@@"}}]}]},
     "contents[0].parts[0].inlineData.data: Data should be valid base64"),
])
def test_oracle_strict_mode_rejects_invalid_bodies(http, body, error):
    response = http.post(f"/models/{MODEL}:generateContent", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"oracle: {error}")


def test_oracle_camel_case_rule_is_ours_not_the_apis(http):
    body = {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {"max_output_tokens": 3}}
    assert oracles_gemini.generate_content_errors(body) == [
        "generationConfig.max_output_tokens: not the camelCase name 'maxOutputTokens'"]
    assert http.post(f"/models/{MODEL}:generateContent", json=body).status_code == 200  # the API takes both
    assert oracles_gemini.embed_request_errors({"requests": [{"model": "m", "content": {}, "dimensions": 3}]}) == [
        "requests[0].dimensions: Extra inputs are not permitted"]


def test_oracle_response_checks_reject_drift():
    with pytest.raises(AssertionError, match="candidates.0.finishReason|FinishReason"):
        oracles_gemini.check_generate_content_response({"candidates": [{"finishReason": "DONE"}]})
    with pytest.raises(AssertionError, match="choices"):
        oracles_gemini.check_generate_content_response({"choices": []})
    with pytest.raises(AssertionError, match="status"):
        oracles_gemini.check_error({"error": {"code": 400, "message": "x"}})


# --- command line -------------------------------------------------------------------------------------------------


def test_cli_serves_until_sigterm():
    command = [sys.executable, "-m", "tests.fakes.gemini_upstream", "--port", "0", "--no-strict"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}) as process:
        try:
            banner = process.stdout.readline()
            base_url = banner.split(" on ")[1].split()[0]
            origin = base_url.removesuffix("/v1beta")
            client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=origin))
            assert client.models.generate_content(model=MODEL, contents="hi").text == "Echo: hi"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
    assert banner.startswith("fake Gemini upstream listening on http://127.0.0.1:")
