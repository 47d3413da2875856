"""envoy_config renders the committed envoy.yaml for a local stack, touching only addresses, ports and the descriptor;
and the committed file itself holds the settings docs/architecture.md and envoy-grpc.md §6 ask for."""

from __future__ import annotations

import copy
import pathlib

import pytest

from gateway_grpc import envoy_config

LAYOUT = envoy_config.Layout("0.0.0.0", 18787, 19901, 18000, (15001, 15002, 15003))
TRANSCODER = envoy_config.TRANSCODER


@pytest.fixture(scope="module")
def template():
    return envoy_config.load_template()


@pytest.fixture(scope="module")
def rendered(template):
    return envoy_config.render(template, LAYOUT)


def _hcm(config):
    return config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def _routes(config):
    return _hcm(config)["route_config"]["virtual_hosts"][0]["routes"]


def _addresses(cluster):
    sockets = [e["endpoint"]["address"]["socket_address"]
               for group in cluster["load_assignment"]["endpoints"] for e in group["lb_endpoints"]]
    return [(s["address"], s["port_value"]) for s in sockets]


def _walk(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _walk(child)


def test_envoy_config_render_sets_listener_address(rendered):
    address = rendered["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert address == {"address": "0.0.0.0", "port_value": 18787}


def test_envoy_config_render_puts_admin_on_internal_host(rendered):
    assert rendered["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 19901}


def test_envoy_config_render_gives_each_worker_its_own_endpoint(rendered):
    cluster = envoy_config.find_cluster(rendered, "gateway_grpc")
    assert _addresses(cluster) == [("127.0.0.1", 15001), ("127.0.0.1", 15002), ("127.0.0.1", 15003)]
    assert cluster["lb_policy"] == "ROUND_ROBIN"


def test_envoy_config_render_points_edge_cluster_at_edge_port(rendered):
    assert _addresses(envoy_config.find_cluster(rendered, "edge_shim")) == [("127.0.0.1", 18000)]


def test_envoy_config_render_uses_the_package_descriptor(rendered):
    (transcoder,) = envoy_config.transcoder_configs(rendered)
    assert transcoder["proto_descriptor"] == str(envoy_config.descriptor_path())
    assert pathlib.Path(transcoder["proto_descriptor"]).stat().st_size > 0


def test_envoy_config_render_changes_nothing_else(template, rendered):
    undo = copy.deepcopy(rendered)
    undo["static_resources"]["listeners"][0]["address"] = template["static_resources"]["listeners"][0]["address"]
    undo["admin"] = template["admin"]
    for name in ("gateway_grpc", "edge_shim"):
        envoy_config.find_cluster(undo, name)["load_assignment"] = envoy_config.find_cluster(
            template, name)["load_assignment"]
    envoy_config.set_descriptor(undo, "/etc/envoy/api_descriptor.binpb")
    assert undo == template


def test_envoy_config_render_leaves_the_template_untouched(template):
    before = copy.deepcopy(template)
    envoy_config.render(template, LAYOUT)
    assert template == before


def test_envoy_config_render_rejects_no_worker_ports(template):
    with pytest.raises(ValueError, match="at least one port"):
        envoy_config.render(template, envoy_config.Layout("127.0.0.1", 1, 2, 3, ()))


def test_envoy_config_find_cluster_names_a_missing_cluster(template):
    with pytest.raises(ValueError, match="'nope'"):
        envoy_config.find_cluster(template, "nope")


def test_envoy_config_write_round_trips(rendered, tmp_path):
    path = envoy_config.write(rendered, tmp_path)
    assert envoy_config.load_template(path) == rendered


def test_envoy_config_template_targets_docker_compose_hosts(template):
    assert template["static_resources"]["listeners"][0]["address"]["socket_address"] == {
        "address": "0.0.0.0", "port_value": 8787}
    assert template["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9901}
    assert _addresses(envoy_config.find_cluster(template, "gateway_grpc")) == [("gateway", 50051)]
    assert _addresses(envoy_config.find_cluster(template, "edge_shim")) == [("edge", 8000)]
    (transcoder,) = envoy_config.transcoder_configs(template)
    assert transcoder["proto_descriptor"] == "/etc/envoy/api_descriptor.binpb"


def test_envoy_config_template_has_no_retry_policy(template):
    assert not any(isinstance(node, dict) and ("retry_policy" in node or "retry_options" in node)
                   for node in _walk(template))


def test_envoy_config_template_routes_in_order_without_timeouts(template):
    routes = _routes(template)
    assert [(r["match"], r["route"]["cluster"]) for r in routes] == [
        ({"prefix": "/v1/gateway/"}, "gateway_grpc"),
        ({"prefix": "/", "grpc": {}}, "gateway_grpc"),
        ({"prefix": "/"}, "edge_shim"),
    ]
    assert all(r["route"]["timeout"] == "0s" for r in routes)


def test_envoy_config_template_strips_grpc_headers_on_transcoded_route_only(template):
    transcoded, *others = _routes(template)
    mutation = transcoded["typed_per_filter_config"]["envoy.filters.http.header_mutation"]
    removed = [m["remove"] for m in mutation["mutations"]["response_mutations"]]
    assert removed == ["grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding"]
    assert not any("envoy.filters.http.header_mutation" in r.get("typed_per_filter_config", {}) for r in others)
    assert not any("response_headers_to_remove" in r for r in _routes(template))  # breaks conversion (§8.3)


def test_envoy_config_template_filters_in_order(template):
    names = [f["name"] for f in _hcm(template)["http_filters"]]
    assert names == ["envoy.filters.http.header_mutation", TRANSCODER, "envoy.filters.http.router"]


def test_envoy_config_template_transcoder_settings(template):
    (transcoder,) = envoy_config.transcoder_configs(template)
    assert transcoder["services"] == ["gateway_grpc.v1.GatewayService"]
    assert transcoder["match_incoming_request_route"] is True
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["max_request_body_size"] == transcoder["max_response_body_size"] == 32 * 1024 * 1024
    assert transcoder["print_options"] == {
        "add_whitespace": False, "always_print_primitive_fields": True, "always_print_enums_as_ints": False,
        "preserve_proto_field_names": True, "stream_sse_style_delimited": True}


def test_envoy_config_template_connection_settings(template):
    hcm = _hcm(template)
    assert hcm["codec_type"] == "AUTO"
    assert hcm["http_protocol_options"] == {"enable_trailers": True}
    assert hcm["stream_idle_timeout"] == "300s"
    cluster = envoy_config.find_cluster(template, "gateway_grpc")
    options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    keepalive = options["explicit_http_config"]["http2_protocol_options"]["connection_keepalive"]
    assert keepalive == {"interval": "30s", "timeout": "10s"}
    (check,) = cluster["health_checks"]
    assert check["no_traffic_interval"] == "5s"
    assert check["grpc_health_check"] == {"service_name": "gateway_grpc.v1.GatewayService"}
