"""The fake upstream's embeddings-only hosts, as routes of the fake OpenAI server: Voyage AI at
`/voyage/v1/embeddings` and Jina AI at `/jina/v1/embeddings` (a target's base URL: `f"{fake.origin}/voyage/v1"`).

Neither host has an SDK installed here, so these routes are the oracle for outgoing bodies: every key is checked
against the host's table of documented fields, and an unknown key, a missing `model` / `input`, a wrong type or a
value outside its enum is a 400 in FastAPI's `{"detail": "..."}`, the error shape both hosts answer with. Sources:
- Voyage: docs.voyageai.com/reference/embeddings-api and the Fern-generated voyage-ai/typescript-sdk `EmbedRequest`
  (input, model, input_type query|document|null, truncation, encoding_format base64|null, output_dimension,
  output_dtype float|int8|uint8|binary|ubinary); answer `{"object": "list", "data": [{"object": "embedding",
  "embedding": [...], "index": 0}], "model": ..., "usage": {"total_tokens": n}}`.
- Jina: jina-ai/meta-prompt `v0.txt`, "EMBEDDINGS API" (model, input, embedding_type float|base64|binary|ubinary,
  task retrieval.query|retrieval.passage|text-matching|classification|separation, dimensions, normalized,
  late_chunking; `truncate` from api.jina.ai's reference); the answer is Voyage's shape with `prompt_tokens` in usage.

Vectors are a deterministic function of the text and the dimensions asked (8 when unset); base64 and integer dtypes
are answered as documented. Auth is `Authorization: Bearer` (`sk-bad` is a 401); `model+error-429` answers that
status. Never imported by gateway code.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Check = Callable[[Any], bool]
_SCRIPTED = re.compile(r".*\+error-(\d{3})")
DEFAULT_DIMENSIONS = 8


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _texts(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and 0 < len(value) <= 1000 and all(map(_text, value)))


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _one_of(*values: Any) -> Check:
    return lambda value: value in values


@dataclass(frozen=True)
class Host:
    name: str
    fields: dict[str, Check]
    dimensions_key: str
    format_key: str  # the key that asks for base64 vectors
    integer_key: str = ""  # the key whose non-float values ask for integer vectors
    prompt_tokens: bool = False  # whether usage also counts prompt_tokens


VOYAGE = Host("voyage", {
    "input": _texts, "model": _text, "input_type": _one_of(None, "query", "document"), "truncation": _flag,
    "encoding_format": _one_of(None, "base64"), "output_dimension": _one_of(None, 256, 512, 1024, 2048),
    "output_dtype": _one_of("float", "int8", "uint8", "binary", "ubinary"),
}, "output_dimension", "encoding_format", "output_dtype")
JINA = Host("jina", {
    "model": _text, "input": _texts, "embedding_type": _one_of("float", "base64", "binary", "ubinary"),
    "task": _one_of("retrieval.query", "retrieval.passage", "text-matching", "classification", "separation"),
    "dimensions": _count, "normalized": _flag, "late_chunking": _flag, "truncate": _flag,
}, "dimensions", "embedding_type", "embedding_type", prompt_tokens=True)
HOSTS = (VOYAGE, JINA)


def embedding_routes(fake: Any) -> list[Route]:
    return [Route(f"/{host.name}/v1/embeddings", functools.partial(embeddings, fake, host), methods=["POST"])
            for host in HOSTS]


def body_errors(host: Host, body: Any) -> list[str]:
    """What the host refuses in a request body (each a `detail` line); empty when it is valid."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    errors = [f"{key}: is required" for key in ("model", "input") if key not in body]
    errors += [f"{key}: unknown field" for key in body if key not in host.fields]
    errors += [f"{key}: invalid value {value!r}" for key, value in body.items()
               if key in host.fields and not host.fields[key](value)]
    return errors


def vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % 32] / 255 * 2 - 1, 6) for i in range(dimensions)]


def _encoded(values: list[float], host: Host, body: dict) -> Any:
    if body.get(host.format_key) == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    if body.get(host.integer_key, "float") != "float":
        return [round(v * 127) for v in values]
    return values


def answer(host: Host, body: dict) -> dict[str, Any]:
    """The host's documented answer to a valid body."""
    texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
    size = body.get(host.dimensions_key) or DEFAULT_DIMENSIONS
    data = [{"object": "embedding", "embedding": _encoded(vector(text, size), host, body), "index": i}
            for i, text in enumerate(texts)]
    tokens = sum(len(text.split()) for text in texts)
    usage = {"total_tokens": tokens, **({"prompt_tokens": tokens} if host.prompt_tokens else {})}
    return {"object": "list", "data": data, "model": body["model"], "usage": usage}


def _detail(status: int, detail: str) -> Response:
    return Response(orjson.dumps({"detail": detail}), status, media_type="application/json")


async def embeddings(fake: Any, host: Host, request: Request) -> Response:
    record = await fake._log(request)
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or key.strip() == "sk-bad":
        return _detail(401, "Provided API key is invalid.")
    errors = body_errors(host, record.json)
    if errors:
        return _detail(400, "; ".join(errors))
    if scripted := _SCRIPTED.fullmatch(record.json["model"]):
        return _detail(int(scripted[1]), f"scripted error {scripted[1]}")
    return Response(orjson.dumps(answer(host, record.json)), media_type="application/json")
