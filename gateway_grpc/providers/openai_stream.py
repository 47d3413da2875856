"""The OpenAI family's SSE stream decoder, for chat chunks and text completion chunks alike. Pure; no I/O.

Each `data:` line is one JSON chunk; `[DONE]` ends the stream; a `{"error": ...}` event is an in-band failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway_grpc.errors import ProviderBadResponse, ProviderRejected
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.wire import loads_json, text_or_empty

_CHUNK_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage", "system_fingerprint"})


class OpenAIStreamDecoder:
    """Decodes each event's JSON with `build` (a chunk decoder, after the provider's hook for a host whose chunks
    depart from OpenAI's); a chunk `build` cannot read (KeyError, TypeError, AttributeError) is a 502."""

    __slots__ = ("build", "done", "pending", "provider")

    def __init__(self, provider: str, build: Callable[[dict[str, Any]], Any]) -> None:
        self.provider = provider
        self.build = build
        self.done = False
        self.pending: dict[str, Any] = {}  # a prelude's annotations, for the next real chunk

    def _prelude(self, raw: dict[str, Any]) -> bool:
        """Azure opens streams with a chunk that has no id and no choices, only `prompt_filter_results`: not a chunk
        an OpenAI client can read, so its annotations ride on the next real chunk instead."""
        if raw.get("id") or raw.get("choices") or raw.get("usage") is not None:
            return False
        self.pending.update({k: v for k, v in raw.items() if k not in _CHUNK_KEYS})
        return True

    def decode(self, event: SseEvent) -> list[Any]:
        data = event.data
        if data == "[DONE]":
            self.done = True
            return []
        if not data:
            return []
        raw = loads_json(data.encode(), self.provider)
        if not isinstance(raw, dict):
            raise ProviderBadResponse(f"Invalid stream event from {self.provider}: {data[:200]}",
                                      provider=self.provider)
        if "error" in raw:
            error = raw["error"] if isinstance(raw["error"], dict) else {"message": str(raw["error"])}
            raise ProviderRejected(
                f"{self.provider} error: {error.get('message') or 'stream failed'}", provider=self.provider,
                status=500, error_type=text_or_empty(error.get("type")), code=text_or_empty(error.get("code")),
            )
        if self._prelude(raw):
            return []
        if self.pending:
            raw, self.pending = {**self.pending, **raw}, {}
        try:
            return [self.build(raw)]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderBadResponse(f"Invalid stream chunk from {self.provider}: {data[:200]}",
                                      provider=self.provider) from exc
