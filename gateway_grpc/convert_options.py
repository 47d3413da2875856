"""Proto <-> neutral for the per-call options and the routing summary: RequestOptions -> CallOptions (the typed
RoutingConfig as Portkey's JSON object), RouteLog -> RoutingSummary. convert.py does chat and embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format

from gateway_grpc import types as t
from gateway_grpc.convert import from_struct, number
from gateway_grpc.request_context import CallOptions
from gateway_grpc.v1 import options_pb2, routing_pb2


def call_options(opts: options_pb2.RequestOptions, headers: Mapping[str, str]) -> CallOptions:
    config = opts.WhichOneof("config")
    return CallOptions(
        provider=opts.provider,
        custom_host=opts.custom_host,
        trace_id=opts.trace_id,
        metadata=from_struct(opts.metadata) if opts.HasField("metadata") else None,
        routing_config=_routing_config(opts.routing_config) if config == "routing_config" else None,
        config_json=opts.config_json,
        config_id=opts.config_id,
        request_timeout_ms=opts.request_timeout_ms if opts.HasField("request_timeout_ms") else None,
        forward_headers=tuple(h.lower() for h in opts.forward_headers),
        strict_open_ai_compliance=(opts.strict_open_ai_compliance
                                   if opts.HasField("strict_open_ai_compliance") else None),
        cache_force_refresh=opts.cache_force_refresh,
        headers=headers,
    )


def _routing_config(config: options_pb2.RoutingConfig) -> dict[str, Any]:
    """The typed config as Portkey's JSON object, so one validator serves both forms."""
    return _portkey_json(json_format.MessageToDict(config, preserving_proto_field_name=True))


# RoutingConfig fields that hold the caller's own JSON (Structs): renames never apply inside them.
_OPAQUE_CONFIG_FIELDS = frozenset({"override_params", "query", "before_request_hooks", "after_request_hooks",
                                   "input_guardrails", "output_guardrails"})


def numbers(value: Any) -> Any:
    """JSON numbers as the proto form's doubles turned back: integral ones to ints, at any depth."""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list):
        return [numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    return value


def _portkey_json(value: Any) -> Any:
    """Undo the proto form's changes: doubles to ints, `default_target` to `default`, provider_options inlined."""
    if isinstance(value, list):
        return [_portkey_json(v) for v in value]
    if not isinstance(value, dict):
        return numbers(value)
    out = {("default" if k == "default_target" else k): (numbers(v) if k in _OPAQUE_CONFIG_FIELDS
                                                         else _portkey_json(v))
           for k, v in value.items() if k != "provider_options"}
    out.update(value.get("provider_options", {}))
    return out


def routing_summary(log: t.RouteLog) -> routing_pb2.RoutingSummary:
    return routing_pb2.RoutingSummary(
        last_used_option_index=log.path, retry_attempt_count=log.retries, provider=log.provider,
        cache_status=log.cache_status,
        attempts=[routing_pb2.RoutingAttempt(target_path=a.path, provider=a.provider, status=a.status,
                                             reason=a.reason, message=a.message, retry=a.retry,
                                             duration_ms=round(a.duration_ms, 3)) for a in log.attempts],
    )
