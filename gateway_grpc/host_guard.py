"""The SSRF guard for custom hosts (Portkey contract §2.3, §13 rows 21-24). Pure: checks URL text and IP literals.

Refuses non-http(s) schemes, credentials in URLs, odd IP spellings (decimal, hex, octal, shortened), non-public
addresses and internal-only names, unless the operator allow-lists them. Loopback is allow-listed by default so
local model servers (vLLM, Ollama, llama.cpp) work.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from gateway_grpc.errors import CustomHostBlocked

DEFAULT_ALLOWED = ("localhost", "127.0.0.0/8", "::1/128", "host.docker.internal")
_BLOCKED_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.internal"})
_BLOCKED_SUFFIXES = (".local", ".internal", ".lan", ".corp", ".test", ".home", ".localdomain", ".intranet",
                     ".private", ".localhost", ".home.arpa")
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+))*", re.IGNORECASE)
_MAX_LABELS = 10

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostGuard:
    """Checks custom-host URLs against the built-in block rules and an operator allowlist of names and CIDRs."""

    def __init__(self, allowed: Sequence[str] = DEFAULT_ALLOWED) -> None:
        self._networks: list[IpNetwork] = []
        self._names: set[str] = set()
        self._suffixes: list[str] = []
        for entry in allowed:
            self._add(entry.strip().lower())

    def _add(self, entry: str) -> None:
        try:
            self._networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            if entry.startswith("."):
                self._suffixes.append(entry)
            else:
                self._names.add(entry)

    def check(self, url: str, field: str = "custom_host") -> str:
        """The URL without a trailing slash, or CustomHostBlocked naming `field` and the reason."""
        reason = self._problem(url)
        if reason:
            raise CustomHostBlocked.field(field, f"{reason} (custom host {url!r} refused)")
        return url.rstrip("/")

    def _problem(self, url: str) -> str:
        if not url.isascii() or any(c.isspace() for c in url):
            return "non-ASCII characters or spaces are not allowed"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return "only http and https URLs are allowed"
        if "@" in parts.netloc:
            return "credentials in the URL are not allowed"
        host = (parts.hostname or "").lower()
        if not host:
            return "the URL has no host"
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return "the port is not a number between 0 and 65535"
        return self._host_problem(host)

    def _host_problem(self, host: str) -> str:
        if "%" in host or host.endswith(".") or host.count(".") >= _MAX_LABELS:
            return "the host name is malformed"
        address = _ip_literal(host)
        if address is not None:
            return self._address_problem(address)
        if _NUMERIC_HOST.fullmatch(host):
            return "unusual IP address spellings (decimal, hex, octal, shortened) are not allowed"
        if self._is_allowed_name(host):
            return ""
        if host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES) or host == "localhost":
            return "internal host names are not allowed"
        return ""

    def _is_allowed_name(self, host: str) -> bool:
        return host in self._names or any(host.endswith(s) for s in self._suffixes)

    def _address_problem(self, address: IpAddress) -> str:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 addresses are not allowed"
        if any(address in network for network in self._networks):
            return ""
        if not address.is_global or address.is_multicast:
            return "private, loopback, link-local and metadata addresses are not allowed"
        return ""


def _ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
