"""Reply builders of the fake Gemini upstream: Gemini-shaped camelCase JSON (GenerateContentResponse, embeddings,
models, Google error envelopes). Pure functions of the request body and the model name's directives.

Gemini-only directives (besides openai_directives' own): `thinking` (thought parts first), `safety` (the candidate
stops with SAFETY, no content), `blocked` (the prompt is blocked: no candidates, `promptFeedback.blockReason`),
`unfinished` (a stream whose body ends cleanly before the event with the finishReason).
"""

from __future__ import annotations

import http
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_directives import Directives, parse_directives
from tests.fakes.openai_replies import DEFAULT_DIMENSIONS, embedding_vector

GEMINI_FLAGS = frozenset({"thinking", "safety", "blocked", "unfinished"})
SIGNATURE = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ=="  # base64 of b"fake-thought-signature"
MODELS = (
    ("gemini-2.5-flash", "Gemini 2.5 Flash", ["generateContent", "countTokens", "createCachedContent"]),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", ["generateContent", "countTokens", "createCachedContent"]),
    ("gemini-embedding-001", "Gemini Embedding 001", ["embedContent", "countTokens"]),
)
_TOKEN = re.compile(r"\S+\s*")
_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 503: "UNAVAILABLE",
             504: "DEADLINE_EXCEEDED"}
_MESSAGES = {
    400: "Request contains an invalid argument.",
    404: "models/{model} is not found for API version {version}, or is not supported for {method}. Call ListModels "
         "to see the list of available models and their supported methods.",
    429: "You exceeded your current quota, please check your plan and billing details. For more information on this "
         "error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
UNREGISTERED = ("Method doesn't allow unregistered callers (callers without established identity). Please use API "
                "Key or other form of API consumer identity to call this API.")
BROKEN_JSON = b'{"candidates": [{"content": {"role": "model", "parts": [{"te'
BROKEN_SSE_EVENT = b"data: {not json\r\n\r\n"


def parse(model: str) -> tuple[Directives, frozenset[str]]:
    """(shared directives, Gemini flags); ValueError for an unknown directive."""
    base, *parts = model.split("+")
    own = frozenset(p for p in parts if p in GEMINI_FLAGS)
    return parse_directives("+".join([base, *(p for p in parts if p not in own)])), own


# --- errors -----------------------------------------------------------------------------------------------------


def error_body(status: int, message: str, details: list[dict] | None = None) -> dict:
    error: dict[str, Any] = {"code": status, "message": message, "status": _status_name(status)}
    if details:
        error["details"] = details
    return {"error": error}


def status_error(status: int, *, model: str = "", version: str = "v1beta", method: str = "generateContent",
                 retry_after: int = 1) -> dict:
    """The envelope Google sends for `status`; a 429 carries QuotaFailure and RetryInfo details."""
    message = _MESSAGES.get(status, f"The fake upstream was asked for error-{status}.")
    details = None
    if status == 429:
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                 "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
        ]
    return error_body(status, message.format(model=model, version=version, method=method), details)


def bad_key() -> dict:
    return error_body(400, "API key not valid. Please pass a valid API key.", [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])


def _status_name(status: int) -> str:
    if status in _STATUSES:
        return _STATUSES[status]
    try:
        return http.HTTPStatus(status).name
    except ValueError:
        return "UNKNOWN"


# --- generateContent ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """One candidate: thought tokens, text tokens or function calls, and its finishReason."""

    tokens: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    finish: str = "STOP"

    @property
    def output_tokens(self) -> int:
        return sum(len(json.dumps(c["args"]).split()) for c in self.calls) or len(self.tokens)


def plan_reply(body: dict, d: Directives, flags: frozenset[str]) -> Reply:
    """Function calls when tools are offered (not after a function result), else `Echo: <last user text>`."""
    text = _last_user_text(body.get("contents") or [])
    if "safety" in flags:
        return Reply(finish="SAFETY")
    thoughts = _TOKEN.findall(f"Thinking about: {text}") if "thinking" in flags else []
    calls = _calls(body, d, text)
    if calls:
        return Reply(thoughts=thoughts, calls=calls)
    config = body.get("generationConfig") or {}
    json_out = config.get("responseMimeType") == "application/json"
    tokens = _TOKEN.findall(json.dumps({"echo": text}) if json_out else f"Echo: {text}")
    limit = config.get("maxOutputTokens")
    if isinstance(limit, int) and limit < len(tokens):
        cut = tokens[:limit]
        if cut:
            cut[-1] = cut[-1].rstrip()
        return Reply(cut, thoughts, finish="MAX_TOKENS")
    return Reply(tokens, thoughts)


def _calls(body: dict, d: Directives, text: str) -> list[dict]:
    names = [f.get("name") for t in body.get("tools") or () for f in t.get("functionDeclarations") or ()]
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    contents = body.get("contents") or []
    answered = bool(contents) and any("functionResponse" in p for p in contents[-1].get("parts") or ())
    if not names or calling.get("mode") == "NONE" or answered:
        return []
    allowed = calling.get("allowedFunctionNames") or names
    chosen = allowed if d.parallel_tools else allowed[:1]
    return [{"name": name, "args": {"echo": text}} for name in chosen]


def _last_user_text(contents: list[dict]) -> str:
    for content in reversed(contents):
        parts = content.get("parts") or ()
        texts = [p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought")]
        if content.get("role") == "user" and texts:
            return " ".join(texts)
    return ""


def _words(body: dict) -> int:
    contents = [*(body.get("contents") or ()), body.get("systemInstruction") or {}]
    return sum(len(p["text"].split()) for c in contents for p in c.get("parts") or () if isinstance(p.get("text"), str))


def usage(body: dict, replies: list[Reply], *, done: bool = True) -> dict:
    prompt = _words(body)
    out = {"promptTokenCount": prompt, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    output = sum(r.output_tokens for r in replies) if done else 0
    thoughts = sum(len(r.thoughts) for r in replies)
    if output:
        out["candidatesTokenCount"] = output
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    out["totalTokenCount"] = prompt + output + thoughts
    return out


def _parts(tokens: list[str], thoughts: list[str], calls: list[dict]) -> list[dict]:
    parts: list[dict] = [{"text": "".join(thoughts), "thought": True}] if thoughts else []
    if tokens:
        parts.append({"text": "".join(tokens)})
    # Gemini signs the first function call of a turn; the caller must send the signature back with it.
    parts += [{"functionCall": c, **({"thoughtSignature": SIGNATURE} if i == 0 else {})} for i, c in enumerate(calls)]
    return parts


def _candidate(index: int, parts: list[dict], finish: str | None, logprobs: dict | None) -> dict:
    candidate: dict[str, Any] = {"index": index}
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish:
        candidate["finishReason"] = finish
    if logprobs:
        candidate.update(logprobs)
    return candidate


def _logprobs(body: dict, tokens: list[str]) -> dict | None:
    config = body.get("generationConfig") or {}
    if not config.get("responseLogprobs") or not tokens:
        return None
    top = config.get("logprobs") or 0
    # dyadic log probabilities: exact in JSON
    chosen = [{"token": t, "tokenId": i, "logProbability": -(len(t.strip()) % 7 + 1) / 64}
              for i, t in enumerate(tokens)]
    tops = [{"candidates": [c, *({"token": f"alt{j}", "tokenId": 1000 + j, "logProbability": c["logProbability"] - j}
                                 for j in range(1, top))][:top]} for c in chosen]
    result = {"chosenCandidates": chosen, "topCandidates": tops}
    return {"logprobsResult": result, "avgLogprobs": sum(c["logProbability"] for c in chosen) / len(chosen)}


def generate_content(body: dict, model: str, *, response_id: str) -> dict:
    d, flags = parse(model)
    head = {"modelVersion": d.base, "responseId": response_id}
    if "blocked" in flags:
        return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(body, []), **head}
    replies = [plan_reply(body, d, flags)] * ((body.get("generationConfig") or {}).get("candidateCount") or 1)
    candidates = [_candidate(i, _parts(r.tokens, r.thoughts, r.calls), r.finish, _logprobs(body, r.tokens))
                  for i, r in enumerate(replies)]
    return {"candidates": candidates, "usageMetadata": usage(body, replies), **head}


def stream_events(body: dict, model: str, *, response_id: str) -> list[tuple[str, dict]]:
    """Every SSE event as (kind, GenerateContentResponse); kind `content` counts for stream-break / stream-error."""
    d, flags = parse(model)
    head = {"modelVersion": d.base, "responseId": response_id}
    if "blocked" in flags:
        return [("tail", generate_content(body, model, response_id=response_id))]
    replies = [plan_reply(body, d, flags)] * ((body.get("generationConfig") or {}).get("candidateCount") or 1)
    reply = replies[0]
    steps: list[tuple[list[str], list[str], list[dict]]] = [([], [t], []) for t in reply.thoughts]
    steps += [(piece, [], []) for piece in _pieces(reply.tokens, d.chunks)]
    if reply.calls:
        steps.append(([], [], reply.calls))
    steps = steps or [([], [], [])]
    events = []
    for n, (tokens, thoughts, calls) in enumerate(steps):
        last = n == len(steps) - 1
        candidates = [_candidate(i, _parts(tokens, thoughts, calls), r.finish if last else None,
                                 _logprobs(body, tokens)) for i, r in enumerate(replies)]
        events.append(("content", {"candidates": candidates, "usageMetadata": usage(body, replies, done=last), **head}))
    return events[:-1] if "unfinished" in flags else events


def _pieces(tokens: list[str], chunks: int | None) -> list[list[str]]:
    if not chunks or chunks >= len(tokens):
        return [[t] for t in tokens]
    size, extra = divmod(len(tokens), chunks)
    bounds = [i * size + min(i, extra) for i in range(chunks + 1)]
    return [tokens[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# --- embeddings and models ----------------------------------------------------------------------------------------


def batch_embed(body: dict) -> dict:
    embeddings = []
    for request in body.get("requests") or ():
        text = " ".join(p.get("text", "") for p in (request.get("content") or {}).get("parts") or ())
        embeddings.append({"values": embedding_vector(text, request.get("outputDimensionality") or DEFAULT_DIMENSIONS)})
    return {"embeddings": embeddings}


def models_page() -> dict:
    return {"models": [
        {"name": f"models/{name}", "version": "001", "displayName": display, "description": f"The fake {display}.",
         "inputTokenLimit": 1048576, "outputTokenLimit": 65536, "supportedGenerationMethods": methods,
         "temperature": 1.0, "maxTemperature": 2.0, "topP": 0.95, "topK": 64} for name, display, methods in MODELS]}
