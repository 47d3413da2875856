"""Per-request gateway inputs -> CallContext: Portkey's `x-portkey-*` headers (as gRPC metadata) and the typed
RequestOptions, merged (a typed field wins), validated, and resolved to the target to call.

The one place that parses Portkey request headers (contract §2). Pure: no grpc, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway_grpc.config import (
    PROVIDER_OPTION_FIELDS,
    GatewaySettings,
    TargetConfig,
    parse_request_config,
    validate_request_config,
)
from gateway_grpc.errors import InvalidConfig, InvalidRequest, NotImplementedYet
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.types import EMPTY, CallContext, Target

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
    """Built once at start-up with the settings; `build` runs per request."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._guard = HostGuard(settings.security.custom_host_allowlist)

    def build(self, options: CallOptions, time_remaining: float | None, now: float) -> CallContext:
        """The call's context; `time_remaining` is the gRPC caller's deadline, `now` the event-loop time."""
        headers = options.headers
        config = self._config(options, headers)
        timeout_ms = options.request_timeout_ms or self._timeout_header(headers) or (config and config.request_timeout)
        limits = [t for t in (timeout_ms and timeout_ms / 1000, time_remaining) if t is not None]
        strict = options.strict_open_ai_compliance
        if strict is None:
            strict = _bool_header(headers, "x-portkey-strict-open-ai-compliance")
        return CallContext(
            trace_id=self._trace_id(options, headers),
            deadline=now + min(limits) if limits else None,
            metadata=options.metadata if options.metadata is not None else self._metadata_header(headers),
            target=self._target(options, headers, config),
            strict_open_ai_compliance=strict if strict is not None else True,
            cache_force_refresh=options.cache_force_refresh or "x-portkey-cache-force-refresh" in headers,
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

    def _config(self, options: CallOptions, headers: Mapping[str, str]) -> TargetConfig | None:
        if options.routing_config is not None:
            return validate_request_config(dict(options.routing_config), "options.routing_config")
        if options.config_json:
            return parse_request_config(options.config_json, "options.config_json")
        if options.config_id:
            return self._named_config(options.config_id, "options.config_id")
        text = headers.get("x-portkey-config")
        if text is None:
            return self._settings.default_config
        if text.lstrip().startswith("{"):
            return parse_request_config(text)
        return self._named_config(text.strip(), "x-portkey-config")

    def _named_config(self, config_id: str, field: str) -> TargetConfig:
        config = self._settings.configs.get(config_id)
        if config is None:
            raise InvalidConfig.field(
                field, f"{config_id!r} is neither a JSON config nor the id of a configured config")
        return config

    # ---- target ----

    def _target(self, options: CallOptions, headers: Mapping[str, str], config: TargetConfig | None) -> Target:
        leaf = _single_leaf(config, "config") if config is not None else None
        provider = (leaf and leaf.provider) or options.provider or headers.get("x-portkey-provider", "")
        if not provider:
            raise InvalidRequest.field("x-portkey-provider", "required (or a config that names a provider)")
        if provider not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise InvalidRequest.field("x-portkey-provider", f"unknown provider {provider!r}; known: {known}")
        custom_host = (leaf and leaf.custom_host) or options.custom_host or headers.get("x-portkey-custom-host", "")
        names = options.forward_headers or _split_names(headers.get("x-portkey-forward-headers", ""))
        if leaf and leaf.forward_headers:
            names = tuple(n.lower() for n in leaf.forward_headers)
        return Target(
            provider=provider,
            api_key=(leaf and leaf.api_key) or _bearer(headers.get("authorization", "")),
            base_url=self._guard.check(custom_host) if custom_host else "",
            override_params=(leaf and leaf.override_params) or EMPTY,
            provider_options=_provider_options(leaf),
            forward_headers=_forwarded(names, headers),
        )


def _split_names(value: str) -> tuple[str, ...]:
    return tuple(n.strip().lower() for n in value.split(",") if n.strip())


def _forwarded(names: tuple[str, ...], headers: Mapping[str, str]) -> Mapping[str, str]:
    if "x-portkey-forward-headers" in names:
        raise InvalidRequest.field("x-portkey-forward-headers", "may not list itself")
    return {name: headers[name] for name in names if name in headers} or EMPTY


def _provider_options(leaf: TargetConfig | None) -> Mapping[str, str]:
    if leaf is None:
        return EMPTY
    return {name: value for name in PROVIDER_OPTION_FIELDS if (value := getattr(leaf, name)) is not None} or EMPTY


_INHERITED = ("custom_host", "forward_headers", "request_timeout", "strict_open_ai_compliance", "retry", "cache")


def _single_leaf(config: TargetConfig, path: str) -> TargetConfig:
    """The target a `single` config resolves to, with the parent's fields inherited (contract §5)."""
    if not config.targets:
        return config
    mode = config.strategy.mode if config.strategy else "single"
    if mode != "single":
        raise NotImplementedYet(f"{path}.strategy.mode: {mode!r} routing is not implemented yet; use 'single'")
    child = config.targets[0]
    inherited = {name: getattr(config, name) for name in _INHERITED if getattr(child, name) is None}
    merged = {**(config.override_params or {}), **(child.override_params or {})}
    child = child.model_copy(update={**inherited, "override_params": merged or None})
    return _single_leaf(child, f"{path}.targets[0]")
