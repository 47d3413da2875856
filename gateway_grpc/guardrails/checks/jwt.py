"""`default.jwt` (contract §8.3 row 21): the caller's token (header `headerKey`, "Bearer " stripped) verifies
against the JSON Web Key Set at `jwksUri`, is not expired, not before its `nbf`, and was issued (`iat`, required)
at most `maxTokenAge` ago, each with `clockTolerance` of slack, as Portkey's jose `jwtVerify` does.

Signatures are checked by PyJWT with the key whose `kid` the token names, in the key's own algorithm (asymmetric
ones only: a key set is public, so a shared-secret or `none` algorithm would let anyone sign). Time claims are
checked here against `services.wall_clock`. The key set is fetched through `services.outbound` (SSRF-guarded, never
blocking the event loop), cached for `cacheMaxAge` seconds, and refetched early for an unknown `kid` (key
rotation) at most once per REFETCH_COOLDOWN_S. A missing, malformed, expired or badly signed token is a false
verdict with the reason; a key set that cannot be fetched is an errored check.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
import orjson

from gateway_grpc.guardrails.base import BEFORE, CheckFn, CheckSkipped, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.outbound import UnexpectedStatus, url_param, where

REFETCH_COOLDOWN_S = 30.0  # jose's remote key set cooldown
FETCH_TIMEOUT_S = 3.0
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K",
                        "EdDSA"})
_BEARER = re.compile(r"^Bearer\s+", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?"
                       r"|yrs?|y)", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}  # jose's units
# PyJWT checks the signature and the header's algorithm only; the claims are checked in `_claims_problem`.
_SIGNATURE_ONLY = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                   "verify_iss": False, "verify_sub": False, "verify_jti": False}


def _seconds(params: Params, name: str, default: str | float) -> float:
    """A duration: seconds as a number, or jose's string forms ("30s", "10m", "1h", "1d", "2 days")."""
    value = params.get(name, default)
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise params.error(name, f"expected seconds or a duration such as \"30s\", \"10m\", \"1h\", \"1d\"; "
                                 f"got {value!r}"[:300])
    return float(match[1]) * _UNIT_SECONDS[match[2][0].lower()]


@dataclass(frozen=True, slots=True)
class Rules:
    tolerance_s: float
    max_age_s: float


def _claims_problem(claims: Mapping[str, Any], now: float, rules: Rules) -> str:
    """'' when the time claims hold at `now`, else the reason (jose's rules)."""
    for name in ("exp", "nbf", "iat"):
        if name in claims and (not isinstance(claims[name], int | float) or isinstance(claims[name], bool)):
            return f'"{name}" claim must be a number'
    if "exp" in claims and claims["exp"] <= now - rules.tolerance_s:
        return "the token has expired"
    if "nbf" in claims and claims["nbf"] > now + rules.tolerance_s:
        return "the token is not yet valid (nbf)"
    if "iat" not in claims:
        return '"iat" claim is required to check maxTokenAge'
    age = now - claims["iat"]
    if age < -rules.tolerance_s:
        return "the token was issued in the future (iat)"
    if age - rules.tolerance_s > rules.max_age_s:
        return f"the token is older than maxTokenAge ({rules.max_age_s:g} s)"
    return ""


class KeySet:
    """The JWKS at `uri`, keys by `kid`: fetched on first use, again when older than `max_age_s`, and early for an
    unknown kid when the last fetch is at least REFETCH_COOLDOWN_S old. Concurrent callers share one fetch."""

    def __init__(self, uri: str, max_age_s: float, services: Services) -> None:
        self._uri, self._max_age, self._services = uri, max_age_s, services
        self._clock: Callable[[], float] = services.wall_clock or time.time
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> dict[str, Any] | None:
        await self._refresh_if(lambda age: age >= self._max_age)
        if kid not in self._keys:
            await self._refresh_if(lambda age: kid not in self._keys and age >= REFETCH_COOLDOWN_S)
        return self._keys.get(kid)

    async def _refresh_if(self, stale: Callable[[float], bool]) -> None:
        async with self._lock:  # decided under the lock: a caller that waited sees the fetch it waited for
            if self._fetched_at is None or stale(self._clock() - self._fetched_at):
                self._keys = await self._fetch()
                self._fetched_at = self._clock()

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        outbound = self._services.outbound
        if outbound is None:
            raise CheckSkipped("no outbound HTTP service is configured for guardrails; check skipped")
        answer = await outbound.request("GET", self._uri, headers={"accept": "application/json"},
                                        timeout_s=FETCH_TIMEOUT_S)
        if not 200 <= answer.status < 300:
            raise UnexpectedStatus(f"the key set at {where(self._uri)} answered HTTP {answer.status}")
        try:
            keys = orjson.loads(answer.body)["keys"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{where(self._uri)} did not answer a JSON Web Key Set") from None
        if not isinstance(keys, list):
            raise ValueError(f"{where(self._uri)} did not answer a JSON Web Key Set")
        return {key["kid"]: key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)}


def _token(subject: Subject, header: str) -> str:
    return _BEARER.sub("", subject.headers.get(header, "")).strip()


def _verified_claims(token: str, jwk: Mapping[str, Any], header_alg: Any) -> dict[str, Any]:
    """The token's claims once its signature verifies with `jwk` (PyJWTError otherwise)."""
    algorithm = jwk.get("alg") or header_alg
    if algorithm not in ALGORITHMS:
        raise pyjwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted (asymmetric algorithms only)")
    key = pyjwt.PyJWK(dict(jwk), algorithm)
    return pyjwt.decode(token, key.key, algorithms=[key.algorithm_name], options=_SIGNATURE_ONLY)


def _failed(explanation: str) -> Outcome:
    return Outcome(False, {"verdict": False, "explanation": explanation})


def _compile(params: Params, services: Services) -> CheckFn:
    uri = url_param(params, "jwksUri", services.outbound)
    header = (params.string("headerKey") or "Authorization").lower()  # Portkey's code falls back to Authorization
    max_age = params.integer("cacheMaxAge", 86400)
    if max_age < 0:
        raise params.error("cacheMaxAge", f"expected a number of seconds >= 0, got {max_age}")
    rules = Rules(_seconds(params, "clockTolerance", 5), _seconds(params, "maxTokenAge", "1d"))
    keys = KeySet(uri, max_age, services)
    clock = services.wall_clock or time.time

    async def check(subject: Subject) -> Outcome:
        token = _token(subject, header)
        if not token:
            return _failed(f"Missing authorization header ({header})")
        try:
            token_header = pyjwt.get_unverified_header(token)
        except pyjwt.PyJWTError as exc:
            return _failed(f"JWT validation error: {exc}")
        kid = token_header.get("kid")
        jwk = await keys.key(kid) if isinstance(kid, str) else None
        if jwk is None:
            return _failed("No matching key found for kid")
        try:
            claims = _verified_claims(token, jwk, token_header.get("alg"))
        except pyjwt.PyJWTError as exc:
            return _failed(f"JWT validation error: {exc}")
        problem = _claims_problem(claims, clock(), rules)
        if problem:
            return _failed(f"JWT validation error: {problem}")
        return Outcome(True, {"verdict": True, "explanation": "JWT token validation succeeded"})

    return check


JWT = CheckType("default.jwt", _compile, frozenset({BEFORE}), negatable=False)
