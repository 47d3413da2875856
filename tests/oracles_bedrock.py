"""Bedrock oracles (reference/provider-oracles.md §3.4), all from botocore's bundled `bedrock-runtime` service model:
request bodies (ParamValidator + an enum walker, which botocore lacks), canned responses (validator + rest-json
parser), event-stream frames (EventStreamBuffer + each event's shape), the exact request boto3 would send
(rest-json serializer), and SigV4 signatures (recomputed with botocore). InvokeModel bodies have no service-model
shape: the Titan / Cohere embedding checks follow the AWS model-parameter docs. Test code only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.session import get_session
from botocore.validate import ParamValidator

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z-]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
TITAN_DIMENSIONS = frozenset({256, 512, 1024})
COHERE_INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering"})
COHERE_TRUNCATE = frozenset({"NONE", "START", "END"})
COHERE_DIMENSIONS = frozenset({256, 512, 1024, 1536})


@functools.cache
def service() -> ServiceModel:
    return get_session().get_service_model("bedrock-runtime")


def operation(name: str) -> OperationModel:
    return service().operation_model(name)


def enum_errors(shape: Shape, value: Any, path: str = "$") -> Iterator[str]:
    """Enum violations, which botocore's validator does not check (`image.format: "bmp"` passes it)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from enum_errors(member, value[name], f"{path}.{name}")
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from enum_errors(shape.member, item, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from enum_errors(shape.value, item, f"{path}.{key}")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        yield f"{path}: {value!r} not in {list(shape.enum)}"


def shape_errors(value: Any, shape: Shape) -> list[str]:
    """Every validator and enum error of `value` as `shape`; [] when it conforms."""
    report = ParamValidator().validate(value, shape)
    lines = report.generate_report().splitlines() if report.has_errors() else []
    return lines + list(enum_errors(shape, value))


# --- Converse ---------------------------------------------------------------------------------------------------


def converse_request_errors(model_id: str, body: Any, *, stream: bool = False) -> list[str]:
    """Errors of a Converse / ConverseStream JSON body (modelId rides in the URL); [] when valid."""
    if not isinstance(body, dict):
        return [f"body: expected a JSON object, got {type(body).__name__}"]
    op = operation("ConverseStream" if stream else "Converse")
    return shape_errors({"modelId": model_id, **body}, op.input_shape)


def check_converse_response(raw: dict) -> dict:
    """Validate a canned Converse answer (shape + enums), then parse it as boto3 would; AssertionError on drift."""
    op = operation("Converse")
    errors = shape_errors(raw, op.output_shape)
    assert not errors, "Converse response: " + "; ".join(errors)
    parsed = create_parser("rest-json").parse({"status_code": 200, "headers": {}, "body": orjson.dumps(raw)},
                                              op.output_shape)
    assert "output" in parsed and "stopReason" in parsed, parsed
    return parsed


def stream_events(frames: bytes) -> list[tuple[str, str, dict]]:
    """(message type, event or exception type, payload) per frame: CRCs checked by botocore's EventStreamBuffer,
    headers as Bedrock sends them, each payload valid for its ConverseStreamOutput member (or exception) shape."""
    members = operation("ConverseStream").output_shape.members["stream"].members
    buffer = EventStreamBuffer()
    buffer.add_data(frames)
    out = []
    for message in buffer:
        headers = message.headers
        kind = headers[":message-type"]
        name = headers[":event-type"] if kind == "event" else headers[":exception-type"]
        assert headers[":content-type"] == "application/json", headers
        payload = orjson.loads(message.payload)
        errors = shape_errors(payload, members[name])
        assert not errors, f"{name}: " + "; ".join(errors)
        out.append((kind, name, payload))
    assert not buffer._data, f"{len(buffer._data)} bytes after the last whole frame"
    return out


def serialized(operation_name: str, params: dict) -> dict:
    """The request boto3 would send (url_path, headers, body) for `params` (modelId included)."""
    return create_serializer("rest-json").serialize_to_request(params, operation(operation_name))


# --- SigV4 ------------------------------------------------------------------------------------------------------


def signature_errors(method: str, url: str, headers: Mapping[str, str], body: bytes,
                     secrets: Mapping[str, str], region: str = "us-east-1") -> list[str]:
    """Check the Authorization header's shape and scope, then recompute its signature with botocore over the signed
    headers as received; `url` must carry the raw (still percent-encoded) path. [] when the signature holds."""
    match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if match is None:
        return [f"authorization: not a SigV4 header: {headers.get('authorization', '')[:120]!r}"]
    amz_date = headers.get("x-amz-date", "")
    problems = [
        text for bad, text in (
            (match["key"] not in secrets, f"unknown access key {match['key']!r}"),
            (match["service"] != "bedrock", f"scope service {match['service']!r}, expected 'bedrock'"),
            (match["region"] != region, f"scope region {match['region']!r}, expected {region!r}"),
            (amz_date[:8] != match["date"], f"scope date {match['date']} differs from x-amz-date {amz_date!r}"),
            (not {"host", "x-amz-date"} <= set(match["signed"].split(";")), "host and x-amz-date must be signed"),
            ("x-amz-security-token" in headers and "x-amz-security-token" not in match["signed"].split(";"),
             "x-amz-security-token is not signed"),
        ) if bad
    ]
    if problems:
        return problems
    signed = {name: headers.get(name, "") for name in match["signed"].split(";")}
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(match["key"], secrets[match["key"]], headers.get("x-amz-security-token")),
                       "bedrock", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return [] if expected == match["signature"] else ["signature does not match"]


# --- InvokeModel embedding bodies (AWS model-parameter docs) ----------------------------------------------------


def titan_embeddings_errors(model_id: str, body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["body: expected a JSON object"]
    known = {"inputText", "dimensions", "normalize", "embeddingTypes"} if "v2" in model_id else {"inputText"}
    errors = [f"{key}: unknown key" for key in body if key not in known]
    if not isinstance(body.get("inputText"), str) or not body.get("inputText"):
        errors.append("inputText: required, a non-empty string")
    if "dimensions" in body and body["dimensions"] not in TITAN_DIMENSIONS:
        errors.append(f"dimensions: {body['dimensions']!r} not in {sorted(TITAN_DIMENSIONS)}")
    if "normalize" in body and not isinstance(body["normalize"], bool):
        errors.append("normalize: expected a boolean")
    return errors


def cohere_embeddings_errors(model_id: str, body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["body: expected a JSON object"]
    known = {"texts", "images", "input_type", "truncate", "embedding_types"}
    known |= {"output_dimension", "max_tokens", "inputs"} if "v4" in model_id else set()
    errors = [f"{key}: unknown key" for key in body if key not in known]
    texts = body.get("texts")
    if not (isinstance(texts, list) and 0 < len(texts) <= 96 and all(isinstance(t, str) for t in texts)):
        errors.append("texts: required, 1 to 96 strings")
    if body.get("input_type") not in COHERE_INPUT_TYPES:
        errors.append(f"input_type: {body.get('input_type')!r} not in {sorted(COHERE_INPUT_TYPES)}")
    if "truncate" in body and body["truncate"] not in COHERE_TRUNCATE:
        errors.append(f"truncate: {body['truncate']!r} not in {sorted(COHERE_TRUNCATE)}")
    if "output_dimension" in body and body["output_dimension"] not in COHERE_DIMENSIONS:
        errors.append(f"output_dimension: {body['output_dimension']!r} not in {sorted(COHERE_DIMENSIONS)}")
    return errors


def embeddings_request_errors(model_id: str, body: Any) -> list[str]:
    if "titan-embed" in model_id:
        return titan_embeddings_errors(model_id, body)
    if "cohere.embed" in model_id:
        return cohere_embeddings_errors(model_id, body)
    return [f"modelId: {model_id!r} is not an embedding model"]
