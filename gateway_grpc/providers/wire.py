"""Wire facts every provider translator shares: JSON bodies that may be broken, retry-after headers, optional
strings. Pure; no provider-specific knowledge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway_grpc.errors import ProviderBadResponse


def loads_json(body: bytes, provider: str) -> Any:
    """The parsed body, or ProviderBadResponse quoting its start (Portkey's "Invalid response received from")."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        preview = body[:200].decode("utf-8", "replace")
        raise ProviderBadResponse(f"Invalid response received from {provider}: {preview}", provider=provider) from exc


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from retry-after-ms, x-ms-retry-after-ms or retry-after (the reference's order)."""
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def text_or_empty(value: Any) -> str:
    return "" if value is None else str(value)
