"""Reply builders of the fake Cohere v2 upstream: `/v2/chat` JSON and stream events, `/v2/embed`, `/v1/models`
and Cohere's error bodies. Pure functions of the request body (ids passed in); no I/O, no sleeping.

The answer: tool calls (with a `tool_plan`) when tools are offered and the last turn is not a tool result, else
`Echo: <last user text>` (its JSON with a response_format); a `thinking` block first when `thinking` is enabled,
a citation of the first document when `documents` are given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_directives import Directives
from tests.fakes.openai_replies import embedding_vector

DEFAULT_DIMENSIONS = 16
TEMPLATE_TOKENS = 7  # prompt tokens Cohere counts but does not bill (its chat template)
_TOKEN = re.compile(r"\S+\s*")
MODELS = (
    ("command-a-03-2025", ["chat"], 256000, ["tools", "strict_tools", "json_mode", "json_schema"]),
    ("command-r7b-12-2024", ["chat"], 128000, ["tools", "json_mode"]),
    ("embed-v4.0", ["embed"], 128000, []),
)
MISSING_KEY = "no api key supplied"
BAD_KEY = "invalid api token"
_ERROR_MESSAGES = {
    400: "invalid request: the fake was asked for error-400",
    401: BAD_KEY,
    404: "model '{model}' not found, make sure the correct model ID was used and that you have access to the model.",
    429: "You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key "
    "for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'.",
    500: "internal server error, this has been reported to our developers. id {id}",
}
RATE_LIMIT_HEADERS = {"retry-after": "1", "x-trial-endpoint-call-limit": "20", "x-trial-endpoint-call-remaining": "0"}
BROKEN_JSON = b'{"id": "broken", "finish_reason": "COMPLETE", "message": {"role": "assis'
BROKEN_SSE_EVENT = b"event: content-delta\ndata: {not json\n\n"


def error_body(message: str, id_: str | None = None) -> dict:
    """Cohere's error envelope: `{"id", "message"}`, or `{"message"}` for errors raised before a request id."""
    return {"message": message} if id_ is None else {"id": id_, "message": message}


def status_error(status: int, *, id_: str, model: str = "") -> dict:
    message = _ERROR_MESSAGES.get(status, f"the fake upstream was asked for error-{status}")
    return error_body(message.format(model=model, id=id_), id_)


# --- chat ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    tokens: list[str] = field(default_factory=list)
    thinking: str = ""
    tool_plan: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)
    finish_reason: str = "COMPLETE"

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def output_tokens(self) -> int:
        args = sum(len(c["function"]["arguments"].split()) for c in self.tool_calls)
        return args + len(self.tool_plan.split()) + len(self.tokens) + len(self.thinking.split())


def plan_reply(body: dict, directives: Directives) -> Reply:
    text = _text(next((m for m in reversed(body["messages"]) if m.get("role") == "user"), None))
    thinking = f"The user said {text}. " if (body.get("thinking") or {}).get("type") == "enabled" else ""
    calls = _tool_calls(body, directives, text)
    if calls:
        names = " and ".join(c["function"]["name"] for c in calls)
        return Reply(thinking=thinking, tool_plan=f"I will call {names}.", tool_calls=calls, finish_reason="TOOL_CALL")
    fmt = (body.get("response_format") or {}).get("type")
    content = json.dumps({"echo": text}) if fmt == "json_object" else f"Echo: {text}"
    reply = Reply(tokens=_TOKEN.findall(content), thinking=thinking)
    _stop(reply, body)
    if body.get("documents") and reply.finish_reason == "COMPLETE":
        reply.citations = [_citation(body["documents"][0], reply.text)]
    return reply


def _stop(reply: Reply, body: dict) -> None:
    """stop_sequences cut before the first match (STOP_SEQUENCE); max_tokens cuts after n tokens (MAX_TOKENS)."""
    for stop in body.get("stop_sequences") or ():
        cut = reply.text.find(stop)
        if cut != -1:
            reply.tokens, reply.finish_reason = _TOKEN.findall(reply.text[:cut]), "STOP_SEQUENCE"
    limit = body.get("max_tokens")
    if isinstance(limit, int) and limit < len(reply.tokens):
        reply.tokens, reply.finish_reason = reply.tokens[:limit], "MAX_TOKENS"


def _tool_calls(body: dict, directives: Directives, text: str) -> list[dict]:
    messages = body["messages"]
    names = [t["function"]["name"] for t in body.get("tools") or ()]
    if not names or body.get("tool_choice") == "NONE" or messages[-1].get("role") == "tool":
        return []
    chosen = names if directives.parallel_tools else names[:1]
    arguments = json.dumps({"echo": text})
    return [{"id": f"{name}_{i}fake", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, name in enumerate(chosen)]


def _citation(document: Any, text: str) -> dict:
    data = {"text": document} if isinstance(document, str) else document.get("data") or {}
    source: dict[str, Any] = {"type": "document", "id": "doc:0", "document": {**data, "id": "doc:0"}}
    return {"start": 0, "end": len(text), "text": text, "sources": [source], "type": "TEXT_CONTENT"}


def usage(body: dict, reply: Reply) -> dict:
    billed_in = sum(len(_text(m).split()) for m in body["messages"])
    out = reply.output_tokens
    return {"billed_units": {"input_tokens": billed_in, "output_tokens": out},
            "tokens": {"input_tokens": billed_in + TEMPLATE_TOKENS, "output_tokens": out}}


def _logprob(token: str) -> dict:
    return {"text": token, "token_ids": [len(token), 7], "logprobs": [-0.25, -(len(token.strip()) % 5) / 8]}


def chat_response(body: dict, directives: Directives, *, id_: str) -> dict:
    reply = plan_reply(body, directives)
    message: dict[str, Any] = {"role": "assistant"}
    content = [{"type": "thinking", "thinking": reply.thinking}] if reply.thinking else []
    if reply.tool_calls:
        message.update(tool_plan=reply.tool_plan, tool_calls=reply.tool_calls)
    else:
        content.append({"type": "text", "text": reply.text})
    if content:
        message["content"] = content
    if reply.citations:
        message["citations"] = reply.citations
    out = {"id": id_, "message": message, "finish_reason": reply.finish_reason, "usage": usage(body, reply)}
    if body.get("logprobs") and not reply.tool_calls:
        out["logprobs"] = [_logprob(token) for token in reply.tokens]
    return out


def chat_events(body: dict, directives: Directives, *, id_: str) -> list[tuple[str, dict]]:
    """Every stream event as (kind, data): kind `head`, `content` (a delta) or `tail`."""
    reply = plan_reply(body, directives)
    events = [("head", {"type": "message-start", "id": id_, "delta": {"message": {"role": "assistant"}}})]
    index = 0
    if reply.thinking:
        events += _block(index, "thinking", _TOKEN.findall(reply.thinking), directives)
        index += 1
    if reply.tool_calls:
        events += [("content", _delta("tool-plan-delta", None, {"tool_plan": p})) for p in _split(
            _TOKEN.findall(reply.tool_plan), directives)]
        for i, call in enumerate(reply.tool_calls):
            events += _tool_call_events(i, call, directives)
    else:
        events += _block(index, "text", reply.tokens, directives, body.get("logprobs"))
    for i, citation in enumerate(reply.citations):
        events += [("tail", _delta("citation-start", i, {"citations": citation})),
                   ("tail", {"type": "citation-end", "index": i})]
    end = {"finish_reason": reply.finish_reason, "usage": usage(body, reply)}
    return [*events, ("tail", {"type": "message-end", "delta": end})]


def _delta(kind: str, index: int | None, message: dict) -> dict:
    event: dict[str, Any] = {"type": kind}
    if index is not None:
        event["index"] = index
    event["delta"] = {"message": message}
    return event


def _block(index: int, kind: str, tokens: list[str], d: Directives, logprobs: Any = None) -> list[tuple[str, dict]]:
    events = [("head", _delta("content-start", index, {"content": {"type": kind, kind: ""}}))]
    for piece in _split(tokens, d):
        event = _delta("content-delta", index, {"content": {kind: piece}})
        if logprobs and kind == "text":
            event["logprobs"] = _logprob(piece)
        events.append(("content", event))
    return [*events, ("tail", {"type": "content-end", "index": index})]


def _tool_call_events(index: int, call: dict, d: Directives) -> list[tuple[str, dict]]:
    start = {"tool_calls": {"id": call["id"], "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""}}}
    events = [("head", _delta("tool-call-start", index, start))]
    for piece in _split(_TOKEN.findall(call["function"]["arguments"]), d):
        events.append(("content", _delta("tool-call-delta", index, {"tool_calls": {"function": {"arguments": piece}}})))
    return [*events, ("tail", {"type": "tool-call-end", "index": index})]


def _split(tokens: list[str], d: Directives) -> list[str]:
    """One piece per token, or `chunks` pieces (never more pieces than tokens)."""
    if not d.chunks or d.chunks >= len(tokens):
        return tokens
    size, extra = divmod(len(tokens), d.chunks)
    bounds = [i * size + min(i, extra) for i in range(d.chunks + 1)]
    return ["".join(tokens[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def stream_error() -> dict:
    """How Cohere ends a stream whose generation failed: message-end with an `error`."""
    return {"type": "message-end", "delta": {"error": "internal server error during generation",
                                             "finish_reason": "ERROR"}}


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    return " ".join(p["text"] for p in content or () if isinstance(p, dict) and p.get("type") == "text")


# --- embed and models -----------------------------------------------------------------------------------------------


def embed_response(body: dict, *, id_: str) -> dict:
    """`float` vectors (as the OpenAI fake's, for the same text) and/or `int8` ones, as `embedding_types` asks."""
    texts, dims = body.get("texts") or [], body.get("output_dimension") or DEFAULT_DIMENSIONS
    vectors = [embedding_vector(text, dims) for text in texts]
    embeddings: dict[str, Any] = {}
    for kind in body.get("embedding_types") or ["float"]:
        embeddings[kind] = vectors if kind == "float" else [[round(v * 127) for v in vec] for vec in vectors]
    tokens = sum(len(text.split()) for text in texts)
    meta = {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}}
    return {"id": id_, "texts": texts, "embeddings": embeddings, "meta": meta, "response_type": "embeddings_by_type"}


def models_response() -> dict:
    models = [{"name": name, "endpoints": endpoints, "finetuned": False, "context_length": context,
               "tokenizer_url": f"https://storage.googleapis.com/cohere-public/tokenizers/{name}.json",
               "default_endpoints": [], "features": features, "is_deprecated": False}
              for name, endpoints, context, features in MODELS]
    return {"models": models}
