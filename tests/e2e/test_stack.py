"""`gateway up` end to end: one port serves transcoded REST, native gRPC and the edge's OpenAI REST; the supervisor
refuses a taken port and a bad config, stops cleanly on signals, and stops everything when a child dies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway_grpc import envoy_config
from tests.e2e.stack import free_port, gateway_command, group_alive, http, port_is_free, tagged_processes

pytestmark = pytest.mark.e2e
SERVICE = "gateway_grpc.v1.GatewayService"
GRPC_OPTIONS = [("grpc.enable_http_proxy", 0)]


@pytest.fixture
def channel(gateway_stack):
    with grpc.insecure_channel(gateway_stack.grpc_target, options=GRPC_OPTIONS) as channel:
        yield channel


def test_stack_banner_names_every_process(gateway_stack):
    assert set(gateway_stack.pids) == {"gRPC worker 1", "edge", "envoy"}
    assert f"OpenAI base URL   {gateway_stack.openai_url}" in "\n".join(gateway_stack.stdout)
    assert all(group_alive(pid) for pid in gateway_stack.pids.values())
    # The survivor checks can see every child (they inherit the stack's tag): they are not vacuous.
    assert set(tagged_processes(gateway_stack.tag)) >= {*gateway_stack.pids.values(), gateway_stack.process.pid}


def test_stack_transcoded_models_without_provider_is_400_json(gateway_stack):
    reply = http("GET", gateway_stack.rest_url + "models")
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "x-portkey-provider" in body["message"]
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    # header_mutation strips the gRPC headers from transcoded responses.
    assert not {"grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding"} & set(reply.headers)


@pytest.mark.parametrize("service", ["", SERVICE])
def test_stack_grpc_health_through_envoy_is_serving(channel, service):
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_stack_grpc_reflection_through_envoy_lists_gateway_service(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                             timeout=5))
    assert SERVICE in [service.name for service in replies[0].list_services_response.service]


def test_stack_root_is_served_by_the_edge(gateway_stack):
    reply = http("GET", gateway_stack.base_url + "/")
    assert reply.status == 200
    assert reply.body.decode() == "AI Gateway says hey!"


def test_stack_openai_models_without_provider_is_400_envelope(gateway_stack):
    reply = http("GET", gateway_stack.openai_url + "/models")
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "x-portkey-provider" in error["message"]
    assert {"message", "type", "param", "code"} <= set(error)


def test_stack_second_up_on_same_port_fails_already_in_use(gateway_stack):
    started = time.monotonic()
    second = subprocess.run(gateway_command("up", "--port", str(gateway_stack.port)), capture_output=True, text=True,
                            timeout=30)
    assert second.returncode != 0
    assert f"port {gateway_stack.port} is already in use; pass --port" in second.stderr
    assert "gateway ready" not in second.stdout
    assert time.monotonic() - started < 10  # refused before starting anything
    assert http("GET", gateway_stack.base_url + "/").status == 200  # the first stack is untouched


def test_stack_bad_config_exits_2_naming_the_bad_path(tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  max_request_bytes: -1\n  grace_period: 3\n")
    result = subprocess.run(gateway_command("up", "--port", str(free_port()), "--config", str(config)),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "config.server.max_request_bytes" in result.stderr
    assert "config.server.grace_period" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_stack_signal_stops_every_process_with_exit_0(launch_stack, sig):
    stack = launch_stack()
    assert stack.stop(sig) == 0, stack.output()
    assert stack.survivors() == {}
    assert port_is_free(stack.port)
    assert "Traceback" not in stack.output()


def test_stack_killed_worker_stops_everything_naming_it(launch_stack):
    stack = launch_stack()
    worker = stack.pids["gRPC worker 1"]
    os.kill(worker, signal.SIGKILL)
    code = stack.wait_exit()
    assert code == 1, stack.output()
    assert f"gateway: gRPC worker 1 (pid {worker}) exited with code -9 (killed by SIGKILL)" in stack.output()
    assert stack.survivors() == {}
    assert port_is_free(stack.port)


def test_stack_child_failing_at_startup_stops_the_started_ones(launch_stack, tmp_path):
    template = envoy_config.load_template()
    template["static_resources"]["clusters"][0]["no_such_field"] = 1  # Envoy refuses the config and exits 1
    stack = launch_stack("--envoy-template", str(envoy_config.write(template, tmp_path)), wait=False)
    assert stack.wait_exit() == 1, stack.output()
    assert re.search(r"gateway: envoy \(pid \d+\) exited with code 1; its last output:", stack.output())
    assert "no_such_field" in stack.output()  # the tail of Envoy's output says why
    assert "gateway ready" not in stack.output()
    assert stack.survivors() == {}


def test_stack_two_workers_are_two_healthy_envoy_endpoints(launch_stack):
    stack = launch_stack("--workers", "2")
    ports = sorted(int(re.search(r":(\d+) \(pid", line).group(1)) for line in stack.stdout if "gRPC worker" in line)
    clusters = http("GET", stack.admin_url + "/clusters").body.decode()
    healthy = sorted(int(port) for port in re.findall(r"^gateway_grpc::127\.0\.0\.1:(\d+)::health_flags::healthy$",
                                                      clusters, re.MULTILINE))
    assert len(ports) == 2 and healthy == ports
    # With several workers the edge reaches them through Envoy's gRPC route.
    assert http("GET", stack.openai_url + "/models").status == 400
    assert stack.stop() == 0, stack.output()
