"""Connection-level faults of the loopback fakes: RST without a response, a stream cut mid-body, flaky counts.

Owns the only reach into uvicorn internals (a protocol subclass exposing a reset hook); builds no reply bodies.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RESET_EXTENSION = "tests.fakes.reset"
_LINGER_ZERO = struct.pack("ii", 1, 0)  # l_onoff=1, l_linger=0: close() sends RST, not FIN


class StreamBreak(Exception):
    """Raised inside a started stream: uvicorn then closes the socket mid-body (no terminating chunk)."""


class QuietFaults(logging.Filter):
    """Drop uvicorn's traceback for our own deliberate stream breaks, and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamBreak))


class ResettableHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus `scope["extensions"][RESET_EXTENSION]()`: abort this connection with RST.

    ASGI gives an app no way to drop a connection unanswered (raising makes uvicorn send a 500), so the hook is
    handed in through the scope's server-specific extensions.
    """

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {RESET_EXTENSION: self._reset}  # type: ignore[typeddict-unknown-key]

    def _reset(self) -> None:
        self.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.transport.abort()


class ConnectionReset(Response):
    """Sends nothing: resets the connection, then waits for uvicorn to notice, so it logs no missing response."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        reset = scope.get("extensions", {}).get(RESET_EXTENSION)
        if reset is None:
            raise RuntimeError("+reset needs the fake's own server (faults.ResettableHttpTools)")
        reset()
        while (await receive())["type"] != "http.disconnect":
            pass


class FlakyCounts:
    """Requests seen per exact model string, to fail the first n; safe to clear from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}

    def fails(self, model: str, n: int) -> bool:
        """Counts this request; True while it is one of the first n for `model`."""
        with self._lock:
            self._seen[model] = seen = self._seen.get(model, 0) + 1
        return seen <= n

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
