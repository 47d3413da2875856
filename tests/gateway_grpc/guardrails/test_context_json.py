"""Portkey's plugin context from neutral types, and transformedData back into them (context_json)."""

from __future__ import annotations

import pytest

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.guardrails import context_json as cj
from gateway_grpc.guardrails.base import AFTER, BEFORE, CHAT, COMPLETE, Subject
from gateway_grpc.types import (
    ChatRequest,
    ChatResponse,
    Choice,
    EmbeddingsRequest,
    ImagePart,
    Message,
    TextPart,
    Usage,
)

CHAT_REQUEST = ChatRequest("gpt-4o-mini", (Message("system", "Be brief."), Message("user", "Say hi")),
                           params={"max_tokens": 20, "temperature": 0.2})
CHAT_RESPONSE = ChatResponse("chatcmpl-1", 1741592910, "gpt-4o-mini", (Choice(0, Message("assistant", "Hi!"), "stop"),),
                             Usage(18, 10, 28, cached_tokens=0, reasoning_tokens=4))
COMPLETION_REQUEST = CompletionRequest("gpt-3.5-turbo-instruct", ("one", "two"), params={"max_tokens": 5})
COMPLETION = Completion("cmpl-1", 7, "gpt-3.5-turbo-instruct", (CompletionChoice(0, "uno", "stop"),), Usage(2, 1, 3))
IMAGE_REQUEST = ChatRequest("gpt-4o", (Message("user", (TextPart("What is it?"), ImagePart(url="https://x.example/a.png"))),
                                       Message("user", "secret plan")))


@pytest.mark.parametrize(("value", "expected"), [
    (CHAT_REQUEST, {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."},
                                                         {"role": "user", "content": "Say hi"}],
                    "max_tokens": 20, "temperature": 0.2, "stream": False}),
    (COMPLETION_REQUEST, {"model": "gpt-3.5-turbo-instruct", "prompt": ["one", "two"], "max_tokens": 5,
                          "stream": False}),
    (EmbeddingsRequest("text-embedding-3-small", ("a", "b"), dimensions=8),
     {"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 8}),
    (object(), {}),
], ids=["chat", "completion", "embeddings", "unknown"])
def test_context_json_request_json(value, expected):
    assert cj.request_json(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (CHAT_RESPONSE, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1741592910, "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "logprobs": None,
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 18, "completion_tokens": 10, "total_tokens": 28,
                               "prompt_tokens_details": {"cached_tokens": 0},
                               "completion_tokens_details": {"reasoning_tokens": 4}}}),
    (COMPLETION, {"id": "cmpl-1", "object": "text_completion", "created": 7, "model": "gpt-3.5-turbo-instruct",
                  "choices": [{"index": 0, "text": "uno", "logprobs": None, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}),
    (None, {}),
], ids=["chat", "completion", "before-call"])
def test_context_json_response_json(value, expected):
    assert cj.response_json(value) == expected


def test_context_json_plugin_context_before_has_no_headers_and_an_empty_response():
    subject = Subject(BEFORE, CHAT, CHAT_REQUEST, text="Say hi", provider="openai", metadata={"_user": "u1"},
                      headers={"authorization": "Bearer caller-key"}, streaming=True)
    context = cj.plugin_context(subject)
    assert context["request"] == {"json": {**cj.request_json(CHAT_REQUEST), "stream": True}, "text": "Say hi",
                                  "isStreamingRequest": True, "isTransformed": False}
    assert context["response"] == {"json": {}, "text": "", "statusCode": None, "isTransformed": False}
    assert (context["provider"], context["requestType"], context["metadata"], context["eventType"]) == (
        "openai", CHAT, {"_user": "u1"}, BEFORE)
    assert "caller-key" not in repr(context)


def test_context_json_plugin_context_after_carries_the_response_and_both_texts():
    subject = Subject(AFTER, COMPLETE, COMPLETION_REQUEST, COMPLETION, text="uno")
    context = cj.plugin_context(subject)
    assert context["request"]["text"] == "one\ntwo"
    assert context["response"] == {"json": cj.completion_json(COMPLETION), "text": "uno", "statusCode": 200,
                                   "isTransformed": False}


def _chat_json(*contents: str) -> dict:
    return {"messages": [{"role": "system", "content": contents[0]}, {"role": "user", "content": contents[1]}]}


@pytest.mark.parametrize(("request_", "raw", "expected"), [
    (CHAT_REQUEST, _chat_json("Be brief.", "Say [REDACTED]"),
     ChatRequest("gpt-4o-mini", (Message("system", "Be brief."), Message("user", "Say [REDACTED]")),
                 params={"max_tokens": 20, "temperature": 0.2})),
    (CHAT_REQUEST, _chat_json("Be brief.", "Say hi"), None),
    (CHAT_REQUEST, {"model": "other"}, None),
    (CHAT_REQUEST, {"messages": [{"role": "system", "content": "Policy."}, *_chat_json("Be brief.", "Say hi")[
        "messages"]]},
     ChatRequest("gpt-4o-mini", (Message("system", "Policy."), *CHAT_REQUEST.messages), params=CHAT_REQUEST.params)),
    (COMPLETION_REQUEST, {"prompt": ["one", "[REDACTED]"]},
     CompletionRequest("gpt-3.5-turbo-instruct", ("one", "[REDACTED]"), params={"max_tokens": 5})),
    (CompletionRequest("m", "hello"), {"prompt": "bye"}, CompletionRequest("m", "bye")),
    (EmbeddingsRequest("e", ("a", "b")), {"input": "c"}, EmbeddingsRequest("e", ("c",))),
], ids=["chat-text", "chat-unchanged", "chat-no-messages", "chat-added-message", "completion-list",
        "completion-string", "embeddings"])
def test_context_json_applied_request(request_, raw, expected):
    assert cj.applied_request(request_, raw) == expected


def test_context_json_applied_request_keeps_unchanged_messages_as_they_were():
    raw = cj.request_json(IMAGE_REQUEST)
    raw["messages"][1]["content"] = "[REDACTED]"
    applied = cj.applied_request(IMAGE_REQUEST, raw)
    assert applied.messages == (IMAGE_REQUEST.messages[0], Message("user", "[REDACTED]"))
    assert isinstance(applied.messages[0].content[1], ImagePart)


@pytest.mark.parametrize("raw", ["text", {"messages": "hi"}, {"messages": ["hi"]}, {"prompt": 3}],
                         ids=["not-object", "messages-string", "messages-of-strings", "prompt-number"])
def test_context_json_applied_request_refuses_malformed_json(raw):
    request = COMPLETION_REQUEST if "prompt" in repr(raw) else CHAT_REQUEST
    with pytest.raises(ValueError, match="transformedData"):
        cj.applied_request(request, raw)


def test_context_json_applied_response_replaces_changed_choices_only():
    raw = cj.chat_response_json(CHAT_RESPONSE)
    assert cj.applied_response(CHAT_RESPONSE, raw) is None
    raw["choices"][0]["message"]["content"] = "Filtered."
    applied = cj.applied_response(CHAT_RESPONSE, raw)
    assert applied.choices == (Choice(0, Message("assistant", "Filtered."), "stop"),)
    assert (applied.id, applied.usage) == (CHAT_RESPONSE.id, CHAT_RESPONSE.usage)


def test_context_json_applied_response_for_completions():
    raw = {"choices": [{"index": 0, "text": "[REDACTED]", "finish_reason": "stop"}]}
    applied = cj.applied_response(COMPLETION, raw)
    assert applied.choices == (CompletionChoice(0, "[REDACTED]", "stop"),)


@pytest.mark.parametrize(("response", "raw"), [(CHAT_RESPONSE, {"choices": [{"index": 0}]}),
                                               (COMPLETION, {"choices": [{"index": 0, "text": None}]}),
                                               (CHAT_RESPONSE, ["choices"])],
                         ids=["chat-no-message", "completion-no-text", "not-object"])
def test_context_json_applied_response_refuses_malformed_json(response, raw):
    with pytest.raises(ValueError, match="transformedData"):
        cj.applied_response(response, raw)
