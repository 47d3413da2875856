"""OpenAI Completions JSON (the legacy `/v1/completions`, and fill-in-the-middle with `suffix`) <-> completions
messages: pure functions. Token-id prompts (arrays of integers) are refused with a 400 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.openai_request import set_stop
from edge.openai_response import merge_extra, struct_to_json, usage_json
from edge.shapes import (
    RequestShapeError,
    build_request,
    read_array,
    read_bool,
    read_int,
    read_int64,
    read_number,
    read_object,
    read_string,
    setter,
)
from gateway_grpc.v1 import completions_pb2


def _set_prompt(request: completions_pb2.CreateCompletionRequest, value: Any, path: str) -> None:
    if isinstance(value, str):
        request.prompt.append(value)
        return
    items = read_array(value, path)
    if not items:
        raise RequestShapeError(path, "expected a string or a non-empty array of strings")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise RequestShapeError(f"{path}[{i}]", "expected a string (token-id prompts are not supported)")
        request.prompt.append(item)
    request.prompt_is_list = True


def _set_logit_bias(request: completions_pb2.CreateCompletionRequest, value: Any, path: str) -> None:
    for token, bias in read_object(value, path).items():
        request.logit_bias[token] = read_number(bias, f"{path}.{token}")


def _set_stream_options(request: completions_pb2.CreateCompletionRequest, value: Any, path: str) -> None:
    obj = read_object(value, path)
    request.stream_options.SetInParent()
    if obj.get("include_usage") is not None:
        request.stream_options.include_usage = read_bool(obj["include_usage"], f"{path}.include_usage")


def _ignore(target: Any, value: Any, path: str) -> None:
    """`stream` is encoded by the choice of RPC, not copied."""


COMPLETION_FIELDS: dict[str, Callable[[completions_pb2.CreateCompletionRequest, Any, str], None]] = {
    "model": setter("model", read_string),
    "prompt": _set_prompt,
    "suffix": setter("suffix", read_string),
    "max_tokens": setter("max_tokens", read_int),
    "temperature": setter("temperature", read_number),
    "top_p": setter("top_p", read_number),
    "n": setter("n", read_int),
    "stop": set_stop,
    "seed": setter("seed", read_int64),
    "presence_penalty": setter("presence_penalty", read_number),
    "frequency_penalty": setter("frequency_penalty", read_number),
    "logprobs": setter("logprobs", read_int),
    "echo": setter("echo", read_bool),
    "best_of": setter("best_of", read_int),
    "logit_bias": _set_logit_bias,
    "user": setter("user", read_string),
    "stream_options": _set_stream_options,
    "stream": _ignore,
}


def completion_request_from_json(body: dict[str, Any]) -> completions_pb2.CreateCompletionRequest:
    """An OpenAI completions body -> CreateCompletionRequest; unknown keys go to `extra`."""
    if body.get("prompt") is None:
        raise RequestShapeError("prompt", "required")
    return build_request(completions_pb2.CreateCompletionRequest(), body, COMPLETION_FIELDS)


def _choice_json(choice: completions_pb2.CompletionChoice) -> dict[str, Any]:
    return {"index": choice.index, "text": choice.text, "finish_reason": choice.finish_reason or None,
            "logprobs": struct_to_json(choice.logprobs) if choice.HasField("logprobs") else None}


def _body(message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": message.id, "object": "text_completion", "created": message.created,
                            "model": message.model, "choices": [_choice_json(c) for c in message.choices]}
    if message.HasField("usage"):
        body["usage"] = usage_json(message.usage)
    if message.system_fingerprint:
        body["system_fingerprint"] = message.system_fingerprint
    return merge_extra(body, message.extra)


def completion_json(response: completions_pb2.CreateCompletionResponse) -> dict[str, Any]:
    """A CreateCompletionResponse as OpenAI `text_completion`, plus Portkey's top-level `provider`."""
    body = _body(response)
    if response.provider:
        body["provider"] = response.provider
    return body


def completion_chunk_json(chunk: completions_pb2.CompletionChunk) -> dict[str, Any]:
    """A CompletionChunk as OpenAI's stream event (also `text_completion`; no `provider` key in chunks)."""
    return _body(chunk)
