"""The edge as uvicorn serves it (uvloop + httptools): `python -m edge` with the OpenAI SDK as client, client
disconnects cancelling gRPC calls, and chunked bodies over the limit."""

from __future__ import annotations

import http.client
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import openai
import orjson
import pytest
import uvicorn

from edge.app import create_app
from tests.edge.conftest import TEST_MAX_BODY_BYTES

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
ROOT = __file__.rsplit("/tests/", 1)[0]


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def live_edge(echo_server) -> Iterator[int]:
    """The edge app under uvicorn on 127.0.0.1:0 in a background thread; yields its port."""
    app = create_app(echo_server.target, TEST_MAX_BODY_BYTES)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, loop="uvloop", http="httptools", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started), "uvicorn did not start"
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)


def post_raw(port: int, body: dict) -> socket.socket:
    payload = orjson.dumps(body)
    head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"{head}content-length: {len(payload)}\r\n\r\n".encode() + payload)
    return sock


def test_main_stream_client_disconnect_cancels_the_grpc_call(live_edge, echo_server):
    sock = post_raw(live_edge, {**CHAT, "model": "slow", "stream": True})
    received = b""
    while b"data: " not in received:
        received += sock.recv(65536)
    sock.close()

    assert received.startswith(b"HTTP/1.1 200")
    assert echo_server.servicer.cancelled.wait(10), "the servicer was not cancelled"


@pytest.mark.parametrize("body", [{"model": "slow"}, {"model": "slow-first", "stream": True}], ids=["unary", "stream"])
def test_main_client_disconnect_before_any_answer_cancels_the_grpc_call(live_edge, echo_server, body):
    sock = post_raw(live_edge, {**CHAT, **body})
    assert wait_for(lambda: echo_server.servicer.requests)
    sock.close()

    assert echo_server.servicer.cancelled.wait(10), "the servicer was not cancelled"


def test_main_chunked_body_over_the_limit_is_413(live_edge):
    connection = http.client.HTTPConnection("127.0.0.1", live_edge, timeout=10)
    chunks = (b"x" * 8192 for _ in range(TEST_MAX_BODY_BYTES // 8192 + 1))
    connection.request(
        "POST", "/v1/chat/completions", body=chunks, headers={"content-type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()

    assert response.status == 413
    assert (
        orjson.loads(response.read())["error"]["message"]
        == f"request body exceeds the limit of {TEST_MAX_BODY_BYTES} bytes"
    )


@pytest.fixture
def edge_process(echo_server) -> Iterator[int]:
    """`python -m edge` as a process, ready when /healthz answers 200; yields its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "edge", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen([*command, "--grpc-target", echo_server.target], cwd=ROOT)
    try:
        assert wait_for(lambda: _healthy(port) or process.poll() is not None, 20)
        assert process.poll() is None, "python -m edge exited"
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_main_python_m_edge_serves_the_openai_sdk(edge_process):
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{edge_process}/v1", api_key="sk-test", max_retries=0)

    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "echo: hi"

    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "Hello"

    embedding = client.embeddings.create(model="e", input="hi")  # the SDK asks for base64 and decodes it
    assert embedding.data[0].embedding == [0.5, -1.25, 3.0]
    assert struct.pack("<3f", *embedding.data[0].embedding) == struct.pack("<3f", 0.5, -1.25, 3.0)

    assert [model.id for model in client.models.list()] == ["gpt-test"]

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="rate-limited", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 429
