"""AWS event-stream framing (`application/vnd.amazon.eventstream`): bytes in, EventStreamEvent out. Pure.

botocore's EventStreamBuffer cuts the frames and verifies both CRCs; this module only names what each frame is and
turns a broken stream into ProviderBadResponse. It knows no Bedrock event names.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.eventstream import EventStreamBuffer, EventStreamMessage, ParserError

from gateway_grpc.errors import ProviderBadResponse

_PREVIEW_BYTES = 200
# A CRC-valid frame can still carry malformed headers (unknown type byte, cut string): botocore then raises these.
_BROKEN = (ParserError, KeyError, IndexError, ValueError, struct.error)


@dataclass(frozen=True, slots=True)
class EventStreamEvent:
    """One frame. `message_type` is `event`, `exception` or `error`; `event_type` is its `:event-type`,
    `:exception-type` or `:error-code` header; `payload` is the raw body (JSON for Bedrock)."""

    message_type: str
    event_type: str
    payload: bytes
    headers: Mapping[str, Any]


def _event(message: EventStreamMessage) -> EventStreamEvent:
    headers = message.headers
    kind = headers.get(":message-type") or "event"
    name = headers.get(":event-type") or headers.get(":exception-type") or headers.get(":error-code") or ""
    return EventStreamEvent(str(kind), str(name), message.payload, headers)


class AwsEventStreamDecoder:
    """Incremental frame parser with the SseDecoder shape: `feed(bytes) -> events`, `flush() -> events`."""

    __slots__ = ("_buffer", "_head", "_provider")

    def __init__(self, provider: str = "bedrock") -> None:
        self._buffer = EventStreamBuffer()
        self._provider = provider
        self._head = b""  # the body's first bytes, quoted when it never was an event stream

    def feed(self, chunk: bytes) -> list[EventStreamEvent]:
        """Events completed by this chunk of bytes; ProviderBadResponse on a bad CRC or a malformed frame."""
        if len(self._head) < _PREVIEW_BYTES:
            self._head += chunk[: _PREVIEW_BYTES - len(self._head)]
        self._buffer.add_data(chunk)
        try:
            return [_event(message) for message in self._buffer]
        except _BROKEN as exc:
            preview = self._head.decode("utf-8", "replace")
            raise ProviderBadResponse(
                f"Invalid event stream from {self._provider} ({type(exc).__name__}): {preview}",
                provider=self._provider,
            ) from exc

    def flush(self) -> list[EventStreamEvent]:
        """Nothing: a frame cut short is no event (the stream decoder, not done, reports the early end)."""
        return []
