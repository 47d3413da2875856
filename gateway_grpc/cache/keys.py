"""Cache keys: what makes two calls the same question to the same upstream for the same tenant. Pure.

An exact key is the BLAKE2b digest of the canonical JSON (orjson, sorted mapping keys; dataclass fields in their
declared order) of:
- the kind of call (`chat`, `completions`, `embeddings`): a chat answer never serves an embeddings call;
- the request as the provider would see it: model, messages, tools, tool choice, response format, every sampling
  parameter and every unknown key the caller set. `stream`, `include_usage` and other stream options are left out:
  a streamed call and a plain one share an entry (replay drops usage the caller did not ask for);
- the target: provider, base URL (custom host), `override_params` and provider options (region, deployment, ...),
  minted access tokens excepted (they rotate; the credential they come from is in the key);
- the tenant: the target's key and the caller's own credential (`Authorization`, `x-portkey-api-key`) as digests,
  plus `x-portkey-cache-namespace` when sent. Two callers with different keys never read each other's answers, even
  through a config that holds a shared server-side key.

A semantic namespace is the same digest over everything but the text the semantic cache embeds (cache/prompt_text.py
decides which): a semantic hit never crosses tenants, targets, models or answer-changing parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from gateway_grpc.providers.tokens import ACCESS_TOKEN_OPTION
from gateway_grpc.types import EMPTY, CallerInputs, ChatRequest, Target

KEY_PREFIX = "gw:cache:"
NAMESPACE_HEADER = "x-portkey-cache-namespace"
_TENANT_HEADERS = ("x-portkey-api-key",)


def _default(value: Any) -> Any:
    """orjson's fallback: mappings as dicts, bytes (images, audio) as their digest."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.blake2b(value, digest_size=16).hexdigest()
    raise TypeError(f"cannot key a {type(value).__name__}")


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS)


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(canonical(parts), digest_size=20).hexdigest()


def request_view(request: Any) -> Any:
    """The request without what only shapes delivery (stream options): chat's `include_usage` and `stream_extra`,
    a text completion's `include_usage`."""
    if isinstance(request, ChatRequest):
        return replace(request, include_usage=False, stream_extra=EMPTY)
    if hasattr(request, "include_usage"):
        return replace(request, include_usage=False)
    return request


def target_identity(target: Target) -> tuple[Any, ...]:
    options = {k: v for k, v in target.provider_options.items() if k != ACCESS_TOKEN_OPTION}
    return target.provider, target.base_url, target.override_params, options


def tenant(target: Target, caller: CallerInputs) -> str:
    """A digest of whose answer this is: the target's key, the caller's credentials, the caller's namespace."""
    headers = caller.headers
    return _digest(target.api_key, caller.api_key, [headers.get(name, "") for name in _TENANT_HEADERS],
                   headers.get(NAMESPACE_HEADER, ""))


def exact_key(kind: str, request: Any, target: Target, caller: CallerInputs) -> str:
    return KEY_PREFIX + _digest(kind, request_view(request), target_identity(target), tenant(target, caller))


def semantic_namespace(kind: str, rest: Any, target: Target, caller: CallerInputs) -> str:
    """The namespace of a semantic entry: `rest` is the request with the embedded text taken out (its stream
    options left out as for an exact key)."""
    return _digest("semantic", kind, request_view(rest), target_identity(target), tenant(target, caller))
