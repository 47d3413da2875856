"""The fake's Voyage AI and Jina AI embeddings routes, proved without SDKs (neither is installed): the hosts'
documented example requests must succeed and their answers validate as strict models of the documented responses;
a table of bodies the documented field lists rule out must each be a 400 naming the field, in FastAPI's `detail`."""

from __future__ import annotations

import base64
import struct
from typing import Literal

import httpx2
import pytest
from pydantic import BaseModel, ConfigDict

from tests.fakes.embeddings_upstream import DEFAULT_DIMENSIONS, JINA, VOYAGE, body_errors, vector


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Embedding(_Strict):
    object: Literal["embedding"]
    embedding: list[float] | list[int] | str
    index: int


class VoyageUsage(_Strict):
    total_tokens: int


class JinaUsage(_Strict):
    total_tokens: int
    prompt_tokens: int | None = None


class VoyageAnswer(_Strict):
    """docs.voyageai.com/reference/embeddings-api, 200."""

    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: VoyageUsage


class JinaAnswer(_Strict):
    """jina-ai/meta-prompt v0.txt, EMBEDDINGS API response."""

    model: str
    object: Literal["list"]
    data: list[Embedding]
    usage: JinaUsage


class Detail(_Strict):
    detail: str


@pytest.fixture
def http(fake):
    with httpx2.Client(base_url=fake.origin, headers={"authorization": "Bearer pa-key"}) as client:
        yield client


DOCUMENTED = [  # (host route, documented request body, answer model, vectors, dimensions)
    ("voyage", {"input": "Sample text", "model": "voyage-3.5", "input_type": "document"}, VoyageAnswer, 1,
     DEFAULT_DIMENSIONS),
    ("voyage", {"input": ["Sample text to embed"], "model": "voyage-4-large"}, VoyageAnswer, 1, DEFAULT_DIMENSIONS),
    ("voyage", {"input": ["a", "b"], "model": "voyage-3.5", "truncation": True, "output_dimension": 256,
                "output_dtype": "float", "encoding_format": None, "input_type": None}, VoyageAnswer, 2, 256),
    ("jina", {"model": "jina-clip-v1", "input": ["Input sent1", "Input sent2", "Input sent3"],
              "embedding_type": "float", "task": "retrieval.query", "dimensions": 768, "normalized": False,
              "late_chunking": False}, JinaAnswer, 3, 768),
    ("jina", {"model": "jina-embeddings-v3", "task": "text-matching", "input": ["Organic skincare"]}, JinaAnswer, 1,
     DEFAULT_DIMENSIONS),
]


@pytest.mark.parametrize(("host", "body", "model", "count", "dimensions"), DOCUMENTED)
def test_embeddings_fake_answers_documented_examples_in_the_documented_shape(http, fake, host, body, model, count,
                                                                            dimensions):
    response = http.post(f"/{host}/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    answer = model.model_validate(response.json())
    assert [d.index for d in answer.data] == list(range(count)) and answer.model == body["model"]
    assert all(isinstance(d.embedding, list) and len(d.embedding) == dimensions for d in answer.data)
    assert fake.requests[-1].json == body


def test_embeddings_fake_encodes_base64_and_integer_vectors_as_documented(http):
    body = {"input": "x", "model": "voyage-code-3", "encoding_format": "base64"}
    packed = VoyageAnswer.model_validate(http.post("/voyage/v1/embeddings", json=body).json()).data[0].embedding
    assert struct.unpack(f"<{DEFAULT_DIMENSIONS}f", base64.b64decode(packed)) == pytest.approx(vector("x", 8))
    body = {"input": "x", "model": "voyage-code-3", "output_dtype": "int8"}
    ints = VoyageAnswer.model_validate(http.post("/voyage/v1/embeddings", json=body).json()).data[0].embedding
    assert all(isinstance(v, int) and -127 <= v <= 127 for v in ints)


REFUSED = [  # (host, body) -> the detail line naming what is wrong
    ("voyage", {"input": "x", "model": "m", "dimensions": 8}, "dimensions: unknown field"),
    ("voyage", {"input": "x", "model": "m", "user": "u"}, "user: unknown field"),
    ("voyage", {"input": "x", "model": "m", "encoding_format": "float"}, "encoding_format: invalid value 'float'"),
    ("voyage", {"input": "x", "model": "m", "output_dtype": "float16"}, "output_dtype: invalid value"),
    ("voyage", {"input": "x", "model": "m", "output_dimension": 100}, "output_dimension: invalid value"),
    ("voyage", {"input": "x", "model": "m", "input_type": "passage"}, "input_type: invalid value"),
    ("voyage", {"input": [], "model": "m"}, "input: invalid value"),
    ("voyage", {"input": [[1, 2]], "model": "m"}, "input: invalid value"),
    ("voyage", {"input": "x"}, "model: is required"),
    ("jina", {"input": ["x"], "model": "m", "encoding_format": "float"}, "encoding_format: unknown field"),
    ("jina", {"input": ["x"], "model": "m", "output_dimension": 8}, "output_dimension: unknown field"),
    ("jina", {"input": ["x"], "model": "m", "task": "search"}, "task: invalid value"),
    ("jina", {"input": ["x"], "model": "m", "dimensions": 0}, "dimensions: invalid value"),
    ("jina", {"input": ["x"], "model": "m", "embedding_type": "int8"}, "embedding_type: invalid value"),
    ("jina", {"model": "m"}, "input: is required"),
]


@pytest.mark.parametrize(("host", "body", "problem"), REFUSED)
def test_embeddings_fake_refuses_undocumented_fields_and_values(http, host, body, problem):
    response = http.post(f"/{host}/v1/embeddings", json=body)
    assert response.status_code == 400
    assert problem in Detail.model_validate(response.json()).detail.split("; ")[0]


@pytest.mark.parametrize("host", ["voyage", "jina"])
@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer sk-bad"}, {"authorization": "Basic x"}])
def test_embeddings_fake_needs_a_bearer_key_and_scripts_errors(fake, host, headers):
    with httpx2.Client(base_url=fake.origin) as raw:
        refused = raw.post(f"/{host}/v1/embeddings", json={"input": "x", "model": "m"}, headers=headers)
        assert refused.status_code == 401 and Detail.model_validate(refused.json())
        scripted = raw.post(f"/{host}/v1/embeddings", json={"input": "x", "model": "m+error-429"},
                            headers={"authorization": "Bearer k"})
        assert scripted.status_code == 429 and Detail.model_validate(scripted.json()).detail == "scripted error 429"


def test_embeddings_fake_tables_name_every_documented_field():
    assert set(VOYAGE.fields) == {"input", "model", "input_type", "truncation", "encoding_format", "output_dimension",
                                  "output_dtype"}
    assert set(JINA.fields) == {"model", "input", "embedding_type", "task", "dimensions", "normalized",
                                "late_chunking", "truncate"}
    assert body_errors(VOYAGE, [1]) == ["the body must be a JSON object"]
