"""edge/openai_embeddings.py: OpenAI embeddings JSON <-> proto, float and base64 vectors (SDK-validated)."""

from __future__ import annotations

import base64
import struct

import pytest
from google.protobuf import struct_pb2
from openai.types import CreateEmbeddingResponse

from edge.openai_embeddings import embedding_encoding, embeddings_json, embeddings_request_from_json, float32_base64
from edge.shapes import RequestShapeError
from gateway_grpc.v1 import chat_pb2, embeddings_pb2

Request = embeddings_pb2.CreateEmbeddingsRequest
TokenIds = embeddings_pb2.TokenIds


def extra(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


CASES = [
    ("one string", {"model": "e", "input": "hi"}, Request(model="e", input=["hi"])),
    ("strings", {"input": ["a", "b"]}, Request(input=["a", "b"])),
    ("token ids", {"input": [1, 2, 3]}, Request(token_input=[TokenIds(ids=[1, 2, 3])])),
    ("arrays of token ids", {"input": [[1], [2, 3]]}, Request(token_input=[TokenIds(ids=[1]), TokenIds(ids=[2, 3])])),
    ("dimensions and user", {"dimensions": 256, "user": "u"}, Request(dimensions=256, user="u")),
    ("encoding_format is not sent to the server", {"input": "x", "encoding_format": "base64"}, Request(input=["x"])),
    ("unknown keys go to extra", {"input_type": "query", "truncate": "END"},
     Request(extra=extra({"input_type": "query", "truncate": "END"}))),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "expected"), CASES, ids=[row[0] for row in CASES])
def test_openai_embeddings_json_maps_to_proto(case, body, expected):
    assert embeddings_request_from_json(body) == expected


SHAPE_ERRORS = [
    ({"input": 5}, "input", "expected a string or an array, got 5"),
    ({"input": ["a", 1]}, "input[1]", "expected a string, got 1"),
    ({"input": [1, "a"]}, "input[1]", 'expected an integer, got "a"'),
    ({"input": [[1], 2]}, "input[1]", "expected an array, got 2"),
    ({"dimensions": "256"}, "dimensions", 'expected an integer, got "256"'),
    ({"encoding_format": "hex"}, "encoding_format", 'expected one of float, base64; got "hex"'),
]


@pytest.mark.parametrize(("body", "path", "message"), SHAPE_ERRORS, ids=[row[1] for row in SHAPE_ERRORS])
def test_openai_embeddings_wrong_shape_names_the_path(body, path, message):
    with pytest.raises(RequestShapeError) as caught:
        embeddings_request_from_json(body)

    assert (caught.value.path, str(caught.value)) == (path, f"{path}: {message}")


@pytest.mark.parametrize(
    ("body", "expected"),
    [({}, "float"), ({"encoding_format": "float"}, "float"), ({"encoding_format": "base64"}, "base64")],
)
def test_openai_embeddings_encoding_defaults_to_float(body, expected):
    assert embedding_encoding(body) == expected


RESPONSE = embeddings_pb2.CreateEmbeddingsResponse(
    model="text-embedding-3-small",
    data=[
        embeddings_pb2.Embedding(index=0, embedding=[0.5, -1.25, 3.0]),
        embeddings_pb2.Embedding(index=1, embedding=[0.1, 0.0, -2.0]),
    ],
    usage=chat_pb2.Usage(prompt_tokens=4, total_tokens=4),
    provider="openai",
)


def test_openai_embeddings_float_response_is_an_openai_list():
    body = embeddings_json(RESPONSE, "float")

    CreateEmbeddingResponse.model_validate(body)
    assert body["object"] == "list"
    assert body["model"] == "text-embedding-3-small"
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert body["provider"] == "openai"
    assert body["data"][0] == {"object": "embedding", "index": 0, "embedding": [0.5, -1.25, 3.0]}
    assert body["data"][1]["embedding"] == list(RESPONSE.data[1].embedding)  # float32 values, exactly


def test_openai_embeddings_base64_response_decodes_to_the_same_floats():
    body = embeddings_json(RESPONSE, "base64")

    decoded = [list(struct.unpack("<3f", base64.b64decode(item["embedding"]))) for item in body["data"]]
    assert decoded == [list(item.embedding) for item in RESPONSE.data]
    assert decoded[0] == [0.5, -1.25, 3.0]
    for item, vector in zip(body["data"], decoded, strict=True):
        item["embedding"] = vector
    CreateEmbeddingResponse.model_validate(body)


def test_openai_embeddings_float32_base64_is_little_endian():
    assert float32_base64([1.0]) == base64.b64encode(b"\x00\x00\x80\x3f").decode()
