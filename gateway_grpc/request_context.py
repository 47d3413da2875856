"""Per-request gateway inputs -> CallContext: Portkey's `x-portkey-*` headers (as gRPC metadata) and the typed
RequestOptions, merged (a typed field wins), validated, and resolved to the call's compiled routing tree.

The one place that parses Portkey request headers (contract §2). Pure: no grpc, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway_grpc.config import PROVIDER_OPTION_HEADERS, GatewaySettings
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.routing.nodes import Node
from gateway_grpc.routing.router import RouteTable
from gateway_grpc.types import EMPTY, CallContext, CallerInputs

_MAX_TRACE_ID = 256
_MAX_TIMEOUT_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class CallOptions:
    """The typed RequestOptions of a call, neutral (convert.py builds it). Empty values mean "not set"."""

    provider: str = ""
    custom_host: str = ""
    trace_id: str = ""
    metadata: Mapping[str, Any] | None = None
    routing_config: Mapping[str, Any] | None = None
    config_json: str = ""
    config_id: str = ""
    request_timeout_ms: int | None = None
    forward_headers: tuple[str, ...] = ()
    strict_open_ai_compliance: bool | None = None
    cache_force_refresh: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)  # the call's metadata, lower-case keys


def usable_trace_id(value: str) -> str:
    """The caller's trace id when it is usable, else a new one; for errors raised before a context exists."""
    return value if 0 < len(value) <= _MAX_TRACE_ID else uuid.uuid4().hex


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else value.strip()


def _bool_header(headers: Mapping[str, str], name: str) -> bool | None:
    value = headers.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidRequest.field(name, f'expected "true" or "false", got {value!r}')
    return lowered == "true"


class RequestContextBuilder:
    """Built once at start-up with the settings and the compiled routes; `build` runs per request."""

    def __init__(self, settings: GatewaySettings, routes: RouteTable) -> None:
        self._routes = routes
        self._guard = HostGuard(settings.security.custom_host_allowlist)

    def build(self, options: CallOptions, time_remaining: float | None, now: float,
              request_path: str = "") -> CallContext:
        """The call's context; `time_remaining` is the gRPC caller's deadline, `now` the event-loop time."""
        headers = options.headers
        return CallContext(
            trace_id=self._trace_id(options, headers),
            deadline=None if time_remaining is None else now + time_remaining,
            metadata=options.metadata if options.metadata is not None else self._metadata_header(headers),
            cache_force_refresh=options.cache_force_refresh or "x-portkey-cache-force-refresh" in headers,
            caller=self._caller(options, headers, self._routes.header_guardrails(headers)),
            route=self._route(options, headers),
            request_path=request_path,
        )

    def _caller(self, options: CallOptions, headers: Mapping[str, str], guardrails: Any) -> CallerInputs:
        provider = options.provider or headers.get("x-portkey-provider", "")
        if provider and provider not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise InvalidRequest.field("x-portkey-provider", f"unknown provider {provider!r}; known: {known}")
        custom_host = options.custom_host or headers.get("x-portkey-custom-host", "")
        names = options.forward_headers or _split_names(headers.get("x-portkey-forward-headers", ""))
        if "x-portkey-forward-headers" in names:
            raise InvalidRequest.field("x-portkey-forward-headers", "may not list itself")
        strict = options.strict_open_ai_compliance
        return CallerInputs(
            provider=provider,
            api_key=_bearer(headers.get("authorization", "")),
            base_url=self._guard.check(custom_host, "x-portkey-custom-host") if custom_host else "",
            forward_headers=names,
            provider_options={option: headers[name] for name, option in PROVIDER_OPTION_HEADERS.items()
                              if name in headers} or EMPTY,
            timeout_ms=options.request_timeout_ms or self._timeout_header(headers),
            strict_open_ai_compliance=strict if strict is not None else _bool_header(
                headers, "x-portkey-strict-open-ai-compliance"),
            headers=headers,
            guardrails=guardrails,
        )

    # ---- header fields ----

    @staticmethod
    def _trace_id(options: CallOptions, headers: Mapping[str, str]) -> str:
        trace_id = options.trace_id or headers.get("x-portkey-trace-id", "")
        if len(trace_id) > _MAX_TRACE_ID:
            raise InvalidRequest.field("x-portkey-trace-id", f"longer than {_MAX_TRACE_ID} characters")
        return trace_id or uuid.uuid4().hex

    @staticmethod
    def _timeout_header(headers: Mapping[str, str]) -> int | None:
        value = headers.get("x-portkey-request-timeout")
        if value is None:
            return None
        if not value.strip().isdigit() or not 0 < int(value) <= _MAX_TIMEOUT_MS:
            raise InvalidRequest.field("x-portkey-request-timeout",
                                       f"expected milliseconds (1..{_MAX_TIMEOUT_MS}), got {value!r}")
        return int(value)

    @staticmethod
    def _metadata_header(headers: Mapping[str, str]) -> Mapping[str, Any]:
        value = headers.get("x-portkey-metadata")
        if value is None:
            return EMPTY
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest.field("x-portkey-metadata", f"not valid JSON ({exc})") from exc
        if not isinstance(parsed, dict):
            raise InvalidRequest.field("x-portkey-metadata", "must be a JSON object")
        return parsed

    def _route(self, options: CallOptions, headers: Mapping[str, str]) -> Node:
        """The compiled tree: the typed config, else the config header (JSON or a config id), else the default."""
        routes = self._routes
        if options.routing_config is not None:
            return routes.from_mapping(dict(options.routing_config), "options.routing_config")
        if options.config_json:
            return routes.from_json(options.config_json, "options.config_json")
        if options.config_id:
            return routes.named(options.config_id, "options.config_id")
        text = headers.get("x-portkey-config")
        if text is None:
            return routes.default
        if text.lstrip().startswith("{"):
            return routes.from_json(text, "x-portkey-config")
        return routes.named(text.strip(), "x-portkey-config")


def _split_names(value: str) -> tuple[str, ...]:
    return tuple(n.strip().lower() for n in value.split(",") if n.strip())
