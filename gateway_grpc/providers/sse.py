"""Server-sent-events framing: bytes in, SseEvent out. Pure; handles any chunking and \\n, \\r\\n or \\r line ends."""

from __future__ import annotations

from gateway_grpc.providers.base import SseEvent


class SseDecoder:
    """Incremental SSE parser (WHATWG event-stream rules, minus `id`/`retry`, which no provider needs)."""

    __slots__ = ("_buffer", "_data", "_event")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Events completed by this chunk of bytes."""
        self._buffer += chunk
        events: list[SseEvent] = []
        while True:
            line, found = self._next_line()
            if not found:
                return events
            event = self._take_line(line)
            if event is not None:
                events.append(event)

    def flush(self) -> list[SseEvent]:
        """The event left unterminated when the stream ended (some servers omit the final blank line)."""
        if self._buffer:
            self._take_line(self._buffer.decode("utf-8", "replace"))
            self._buffer = b""
        event = self._dispatch()
        return [event] if event else []

    def _next_line(self) -> tuple[str, bool]:
        buffer = self._buffer
        end = buffer.find(b"\n")
        cr = buffer.find(b"\r")
        if cr != -1 and (end == -1 or cr < end):
            if cr == len(buffer) - 1:  # a lone \r at the end may be the first half of \r\n
                return "", False
            end, skip = cr, 2 if buffer[cr + 1 : cr + 2] == b"\n" else 1
        elif end != -1:
            skip = 1
        else:
            return "", False
        line = buffer[:end].decode("utf-8", "replace")
        self._buffer = buffer[end + skip :]
        return line, True

    def _take_line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data and not self._event:
            return None
        event = SseEvent(self._event, "\n".join(self._data))
        self._data, self._event = [], ""
        return event
