"""Portkey's plugin context as JSON (contract §8.1), built from a Subject, and a remote's `transformedData` read
back into neutral types. Pure; no I/O.

Requests and responses are sent in OpenAI's shape (chat, text completions, embeddings), whatever the target's
provider. What comes back is applied where it maps onto neutral types: a chat request's `messages`, a completion's
`prompt`, an embeddings request's `input`, a response's `choices`. Other keys (model, parameters, tools, usage) are
not taken. An item the remote returned unchanged keeps its original neutral form (images, audio, provider extras);
a changed item is decoded from OpenAI JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.guardrails.base import AFTER, Subject
from gateway_grpc.guardrails.texts import request_text, response_text
from gateway_grpc.providers.openai_wire import (
    decode_message,
    encode_chat_body,
    encode_embeddings_body,
    encode_message,
    encode_usage,
)
from gateway_grpc.types import ChatRequest, ChatResponse, Choice, EmbeddingsRequest

# ---- neutral -> OpenAI JSON ----


def chat_request_json(request: ChatRequest, stream: bool = False) -> dict[str, Any]:
    body = encode_chat_body(request)
    body["stream"] = stream
    return body


def completion_request_json(request: CompletionRequest, stream: bool = False) -> dict[str, Any]:
    prompt = list(request.prompt) if isinstance(request.prompt, tuple) else request.prompt
    return {"model": request.model, "prompt": prompt, **request.params, **request.extra, "stream": stream}


def embeddings_request_json(request: EmbeddingsRequest) -> dict[str, Any]:
    return encode_embeddings_body(request)


def _choice_json(choice: Choice) -> dict[str, Any]:
    return {"index": choice.index, "message": encode_message(choice.message), "logprobs": choice.logprobs,
            "finish_reason": choice.finish_reason, **choice.extra}


def chat_response_json(response: ChatResponse) -> dict[str, Any]:
    body: dict[str, Any] = {"id": response.id, "object": "chat.completion", "created": response.created,
                            "model": response.model, "choices": [_choice_json(c) for c in response.choices],
                            "usage": encode_usage(response.usage)}
    if response.system_fingerprint:
        body["system_fingerprint"] = response.system_fingerprint
    if response.service_tier:
        body["service_tier"] = response.service_tier
    body.update(response.extra)
    return body


def _completion_choice_json(choice: CompletionChoice) -> dict[str, Any]:
    return {"index": choice.index, "text": choice.text, "logprobs": choice.logprobs,
            "finish_reason": choice.finish_reason}


def completion_json(completion: Completion) -> dict[str, Any]:
    choices = [_completion_choice_json(c) for c in completion.choices]
    body: dict[str, Any] = {"id": completion.id, "object": "text_completion", "created": completion.created,
                            "model": completion.model, "choices": choices, "usage": encode_usage(completion.usage)}
    if completion.system_fingerprint:
        body["system_fingerprint"] = completion.system_fingerprint
    body.update(completion.extra)
    return body


def request_json(request: Any, stream: bool = False) -> dict[str, Any]:
    """The request as OpenAI's JSON body; {} for a type the gateway does not run hooks on."""
    if isinstance(request, ChatRequest):
        return chat_request_json(request, stream)
    if isinstance(request, CompletionRequest):
        return completion_request_json(request, stream)
    if isinstance(request, EmbeddingsRequest):
        return embeddings_request_json(request)
    return {}


def response_json(response: Any) -> dict[str, Any]:
    """The response as OpenAI's JSON body; {} before the call (Portkey sends an empty object then)."""
    if isinstance(response, ChatResponse):
        return chat_response_json(response)
    if isinstance(response, Completion):
        return completion_json(response)
    return {}


def plugin_context(subject: Subject) -> dict[str, Any]:
    """Portkey's plugin context plus `eventType`, as the webhook check sends it: without the request headers
    (they carry the caller's credentials). `isTransformed` is false: earlier mutators' edits are already in it."""
    after = subject.event == AFTER
    return {
        "request": {"json": request_json(subject.request, subject.streaming), "text": request_text(subject.request),
                    "isStreamingRequest": subject.streaming, "isTransformed": False},
        "response": {"json": response_json(subject.response) if after else {},
                     "text": response_text(subject.response) if after else "",
                     "statusCode": 200 if after else None, "isTransformed": False},
        "provider": subject.provider,
        "requestType": subject.request_type,
        "metadata": dict(subject.metadata),
        "eventType": subject.event,
    }


# ---- OpenAI JSON -> neutral (transformedData) ----


def _items(raw: Mapping[str, Any], key: str) -> list[Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"transformedData: `{key}` is not a list of JSON objects")
    return value


def _strings(raw: Mapping[str, Any], key: str) -> str | tuple[str, ...] | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"transformedData: `{key}` is not a string or a list of strings")


def _kept_or_decoded(originals: tuple[Any, ...], raws: list[dict[str, Any]], encode: Any, decode: Any) -> tuple:
    """Each returned item: the original when the remote sent it back unchanged, else decoded from its JSON."""
    out = []
    for position, raw in enumerate(raws):
        original = originals[position] if position < len(originals) else None
        out.append(original if original is not None and encode(original) == raw else decode(raw, position))
    return tuple(out)


def applied_request(request: Any, raw: Any) -> Any:
    """`request` with the texts of `raw` (transformedData.request.json); None when nothing changed."""
    if not isinstance(raw, dict):
        raise ValueError("transformedData.request.json is not a JSON object")
    if isinstance(request, ChatRequest):
        messages = _items(raw, "messages")
        if messages is None:
            return None
        new = _kept_or_decoded(request.messages, messages, encode_message, lambda m, _: decode_message(m))
        return None if new == request.messages else replace(request, messages=new)
    if isinstance(request, CompletionRequest):
        prompt = _strings(raw, "prompt")
        return None if prompt is None or prompt == request.prompt else replace(request, prompt=prompt)
    if isinstance(request, EmbeddingsRequest):
        inputs = _strings(raw, "input")
        inputs = (inputs,) if isinstance(inputs, str) else inputs
        return None if inputs is None or inputs == request.inputs else replace(request, inputs=inputs)
    return None


def _decoded_choice(raw: dict[str, Any], position: int) -> Choice:
    message = raw.get("message")
    if not isinstance(message, dict):
        raise ValueError("transformedData: a chat choice has no `message` object")
    return Choice(raw.get("index", position), decode_message(message), raw.get("finish_reason"), raw.get("logprobs"))


def _decoded_text_choice(raw: dict[str, Any], position: int) -> CompletionChoice:
    text = raw.get("text")
    if not isinstance(text, str):
        raise ValueError("transformedData: a completion choice has no `text` string")
    return CompletionChoice(raw.get("index", position), text, raw.get("finish_reason"), raw.get("logprobs"))


def applied_response(response: Any, raw: Any) -> Any:
    """`response` with the choices of `raw` (transformedData.response.json); None when nothing changed."""
    if not isinstance(raw, dict):
        raise ValueError("transformedData.response.json is not a JSON object")
    choices = _items(raw, "choices")
    if choices is None:
        return None
    if isinstance(response, ChatResponse):
        new = _kept_or_decoded(response.choices, choices, _choice_json, _decoded_choice)
    elif isinstance(response, Completion):
        new = _kept_or_decoded(response.choices, choices, _completion_choice_json, _decoded_text_choice)
    else:
        return None
    return None if new == response.choices else replace(response, choices=new)
