"""Loopback fake of AWS Bedrock Runtime on 127.0.0.1: Converse, ConverseStream (real event-stream frames), InvokeModel
for Titan / Cohere embeddings, and the control plane's ListFoundationModels, in AWS's wire format.

Owns routing by the raw (percent-encoded) path, SigV4 checks (Authorization shape and scope, then the signature
recomputed with botocore; tests/oracles_bedrock), strict body validation against botocore's service model, request
recording, and replies scripted by model-id directives (`anthropic.claude-3-haiku-20240307-v1:0+tools+chunks-3`):

    tools, parallel-tools, reasoning    answer with one / one-per-tool toolUse blocks, or a reasoning block first
    chunks-N, cached-N                  split the streamed text into N deltas; report N cache-read input tokens
    stop-<stopReason>                   answer with that stopReason (e.g. stop-guardrail_intervened)
    error-<name>                        answer an AWS JSON error (see ERRORS)
    stream-error-<name>                 an in-stream exception frame after the first text delta (see STREAM_ERRORS)
    no-metadata, bad-crc                streams: omit the final metadata event / corrupt the second frame's CRC

Never imported by gateway code.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests import oracles_bedrock as oracles
from tests.fakes.loopback import LoopbackServer

EVENTSTREAM = "application/vnd.amazon.eventstream"
_ERROR_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
ERRORS = {  # error-<name> -> (exception, status, message)
    "throttling": ("ThrottlingException", 429, "Too many requests, please wait before trying again."),
    "validation": ("ValidationException", 400, "The provided model identifier is invalid."),
    "access-denied": ("AccessDeniedException", 403, "You don't have access to the model with the specified id."),
    "not-ready": ("ModelNotReadyException", 429, "Model is not ready for inference. Retry your request later."),
    "unavailable": ("ServiceUnavailableException", 503, "Bedrock is unable to process your request."),
    "internal": ("InternalServerException", 500, "The server encountered an internal error."),
    "not-found": ("ResourceNotFoundException", 404, "The specified model was not found."),
    "model-timeout": ("ModelTimeoutException", 408, "Model has timed out in processing the request."),
}
STREAM_ERRORS = {  # stream-error-<name> -> (:exception-type, message)
    "throttling": ("throttlingException", "Too many tokens, please wait before trying again."),
    "unavailable": ("serviceUnavailableException", "Bedrock is unable to process your request."),
    "internal": ("internalServerException", "The server encountered an internal error."),
    "validation": ("validationException", "Input is too long for requested model."),
    "model-stream": ("modelStreamErrorException", "The model stream failed."),
}
_FLAGS = frozenset({"tools", "parallel-tools", "reasoning", "no-metadata", "bad-crc"})
_DIRECTIVE = re.compile(r"(chunks|cached)-(\d+)|(stream-error|error)-([a-z-]+)|stop-([a-z_]+)")
MODELS = ("anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3")


@dataclass(frozen=True, slots=True)
class Directives:
    base: str
    flags: frozenset[str] = frozenset()
    chunks: int = 1
    cached: int = 0
    stop: str = ""
    error: str = ""
    stream_error: str = ""


def parse_directives(model_id: str) -> Directives:
    """Raises ValueError naming the first unknown directive."""
    base, *parts = model_id.split("+")
    values: dict[str, Any] = {"flags": frozenset(p for p in parts if p in _FLAGS)}
    for part in (p for p in parts if p not in _FLAGS):
        match = _DIRECTIVE.fullmatch(part)
        if match is None or (match[3] == "error" and match[4] not in ERRORS) or (
                match[3] == "stream-error" and match[4] not in STREAM_ERRORS):
            raise ValueError(f"unknown directive {part!r} in model {model_id!r}")
        if match[1]:
            values[match[1]] = int(match[2])
        elif match[3]:
            values[match[3].replace("-", "_")] = match[4]
        else:
            values["stop"] = match[5]
    return Directives(base, **values)


# --- event-stream frames (provider-oracles.md §3.4) --------------------------------------------------------------


def encode_frame(headers: dict[str, str], payload: dict) -> bytes:
    """One frame: prelude (total length, headers length, CRC32), string headers, JSON payload, message CRC32."""
    raw = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        raw += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    body = orjson.dumps(payload)
    prelude = struct.pack(">II", 12 + len(raw) + len(body) + 4, len(raw))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw + body
    return message + struct.pack(">I", zlib.crc32(message))


def encode_event(event_type: str, payload: dict) -> bytes:
    return encode_frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                        payload)


def encode_exception(exception_type: str, message: str) -> bytes:
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_frame(headers, {"message": message})


# --- replies ----------------------------------------------------------------------------------------------------


def _texts(blocks: list[dict]) -> list[str]:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"])
        elif "toolResult" in block:
            out += _texts(block["toolResult"]["content"])
    return out


def _words(text: str) -> int:
    return len(text.split())


@dataclass(slots=True)
class Reply:
    text: str
    calls: list[tuple[str, str, dict]] = field(default_factory=list)  # (toolUseId, name, input)
    reasoning: str = ""
    stop: str = "end_turn"
    usage: dict = field(default_factory=dict)


def plan_reply(body: dict, d: Directives) -> Reply:
    """Echo the last user turn's text; tool directives call the offered tools with {"echo": text}."""
    user = " ".join(_texts(body["messages"][-1]["content"]))
    words = f"Echo: {user}".split(" ")
    limit = body.get("inferenceConfig", {}).get("maxTokens")
    cut = limit is not None and limit < len(words)
    reply = Reply(" ".join(words[:limit]), stop="max_tokens" if cut else "end_turn")
    tools = [t["toolSpec"]["name"] for t in body.get("toolConfig", {}).get("tools", []) if "toolSpec" in t]
    if tools and d.flags & {"tools", "parallel-tools"}:
        chosen = tools[:3] if "parallel-tools" in d.flags else tools[:1]
        reply.calls = [(f"tooluse_{i}{hashlib.sha1(n.encode()).hexdigest()[:8]}", n, {"echo": user})
                       for i, n in enumerate(chosen)]
        reply.text, reply.stop = "", "tool_use"
    if "reasoning" in d.flags:
        reply.reasoning = f"The user said {user}."
    reply.stop = d.stop or reply.stop
    prompt = sum(_words(t) for m in body["messages"] for t in _texts(m["content"]))
    prompt += sum(_words(b.get("text", "")) for b in body.get("system", []))
    output = _words(reply.text) + _words(reply.reasoning) + 3 * len(reply.calls)
    reply.usage = {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output + d.cached}
    if d.cached:
        reply.usage["cacheReadInputTokens"] = d.cached
    return reply


def converse_answer(reply: Reply) -> dict:
    content: list[dict] = []
    if reply.reasoning:
        content.append({"reasoningContent": {"reasoningText": {"text": reply.reasoning, "signature": "c2lnbmF0dXJl"}}})
    if reply.text or not reply.calls:
        content.append({"text": reply.text})
    content += [{"toolUse": {"toolUseId": i, "name": n, "input": args}} for i, n, args in reply.calls]
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": reply.stop,
            "usage": reply.usage, "metrics": {"latencyMs": 42}}


def _pieces(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_frames(reply: Reply, d: Directives) -> Iterator[bytes]:
    yield encode_event("messageStart", {"role": "assistant"})
    block = 0
    if reply.reasoning:
        yield encode_event("contentBlockDelta", {"contentBlockIndex": block,
                                                 "delta": {"reasoningContent": {"text": reply.reasoning}}})
        yield encode_event("contentBlockDelta", {"contentBlockIndex": block,
                                                 "delta": {"reasoningContent": {"signature": "c2lnbmF0dXJl"}}})
        yield encode_event("contentBlockStop", {"contentBlockIndex": block})
        block += 1
    if reply.text or not reply.calls:
        for i, piece in enumerate(_pieces(reply.text, d.chunks)):
            yield encode_event("contentBlockDelta", {"contentBlockIndex": block, "delta": {"text": piece}})
            if i == 0 and d.stream_error:
                yield encode_exception(*STREAM_ERRORS[d.stream_error])
                return
        yield encode_event("contentBlockStop", {"contentBlockIndex": block})
        block += 1
    for tool_id, name, args in reply.calls:
        yield encode_event("contentBlockStart", {"contentBlockIndex": block,
                                                 "start": {"toolUse": {"toolUseId": tool_id, "name": name}}})
        for piece in _pieces(orjson.dumps(args).decode(), 2):
            delta = {"toolUse": {"input": piece}}
            yield encode_event("contentBlockDelta", {"contentBlockIndex": block, "delta": delta})
        yield encode_event("contentBlockStop", {"contentBlockIndex": block})
        block += 1
    yield encode_event("messageStop", {"stopReason": reply.stop})
    if "no-metadata" not in d.flags:
        yield encode_event("metadata", {"usage": reply.usage, "metrics": {"latencyMs": 42}})


def embedding_vector(text: str, size: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    return [round((seed[i % 32] - 128) / 128 + i / (size * 8), 6) for i in range(size)]


INPUT_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"


def embeddings_answer(model_id: str, body: dict) -> dict:
    if "titan-embed" in model_id:
        vector = embedding_vector(body["inputText"], body.get("dimensions", 1024 if "v2" in model_id else 1536))
        answer = {"embedding": vector, "inputTextTokenCount": _words(body["inputText"])}
        return {**answer, "embeddingsByType": {"float": vector}} if "v2" in model_id else answer
    size = body.get("output_dimension", 1536 if "v4" in model_id else 1024)
    return {"id": str(uuid.uuid4()), "texts": body["texts"], "response_type": "embeddings_floats",
            "embeddings": [embedding_vector(text, size) for text in body["texts"]]}


# --- the server -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class BedrockRequest:
    method: str
    raw_path: str  # as received: the model id still percent-encoded
    action: str  # converse, converse-stream, invoke, foundation-models
    model_id: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any | None
    auth_errors: list[str] = field(default_factory=list)
    oracle_errors: list[str] = field(default_factory=list)


_PATH = re.compile(r"/model/(?P<model>[^/]+)/(?P<action>converse|converse-stream|invoke)")


class FakeBedrock(LoopbackServer):
    """`with FakeBedrock() as fake: boto3.client("bedrock-runtime", endpoint_url=fake.base_url, ...)`."""

    label = "Bedrock"

    def __init__(self, *, strict: bool = True, secrets: dict[str, str] | None = None, region: str = "us-east-1",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        methods = ["GET", "POST", "PUT", "DELETE"]
        super().__init__(Starlette(routes=[Route("/{path:path}", self._dispatch, methods=methods)]), host=host,
                         port=port)
        self.strict, self.region = strict, region
        self.secrets = secrets if secrets is not None else {"AKIDEXAMPLE": "secret"}
        self.requests: list[BedrockRequest] = []

    def clear(self) -> None:
        self.requests.clear()

    async def _dispatch(self, request: Request) -> Response:
        raw_path = request.scope["raw_path"].decode()
        match = _PATH.fullmatch(raw_path)
        action = match["action"] if match else ("foundation-models" if raw_path == "/foundation-models" else "")
        body = await request.body()
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        record = BedrockRequest(request.method, raw_path, action, unquote(match["model"]) if match else "",
                                dict(request.headers), body, parsed)
        self.requests.append(record)
        url = f"http://{request.headers.get('host', self.host)}{raw_path}"
        record.auth_errors = oracles.signature_errors(request.method, url, record.headers, body, self.secrets,
                                                      self.region)
        if record.auth_errors:
            return aws_error("InvalidSignatureException", 403, "; ".join(record.auth_errors))
        if not action or (action == "foundation-models") != (request.method == "GET"):
            return aws_error("UnknownOperationException", 404, f"no operation at {request.method} {raw_path}")
        return self._answer(record)

    def _answer(self, record: BedrockRequest) -> Response:
        if record.action == "foundation-models":
            return _json({"modelSummaries": [{"modelId": m, "providerName": m.split(".")[0].title(),
                                              "modelArn": f"arn:aws:bedrock:{self.region}::foundation-model/{m}"}
                                             for m in MODELS]})
        if not isinstance(record.json, dict):
            return aws_error("SerializationException", 400, "The request body is not a JSON object.")
        try:
            d = parse_directives(record.model_id)
        except ValueError as error:
            return aws_error("ValidationException", 400, str(error))
        if self.strict:
            record.oracle_errors = self._oracle(record, d.base)
            if record.oracle_errors:
                return aws_error("ValidationException", 400, "oracle: " + "; ".join(record.oracle_errors))
        if d.error:
            return aws_error(*ERRORS[d.error])
        if record.action == "invoke":  # InvokeModel reports billed tokens in headers, not the body
            tokens = sum(_words(text) for text in record.json.get("texts") or [record.json.get("inputText", "")])
            return _json(embeddings_answer(d.base, record.json), headers={INPUT_TOKENS_HEADER: str(tokens)})
        reply = plan_reply(record.json, d)
        if record.action == "converse":
            return _json(converse_answer(reply))
        frames = list(stream_frames(reply, d))
        if "bad-crc" in d.flags and len(frames) > 1:
            frames[1] = frames[1][:-4] + b"\x00\x00\x00\x00"
        return StreamingResponse(_each(frames), 200, _headers(), media_type=EVENTSTREAM)

    def _oracle(self, record: BedrockRequest, model_id: str) -> list[str]:
        if record.action == "invoke":
            return oracles.embeddings_request_errors(model_id, record.json)
        return oracles.converse_request_errors(model_id, record.json, stream=record.action == "converse-stream")


async def _each(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:  # one body chunk per frame, as Bedrock flushes them
        yield frame


def _headers() -> dict[str, str]:
    return {"x-amzn-requestid": str(uuid.uuid4())}


def _json(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {**_headers(), **(headers or {})}, media_type="application/json")


def aws_error(exception: str, status: int, message: str) -> Response:
    """AWS's rest-json error: `{"message": ...}` plus the exception name in `x-amzn-errortype`."""
    return _json({"message": message}, status, {"x-amzn-errortype": exception + _ERROR_NAMESPACE})
