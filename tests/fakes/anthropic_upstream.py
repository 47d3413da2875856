"""Loopback fake of Anthropic's Messages API (`POST /v1/messages`, `GET /v1/models`) in Anthropic's wire format:
`Message` bodies, SSE streams with `event:` lines and `ping`, errors in `{"type": "error", "error": {...}}`.

Owns the Anthropic routes, auth (`x-api-key` or `Authorization: Bearer`), the required `anthropic-version` header,
strict request validation (tests/oracles_anthropic.py) and the reply bodies; the server lifecycle, request recording
and stream framing are loopback's. Scripted by the model name, like the OpenAI fake:

    claude-x+parallel-tools+thinking+cache-read-7    error-529+retry-after-3    stream-error-2    stream-break-1

Deterministic: answers echo the last user text. Never imported by gateway code.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.faults import StreamBreak
from tests.fakes.loopback import ALL_METHODS, RecordingServer
from tests.fakes.openai_directives import directive_values

_BAD_KEY = "sk-bad"
_TOKEN = re.compile(r"\S+\s*")
_FLAGS = ("parallel-tools", "thinking", "refusal")
_NUMBERED = re.compile(r"(error|retry-after|stream-error|stream-break|cache-read|cache-write)-(\d+)")
MODELS = (
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
)
# status -> (error.type, message), as Anthropic words them; other statuses get generic ones
ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "The fake was asked for error-400."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}
MISSING_KEY = "x-api-key header is required"
MISSING_VERSION = "anthropic-version: header is required"


@dataclass(frozen=True, slots=True)
class Directives:
    """What a model name like `claude-x+thinking+error-529` asks of the fake."""

    base: str
    error: int | None = None
    retry_after: int | None = None  # seconds, on error replies (429 sends 1 unless told)
    stream_error: int | None = None  # an in-band overloaded_error event after n content deltas
    stream_break: int | None = None  # the connection cut after n content deltas
    cache_read: int = 0
    cache_write: int = 0
    parallel_tools: bool = False
    thinking: bool = False  # a thinking block first, as with `thinking: {"type": "enabled"}`
    refusal: bool = False  # stop_reason "refusal"


@functools.lru_cache(maxsize=1024)
def parse_directives(model: str) -> Directives:
    """Raises ValueError naming the first directive it does not know."""
    base, values = directive_values(model, _FLAGS, _NUMBERED)
    return Directives(base=base, **values)


def error_body(status: int, message: str | None = None, *, model: str = "") -> dict:
    generic = ("api_error" if status >= 500 else "invalid_request_error", f"The fake was asked for error-{status}.")
    type_, text = ERRORS.get(status, generic)
    return {"type": "error", "error": {"type": type_, "message": message or text.format(model=model)},
            "request_id": f"req_fake{status:020d}"}


# --- replies ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """One answer: optional thinking, then text tokens or tool calls."""

    tokens: list[str] = field(default_factory=list)
    tool_calls: list[tuple[str, str, dict]] = field(default_factory=list)  # (id, name, input)
    thinking: str = ""
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None

    @property
    def output_tokens(self) -> int:
        calls = sum(len(json.dumps(c[2]).split()) for c in self.tool_calls)
        return calls + len(self.tokens) + len(self.thinking.split())


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else ()
    return " ".join(p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _is_tool_result(message: dict) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def plan_reply(body: dict, d: Directives) -> Reply:
    messages = body.get("messages") or []
    user = next((m for m in reversed(messages) if m.get("role") == "user" and not _is_tool_result(m)), {})
    text = _text(user.get("content"))
    thinking = f"The user said: {text}" if d.thinking or (body.get("thinking") or {}).get("type") == "enabled" else ""
    calls = _tool_calls(body, d, text)
    if calls:
        return Reply(tool_calls=calls, thinking=thinking, stop_reason="tool_use")
    fmt = (body.get("output_config") or {}).get("format")
    content = json.dumps({"echo": text}) if fmt else f"Echo: {text}"
    reply = Reply(thinking=thinking, stop_reason="refusal" if d.refusal else "end_turn")
    hits = [(content.find(s), s) for s in body.get("stop_sequences") or () if s and s in content]
    if hits:
        cut, reply.stop_sequence = min(hits)
        content, reply.stop_reason = content[:cut], "stop_sequence"
    reply.tokens = _TOKEN.findall(content)
    limit = body.get("max_tokens")
    if isinstance(limit, int) and len(reply.tokens) > limit:
        reply.tokens, reply.stop_reason, reply.stop_sequence = reply.tokens[:limit], "max_tokens", None
    return reply


def _tool_calls(body: dict, d: Directives, text: str) -> list[tuple[str, str, dict]]:
    messages = body.get("messages") or []
    choice = body.get("tool_choice") or {"type": "auto"}
    names = [t["name"] for t in body.get("tools") or () if "input_schema" in t]
    # After a tool result the model answers in text, so tool loops terminate.
    if not names or choice["type"] == "none" or (messages and _is_tool_result(messages[-1])):
        return []
    chosen = [choice["name"]] if choice["type"] == "tool" else names if d.parallel_tools else names[:1]
    return [(f"toolu_fake{i:02d}", name, {"echo": text}) for i, name in enumerate(chosen)]


def usage(body: dict, reply: Reply, d: Directives) -> dict:
    words = sum(len(_text(m.get("content")).split()) for m in body.get("messages") or ())
    words += len(_text(body.get("system")).split())
    return {
        "input_tokens": words,
        "cache_creation_input_tokens": d.cache_write,
        "cache_read_input_tokens": d.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": d.cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": reply.output_tokens,
        "service_tier": "standard",
    }


def _signature(thinking: str) -> str:
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def content_blocks(reply: Reply) -> list[dict]:
    blocks: list[dict] = []
    if reply.thinking:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": _signature(reply.thinking)})
    if reply.tokens or not reply.tool_calls:
        blocks.append({"type": "text", "text": "".join(reply.tokens)})
    blocks += [{"type": "tool_use", "id": i, "name": n, "input": args} for i, n, args in reply.tool_calls]
    return blocks


def message(body: dict, reply: Reply, d: Directives, id_: str) -> dict:
    return {"id": id_, "type": "message", "role": "assistant", "model": body["model"],
            "content": content_blocks(reply), "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence, "usage": usage(body, reply, d)}


def stream_events(body: dict, reply: Reply, d: Directives, id_: str) -> list[tuple[str, dict]]:
    """(kind, event) in Anthropic's order; kind is "content" for the deltas that stream-error-n / -break-n count."""
    start = {**message(body, reply, d, id_), "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**start["usage"], "output_tokens": 1}
    events = [("head", {"type": "message_start", "message": start}), ("head", {"type": "ping"})]
    for index, block in enumerate(content_blocks(reply)):
        events += _block_events(index, block)
    events.append(("tail", {"type": "message_delta", "usage": {"output_tokens": reply.output_tokens},
                            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}}))
    return [*events, ("tail", {"type": "message_stop"})]


def _block_events(index: int, block: dict) -> list[tuple[str, dict]]:
    kind = block["type"]
    empty = {"text": {"text": ""}, "thinking": {"thinking": "", "signature": ""}, "tool_use": {"input": {}}}[kind]
    events = [("head", {"type": "content_block_start", "index": index, "content_block": {**block, **empty}})]
    if kind == "text":
        deltas = [{"type": "text_delta", "text": t} for t in _TOKEN.findall(block["text"])]
    elif kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": t} for t in _TOKEN.findall(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:  # Anthropic opens with an empty fragment, then cuts the JSON anywhere
        arguments = json.dumps(block["input"])
        pieces = ["", *(p for p in (arguments[:5], arguments[5:12], arguments[12:]) if p)]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    events += [("content", {"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas]
    if index == 0:
        events.append(("head", {"type": "ping"}))  # pings come at any time
    return [*events, ("tail", {"type": "content_block_stop", "index": index})]


def models_page() -> dict:
    data = [{"type": "model", "id": i, "display_name": n, "created_at": c} for i, n, c in MODELS]
    return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


# --- HTTP -------------------------------------------------------------------------------------------------------

_request_ids = itertools.count(1)


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {"request-id": f"req_{next(_request_ids):024x}", **(headers or {})},
                    media_type="application/json")


def _refused(request: Request) -> Response | None:
    """Auth (`x-api-key`, or `Authorization: Bearer` as newer SDKs send) and the anthropic-version header."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    key = request.headers.get("x-api-key") or (bearer.strip() if scheme.lower() == "bearer" else "")
    if not key:
        return _json(401, error_body(401, MISSING_KEY))
    if key == _BAD_KEY:
        return _json(401, error_body(401))
    if not request.headers.get("anthropic-version"):
        return _json(400, error_body(400, MISSING_VERSION))
    return None


async def _sse(events: list[tuple[str, dict]], d: Directives) -> AsyncIterator[bytes]:
    cut = d.stream_break if d.stream_break is not None else d.stream_error
    sent = 0
    for kind, event in events:
        if kind == "content" and sent == cut:
            if d.stream_break is not None:
                raise StreamBreak(f"stream-break-{cut}")
            error = {k: v for k, v in error_body(529).items() if k != "request_id"}  # in-band errors have none
            yield b"event: error\ndata: " + orjson.dumps(error) + b"\n\n"
            return
        yield f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n"
        sent += kind == "content"


class FakeAnthropic(RecordingServer):
    """`with FakeAnthropic() as fake: Anthropic(base_url=fake.origin, api_key="k")`; the gateway's target base URL is
    `fake.base_url` (`{origin}/v1`). `fake.requests` logs every call (headers lower-case)."""

    label = "Anthropic"
    api_path = "/v1"

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        app = Starlette(routes=[
            Route("/v1/messages", self._messages, methods=["POST"]),
            Route("/v1/models", self._list_models, methods=["GET"]),
            Route("/{path:path}", self._not_found, methods=ALL_METHODS),
        ])
        super().__init__(app, strict=strict, record=record, host=host, port=port)

    def _load_oracles(self) -> Any:
        from tests import oracles_anthropic  # lazy: patching the SDK types takes ~1 s

        oracles_anthropic.message_request_errors({"model": "warm-up", "max_tokens": 1, "messages": []})
        return oracles_anthropic

    async def _messages(self, request: Request) -> Response:
        record = await self._log(request)
        body = record.json
        if (refused := _refused(request)) is not None:
            return refused
        if not isinstance(body, dict):
            return _json(400, error_body(400, "There was an error parsing the body of your request."))
        if self._oracles is not None:
            record.oracle_errors = self._oracles.message_request_errors(body)
            if record.oracle_errors:
                return _json(400, error_body(400, "oracle: " + "; ".join(record.oracle_errors)))
        try:
            d = parse_directives(body["model"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return _json(400, error_body(400, f"model: {error}"))
        if d.error is not None:
            retry = d.retry_after if d.retry_after is not None else 1 if d.error == 429 else None
            headers = {} if retry is None else {"retry-after": str(retry)}
            return _json(d.error, error_body(d.error, model=d.base), headers)
        reply, id_ = plan_reply(body, d), f"msg_fake{next(self._ids):020d}"
        if body.get("stream"):
            events = stream_events(body, reply, d, id_)
            headers = {"request-id": f"req_{next(_request_ids):024x}", "cache-control": "no-cache"}
            return self._stream(_sse(events, d), headers, record)
        return _json(200, message(body, reply, d, id_))

    async def _list_models(self, request: Request) -> Response:
        await self._log(request)
        return _refused(request) or _json(200, models_page())

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _json(404, error_body(404, "Not Found"))
