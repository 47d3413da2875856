"""Loopback fake of the remotes guardrail checks call, on one server:

- `POST /webhook`: answers `{verdict, data, transformedData?}` as its query asks: `verdict=false`,
  `redact=<word>` (transformedData: the event's request or response JSON with <word> replaced by [REDACTED]),
  `status=<n>`, `delay=<ms>`, `answer=bad-json|no-verdict`;
- `POST /log`: a sink answering `status=<n>` (default 200);
- `GET /jwks`: the served RSA keys as a JSON Web Key Set (`no-alg`: without their `alg`), `status=<n>`,
  counting fetches (`jwks_fetches`); `sign()` makes
  tokens (also with an unlisted key under a listed kid), `rotate()` replaces the served key;
- `GET /status/<n>`, `GET /slow?ms=<n>`, `GET /redirect?to=<url>` (302), `GET /big?bytes=<n>`.

Every request is recorded (loopback.RecordingServer). Never imported by gateway code.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.loopback import RecordingServer


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _redacted(value: Any, word: str) -> Any:
    """`value` (JSON) with `word` replaced by [REDACTED] in every string."""
    if isinstance(value, str):
        return value.replace(word, "[REDACTED]")
    if isinstance(value, list):
        return [_redacted(item, word) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, word) for key, item in value.items()}
    return value


class GuardrailUpstreams(RecordingServer):
    """`with GuardrailUpstreams() as fake:` then `fake.url("/webhook?verdict=false")`; `fake.requests` logs calls."""

    label = "guardrails"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        app = Starlette(routes=[
            Route("/webhook", self._webhook, methods=["POST"]),
            Route("/log", self._log_sink, methods=["POST"]),
            Route("/jwks", self._jwks, methods=["GET"]),
            Route("/status/{code:int}", self._status, methods=["GET", "HEAD"]),
            Route("/slow", self._slow, methods=["GET"]),
            Route("/redirect", self._redirect, methods=["GET"]),
            Route("/big", self._big, methods=["GET"]),
        ])
        super().__init__(app, strict=False, host=host, port=port)
        self.jwks_fetches = 0
        self._kids = itertools.count(1)
        self._served: dict[str, rsa.RSAPrivateKey] = {}
        self._unlisted = _rsa_key()
        self.kid = self.rotate()

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    # ---- keys and tokens ----

    def rotate(self) -> str:
        """Serve a new key (under a new kid) instead of the current one; returns the new kid."""
        kid = f"key-{next(self._kids)}"
        self._served = {kid: _rsa_key()}
        self.kid = kid
        return kid

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, unlisted: bool = False,
             algorithm: str = "RS256", secret: bytes | None = None) -> str:
        """A token for `claims` with the served key of `kid` (default: the current one); `unlisted` (or a kid not
        served) signs with a key the set does not serve, `secret` with a shared secret (an HS* algorithm)."""
        kid = kid or self.kid
        served = self._served.get(kid, self._unlisted)
        key: Any = secret if secret is not None else (self._unlisted if unlisted else served)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    def _key_set(self, with_alg: bool) -> dict[str, Any]:
        keys = []
        for kid, key in self._served.items():
            public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**public, "kid": kid, "use": "sig", **({"alg": "RS256"} if with_alg else {})})
        return {"keys": keys}

    # ---- routes ----

    async def _webhook(self, request: Request) -> Response:
        record = await self._log(request)
        query = request.query_params
        await asyncio.sleep(int(query.get("delay", "0")) / 1000)
        if "status" in query:
            return JSONResponse({"error": "scripted"}, status_code=int(query["status"]))
        if query.get("answer") == "bad-json":
            return Response(b"{not json", media_type="application/json")
        answer: dict[str, Any] = {"data": {"seen": record.json.get("eventType")}}
        if query.get("answer") != "no-verdict":
            answer["verdict"] = query.get("verdict", "true") == "true"
        if "redact" in query:
            answer["transformedData"] = self._transformed(record.json, query["redact"])
        return JSONResponse(answer)

    @staticmethod
    def _transformed(context: dict[str, Any], word: str) -> dict[str, Any]:
        part = "request" if context["eventType"] == "beforeRequestHook" else "response"
        return {part: {"json": _redacted(context[part]["json"], word)}}

    async def _log_sink(self, request: Request) -> Response:
        await self._log(request)
        return Response(status_code=int(request.query_params.get("status", "200")))

    async def _jwks(self, request: Request) -> Response:
        await self._log(request)
        self.jwks_fetches += 1
        if "status" in request.query_params:
            return Response(status_code=int(request.query_params["status"]))
        with_alg = "no-alg" not in request.query_params
        return Response(orjson.dumps(self._key_set(with_alg)), media_type="application/json")

    async def _status(self, request: Request) -> Response:
        await self._log(request)
        return Response(b"status page", status_code=request.path_params["code"])

    async def _slow(self, request: Request) -> Response:
        await self._log(request)
        await asyncio.sleep(int(request.query_params.get("ms", "5000")) / 1000)
        return Response(b"late")

    async def _redirect(self, request: Request) -> Response:
        await self._log(request)
        return Response(status_code=302, headers={"location": request.query_params["to"]})

    async def _big(self, request: Request) -> Response:
        await self._log(request)
        return Response(b"x" * int(request.query_params.get("bytes", "0")))
