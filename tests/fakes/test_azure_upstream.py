"""The fake's Azure OpenAI and Mistral dialects (openai_flavors), proved with the official `openai.AzureOpenAI` client
(provider-oracles.md §4) and raw HTTP; every reply re-validated from its raw bytes by the strict OpenAI oracles."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from openai import AzureOpenAI

from tests import oracles
from tests.fakes.conftest import HELLO, chat, sse_data
from tests.fakes.openai_flavors import mistral_tool_call_id

API_VERSION = "2024-10-21"
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture
def azure(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, api_key="k", api_version=API_VERSION, azure_deployment="dep1",
                     max_retries=0) as client:
        yield client


@pytest.fixture
def raw(fake):
    with httpx2.Client(base_url=fake.origin) as client:
        yield client


# --- Azure --------------------------------------------------------------------------------------------------------


def test_azure_sdk_chat_reaches_the_deployment_route_with_api_key(azure, fake):
    completion = azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.choices[0].message.content == "Echo: hello big world"
    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.query) == ("POST", "/openai/deployments/dep1/chat/completions",
                                                     {"api-version": API_VERSION})
    assert sent.headers["api-key"] == "k" and "authorization" not in sent.headers and sent.oracle_errors == []


def test_azure_sdk_stream_starts_with_the_filter_prelude_and_ends_with_usage(azure, fake):
    stream = azure.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True,
                                           stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices == [] and chunks[0].model_extra["prompt_filter_results"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello big world"
    assert chunks[-1].usage.total_tokens > 0


def test_azure_sdk_embeddings_and_entra_token(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, azure_ad_token="entra", api_version=API_VERSION,
                     azure_deployment="emb", max_retries=0) as client:
        result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    assert len(result.data) == 2
    sent = fake.requests[-1]
    assert sent.path == "/openai/deployments/emb/embeddings" and sent.headers["authorization"] == "Bearer entra"


def test_azure_raw_completion_carries_filter_results_and_is_openai_shaped(raw, fake):
    body = {"messages": HELLO}  # no `model`: Azure routes by deployment and answers as it
    response = raw.post(f"/openai/deployments/dep1/chat/completions?api-version={API_VERSION}", json=body,
                        headers={"api-key": "k"})
    reply = response.json()
    oracles.check_chat_completion(reply, allow_extra=("prompt_filter_results",))
    assert reply["model"] == "dep1" and reply["choices"][0]["content_filter_results"]["hate"]["filtered"] is False
    stream = raw.post(f"/openai/deployments/dep1/chat/completions?api-version={API_VERSION}",
                      json={**body, "stream": True}, headers={"api-key": "k"})
    prelude, *chunks = [json.loads(line) for line in sse_data(stream.content) if line != "[DONE]"]
    assert (prelude["object"], prelude["choices"]) == ("", [])  # Azure's filter-only event is no SDK chunk type
    for chunk in chunks:
        oracles.check_chat_chunk(chunk, allow_extra=("obfuscation",))


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/openai/deployments/dep1/chat/completions", {"api-key": "k"}, 404),  # no api-version: Azure's 404
    (f"/openai/deployments/dep1/chat/completions?api-version={API_VERSION}", {}, 401),
    (f"/openai/deployments/dep1/chat/completions?api-version={API_VERSION}", {"api-key": "sk-bad"}, 401),
])
def test_azure_refuses_without_api_version_or_key(raw, path, headers, status):
    response = raw.post(path, json=chat(), headers=headers)
    assert response.status_code == status and set(response.json()["error"]) == {"code", "message"}


def test_azure_sdk_sees_a_bad_key_as_authentication_error(fake):
    with AzureOpenAI(azure_endpoint=fake.origin, api_key="sk-bad", api_version=API_VERSION,
                     azure_deployment="dep1", max_retries=0) as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)


def test_azure_models_route(raw):
    page = raw.get(f"/openai/models?api-version={API_VERSION}", headers={"api-key": "k"}).json()
    oracles.check_models_page(page)


# --- Mistral ------------------------------------------------------------------------------------------------------


def _mistral(raw, body: dict):
    return raw.post("/mistral/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})


def test_mistral_answers_with_nine_character_tool_ids(raw):
    reply = _mistral(raw, chat(tools=TOOLS, random_seed=1, safe_prompt=False)).json()
    assert reply["choices"][0]["message"]["tool_calls"][0]["id"] == mistral_tool_call_id(0)
    stream = _mistral(raw, chat(tools=TOOLS, stream=True))
    chunks = [json.loads(line) for line in sse_data(stream.content) if line != "[DONE]"]
    headers = [c for chunk in chunks for ch in chunk["choices"] for c in ch["delta"].get("tool_calls") or ()
               if "id" in c]
    assert [c["id"] for c in headers] == [mistral_tool_call_id(0)]
    assert chunks[-1]["usage"]["total_tokens"] > 0  # usage unasked


@pytest.mark.parametrize(("body", "status", "needle"), [
    (chat(max_completion_tokens=5), 422, "max_completion_tokens"),
    (chat(seed=1), 422, "seed"),
    (chat(stream=True, stream_options={"include_usage": True}), 422, "stream_options"),
    (chat(messages=[{"role": "developer", "content": "x"}]), 422, "developer"),
    (chat(messages=[*HELLO, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
                    {"role": "tool", "content": "1", "tool_call_id": "call_1"}]), 400, "call_1"),
])
def test_mistral_refuses_what_mistral_refuses(raw, body, status, needle):
    response = _mistral(raw, body)
    assert response.status_code == status and needle in response.text
    assert response.json()["object"] == "error"
