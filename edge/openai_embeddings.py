"""OpenAI embeddings JSON <-> CreateEmbeddings messages: pure functions.

`encoding_format` is the edge's concern: the server always returns float32 vectors and the edge renders them as
JSON floats or as base64 of little-endian float32 (what the OpenAI SDKs ask for by default).
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Callable
from typing import Any

from edge.shapes import build_request, expected, read_array, read_choice, read_int, read_string, setter
from gateway_grpc.v1 import embeddings_pb2

ENCODING_FORMATS = {"float": "float", "base64": "base64"}


def _token_ids(items: list[Any], path: str) -> embeddings_pb2.TokenIds:
    return embeddings_pb2.TokenIds(ids=[read_int(item, f"{path}[{i}]") for i, item in enumerate(items)])


def _set_input(request: embeddings_pb2.CreateEmbeddingsRequest, value: Any, path: str) -> None:
    """A string, strings, token ids, or arrays of token ids; the first item decides which."""
    if isinstance(value, str):
        request.input.append(value)
        return
    if not isinstance(value, list):
        raise expected(path, "a string or an array", value)
    items = value
    first = items[0] if items else None
    if isinstance(first, int | float) and not isinstance(first, bool):
        request.token_input.append(_token_ids(items, path))
    elif isinstance(first, list):
        for i, item in enumerate(items):
            request.token_input.append(_token_ids(read_array(item, f"{path}[{i}]"), f"{path}[{i}]"))
    else:
        request.input.extend(read_string(item, f"{path}[{i}]") for i, item in enumerate(items))


def _check_encoding(request: embeddings_pb2.CreateEmbeddingsRequest, value: Any, path: str) -> None:
    """Checked here, applied by embeddings_json; never sent to the server."""
    read_choice(value, path, ENCODING_FORMATS)


EMBEDDING_FIELDS: dict[str, Callable[[embeddings_pb2.CreateEmbeddingsRequest, Any, str], None]] = {
    "model": setter("model", read_string),
    "input": _set_input,
    "dimensions": setter("dimensions", read_int),
    "user": setter("user", read_string),
    "encoding_format": _check_encoding,
}


def embeddings_request_from_json(body: dict[str, Any]) -> embeddings_pb2.CreateEmbeddingsRequest:
    """An OpenAI embeddings body -> CreateEmbeddingsRequest; unknown keys go to `extra`."""
    return build_request(embeddings_pb2.CreateEmbeddingsRequest(), body, EMBEDDING_FIELDS)


def embedding_encoding(body: dict[str, Any]) -> str:
    """`float` (OpenAI's default when absent) or `base64`."""
    value = body.get("encoding_format")
    return "float" if value is None else read_choice(value, "encoding_format", ENCODING_FORMATS)


def float32_base64(values: Any) -> str:
    """Base64 of the vector as little-endian float32, as OpenAI sends it."""
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_json(response: embeddings_pb2.CreateEmbeddingsResponse, encoding: str) -> dict[str, Any]:
    """A CreateEmbeddingsResponse as OpenAI's embeddings list, vectors as floats or base64."""
    render: Callable[[Any], Any] = float32_base64 if encoding == "base64" else list
    body: dict[str, Any] = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": item.index, "embedding": render(item.embedding)} for item in response.data
        ],
        "model": response.model,
        "usage": {"prompt_tokens": response.usage.prompt_tokens, "total_tokens": response.usage.total_tokens},
    }
    if response.provider:
        body["provider"] = response.provider  # Portkey contract §11
    return body
