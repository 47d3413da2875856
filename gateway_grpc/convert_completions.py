"""Proto <-> neutral for text completions (completions.proto <-> completions.py). With convert.py,
convert_media.py and service.py, the only modules that touch pb2 classes."""

from __future__ import annotations

from typing import Any

from gateway_grpc import completions as c
from gateway_grpc.convert import to_struct, usage_message
from gateway_grpc.convert_media import extra_of, set_fields
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.v1 import completions_pb2

_OPTIONAL = ("suffix", "max_tokens", "temperature", "top_p", "n", "seed", "presence_penalty", "frequency_penalty",
             "logprobs", "echo", "best_of", "user")


def completion_request(msg: completions_pb2.CreateCompletionRequest) -> c.CompletionRequest:
    params = set_fields(msg, _OPTIONAL)
    if msg.stop:
        params["stop"] = list(msg.stop)
    if msg.logit_bias:
        params["logit_bias"] = {token: int(bias) if bias.is_integer() else bias
                                for token, bias in msg.logit_bias.items()}
    if len(msg.prompt) > 1 and not msg.prompt_is_list:
        raise InvalidRequest.field("prompt", f"{len(msg.prompt)} prompts given: set prompt_is_list to send several")
    prompt: str | tuple[str, ...] = tuple(msg.prompt) if msg.prompt_is_list else "".join(msg.prompt)
    return c.CompletionRequest(msg.model, prompt, params, extra_of(msg), msg.stream_options.include_usage)


def _choices(out: Any, choices: tuple[c.CompletionChoice, ...]) -> None:
    for choice in choices:
        item = out.choices.add(index=choice.index, text=choice.text, finish_reason=choice.finish_reason or "")
        if choice.logprobs is not None:
            item.logprobs.CopyFrom(to_struct(choice.logprobs))


def _fill(out: Any, answer: c.Completion, provider: str) -> Any:
    _choices(out, answer.choices)
    if answer.usage is not None:
        out.usage.CopyFrom(usage_message(answer.usage))
    if answer.extra:
        out.extra.update(answer.extra)
    out.provider = provider
    return out


def completion_response(answer: c.Completion, provider: str) -> completions_pb2.CreateCompletionResponse:
    out = completions_pb2.CreateCompletionResponse(id=answer.id, created=answer.created, model=answer.model,
                                                   system_fingerprint=answer.system_fingerprint)
    return _fill(out, answer, provider)


def completion_chunk(chunk: c.Completion, provider: str) -> completions_pb2.StreamCompletionResponse:
    out = completions_pb2.CompletionChunk(id=chunk.id, created=chunk.created, model=chunk.model,
                                          system_fingerprint=chunk.system_fingerprint)
    return completions_pb2.StreamCompletionResponse(chunk=_fill(out, chunk, provider))

