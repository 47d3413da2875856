"""The fake OpenAI upstream's text-completion routes: OpenAI's legacy `POST /v1/completions` (also Azure's
`/openai/deployments/{d}/completions`) and Mistral's fill-in-the-middle `POST /mistral/v1/fim/completions`, with
their deterministic reply bodies. Never imported by gateway code.

Admission, directives, timing and faults are the chat route's (FakeOpenAI `_admit`, `_scripted`, `_events`), so every
model-name directive acts here as there. The text is `completion of: <first words of the prompt>`, plus
` before: <first words of the suffix>` when one is given; `stop` cuts it where a stop string starts, `max_tokens`
after that many words (finish_reason "length"). A token-array prompt reads as its ids joined by spaces.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import openai_replies as replies
from tests.fakes.openai_directives import Directives
from tests.fakes.openai_flavors import MISTRAL, Flavor, _extra_forbidden, mistral_error

# Mistral's FIM request keys (mistralai FIMCompletionRequest); Mistral refuses any other with 422.
FIM_KEYS = frozenset({
    "model", "prompt", "suffix", "temperature", "top_p", "max_tokens", "min_tokens", "stream", "stop", "random_seed",
    "metadata", "prompt_cache_key",
})
_HEAD_WORDS = 4


def completion_routes(fake: Any, prefix: str, flavor: Flavor) -> list[Route]:
    """What `flavor`'s API has under `prefix`: legacy completions (OpenAI, Azure) or FIM only (Mistral)."""
    if flavor.name == MISTRAL.name:
        return [Route(f"{prefix}/fim/completions", functools.partial(fim, fake), methods=["POST"])]
    return [Route(f"{prefix}/completions", functools.partial(completions, fake, flavor), methods=["POST"])]


def _wire() -> Any:
    from tests.fakes import openai_upstream  # lazy: openai_upstream imports this module for its route table

    return openai_upstream


# --- routes -----------------------------------------------------------------------------------------------------


async def completions(fake: Any, flavor: Flavor, request: Request) -> Response:
    wire = _wire()
    record, body, directives, failure = await fake._admit(request, "completions_request_errors", flavor)
    if failure is not None:
        return failure
    if (scripted := await fake._scripted(body["model"], directives)) is not None:
        return scripted
    ident, created = f"cmpl-fake{next(fake._ids):023d}", int(time.time())
    if body.get("stream"):
        chunks = [(kind, flavor.chunk(c)) for kind, c in text_completion_chunks(body, directives, ident, created)]
        return fake._stream(wire._events(chunks, directives, flavor.stream_prelude), wire._headers(), record)
    return wire._json(200, flavor.completion(text_completion(body, ident, created)))


async def fim(fake: Any, request: Request) -> Response:
    wire = _wire()
    record, body, directives, failure = await _admit_fim(fake, request)
    if failure is not None:
        return failure
    if (scripted := await fake._scripted(body["model"], directives)) is not None:
        return scripted
    ident, created = f"{next(fake._ids):032x}", int(time.time())
    if body.get("stream"):
        events = wire._events(fim_chunks(body, directives, ident, created), directives)
        return fake._stream(events, wire._headers(), record)
    return wire._json(200, fim_completion(body, ident, created))


async def _admit_fim(fake: Any, request: Request) -> tuple[Any, dict, Directives, Response | None]:
    """FakeOpenAI._admit for Mistral's FIM body: its own keys (422 `extra_forbidden` at any strictness), then, when
    strict, the mistralai oracle (422 too, as Mistral answers a body its schema refuses)."""
    wire, none = _wire(), Directives(base="")
    record = await fake._log(request)
    if (refused := MISTRAL.refuse(request)) is not None:
        return record, {}, none, wire._json(*refused)
    if not isinstance(record.json, dict):
        return record, {}, none, wire._json(400, replies.error_body(replies.BAD_JSON_REQUEST, "invalid_request_error"))
    if unknown := [key for key in record.json if key not in FIM_KEYS]:
        return record, {}, none, wire._json(*_extra_forbidden([unknown[0]], record.json[unknown[0]]))
    if fake.strict:
        from tests import oracles_mistral  # lazy: only strict mode needs mistralai

        record.oracle_errors = oracles_mistral.fim_request_errors(record.json)
        if record.oracle_errors:
            message = "oracle: " + "; ".join(record.oracle_errors)
            return record, {}, none, wire._json(422, mistral_error(message, "invalid_request_message_error"))
    return (record, record.json, *fake._directives(record.json))


# --- text -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    """One answer: the echoed prompt (or ""), the generated tokens, and why they end."""

    index: int
    echo: str
    reply: replies.Reply

    @property
    def text(self) -> str:
        return self.echo + "".join(self.reply.tokens)


def completion_text(prompt: str, suffix: str | None) -> str:
    text = f"completion of: {_head(prompt)}".rstrip()
    return f"{text} before: {_head(suffix)}".rstrip() if suffix else text


def plan_text(prompt: str, body: dict) -> replies.Reply:
    """The generated text for one prompt, cut at the first stop string, then after `max_tokens` words."""
    text = completion_text(prompt, body.get("suffix"))
    stops = [body["stop"]] if isinstance(body.get("stop"), str) else list(body.get("stop") or ())
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    tokens = replies._TOKEN.findall(text if cut < 0 else text[:cut])
    limit = body.get("max_tokens")
    if isinstance(limit, int) and limit < len(tokens):  # as openai_replies.plan_reply cuts chat answers
        tokens = tokens[:limit]
        if tokens:
            tokens[-1] = tokens[-1].rstrip()
        return replies.Reply(tokens=tokens, finish_reason="length")
    return replies.Reply(tokens=tokens)


def _head(text: str | None) -> str:
    return " ".join((text or "").split()[:_HEAD_WORDS])


def _prompts(value: Any) -> list[str | list[int]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [value]
    return list(value) if isinstance(value, list) and value else [""]


def _as_text(prompt: str | list[int]) -> str:
    return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))


def _prompt_tokens(prompts: list[str | list[int]]) -> int:
    return sum(len(p.split()) if isinstance(p, str) else len(p) for p in prompts)


def _usage(prompt_tokens: int, choices: list[Choice]) -> dict:
    completion = sum(len(c.reply.tokens) for c in choices)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


# --- OpenAI legacy completions ----------------------------------------------------------------------------------


def plan_choices(body: dict) -> list[Choice]:
    """One choice per prompt and sample, indexed as OpenAI does: prompt i, sample j -> i * n + j."""
    n = body.get("n") or 1
    choices = []
    for i, prompt in enumerate(_prompts(body.get("prompt"))):
        text = _as_text(prompt)
        reply = plan_text(text, body)
        choices += [Choice(i * n + j, text if body.get("echo") else "", reply) for j in range(n)]
    return choices


def text_completion(body: dict, id_: str, created: int) -> dict:
    choices = plan_choices(body)
    return {
        "id": id_,
        "object": "text_completion",
        "created": created,
        "model": body["model"],
        "choices": [_choice(c.index, c.text, _logprobs(body, c.reply.tokens, len(c.echo)), c.reply.finish_reason)
                    for c in choices],
        "usage": _usage(_prompt_tokens(_prompts(body.get("prompt"))), choices),
        "system_fingerprint": replies.SYSTEM_FINGERPRINT,
    }


def text_completion_chunks(body: dict, d: Directives, id_: str, created: int) -> list[tuple[str, dict]]:
    """Every stream event as (kind, chunk): each choice's text in pieces (choices interleaved, finish_reason on a
    choice's last piece), then, with `stream_options.include_usage`, a usage chunk with no choices."""
    choices = plan_choices(body)
    with_usage = bool(replies._get(body.get("stream_options"), "include_usage"))
    frame = {"id": id_, "object": "text_completion", "created": created, "model": body["model"],
             "system_fingerprint": replies.SYSTEM_FINGERPRINT, **({"usage": None} if with_usage else {})}
    per_choice = [_choice_pieces(body, c, d) for c in choices]
    out = [("content", {**frame, "choices": [piece[step]]})
           for step in range(max(map(len, per_choice), default=0)) for piece in per_choice if step < len(piece)]
    if with_usage:
        out.append(("tail", {**frame, "choices": [], "usage": _usage(_prompt_tokens(_prompts(body.get("prompt"))),
                                                                       choices)}))
    return out


def _choice_pieces(body: dict, c: Choice, d: Directives) -> list[dict]:
    pieces = ([(c.echo, [])] if c.echo else []) + replies._pieces(c.reply.tokens, d.chunks)
    pieces = pieces or [("", [])]
    offsets = list(itertools.accumulate((len(text) for text, _ in pieces), initial=0))
    finishes = [None] * (len(pieces) - 1) + [c.reply.finish_reason]
    return [_choice(c.index, text, _logprobs(body, tokens, offset), finish)
            for (text, tokens), offset, finish in zip(pieces, offsets, finishes, strict=False)]


def _choice(index: int, text: str, logprobs: dict | None, finish: str | None) -> dict:
    return {"text": text, "index": index, "logprobs": logprobs, "finish_reason": finish}


def _logprobs(body: dict, tokens: list[str], offset: int) -> dict | None:
    """OpenAI's legacy logprobs for the generated tokens (not an echoed prompt's): `logprobs: k` alternatives each."""
    top = body.get("logprobs")
    if not isinstance(top, int):
        return None
    values = [-(len(t.strip()) % 7 + 1) / 64 for t in tokens]  # dyadic, as openai_replies' chat logprobs
    return {
        "tokens": tokens,
        "token_logprobs": values,
        "top_logprobs": [{t: v, **{f"alt{j}": v - j for j in range(1, top)}} if top else {}
                         for t, v in zip(tokens, values, strict=True)],
        "text_offset": list(itertools.accumulate((len(t) for t in tokens[:-1]), initial=offset)) if tokens else [],
    }


# --- Mistral fill-in-the-middle ---------------------------------------------------------------------------------


def _fim_text(body: dict, key: str) -> str:
    return body[key] if isinstance(body.get(key), str) else ""  # (a lenient fake may be sent anything)


def _fim_usage(body: dict, reply: replies.Reply) -> dict:
    prompt = len(_fim_text(body, "prompt").split()) + len(_fim_text(body, "suffix").split())
    return _usage(prompt, [Choice(0, "", reply)])


def fim_completion(body: dict, id_: str, created: int) -> dict:
    """Mistral's FIMCompletionResponse: the middle text as an assistant message."""
    reply = plan_text(_fim_text(body, "prompt"), body)
    message = {"role": "assistant", "content": "".join(reply.tokens), "tool_calls": None, "prefix": False}
    return {
        "id": id_,
        "object": "chat.completion",
        "model": body["model"],
        "usage": _fim_usage(body, reply),
        "created": created,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
    }


def fim_chunks(body: dict, d: Directives, id_: str, created: int) -> list[tuple[str, dict]]:
    """Mistral's CompletionChunk events: the role with empty content, the text in pieces, then an empty delta with
    finish_reason and usage (Mistral streams always report it)."""
    reply = plan_text(_fim_text(body, "prompt"), body)

    def frame(delta: dict, finish: str | None) -> dict:
        return {"id": id_, "object": "chat.completion.chunk", "created": created, "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    head = ("head", frame({"role": "assistant", "content": ""}, None))
    pieces = [("content", frame({"content": text}, None)) for text, _ in replies._pieces(reply.tokens, d.chunks)]
    tail = ("tail", {**frame({"content": ""}, reply.finish_reason), "usage": _fim_usage(body, reply)})
    return [head, *pieces, tail]
