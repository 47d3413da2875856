"""The fake upstream's fault directives (errors, delays, gaps, flaky, retry-after, reset, bad JSON/SSE), proved with
the official SDK: what the gateway's routing and retry tests rely on."""

from __future__ import annotations

import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import openai
import orjson
import pytest
from openai import OpenAI

from tests import oracles
from tests.fakes import openai_replies as replies
from tests.fakes.conftest import HELLO, chat, sse_data


def test_stream_gap_directive_paces_chunks(client):
    started = time.perf_counter()
    chunks = list(client.chat.completions.create(model="m+chunks-2+gap-40", messages=HELLO, stream=True))
    assert len(chunks) == 4 and time.perf_counter() - started >= 3 * 0.040


def test_delay_directive_delays_reply(client):
    started = time.perf_counter()
    client.chat.completions.create(model="m+delay-120", messages=HELLO)
    assert time.perf_counter() - started >= 0.120


# --- errors and auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "type_", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", "invalid_value"),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (403, openai.PermissionDeniedError, "request_forbidden", "unsupported_country_region_territory"),
        (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
        (409, openai.ConflictError, "invalid_request_error", None),
        (422, openai.UnprocessableEntityError, "invalid_request_error", None),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
)
def test_error_directive_raises_matching_sdk_exception(client, http, status, exception, type_, code):
    with pytest.raises(exception) as caught:
        client.chat.completions.create(model=f"gpt-4o-mini+error-{status}", messages=HELLO)
    assert (caught.value.status_code, caught.value.type, caught.value.code) == (status, type_, code)
    raw = http.post("/chat/completions", json=chat(f"gpt-4o-mini+error-{status}"))
    assert raw.status_code == status and set(raw.json()) == {"error"}
    assert set(raw.json()["error"]) == {"message", "type", "param", "code"}


def test_error_directive_429_sends_retry_after_headers(client):
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini+error-429", messages=HELLO)
    headers = caught.value.response.headers
    assert (headers["retry-after-ms"], headers["retry-after"]) == ("20", "1")
    assert "Rate limit reached for gpt-4o-mini" in caught.value.message


def test_error_directive_applies_to_streams_and_embeddings(client):
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m+error-429", messages=HELLO, stream=True)
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="text-embedding-3-small+error-500", input="x")


def test_html_directive_returns_html_error_page(client, http):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m+html-502", messages=HELLO)
    assert caught.value.status_code == 502 and "<title>502 Bad Gateway</title>" in caught.value.body
    assert http.post("/chat/completions", json=chat("m+html-502")).headers["content-type"].startswith("text/html")


def test_bad_json_directive_sends_unparseable_json(client, http):
    with pytest.raises(json.JSONDecodeError):  # the SDK lets the decoder's error escape, unwrapped
        client.chat.completions.create(model="m+bad-json", messages=HELLO)
    raw = http.post("/chat/completions", json=chat("m+bad-json"))
    assert (raw.status_code, raw.headers["content-type"]) == (200, "application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.content)


def test_unknown_directive_is_rejected_with_400(client):
    with pytest.raises(openai.BadRequestError, match="unknown directive 'chunky-3'"):
        client.chat.completions.create(model="m+chunky-3", messages=HELLO)


def test_auth_missing_key_answers_401_without_code(fake):
    raw = httpx2.post(f"{fake.base_url}/chat/completions", json=chat())
    error = raw.json()["error"]
    assert (raw.status_code, error["type"], error["code"], error["param"]) == (401, "invalid_request_error", None, None)
    assert error["message"].startswith("You didn't provide an API key.")


def test_auth_bad_key_raises_authentication_error(fake):
    with (
        OpenAI(base_url=fake.base_url, api_key="sk-bad", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.models.list()
    assert (caught.value.code, caught.value.type) == ("invalid_api_key", "invalid_request_error")
    assert caught.value.message.startswith("Error code: 401 - Incorrect API key provided: sk-bad.")


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/mistral/v1/completions"), ("GET", "/v1/chat/completions"), ("POST", "/v2/chat")]
)
def test_unknown_route_answers_404_envelope(fake, method, path):
    raw = httpx2.request(method, f"http://127.0.0.1:{fake.port}{path}", headers={"authorization": "Bearer k"})
    assert raw.status_code == 404
    assert raw.json() == {
        "error": {
            "message": f"Invalid URL ({method} {path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_invalid_json_body_answers_400(http):
    raw = http.post("/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["message"].startswith("We could not parse the JSON body")


def test_requests_are_recorded_and_cleared(fake, client):
    client.chat.completions.create(model="m", messages=HELLO, extra_query={"trace": "1"})
    [request] = fake.requests
    assert (request.method, request.path, request.query) == ("POST", "/v1/chat/completions", {"trace": "1"})
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["user-agent"] == f"OpenAI/Python {openai.__version__}"
    assert json.loads(request.body) == request.json == {"messages": HELLO, "model": "m"}
    assert request.oracle_errors == []
    fake.clear()
    assert fake.requests == []


# --- faults for retry and routing: flaky, retry-after, reset, bad-sse ------------------------------------------


def test_flaky_directive_fails_first_n_then_succeeds_until_clear(fake, client, http):
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="gpt-4o-mini+flaky-2", messages=HELLO)
        assert (caught.value.status_code, caught.value.type, caught.value.code) == (503, "server_error", None)
        assert caught.value.body == replies.status_error(503)["error"]
    assert client.chat.completions.create(model="gpt-4o-mini+flaky-2", messages=HELLO).choices[0].message.content
    assert http.post("/chat/completions", json=chat("gpt-4o-mini+flaky-2")).status_code == 200
    fake.clear()
    assert http.post("/chat/completions", json=chat("gpt-4o-mini+flaky-2")).status_code == 503


def test_flaky_directive_counts_per_exact_model_across_endpoints(client):
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e+flaky-2", input="x")
    with pytest.raises(openai.InternalServerError):  # the same model string: the second of its two failures
        client.chat.completions.create(model="e+flaky-2", messages=HELLO)
    assert len(client.embeddings.create(model="e+flaky-2", input="x").data) == 1
    with pytest.raises(openai.InternalServerError):  # another string, another count
        client.embeddings.create(model="e+flaky-2+delay-1", input="x")


def test_flaky_directive_is_exact_under_concurrency_and_composes_with_delay(fake):
    def post(raw: httpx2.Client) -> tuple[int, float]:
        started = time.perf_counter()
        status = raw.post(f"{fake.base_url}/chat/completions", json=chat("m+flaky-5+delay-150")).status_code
        return status, time.perf_counter() - started

    clients = [httpx2.Client(headers={"authorization": "Bearer sk-test"}, timeout=10) for _ in range(12)]
    started = time.perf_counter()
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(post, clients))
    elapsed = time.perf_counter() - started
    for raw in clients:
        raw.close()
    assert sorted(status for status, _ in results) == [200] * 7 + [503] * 5
    assert min(took for _, took in results) >= 0.150 and elapsed < 6 * 0.150  # each delayed; delays overlap


def test_flaky_directive_applies_to_streams_then_streams_normally(client):
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m+flaky-1+chunks-2", messages=HELLO, stream=True)
    chunks = list(client.chat.completions.create(model="m+flaky-1+chunks-2", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: hello big world" and len(chunks) == 4


@pytest.mark.parametrize("fault", ["error-500", "flaky-1"])
def test_retry_after_directives_add_headers_to_error_replies(client, http, fault):
    model = f"m+{fault}+retry-after-7+retry-after-ms-250+x-ms-retry-after-ms-300"
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=model, messages=HELLO)
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"], headers["x-ms-retry-after-ms"]) == ("7", "250", "300")
    if fault == "flaky-1":  # ignored on success
        ok = http.post("/chat/completions", json=chat(model))
        assert ok.status_code == 200 and not {"retry-after", "retry-after-ms", "x-ms-retry-after-ms"} & set(ok.headers)


def test_retry_after_directives_are_independent_and_override_rate_limit_defaults(client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m+error-503+retry-after-ms-5", messages=HELLO)
    headers = caught.value.response.headers
    assert headers["retry-after-ms"] == "5" and "retry-after" not in headers and "x-ms-retry-after-ms" not in headers
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m+error-429+retry-after-2", messages=HELLO)
    assert (caught.value.response.headers["retry-after"], caught.value.response.headers["retry-after-ms"]) == (
        "2",
        "20",
    )


@pytest.mark.parametrize("stream", [False, True])
def test_reset_directive_aborts_connection_quickly_and_quietly(fake, caplog, stream):
    with OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=5) as sdk:
        started = time.perf_counter()
        with pytest.raises(openai.APIConnectionError) as caught:
            sdk.chat.completions.create(model="m+reset", messages=HELLO, stream=stream)
        assert time.perf_counter() - started < 2 and not isinstance(caught.value, openai.APITimeoutError)
        assert sdk.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    assert fake.calls("m+reset") == 1
    assert [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= logging.WARNING] == []


def test_reset_directive_sends_rst_without_a_byte(fake):
    body = orjson.dumps(chat("m+reset", stream=True))
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((fake.host, fake.port), timeout=5) as sock:
        sock.sendall(request)
        with pytest.raises(ConnectionResetError):  # an RST; a FIN would read b"" instead
            sock.recv(1)


def test_bad_sse_directive_sends_unparseable_event_after_first_chunk(client, http):
    received = []
    with pytest.raises(json.JSONDecodeError):  # the SDK lets the decoder's error escape, unwrapped
        for chunk in client.chat.completions.create(model="m+bad-sse", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.role)
    assert received == ["assistant"]
    raw = http.post("/chat/completions", json=chat("m+bad-sse", stream=True))
    assert (raw.status_code, raw.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
    first, *rest = sse_data(raw.content)
    assert rest == ["{not json", "[DONE]"]
    oracles.check_chat_chunk(json.loads(first))
    content = client.chat.completions.create(model="m+bad-sse", messages=HELLO).choices[0].message.content
    assert content == "Echo: hello big world"  # ignored without stream


def test_calls_counts_recorded_requests_per_exact_model(fake, client, http):
    client.chat.completions.create(model="m", messages=HELLO)
    client.embeddings.create(model="m", input="x")
    client.chat.completions.create(model="m+delay-1", messages=HELLO)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m+flaky-1", messages=HELLO)
    http.post("/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    client.models.list()
    assert [fake.calls(m) for m in ("m", "m+delay-1", "m+flaky-1", "gpt-4o-mini")] == [2, 1, 1, 0]
    assert len(fake.requests) == 6
    fake.clear()
    assert fake.calls("m") == 0
