"""cache/keys.py: what must change an exact key and what must not, as one table; tenant isolation; the semantic
namespace's separation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway_grpc import types as t
from gateway_grpc.cache import keys
from gateway_grpc.completions import CompletionRequest
from gateway_grpc.providers.tokens import ACCESS_TOKEN_OPTION

USER = t.Message("user", "What is the capital of France?")
REQUEST = t.ChatRequest("gpt-4o-mini", (t.Message("system", "be brief"), USER), params={"temperature": 0.2})
TARGET = t.Target("openai", "sk-a", provider_options={"openai_project": "p1"})
CALLER = t.CallerInputs(provider="openai", api_key="sk-a")
TOOL = t.FunctionTool("lookup", "find", {"type": "object"})


def key(request=REQUEST, target=TARGET, caller=CALLER, kind="chat") -> str:
    return keys.exact_key(kind, request, target, caller)


CHANGES = {  # each must give another key
    "model": dict(request=replace(REQUEST, model="gpt-4o")),
    "a message's text": dict(request=replace(REQUEST, messages=(REQUEST.messages[0], t.Message("user", "Why?")))),
    "a message's role": dict(request=replace(REQUEST, messages=(t.Message("developer", "be brief"), USER))),
    "one more turn": dict(request=replace(REQUEST, messages=(*REQUEST.messages, t.Message("assistant", "Paris")))),
    "tools": dict(request=replace(REQUEST, tools=(TOOL,))),
    "tool choice": dict(request=replace(REQUEST, tool_choice=t.ToolChoice("required"))),
    "response format": dict(request=replace(REQUEST, response_format=t.ResponseFormat("json_object"))),
    "temperature": dict(request=replace(REQUEST, params={"temperature": 0.3})),
    "seed": dict(request=replace(REQUEST, params={"temperature": 0.2, "seed": 1})),
    "max_tokens": dict(request=replace(REQUEST, params={"temperature": 0.2, "max_tokens": 5})),
    "an unknown parameter": dict(request=replace(REQUEST, extra={"top_k": 5})),
    "an image's bytes": dict(request=replace(REQUEST, messages=(t.Message("user", (t.ImagePart(data=b"\x89PNG2"),)),))),
    "kind": dict(kind="completions"),
    "provider": dict(target=replace(TARGET, provider="azure-openai")),
    "custom host": dict(target=replace(TARGET, base_url="http://10.0.0.1:8000/v1")),
    "override_params": dict(target=replace(TARGET, override_params={"model": "gpt-4o"})),
    "provider options (deployment, region)": dict(target=replace(TARGET, provider_options={"openai_project": "p2"})),
    "the target's key (tenant)": dict(target=replace(TARGET, api_key="sk-b"), caller=replace(CALLER, api_key="sk-b")),
    "the caller's key under a shared server key": dict(caller=replace(CALLER, api_key="sk-other")),
    "x-portkey-api-key": dict(caller=replace(CALLER, headers={"x-portkey-api-key": "pk-2"})),
    "x-portkey-cache-namespace": dict(caller=replace(CALLER, headers={"x-portkey-cache-namespace": "team-b"})),
}  # fmt: skip
SAME = {  # each must give the same key
    "include_usage": dict(request=replace(REQUEST, include_usage=True)),
    "other stream options": dict(request=replace(REQUEST, stream_extra={"include_obfuscation": False})),
    "parameter order": dict(request=replace(REQUEST, params={"temperature": 0.2}, extra={})),
    "a minted access token": dict(target=replace(TARGET, provider_options={"openai_project": "p1",
                                                                           ACCESS_TOKEN_OPTION: "ya29.x"})),
    "headers that do not name the tenant": dict(caller=replace(CALLER, headers={"x-portkey-trace-id": "t1"})),
    "the caller's routing inputs": dict(caller=replace(CALLER, provider="", timeout_ms=500)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CHANGES))
def test_keys_change_with(case):
    assert key(**CHANGES[case]) != key()


@pytest.mark.parametrize("case", list(SAME))
def test_keys_do_not_change_with(case):
    assert key(**SAME[case]) == key()


def test_keys_mapping_order_never_matters_and_keys_are_prefixed():
    one = replace(REQUEST, params={"temperature": 0.2, "top_p": 0.5}, extra={"a": 1, "b": {"x": 1, "y": 2}})
    two = replace(REQUEST, params={"top_p": 0.5, "temperature": 0.2}, extra={"b": {"y": 2, "x": 1}, "a": 1})
    assert key(one) == key(two) and key().startswith(keys.KEY_PREFIX)


def test_keys_secrets_never_appear_in_a_key():
    target = replace(TARGET, api_key="sk-secret-123", provider_options={"aws_secret_access_key": "wJalrXUt"})
    made = key(target=target, caller=replace(CALLER, api_key="sk-secret-123"))
    assert "secret" not in made and "wJalrXUt" not in made and len(made) == len(keys.KEY_PREFIX) + 40


def test_keys_text_completion_requests_key_without_their_stream_options():
    completion = CompletionRequest("m", "def f(", {"suffix": "x"})
    assert key(completion, kind="completions") == key(replace(completion, include_usage=True), kind="completions")
    assert key(completion, kind="completions") != key(replace(completion, params={}), kind="completions")


def test_keys_semantic_namespaces_separate_tenants_targets_and_the_rest_of_the_request():
    base = keys.semantic_namespace("chat", "rest", TARGET, CALLER)
    assert base == keys.semantic_namespace("chat", "rest", TARGET, CALLER)
    assert base != keys.semantic_namespace("chat", "other", TARGET, CALLER)
    assert base != keys.semantic_namespace("chat", "rest", TARGET, replace(CALLER, api_key="sk-z"))
    assert base != keys.semantic_namespace("chat", "rest", replace(TARGET, provider="groq"), CALLER)
    assert base != keys.semantic_namespace("embeddings", "rest", TARGET, CALLER)
