"""The fake's text-completion routes (openai_completions_routes), proved with the official SDKs (provider-oracles.md
§4): OpenAI's legacy completions with `openai.OpenAI` and `openai.AzureOpenAI`, Mistral's FIM with `mistralai`. Every
reply is also re-validated from its raw bytes by the strict oracles (tests/oracles.py, tests/oracles_mistral.py)."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors
from openai import AzureOpenAI, OpenAI

from tests import oracles, oracles_mistral
from tests.fakes.conftest import sse_data

API_VERSION = "2024-10-21"
INSTRUCT = "gpt-3.5-turbo-instruct"
CODESTRAL = "codestral-latest"
BEARER = {"authorization": "Bearer k"}


@pytest.fixture
def mistral(fake):
    with Mistral(api_key="k", server_url=f"{fake.origin}/mistral") as client:
        yield client


@pytest.fixture
def azure(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, api_key="k", api_version=API_VERSION, azure_deployment="dep1",
                     max_retries=0) as client:
        yield client


def _stream(http: httpx2.Client, body: dict) -> tuple[list[dict], list[str]]:
    """POST a completions stream; every chunk checked by the oracle; returns (chunks, raw data lines)."""
    response = http.post("/completions", json={**body, "stream": True})
    assert response.status_code == 200, response.text
    lines = sse_data(response.content)
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    for chunk in chunks:
        oracles.check_completion_chunk(chunk)
    return chunks, lines


def _texts(chunks: list[dict]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            out[choice["index"]] = out.get(choice["index"], "") + choice["text"]
    return out


# --- OpenAI legacy completions ----------------------------------------------------------------------------------


def test_completions_string_prompt_answers_deterministic_text(client, fake):
    completion = client.completions.create(model=INSTRUCT, prompt="hello big world, how are you")
    [choice] = completion.choices
    assert (choice.text, choice.index, choice.finish_reason, choice.logprobs) == (
        "completion of: hello big world, how", 0, "stop", None)
    assert (completion.object, completion.model) == ("text_completion", INSTRUCT)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (6, 6, 12)
    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.oracle_errors) == ("POST", "/v1/completions", [])
    assert sent.json == {"model": INSTRUCT, "prompt": "hello big world, how are you"}


def test_completions_raw_body_is_openai_shaped(http):
    raw = http.post("/completions", json={"model": INSTRUCT, "prompt": "hi"}).json()
    oracles.check_completion(raw)
    assert set(raw) == {"id", "object", "created", "model", "choices", "usage", "system_fingerprint"}
    assert raw["id"].startswith("cmpl-") and isinstance(raw["created"], int)
    assert raw["choices"] == [{"text": "completion of: hi", "index": 0, "logprobs": None, "finish_reason": "stop"}]
    assert raw["usage"] == {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


def test_completions_list_prompt_with_n_orders_choices_prompt_major(client):
    completion = client.completions.create(model=INSTRUCT, prompt=["one two", "three"], n=2)
    assert [(c.index, c.text) for c in completion.choices] == [
        (0, "completion of: one two"), (1, "completion of: one two"),
        (2, "completion of: three"), (3, "completion of: three"),
    ]
    assert completion.usage.prompt_tokens == 3 and completion.usage.completion_tokens == 4 + 4 + 3 + 3


def test_completions_echo_and_suffix(client):
    echoed = client.completions.create(model=INSTRUCT, prompt="Say this", echo=True)
    assert echoed.choices[0].text == "Say thiscompletion of: Say this"
    filled = client.completions.create(model=INSTRUCT, prompt="def add(a, b):", suffix="    return a + b")
    assert filled.choices[0].text == "completion of: def add(a, b): before: return a + b"


@pytest.mark.parametrize(("params", "text", "finish"), [
    ({"stop": ["big"]}, "completion of: hello ", "stop"),
    ({"stop": "of"}, "completion ", "stop"),
    ({"max_tokens": 2}, "completion of:", "length"),
    ({"max_tokens": 2, "stop": ["hello"]}, "completion of: ", "stop"),  # the stop string comes within the limit
    ({"max_tokens": 2, "stop": ["big"]}, "completion of:", "length"),
    ({"max_tokens": 50, "stop": ["absent"]}, "completion of: hello big world", "stop"),
])
def test_completions_stop_and_max_tokens_cut_the_text(client, params, text, finish):
    choice = client.completions.create(model=INSTRUCT, prompt="hello big world", **params).choices[0]
    assert (choice.text, choice.finish_reason) == (text, finish)


@pytest.mark.parametrize(("prompt", "texts", "prompt_tokens"), [
    ([1, 2, 3], ["completion of: 1 2 3"], 3),
    ([[1, 2], [3]], ["completion of: 1 2", "completion of: 3"], 3),
])
def test_completions_token_prompts_are_accepted(client, fake, prompt, texts, prompt_tokens):
    completion = client.completions.create(model=INSTRUCT, prompt=prompt)
    assert [c.text for c in completion.choices] == texts and completion.usage.prompt_tokens == prompt_tokens
    assert fake.requests[-1].oracle_errors == []


def test_completions_logprobs_cover_generated_tokens(http):
    raw = http.post("/completions", json={"model": INSTRUCT, "prompt": "hi", "logprobs": 2, "echo": True}).json()
    oracles.check_completion(raw)
    logprobs = raw["choices"][0]["logprobs"]
    assert logprobs["tokens"] == ["completion ", "of: ", "hi"]
    assert logprobs["text_offset"] == [2, 13, 17]  # offsets in the echoed text
    assert [sorted(top) for top in logprobs["top_logprobs"]] == [["alt1", "completion "], ["alt1", "of: "],
                                                                 ["alt1", "hi"]]
    assert len(logprobs["token_logprobs"]) == 3


def test_completions_stream_with_usage_sdk_and_raw(client, http):
    stream = client.completions.create(model=INSTRUCT, prompt="hello big world", stream=True,
                                       stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "completion of: hello big world"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 3 + 5
    raw, _ = _stream(http, {"model": INSTRUCT, "prompt": "hello big world", "stream_options": {"include_usage": True}})
    finishes = [c["choices"][0]["finish_reason"] for c in raw[:-1]]
    assert finishes == [None] * (len(raw) - 2) + ["stop"] and len(raw) > 3  # text in pieces, finish on the last
    assert all(c["object"] == "text_completion" and c["usage"] is None for c in raw[:-1])
    assert raw[-1]["choices"] == [] and raw[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 5,
                                                             "total_tokens": 8}


def test_completions_stream_without_include_usage_has_no_usage(http):
    raw, _ = _stream(http, {"model": INSTRUCT, "prompt": "hi"})
    assert all("usage" not in c and len(c["choices"]) == 1 for c in raw)


def test_completions_stream_n_and_list_prompt_interleave_and_each_finish(client, http):
    chunks = list(client.completions.create(model=INSTRUCT, prompt=["a b", "c"], n=2, stream=True))
    assert _texts([c.model_dump() for c in chunks]) == {0: "completion of: a b", 1: "completion of: a b",
                                                        2: "completion of: c", 3: "completion of: c"}
    raw, _ = _stream(http, {"model": INSTRUCT, "prompt": ["a b", "c"], "n": 2})
    assert [c["choices"][0]["index"] for c in raw[:4]] == [0, 1, 2, 3]
    finished = [c["choices"][0]["index"] for c in raw if c["choices"][0]["finish_reason"] == "stop"]
    assert sorted(finished) == [0, 1, 2, 3]


def test_completions_stream_echo_stop_and_chunks_directive(http):
    raw, _ = _stream(http, {"model": f"{INSTRUCT}+chunks-2", "prompt": "hello big world", "echo": True, "stop": "big"})
    assert [c["choices"][0]["text"] for c in raw] == ["hello big world", "completion of: ", "hello "]
    assert raw[-1]["choices"][0]["finish_reason"] == "stop"


def test_completions_requests_are_recorded_per_model(fake, client):
    client.completions.create(model="m-record", prompt="x")
    list(client.completions.create(model="m-record", prompt="x", stream=True))
    assert fake.calls("m-record") == 2
    sent = fake.requests[-1]
    assert sent.json["stream"] is True and sent.ended.wait(5) and sent.stream_end == "complete"


# --- Azure OpenAI -----------------------------------------------------------------------------------------------


def test_azure_completions_reach_the_deployment_route(azure, fake):
    completion = azure.completions.create(model="gpt-35-turbo-instruct", prompt="hello there")
    assert completion.choices[0].text == "completion of: hello there"
    assert completion.choices[0].model_extra["content_filter_results"]["hate"]["filtered"] is False
    sent = fake.requests[-1]
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/dep1/completions", {"api-version": API_VERSION}, "k")
    assert sent.oracle_errors == []


def test_azure_completions_stream_and_raw_body(azure, fake):
    chunks = list(azure.completions.create(model="gpt-35-turbo-instruct", prompt="hello there", stream=True))
    assert chunks[0].choices == [] and chunks[0].model_extra["prompt_filter_results"]  # Azure's filter prelude
    assert "".join(c.choices[0].text for c in chunks[1:]) == "completion of: hello there"
    with httpx2.Client(base_url=fake.origin, headers={"api-key": "k"}) as raw:
        url = f"/openai/deployments/dep1/completions?api-version={API_VERSION}"
        body = raw.post(url, json={"prompt": "hi"}).json()  # no model: Azure answers as the deployment
        assert raw.post("/openai/deployments/dep1/completions", json={"prompt": "hi"}).status_code == 404
    oracles.check_completion(body, allow_extra=("prompt_filter_results",))
    assert body["model"] == "dep1"


# --- Mistral FIM ------------------------------------------------------------------------------------------------


def test_fim_complete_answers_the_middle(mistral, fake):
    result = mistral.fim.complete(model=CODESTRAL, prompt="def add(a, b):", suffix="return a + b", temperature=0,
                                  random_seed=7, stop=["\n\n"], min_tokens=1)
    [choice] = result.choices
    assert (choice.message.content, choice.message.role, choice.finish_reason) == (
        "completion of: def add(a, b): before: return a + b", "assistant", "stop")
    assert (result.object, result.model, result.usage.prompt_tokens, result.usage.completion_tokens) == (
        "chat.completion", CODESTRAL, 3 + 4, 10)
    sent = fake.requests[-1]
    assert (sent.path, sent.headers["authorization"], sent.oracle_errors) == (
        "/mistral/v1/fim/completions", "Bearer k", [])
    assert sent.json["suffix"] == "return a + b" and sent.json["random_seed"] == 7


def test_fim_raw_body_is_mistral_shaped(fake):
    body = {"model": CODESTRAL, "prompt": "x = ", "max_tokens": 2}
    raw = httpx2.post(f"{fake.mistral_url}/fim/completions", json=body, headers=BEARER).json()
    oracles_mistral.check_fim_response(raw)
    assert set(raw) == {"id", "object", "model", "usage", "created", "choices"} and len(raw["id"]) == 32
    assert raw["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "completion of:",
                                                       "tool_calls": None, "prefix": False},
                               "finish_reason": "length"}]


def test_fim_stream_sdk_and_raw(mistral, fake):
    events = list(mistral.fim.stream(model=CODESTRAL, prompt="def f():", suffix="pass"))
    chunks = [e.data for e in events]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "completion of: def f(): before: pass"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.total_tokens == 3 + 6
    raw = httpx2.post(f"{fake.mistral_url}/fim/completions", json={"model": CODESTRAL, "prompt": "a b", "stream": True},
                      headers=BEARER)
    assert raw.headers["content-type"].startswith("text/event-stream")
    checked = oracles_mistral.check_fim_sse(raw.content)
    assert all(c["object"] == "chat.completion.chunk" for c in checked)
    assert [c["choices"][0]["finish_reason"] for c in checked] == [None] * (len(checked) - 1) + ["stop"]
    assert [("usage" in c) for c in checked] == [False] * (len(checked) - 1) + [True]


def test_fim_refuses_unknown_keys_with_422_at_any_strictness(fake, lenient_server):
    for server in (fake, lenient_server):
        response = httpx2.post(f"{server.mistral_url}/fim/completions",
                               json={"model": CODESTRAL, "prompt": "x", "n": 2}, headers=BEARER)
        assert response.status_code == 422 and response.json()["object"] == "error"
        assert response.json()["message"]["detail"][0]["type"] == "extra_forbidden"
        assert response.json()["message"]["detail"][0]["loc"] == ["body", "n"]


def test_fim_strict_oracle_refuses_a_bad_type(fake, lenient_server):
    body = {"model": CODESTRAL, "prompt": ["not", "a string"]}
    response = httpx2.post(f"{fake.mistral_url}/fim/completions", json=body, headers=BEARER)
    assert response.status_code == 422
    assert response.json()["message"] == "oracle: prompt: Input should be a valid string"
    assert fake.requests[-1].oracle_errors == ["prompt: Input should be a valid string"]
    lenient = httpx2.post(f"{lenient_server.mistral_url}/fim/completions", json=body, headers=BEARER)
    assert lenient.status_code == 200


def test_fim_needs_a_bearer_key(fake):
    response = httpx2.post(f"{fake.mistral_url}/fim/completions", json={"model": CODESTRAL, "prompt": "x"})
    assert response.status_code == 401


# --- what each API lacks, directives, strictness ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mistral/v1/completions", "/v1/fim/completions",
                                  f"/openai/deployments/dep1/fim/completions?api-version={API_VERSION}"])
def test_routes_each_api_lacks_are_the_fakes_404(fake, path):
    response = httpx2.post(f"{fake.origin}{path}", json={"model": "m", "prompt": "x"}, headers=BEARER)
    assert response.status_code == 404 and response.json()["error"]["message"].startswith("Invalid URL (POST ")


def test_error_directive_with_retry_after_reaches_the_openai_sdk(client):
    with pytest.raises(openai.RateLimitError) as caught:
        client.completions.create(model=f"{INSTRUCT}+error-429+retry-after-ms-5", prompt="x")
    assert caught.value.response.headers["retry-after-ms"] == "5" and caught.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError):
        client.completions.create(model=f"{INSTRUCT}+error-503", prompt="x", stream=True)


def test_error_directive_reaches_the_mistral_sdk(mistral, fake):
    with pytest.raises(mistral_errors.SDKError) as caught:
        mistral.fim.complete(model=f"{CODESTRAL}+error-429+retry-after-2", prompt="x")
    assert caught.value.status_code == 429 and caught.value.headers["retry-after"] == "2"
    with pytest.raises(mistral_errors.SDKError) as streamed:
        list(mistral.fim.stream(model=f"{CODESTRAL}+error-500", prompt="x"))
    assert streamed.value.status_code == 500 and fake.calls(f"{CODESTRAL}+error-500") == 1


def test_stream_fault_directives_act_on_completions(client):
    received = []
    with pytest.raises(openai.APIError, match="The server had an error"):
        for chunk in client.completions.create(model="m+stream-error-1", prompt="hello big world", stream=True):
            received.append(chunk.choices[0].text)
    assert received == ["completion "]
    with pytest.raises(openai.APIConnectionError):
        list(client.completions.create(model="m+stream-break-1", prompt="hello", stream=True))


def test_flaky_and_delay_directives_act_on_fim(fake, mistral):
    with pytest.raises(mistral_errors.SDKError):
        mistral.fim.complete(model=f"{CODESTRAL}+flaky-1+delay-5", prompt="x")
    assert mistral.fim.complete(model=f"{CODESTRAL}+flaky-1+delay-5", prompt="x").choices[0].finish_reason == "stop"


def test_strict_oracle_rejects_an_unknown_completions_key(fake, lenient_server):
    with (OpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as sdk,
          pytest.raises(openai.BadRequestError) as caught):
        sdk.completions.create(model=INSTRUCT, prompt="x", extra_body={"top_k": 3})
    assert caught.value.message == "Error code: 400 - oracle: top_k: unknown key (extra inputs are not permitted)"
    assert fake.requests[-1].oracle_errors == ["top_k: unknown key (extra inputs are not permitted)"]
    with OpenAI(base_url=lenient_server.base_url, api_key="k", max_retries=0) as sdk:
        assert sdk.completions.create(model=INSTRUCT, prompt="x", extra_body={"top_k": 3}).choices[0].text


# --- the oracles bite -------------------------------------------------------------------------------------------


def test_oracles_completions_request_errors_are_readable():
    assert oracles.completions_request_errors({"model": "m", "prompt": [[1, 2], [3]], "best_of": 2, "seed": 1}) == []
    # chat's boolean `logprobs` is not the legacy integer: a translator that copies it across is caught
    assert oracles.completions_request_errors({"model": "m", "prompt": "x", "logprobs": True}) == [
        "logprobs: Input should be a valid integer"]
    assert oracles.completions_request_errors({"model": "m"}) == ["prompt: Field required"]
    assert oracles.completions_request_errors({"model": "m", "prompt": "x", "stream": True,
                                               "stream_options": {"include_usage": True}}) == []
    assert oracles.completions_request_errors({"model": "m", "prompt": "x", "echo": "yes"}) == [
        "echo: Input should be a valid boolean"]


def test_oracles_completion_checks_reject_drift():
    good = {"id": "c", "object": "text_completion", "created": 1, "model": "m",
            "choices": [{"text": "x", "index": 0, "logprobs": None, "finish_reason": "stop"}]}
    oracles.check_completion(good)
    with pytest.raises(AssertionError, match="object: Input should be 'text_completion'"):
        oracles.check_completion({**good, "object": "chat.completion"})
    with pytest.raises(AssertionError, match=r"choices\[0\]\.finish_reason"):
        oracles.check_completion({**good, "choices": [{**good["choices"][0], "finish_reason": None}]})
    oracles.check_completion_chunk({**good, "choices": [{**good["choices"][0], "finish_reason": None}]})
    with pytest.raises(AssertionError, match=r"choices\[0\]\.finish_reason"):
        oracles.check_completion_chunk({**good, "choices": [{**good["choices"][0], "finish_reason": "end_turn"}]})


def test_oracles_mistral_checks_reject_drift():
    assert oracles_mistral.fim_request_errors({"model": "c", "prompt": "x", "stop": "\n", "metadata": {"a": 1}}) == []
    assert oracles_mistral.fim_request_errors({"model": "c", "prompt": "x", "top_k": 1}) == [
        "top_k: unknown key (extra inputs are not permitted)"]
    assert oracles_mistral.fim_request_errors({"model": "c", "prompt": "x", "stream": True}) == []
    good = {"id": "i", "object": "chat.completion", "model": "c", "created": 1,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}]}
    oracles_mistral.check_fim_response(good)
    with pytest.raises(AssertionError, match=r"choices\[0\]\.message\.refusal: unknown key"):
        oracles_mistral.check_fim_response({**good, "choices": [{**good["choices"][0], "message": {
            "role": "assistant", "content": "x", "refusal": None}}]})
    with pytest.raises(AssertionError, match=r"choices\[0\]\.finish_reason: Input should be"):
        oracles_mistral.check_fim_response({**good, "choices": [{**good["choices"][0], "finish_reason": "end"}]})
    with pytest.raises(AssertionError, match="usage.cost: unknown key"):
        oracles_mistral.check_fim_response({**good, "usage": {**good["usage"], "cost": 1}})
    chunk = {"id": "i", "model": "c", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}
    oracles_mistral.check_fim_chunk(chunk)
    with pytest.raises(AssertionError, match=r"data\.choices\[0\]\.text: unknown key"):
        oracles_mistral.check_fim_chunk({**chunk, "choices": [{**chunk["choices"][0], "text": "x"}]})
    with pytest.raises(AssertionError, match="ends with data: \\[DONE\\]"):
        oracles_mistral.check_fim_sse(b"data: " + json.dumps(chunk).encode() + b"\n\n")
