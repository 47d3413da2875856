"""Access tokens that providers mint from long-lived credentials (a service account's key -> an OAuth token): the
seam's protocol and the bounded, single-flight cache that ProviderCall keeps them in. No I/O here: the cache awaits
whatever `fetch` it is given; tokens are never logged nor shown in a repr.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from gateway_grpc.errors import ProviderBadResponse, ProviderError, ProviderRejected, ProviderUnavailable, RateLimited
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.types import Target

# The provider option under which ProviderCall hands a minted token to the provider (on its own copy of the Target).
# Callers cannot set it: it is neither a config field nor a provider header (config.PROVIDER_OPTION_*).
ACCESS_TOKEN_OPTION = "access_token"
DEFAULT_MAX_ENTRIES = 256
EXPIRY_MARGIN_S = 60.0  # a token is reused until 60 s before it expires, so it never expires in flight

Fetch = Callable[[], Awaitable[tuple[str, float]]]


class TokenSource(Protocol):
    """What a provider adds when its credentials must be exchanged for an access token first (providers/call.py).
    All pure: ProviderCall sends the request and caches the answer."""

    def token_key(self, target: Target) -> str | None:
        """A digest naming the credential and what the token is for; None when the target needs no exchange."""
        ...

    def token_request(self, target: Target) -> HttpCall | None:
        """The signed token request (None when no exchange is needed); called only on a cache miss."""
        ...

    def decode_token(self, body: bytes) -> tuple[str, float]:
        """(access token, seconds it stays valid) from the token endpoint's answer."""
        ...

    def decode_token_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        """The typed error for a token endpoint's error status; never raises."""
        ...


@dataclass(frozen=True, slots=True)
class _Entry:
    token: str = field(repr=False)
    valid_until: float


class TokenCache:
    """Tokens by credential key: LRU-bounded, each reused until `expires_in - 60 s` by the injected clock (monotonic
    seconds). Concurrent misses for one key share a single fetch; a failed fetch is not cached (each waiter gets
    its error, the next call tries again)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = DEFAULT_MAX_ENTRIES,
                 margin_s: float = EXPIRY_MARGIN_S) -> None:
        self._clock = clock
        self._max = max_entries
        self._margin = margin_s
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._pending: dict[str, asyncio.Future[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)}, pending={len(self._pending)})"

    async def get(self, key: str, fetch: Fetch) -> str:
        """The cached token for `key`, else the one `fetch` returns (as `(token, expires_in seconds)`)."""
        while True:
            token = self._fresh(key)
            if token is not None:
                return token
            pending = self._pending.get(key)
            if pending is None:
                return await self._lead(key, fetch)
            try:
                return await asyncio.shield(pending)  # a waiter's own cancellation leaves the fetch running
            except asyncio.CancelledError:
                if not pending.cancelled() or _being_cancelled():
                    raise
                # the leader was cancelled (its caller gave up): this waiter fetches instead

    def _fresh(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.valid_until <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.token

    async def _lead(self, key: str, fetch: Fetch) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            token, expires_in = await fetch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody was waiting
            raise
        finally:
            del self._pending[key]
        self._store(key, token, expires_in)
        future.set_result(token)
        return token

    def _store(self, key: str, token: str, expires_in: float) -> None:
        valid_until = self._clock() + expires_in - self._margin
        if valid_until <= self._clock():
            return  # too short-lived to reuse
        self._entries[key] = _Entry(token, valid_until)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def read_oauth_token(provider: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """The `access_token` of an OAuth token answer, and the whole answer; a 502 without one. A bad answer is never
    quoted: it may hold a token minted for the operator's account."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    token = raw.get("access_token") if isinstance(raw, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderBadResponse(f"{provider}: the token endpoint's answer has no access_token", provider=provider)
    return token, raw  # type: ignore[return-value]  # a dict whenever the token is there


def oauth_error_body(body: bytes) -> dict[str, Any]:
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return raw if isinstance(raw, dict) else {}


def oauth_error_kind(status: int) -> type[ProviderError]:
    """A token endpoint's refusal by status: 429 rate limited, 5xx unavailable (retryable), others rejected."""
    return RateLimited if status == 429 else ProviderUnavailable if status >= 500 else ProviderRejected
