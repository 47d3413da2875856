"""Embeddings on Bedrock (InvokeModel bodies): Amazon Titan and Cohere Embed, neutral <-> their JSON. Pure.

Titan embeds one text per InvokeModel call: ProviderCall sends a request with more inputs as one call per input
(`Bedrock.embedding_batch_size`), so this module only ever sees one; Cohere embeds up to 96 per call.

| OpenAI / extra             | Titan (`amazon.titan-embed-*`) | Cohere (`cohere.embed-*`)                      |
|----------------------------|--------------------------------|------------------------------------------------|
| input                      | inputText (one)                | texts                                          |
| dimensions                 | dimensions                     | output_dimension (embed-v4)                    |
| extra normalize            | normalize                      | 400                                            |
| extra input_type, truncate | 400                            | input_type (default search_document), truncate |
| token-id input, user       | 400                            | 400                                            |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_grpc.errors import InvalidRequest
from gateway_grpc.types import EmbeddingsRequest, EmbeddingsResponse, Usage

_EXTRAS = {"titan": frozenset({"normalize"}), "cohere": frozenset({"input_type", "truncate"})}


def _unsupported(field: str, feature: str) -> InvalidRequest:
    return InvalidRequest.field(field, f"bedrock does not support {feature}")


def family(model: str) -> str:
    """`titan` or `cohere` from the model id (also inference-profile ids such as `us.cohere.embed-v4:0`)."""
    if "titan-embed" in model:
        return "titan"
    if "cohere.embed" in model:
        return "cohere"
    raise _unsupported("model", f"embeddings with {model!r} (only amazon.titan-embed-* and cohere.embed-* models)")


def _check(request: EmbeddingsRequest, kind: str) -> None:
    if request.token_inputs:
        raise _unsupported("input", "token-id inputs")
    if request.user:
        raise _unsupported("user", "the user field for embeddings")
    for key in request.extra:
        if key not in _EXTRAS[kind]:
            raise _unsupported(key, f"the {kind} embeddings parameter {key!r}")
    if kind == "titan" and len(request.inputs) != 1:
        raise _unsupported("input", "more than one input per request with Titan (Titan embeds one text per call)")


def encode_embeddings_body(request: EmbeddingsRequest, model: str) -> dict[str, Any]:
    kind = family(model)
    _check(request, kind)
    if kind == "titan":
        body: dict[str, Any] = {"inputText": request.inputs[0]}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
    else:
        body = {"texts": list(request.inputs), "input_type": "search_document"}
        if request.dimensions is not None:
            body["output_dimension"] = request.dimensions
    body.update(request.extra)
    return body


def decode_embeddings_body(raw: Mapping[str, Any], model: str) -> EmbeddingsResponse:
    """Titan: `embedding` + `inputTextTokenCount`; Cohere: `embeddings` as a list, or by type (`{"float": [...]}`)."""
    if "embedding" in raw:
        tokens = raw.get("inputTextTokenCount")
        usage = Usage(tokens, 0, tokens) if isinstance(tokens, int) else None
        return EmbeddingsResponse(model, (_floats(raw["embedding"]),), usage)
    vectors = raw["embeddings"]
    if isinstance(vectors, Mapping):
        vectors = vectors["float"]
    return EmbeddingsResponse(model, tuple(_floats(v) for v in vectors))


def _floats(vector: Any) -> list[float]:
    if not isinstance(vector, list):
        raise TypeError("embedding is not a list of numbers")
    return vector
