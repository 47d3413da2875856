"""Vertex AI text embeddings (`publishers/google/models/{model}:predict`): the neutral request -> Vertex's documented
body, and its `predictions` -> vectors and usage. Pure.

Body: `{"instances": [{"content": text, "task_type"?, "title"?}], "parameters": {"outputDimensionality"?,
"autoTruncate"?}}`; answer: `{"predictions": [{"embeddings": {"values": [...], "statistics": {"token_count",
"truncated"}}}], "metadata": {...}}`. Per-request options (the request's extra keys or override_params) go where
Vertex takes them; any other key is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_grpc.errors import InvalidRequest, ProviderBadResponse
from gateway_grpc.providers.wire import loads_json
from gateway_grpc.types import EmbeddingsRequest, EmbeddingsResponse, Usage

# option (as OpenAI-style callers or Gemini-style callers spell it) -> (where it goes, its Vertex name)
_OPTIONS = {
    "task_type": ("instance", "task_type"), "taskType": ("instance", "task_type"),
    "title": ("instance", "title"),
    "auto_truncate": ("parameters", "autoTruncate"), "autoTruncate": ("parameters", "autoTruncate"),
    "output_dimensionality": ("parameters", "outputDimensionality"),
    "outputDimensionality": ("parameters", "outputDimensionality"),
}


def _unsupported(field: str, feature: str) -> InvalidRequest:
    return InvalidRequest.field(field, f"vertex-ai does not support {feature}")


def encode_predict_body(request: EmbeddingsRequest, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The `:predict` body; `overrides` are override_params without `model` (they win over the request's)."""
    if request.token_inputs:
        raise _unsupported("input", "token-id inputs for embeddings")
    if request.user:
        raise _unsupported("user", "user")
    rest = dict(overrides)
    dimensions = rest.pop("dimensions", request.dimensions)
    places: dict[str, dict[str, Any]] = {"instance": {}, "parameters": {}}
    if dimensions is not None:
        places["parameters"]["outputDimensionality"] = dimensions
    for key, value in {**request.extra, **rest}.items():
        if key not in _OPTIONS:
            raise _unsupported(key, f"the embeddings option {key!r}")
        place, name = _OPTIONS[key]
        places[place][name] = value
    body: dict[str, Any] = {"instances": [{"content": text, **places["instance"]} for text in request.inputs]}
    if places["parameters"]:
        body["parameters"] = places["parameters"]
    return body


def decode_predictions(provider: str, body: bytes) -> EmbeddingsResponse:
    """Vectors in input order; usage is the sum of the inputs' token counts (Vertex reports no total)."""
    raw = loads_json(body, provider)
    try:
        embeddings = [prediction["embeddings"] for prediction in raw["predictions"]]
        vectors = tuple(item["values"] for item in embeddings)
        if any(not isinstance(v, list) for v in vectors):
            raise TypeError("values is not a list of floats")
        tokens = sum(int((item.get("statistics") or {}).get("token_count") or 0) for item in embeddings)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ProviderBadResponse(f"Invalid response received from {provider}: {body[:200]!r}",
                                  provider=provider) from exc
    return EmbeddingsResponse("", vectors, Usage(tokens, 0, tokens))
