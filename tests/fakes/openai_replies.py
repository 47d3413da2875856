"""Reply builders of the fake OpenAI upstream: OpenAI-shaped JSON bodies (directives parsed in openai_directives).

Pure functions of the request body: no I/O, no sleeping, no randomness (ids and `created` are passed in).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_directives import Directives, parse_directives

SYSTEM_FINGERPRINT = "fp_f4ke0c0ffee"
DEFAULT_DIMENSIONS = 16
MODELS = (("gpt-4o-mini", 1721172741), ("gpt-4o", 1715367049), ("text-embedding-3-small", 1705948997))
_TOKEN = re.compile(r"\S+\s*")
_OBFUSCATION = "Xq7Lm2Vt9Rb4Kc8Wd1Hf5Jg3Np6Zs0Ay"
_CHOICE_EXTRA = {"content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}
_USAGE_DETAILS = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


# --- errors -----------------------------------------------------------------------------------------------------

_KEYS_URL = "https://platform.openai.com/account/api-keys"
_RATE_LIMIT = (
    "Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. "
    "Please try again in 20ms. Visit https://platform.openai.com/account/rate-limits to learn more."
)
# status -> (type, code) and message, as OpenAI words them; other statuses get generic ones
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("request_forbidden", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ERROR_MESSAGES = {
    400: "Invalid value for 'model': the fake was asked for error-400.",
    401: f"Incorrect API key provided: {{key}}. You can find your API key at {_KEYS_URL}.",
    403: "Country, region, or territory not supported",
    404: "The model `{model}` does not exist or you do not have access to it.",
    429: _RATE_LIMIT,
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later",
}
MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
    "(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the "
    "API from your browser and are prompted for a username and password. You can obtain an API key from "
    f"{_KEYS_URL}."
)
BAD_JSON_REQUEST = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library "
    "correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble "
    "figuring out how to fix this, please contact us through our help center at help.openai.com.)"
)
RATE_LIMIT_HEADERS = {
    "retry-after-ms": "20",
    "retry-after": "1",
    "x-ratelimit-limit-requests": "3",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "20ms",
}
BROKEN_JSON = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess'
BROKEN_SSE_EVENT = b"data: {not json\n\n"


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def status_error(status: int, *, model: str = "", key: str = "") -> dict:
    """The envelope OpenAI sends for `status`."""
    generic = ("invalid_request_error" if status < 500 else "server_error", None)
    type_, code = _ERROR_KINDS.get(status, generic)
    message = _ERROR_MESSAGES.get(status, f"The fake upstream was asked for error-{status}.")
    return error_body(message.format(model=model, key=mask_key(key)), type_, None, code)


def stream_error() -> dict:
    """OpenAI's in-stream error event (a `data:` line with no `choices`)."""
    return status_error(500)


def mask_key(key: str) -> str:
    """OpenAI shows the first 8 and last 4 characters of a rejected key."""
    return key if len(key) <= 12 else f"{key[:8]}{'*' * (len(key) - 12)}{key[-4:]}"


def html_page(status: int) -> bytes:
    try:
        title = f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


# --- chat -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """One choice: either text (`tokens` joined) or tool calls."""

    tokens: list[str] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str = "stop"

    @property
    def content(self) -> str | None:
        return None if self.tool_calls else "".join(self.tokens)

    @property
    def completion_tokens(self) -> int:
        return sum(len(c["function"]["arguments"].split()) for c in self.tool_calls) or len(self.tokens)


def plan_reply(body: dict, directives: Directives) -> Reply:
    """The deterministic answer: tool calls when tools are offered, else `Echo: <last user text>` (or its JSON)."""
    messages = body.get("messages") or []
    text = _text(next((m for m in reversed(messages) if _get(m, "role") == "user"), None))
    calls = _tool_calls(body, directives, text)
    if calls:
        return Reply(tool_calls=calls, finish_reason="tool_calls")
    fmt = _get(body.get("response_format"), "type")
    content = json.dumps({"echo": text}) if fmt in ("json_object", "json_schema") else f"Echo: {text}"
    tokens = _TOKEN.findall(content)
    limit = next((body[k] for k in ("max_completion_tokens", "max_tokens") if isinstance(body.get(k), int)), None)
    if limit is not None and limit < len(tokens):
        tokens = tokens[:limit]
        if tokens:
            tokens[-1] = tokens[-1].rstrip()
        return Reply(tokens=tokens, finish_reason="length")
    return Reply(tokens=tokens)


def _tool_calls(body: dict, directives: Directives, text: str) -> list[dict]:
    messages = body.get("messages") or []
    choice = body.get("tool_choice", "auto")
    names = [_get(_get(t, "function"), "name") for t in body.get("tools") or () if _get(t, "type") == "function"]
    # After a tool result the model answers in text, so tool loops terminate.
    if not names or choice == "none" or (messages and _get(messages[-1], "role") == "tool"):
        return []
    forced = _get(_get(choice, "function"), "name")
    chosen = [forced] if forced else names if directives.parallel_tools else names[:1]
    arguments = json.dumps({"echo": text})
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
        for i, name in enumerate(chosen)
    ]


def usage(body: dict, replies: list[Reply]) -> dict:
    prompt = sum(len(_text(m).split()) for m in body.get("messages") or ())
    completion = sum(r.completion_tokens for r in replies)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        **_USAGE_DETAILS,
    }


def chat_completion(body: dict, *, id_: str, created: int) -> dict:
    directives = parse_directives(body["model"])
    replies = [plan_reply(body, directives)] * (body.get("n") or 1)
    choices = []
    for index, reply in enumerate(replies):
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None, "annotations": []}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": _logprobs(body, reply.tokens, reply),
                "finish_reason": reply.finish_reason,
                **(_CHOICE_EXTRA if directives.choice_extra else {}),
            }
        )
    return {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": body["model"],
        "choices": choices,
        "usage": usage(body, replies),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def chat_chunks(body: dict, *, id_: str, created: int) -> list[tuple[str, dict]]:
    """Every chunk of a stream as (kind, chunk); kind is `head` (role), `content` or `tail` (finish, usage)."""
    directives = parse_directives(body["model"])
    replies = [plan_reply(body, directives)] * (body.get("n") or 1)
    with_usage = bool(_get(body.get("stream_options"), "include_usage"))
    frame = functools.partial(_frame, id_=id_, created=created, model=body["model"], with_usage=with_usage)
    per_choice = [_choice_deltas(body, r, directives) for r in replies]
    out = [("head", frame(index, *deltas[0])) for index, deltas in enumerate(per_choice)]
    longest = max(len(d) for d in per_choice)
    for step in range(1, longest):  # interleave choices, as OpenAI does with n > 1
        out += [("content", frame(i, *d[step])) for i, d in enumerate(per_choice) if step < len(d)]
    out += [("tail", frame(i, {}, None, r.finish_reason)) for i, r in enumerate(replies)]
    if with_usage:
        out.append(("tail", {**frame(0, {}, None, None), "choices": [], "usage": usage(body, replies)}))
    for seq, (_, chunk) in enumerate(out):
        chunk["obfuscation"] = _OBFUSCATION[: 3 + seq * 7 % 20]
        for choice in chunk["choices"] if directives.choice_extra else ():
            choice.update(_CHOICE_EXTRA, delta={**choice["delta"], "reasoning_details": []})
    return out


def _frame(
    index: int, delta: dict, logprobs: Any, finish: str | None, *, id_: str, created: int, model: str, with_usage: bool
) -> dict:
    chunk = {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
    }
    if with_usage:
        chunk["usage"] = None
    return chunk


def _choice_deltas(body: dict, reply: Reply, directives: Directives) -> list[tuple[dict, Any, None]]:
    """(delta, logprobs, finish_reason=None) per chunk of one choice; the first one carries the role."""
    if reply.tool_calls:
        return _tool_call_deltas(reply.tool_calls)
    deltas: list[tuple[dict, Any, None]] = [({"role": "assistant", "content": "", "refusal": None}, None, None)]
    for piece, tokens in _pieces(reply.tokens, directives.chunks):
        deltas.append(({"content": piece}, _logprobs(body, tokens, reply), None))
    return deltas


def _tool_call_deltas(calls: list[dict]) -> list[tuple[dict, Any, None]]:
    """Per call: a header (index, id, type, name, empty arguments), then 2+ argument fragments, as OpenAI does."""
    deltas: list[tuple[dict, Any, None]] = []
    for index, call in enumerate(calls):
        header = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        first = {"role": "assistant", "content": None, "tool_calls": [header], "refusal": None}
        deltas.append((first if index == 0 else {"tool_calls": [header]}, None, None))
        for fragment in _TOKEN.findall(call["function"]["arguments"]):
            deltas.append(({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}, None, None))
    return deltas


def _pieces(tokens: list[str], chunks: int | None) -> list[tuple[str, list[str]]]:
    """Content pieces with the tokens that start in each: one per token, or `chunks` pieces."""
    if not chunks or chunks == len(tokens):
        return [(t, [t]) for t in tokens]
    if chunks < len(tokens):
        size, extra = divmod(len(tokens), chunks)
        bounds = [i * size + min(i, extra) for i in range(chunks + 1)]
        return [("".join(tokens[a:b]), tokens[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    text = "".join(tokens)  # more pieces than tokens: cut characters, tokens go where they start
    count = min(chunks, len(text))
    size, extra = divmod(len(text), count) if count else (0, 0)
    bounds = [i * size + min(i, extra) for i in range(count + 1)]
    starts, offset = {}, 0
    for token in tokens:
        starts.setdefault(next(i for i in range(count) if bounds[i] <= offset < bounds[i + 1]), []).append(token)
        offset += len(token)
    return [(text[a:b], starts.get(i, [])) for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]


def _logprobs(body: dict, tokens: list[str], reply: Reply) -> dict | None:
    if not body.get("logprobs") or reply.tool_calls:
        return None
    top = body.get("top_logprobs") or 0
    content = []
    for token in tokens:
        logprob = -(len(token.strip()) % 7 + 1) / 64  # dyadic: exact in JSON and float32
        alternatives = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
        alternatives += [
            {"token": f"alt{j}", "logprob": logprob - j, "bytes": list(f"alt{j}".encode())} for j in range(1, top)
        ]
        content.append({**alternatives[0], "top_logprobs": alternatives[:top]})
    return {"content": content, "refusal": None}


def _text(message: Any) -> str:
    """Text of a message: a string, or its text parts joined by a space (images and audio ignored)."""
    content = _get(message, "content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if _get(p, "type") == "text" and isinstance(p.get("text"), str))
    return ""


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


# --- embeddings and models --------------------------------------------------------------------------------------


def embeddings(body: dict) -> dict:
    """Deterministic vectors from sha256 of each input; base64 = little-endian float32, as OpenAI encodes."""
    items = _embedding_inputs(body.get("input"))
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for index, item in enumerate(items):
        vector = embedding_vector(item, dimensions)
        encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens += len(item.split()) if isinstance(item, str) else len(item)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def embedding_vector(item: str | list[int], dimensions: int) -> list[float]:
    """Values k/32768 - 1 for 16-bit k: in [-1, 1) and exact in float32, so float and base64 forms agree."""
    key = item.encode() if isinstance(item, str) else ",".join(map(str, item)).encode()
    seed = hashlib.sha256(key).digest()
    stream = b"".join(hashlib.sha256(seed + i.to_bytes(4, "little")).digest() for i in range(-(-dimensions // 16)))
    return [k / 32768 - 1 for k in struct.unpack(f"<{dimensions}H", stream[: 2 * dimensions])]


def _embedding_inputs(value: Any) -> list[str | list[int]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [value]
    return list(value) if isinstance(value, list) else []


def models_page() -> dict:
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": created, "owned_by": "system"} for name, created in MODELS],
    }
