"""HTTP request headers -> gRPC metadata, and x-portkey-* response metadata -> HTTP response headers.

Forwards every end-to-end header unparsed (docs/architecture.md §Request metadata): the server parses them once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
    }
)
NOT_FORWARDED = frozenset({"host", "user-agent", "accept-encoding", "expect"})
NOT_FORWARDED_PREFIXES = ("content-", "x-envoy-", "grpc-", ":")
# gRPC metadata keys are lower-case [0-9a-z_.-]; ASCII values must be printable (0x20-0x7e).
METADATA_KEY = re.compile(rb"[0-9a-z_.\-]+")
PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")

Metadata = tuple[tuple[str, str | bytes], ...]


class InvalidHeader(ValueError):
    """A header gRPC metadata cannot carry; `name` is the header."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"header {name!r} {reason}")
        self.name = name


def _connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Headers named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1)."""
    tokens = (token.strip().lower() for name, value in raw if name == b"connection" for token in value.split(b","))
    return frozenset(token for token in tokens if token)


def _forwarded(name: str) -> bool:
    return name not in HOP_BY_HOP and name not in NOT_FORWARDED and not name.startswith(NOT_FORWARDED_PREFIXES)


def request_metadata(raw: list[tuple[bytes, bytes]]) -> Metadata:
    """ASGI raw headers (lower-case names) -> gRPC metadata; raises InvalidHeader for a header it cannot carry."""
    dropped = _connection_tokens(raw)
    metadata: list[tuple[str, str | bytes]] = []
    for raw_name, value in raw:
        name = raw_name.lower()
        key = name.decode("latin-1")
        if not _forwarded(key) or name in dropped:
            continue
        if not METADATA_KEY.fullmatch(name):
            raise InvalidHeader(key, "has a name gRPC metadata cannot carry")
        if key.endswith("-bin"):
            metadata.append((key, value))  # binary metadata: gRPC base64-encodes it on the wire
        elif PRINTABLE_ASCII.fullmatch(value):
            metadata.append((key, value.decode("ascii")))
        else:
            raise InvalidHeader(key, "has a value that is not printable ASCII, which gRPC metadata cannot carry")
    return tuple(metadata)


def portkey_headers(*metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """Every x-portkey-* key of the given metadata (initial, then trailing: later wins) as response headers."""
    headers: dict[str, str] = {}
    for pairs in metadata:
        for key, value in pairs or ():
            if key.startswith("x-portkey-") and isinstance(value, str):
                headers[key] = value
    return headers
