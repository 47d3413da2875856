"""Strict oracles for what Vertex AI adds to the Gemini and Anthropic wire formats: the text-embedding `:predict`
body and answer (cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api), and the
Anthropic `rawPredict` body, checked for its Vertex changes and then, with them undone, by tests/oracles_anthropic.
Test process only; never imported by gateway code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ANTHROPIC_VERSION = "vertex-2023-10-16"
TaskType = Literal["RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
                   "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PredictInstance(_Strict):
    content: str
    task_type: TaskType | None = None
    title: str | None = None


class PredictParameters(_Strict):
    autoTruncate: bool | None = None  # the wire names
    outputDimensionality: int | None = Field(default=None, gt=0)


class PredictBody(_Strict):
    instances: list[PredictInstance] = Field(min_length=1)
    parameters: PredictParameters | None = None


class Statistics(_Strict):
    token_count: int
    truncated: bool


class Embedding(_Strict):
    values: list[float]
    statistics: Statistics


class Prediction(_Strict):
    embeddings: Embedding


class PredictResponse(_Strict):
    predictions: list[Prediction]
    metadata: dict[str, int]


def predict_request_errors(body: Any) -> list[str]:
    """Errors of an outbound `:predict` body; [] when valid."""
    return _errors(PredictBody, body)


def check_predict_response(raw: Any) -> PredictResponse:
    errors = _errors(PredictResponse, raw)
    assert not errors, "PredictResponse: " + "; ".join(errors)
    return PredictResponse.model_validate(raw)


def raw_predict_errors(body: Any, model: str) -> list[str]:
    """Errors of an outbound Anthropic-on-Vertex body: no `model` (it is in the URL), `anthropic_version` set to
    Vertex's; then the Messages body it stands for (model restored, version removed) must pass the Anthropic oracle."""
    from tests import oracles_anthropic

    if not isinstance(body, dict):
        return [f"<body>: expected a JSON object, got {type(body).__name__}"]
    errors = ["model: must not be in the body (it is in the URL)"] if "model" in body else []
    if body.get("anthropic_version") != ANTHROPIC_VERSION:
        errors.append(f"anthropic_version: expected {ANTHROPIC_VERSION!r}, got {body.get('anthropic_version')!r}")
    messages_body = {k: v for k, v in body.items() if k != "anthropic_version"}
    return errors + oracles_anthropic.message_request_errors({**messages_body, "model": model})


def _errors(model: type[BaseModel], raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return [f"<body>: expected a JSON object, got {type(raw).__name__}"]
    try:
        model.model_validate(raw)
    except ValidationError as error:
        return [f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in error.errors()]
    return []
