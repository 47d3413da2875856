"""edge/app.py through Starlette's TestClient, against a real grpc.aio GatewayService (EchoGateway) on port 0."""

from __future__ import annotations

import base64
import socket
import struct

import orjson
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from starlette.testclient import TestClient

from edge.app import create_app
from tests.edge.conftest import TEST_MAX_BODY_BYTES

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def envelope(response) -> dict:
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, checking the framing (`data: ...` + blank line) on the way."""
    events = text.split("\n\n")
    assert events[-1] == "", "the stream ends with a blank line"
    assert all(event.startswith("data: ") and "\n" not in event for event in events[:-1])
    return [event.removeprefix("data: ") for event in events[:-1]]


def assert_still_serving(client: TestClient) -> None:
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


# --- routes ----------------------------------------------------------------------------------------------------------


def test_app_root_says_hey(client):
    response = client.get("/")

    assert (response.status_code, response.text) == (200, "AI Gateway says hey!")


def test_app_healthz_is_ok(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["/v1/nope", "/nope", "/v1/chat/completion"])
def test_app_unknown_path_is_404_envelope(client, path):
    response = client.post(path, json={})

    assert response.status_code == 404
    assert envelope(response)["error"]["message"] == f"Invalid URL (POST {path})"


def test_app_wrong_method_is_405_envelope(client):
    response = client.get("/v1/chat/completions")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert envelope(response)["error"]["type"] == "invalid_request_error"


NOT_IMPLEMENTED = [
    ("POST", "/v1/images/edits"),
    ("POST", "/v1/images/variations"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("POST", "/v1/responses"),
    ("GET", "/v1/responses/resp_1"),
    ("GET", "/v1/files"),
    ("DELETE", "/v1/files/file-1"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/batches/b1/cancel"),
]


@pytest.mark.parametrize(("method", "path"), NOT_IMPLEMENTED, ids=[f"{m} {p}" for m, p in NOT_IMPLEMENTED])
def test_app_portkey_route_not_served_yet_is_501_envelope(client, method, path):
    response = client.request(method, path)

    assert response.status_code == 501
    assert envelope(response)["error"]["message"] == f"{path} is not implemented yet by this gateway"
    assert response.headers["x-portkey-gateway-exception"] == "true"


# --- unary calls -----------------------------------------------------------------------------------------------------


def test_app_chat_completion_answers_openai_json_with_portkey_headers(client):
    response = client.post("/v1/chat/completions", json=CHAT)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = ChatCompletion.model_validate(response.json())
    assert body.choices[0].message.content == "echo: hi"
    assert response.json()["provider"] == "openai"
    assert response.headers["x-portkey-provider"] == "openai"  # initial metadata
    assert response.headers["x-portkey-trace-id"] == "trace-1"
    assert response.headers["x-portkey-cache-status"] == "MISS"  # trailing metadata
    assert "x-other" not in response.headers


def test_app_request_headers_travel_as_metadata(client, echo_server):
    headers = {
        "Authorization": "Bearer sk-test",
        "x-portkey-provider": "openai",
        "x-portkey-config": '{"retry":{"attempts":2}}',
        "x-envoy-original-path": "/v1/chat/completions",
        "user-agent": "OpenAI/Python 3.57.0",
    }
    client.post("/v1/chat/completions", json=CHAT, headers=headers)

    metadata = dict(echo_server.servicer.metadata[0])
    assert metadata["authorization"] == "Bearer sk-test"
    assert metadata["x-portkey-provider"] == "openai"
    assert metadata["x-portkey-config"] == '{"retry":{"attempts":2}}'
    assert "x-envoy-original-path" not in metadata
    assert "content-type" not in metadata
    assert metadata["user-agent"].startswith("gateway-grpc-edge")  # the channel's own, not the client's


def test_app_unknown_body_keys_reach_the_server_in_extra(client, echo_server):
    client.post("/v1/chat/completions", json={**CHAT, "prompt_cache_key": "k", "top_k": 5})

    extra = echo_server.servicer.requests[0].extra
    assert (extra.fields["prompt_cache_key"].string_value, extra.fields["top_k"].number_value) == ("k", 5)


def test_app_server_error_keeps_status_provider_and_headers(client):
    response = client.post("/v1/chat/completions", json={**CHAT, "model": "rate-limited"})

    assert response.status_code == 429
    body = envelope(response)
    assert body["error"]["type"] == "rate_limit_error"
    assert body["provider"] == "openai"
    assert response.headers["x-portkey-retry-attempt-count"] == "-1"
    assert response.headers["x-portkey-provider"] == "openai"
    assert "x-portkey-gateway-exception" not in response.headers
    assert_still_serving(client)


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_app_embeddings_in_both_encodings(client, echo_server, encoding):
    response = client.post("/v1/embeddings", json={"model": "e", "input": "hi", "encoding_format": encoding})

    body = response.json()
    if encoding == "base64":
        body["data"][0]["embedding"] = list(struct.unpack("<3f", base64.b64decode(body["data"][0]["embedding"])))
    assert CreateEmbeddingResponse.model_validate(body).data[0].embedding == [0.5, -1.25, 3.0]
    assert not echo_server.servicer.requests[0].HasField("extra")  # encoding_format stays at the edge


def test_app_models_lists_models(client):
    response = client.get("/v1/models", headers={"x-portkey-provider": "openai"})

    assert response.json()["data"] == [
        {"id": "gpt-test", "object": "model", "created": 1700000000, "owned_by": "openai"}
    ]


def test_app_backend_down_is_503_gateway_exception():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{probe.getsockname()[1]}"
    with TestClient(create_app(target)) as client:
        response = client.post("/v1/chat/completions", json=CHAT)

    assert response.status_code == 503
    assert envelope(response)["error"]["message"] == "gateway backend unavailable"
    assert response.headers["x-portkey-gateway-exception"] == "true"


# --- bad requests: each one answers an envelope, and the edge keeps serving ------------------------------------------

BAD_REQUESTS = [
    ("bad JSON", {"content": b'{"model": }', "headers": {"content-type": "application/json"}}, 400,
     "could not parse the JSON body of your request: unexpected character, expected a JSON value: "
     "line 1 column 11 (char 10)"),
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 400,
     "could not parse the JSON body of your request: Input is a zero-length, empty document: "
     "line 1 column 1 (char 0)"),
    ("JSON array", {"json": [CHAT]}, 400, "the request body must be a JSON object"),
    ("JSON string", {"json": "hi"}, 400, "the request body must be a JSON object"),
    ("wrong content type", {"content": b"model=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
     415, "unsupported Content-Type 'application/x-www-form-urlencoded': send application/json"),
    ("no content type", {"content": b"{}"}, 415, "missing Content-Type: send application/json"),
    ("oversized body", {"content": b"x" * (TEST_MAX_BODY_BYTES + 1), "headers": {"content-type": "application/json"}},
     413, f"request body of {TEST_MAX_BODY_BYTES + 1} bytes exceeds the limit of {TEST_MAX_BODY_BYTES} bytes"),
    ("non-ASCII header", {"json": CHAT, "headers": {"x-portkey-metadata": '{"user":"José"}'.encode()}}, 400,
     "header 'x-portkey-metadata' has a value that is not printable ASCII, which gRPC metadata cannot carry"),
    ("wrong JSON type", {"json": {**CHAT, "temperature": "hot"}}, 400, 'temperature: expected a number, got "hot"'),
    ("stream not a boolean", {"json": {**CHAT, "stream": "yes"}}, 400, 'stream: expected a boolean, got "yes"'),
]  # fmt: skip


@pytest.mark.parametrize(("case", "request_args", "status", "message"), BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS])
def test_app_bad_request_answers_envelope_and_keeps_serving(client, case, request_args, status, message):
    response = client.post("/v1/chat/completions", **request_args)

    assert response.status_code == status
    assert envelope(response)["error"]["message"] == message
    assert_still_serving(client)


def test_app_shape_error_names_the_param(client):
    response = client.post("/v1/chat/completions", json={**CHAT, "messages": [{"role": "robot"}]})

    assert envelope(response)["error"]["param"] == "messages[0].role"


def test_app_non_ascii_header_names_the_param(client):
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-portkey-trace-id": "é".encode()})

    assert (response.status_code, envelope(response)["error"]["param"]) == (400, "x-portkey-trace-id")


# --- streams ---------------------------------------------------------------------------------------------------------


def stream(client: TestClient, model: str):
    return client.post("/v1/chat/completions", json={**CHAT, "model": model, "stream": True})


def test_app_stream_is_sse_chunks_then_done(client, echo_server):
    response = stream(client, "gpt-4o")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-portkey-provider"] == "openai"
    events = sse_data(response.text)
    assert events[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(orjson.loads(event)) for event in events[:-1]]
    assert "".join(chunk.choices[0].delta.content for chunk in chunks) == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert echo_server.servicer.requests[0].request.model == "gpt-4o"


@pytest.mark.parametrize(("model", "status"), [("fail-first", 429), ("inband-first", 429)])
def test_app_stream_error_before_first_chunk_is_a_json_error(client, model, status):
    response = stream(client, model)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert envelope(response)["error"]["type"] == "rate_limit_error"
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("model", "error", "provider"),
    [
        (
            "fail-after",
            {"message": "openai is down", "type": "api_connection_error", "param": None, "code": None},
            {"provider": "openai"},
        ),  # from the x-portkey-provider metadata
        ("inband-after", {"message": "too slow", "type": "timeout_error", "param": None, "code": None}, {}),
    ],
)
def test_app_stream_error_after_first_chunk_is_an_in_band_event_then_done(client, model, error, provider):
    response = stream(client, model)

    assert response.status_code == 200
    events = sse_data(response.text)
    assert [orjson.loads(event)["object"] for event in events[:2]] == ["chat.completion.chunk"] * 2
    assert orjson.loads(events[2]) == {"error": error, **provider}
    assert events[3:] == ["[DONE]"]
    assert_still_serving(client)
