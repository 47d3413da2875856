"""Loopback fake of Google Vertex AI for both publishers, plus Google's OAuth token endpoint:

    POST /v1/projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent | :streamGenerateContent | :predict
    POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict | :streamRawPredict
    (v1beta1 too)
    POST /token      the JWT-bearer grant (RFC 7523): the assertion's RS256 signature is checked with the public key
                     of the fake's own test key pair, and its claims (iss, scope, exp - iat <= 3600, and aud: Google's
                     fixed https://oauth2.googleapis.com/token, which google-auth also sends to any token_uri)

API calls need `Authorization: Bearer <a token this fake issued>` (or STATIC_TOKEN). Bodies are checked by the strict
oracles (Gemini's; tests/oracles_vertex for `:predict` and the Anthropic body's Vertex changes) and answered by the
Gemini and Anthropic fakes' reply builders, scripted by the model name as there (`+error-429`, `+stream-break-1`).
`fake.service_account()` is a key file for the fake's key pair whose token_uri is `fake.token_uri`; `exchanges`
counts the grants it honoured; `token_failures` scripts the statuses of the next grants. The server lifecycle,
request log and stream framing are loopback's. Never imported by gateway code.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes import anthropic_upstream as claude
from tests.fakes import gemini_replies
from tests.fakes.gemini_upstream import _sse as gemini_sse
from tests.fakes.loopback import ALL_METHODS, RecordedRequest, RecordingServer
from tests.fakes.openai_replies import DEFAULT_DIMENSIONS, embedding_vector

_METHODS = {"google": ("generateContent", "streamGenerateContent", "predict"),
            "anthropic": ("rawPredict", "streamRawPredict")}
_VERSIONS = ("v1", "v1beta1")  # the gateway sends v1; google-genai's Vertex mode defaults to v1beta1
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AUDIENCE = "https://oauth2.googleapis.com/token"  # Google's documented `aud`, whatever URL the grant is posted to
STATIC_TOKEN = "ya29.static-test-token"
PROJECT = "fake-project"
CLIENT_EMAIL = f"gateway@{PROJECT}.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                   "other valid authentication credential.")
_CLOCK_SKEW_S = 300


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeVertex(RecordingServer):
    """`with FakeVertex() as fake:`; the gateway's custom host is `fake.origin`, AnthropicVertex's base_url
    `fake.base_url` (`{origin}/v1`), google-genai's `HttpOptions(base_url=fake.origin)`."""

    label = "Vertex"
    api_path = "/v1"

    def __init__(self, *, strict: bool = True, record: bool = True, host: str = "127.0.0.1", port: int = 0,
                 key: rsa.RSAPrivateKey | None = None) -> None:
        app = Starlette(routes=[
            Route("/token", self._token, methods=["POST"]),
            Route("/{version}/projects/{project}/locations/{region}/publishers/{publisher}/models/{call}", self._call,
                  methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=ALL_METHODS),
        ])
        super().__init__(app, strict=strict, record=record, host=host, port=port)
        self.key = key or new_key()
        self.exchanges = 0
        self.token_failures: list[int] = []
        self.token_lifetime = 3599
        self.issued: list[str] = []

    @property
    def token_uri(self) -> str:
        return f"{self.origin}/token"

    def service_account(self, key: rsa.RSAPrivateKey | None = None, **fields: Any) -> dict[str, Any]:
        """A service-account key file for the fake's key pair (or `key`), pointing at the fake's token endpoint."""
        return {"type": "service_account", "project_id": PROJECT, "private_key_id": KEY_ID,
                "private_key": pem(key or self.key), "client_email": CLIENT_EMAIL, "client_id": "1234567890",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": self.token_uri, **fields}

    def clear(self) -> None:
        super().clear()
        self.exchanges = 0
        self.token_failures.clear()
        self.issued.clear()  # tokens issued before are refused from now on

    def _load_oracles(self) -> Any:
        from tests import oracles_gemini, oracles_vertex

        oracles_vertex.raw_predict_errors({"max_tokens": 1, "messages": [], "anthropic_version": "x"}, "warm-up")
        return oracles_gemini, oracles_vertex

    # --- the token endpoint ---------------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await self._log(request)).body.decode()).items()}
        if self.token_failures:
            status = self.token_failures.pop(0)
            return _json(status, {"error": "server_error" if status >= 500 else "invalid_client",
                                  "error_description": f"The fake token endpoint was told to fail with {status}."})
        if form.get("grant_type") != GRANT_TYPE:
            return _json(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
        problem = self._grant_problem(form.get("assertion", ""))
        if problem:
            return _json(400, {"error": "invalid_grant", "error_description": problem})
        self.exchanges += 1
        token = f"ya29.fake-{next(self._ids)}"
        self.issued.append(token)
        return _json(200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _grant_problem(self, jwt: str) -> str:
        """Why Google would refuse this assertion, or ""."""
        try:
            head, claims, signature = jwt.split(".")
            header, payload = orjson.loads(_unb64(head)), orjson.loads(_unb64(claims))
            self.key.public_key().verify(_unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(),
                                         hashes.SHA256())
        except (ValueError, orjson.JSONDecodeError):
            return "Invalid JWT: malformed."
        except InvalidSignature:
            return "Invalid JWT Signature."
        if header != {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}:
            return f"Invalid JWT header {header}."
        iat, exp, now = payload.get("iat"), payload.get("exp"), time.time()
        if not isinstance(iat, int) or not isinstance(exp, int):
            return "Invalid JWT: iat and exp must be integers."
        checks = [
            (payload.get("iss") == CLIENT_EMAIL, "Invalid grant: account not found"),
            (payload.get("aud") == AUDIENCE, "Invalid JWT: aud must be https://oauth2.googleapis.com/token."),
            (payload.get("scope") == SCOPE, "Invalid OAuth scope or ID token audience provided."),
            (0 < exp - iat <= 3600, "Invalid JWT: Token must be a short-lived token (60 minutes)."),
            (iat <= now + _CLOCK_SKEW_S and exp >= now - _CLOCK_SKEW_S,
             "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."),
        ]
        return next((message for ok, message in checks if not ok), "")

    # --- the publishers' APIs -------------------------------------------------------------------------------------

    async def _call(self, request: Request) -> Response:
        record = await self._log(request)
        params = request.path_params
        publisher, (model, _, method) = params["publisher"], params["call"].rpartition(":")
        if method not in _METHODS.get(publisher, ()) or not model or params["version"] not in _VERSIONS:
            return _google_error(404, f"The requested URL {request.url.path} was not found on this server.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in (STATIC_TOKEN, *self.issued):
            return _google_error(401, UNAUTHENTICATED)
        if not isinstance(record.json, dict):
            return _google_error(400, "Invalid JSON payload received.")
        if publisher == "anthropic":
            return self._claude(record, model, method)
        return await self._gemini(request, record, model, method)

    async def _gemini(self, request: Request, record: RecordedRequest, model: str, method: str) -> Response:
        body = record.json
        if self._oracles is not None:
            gemini, vertex = self._oracles
            record.oracle_errors = (vertex.predict_request_errors(body) if method == "predict"
                                    else gemini.generate_content_errors(body, camel_case=False))
            if record.oracle_errors:
                return _google_error(400, "oracle: " + "; ".join(record.oracle_errors))
        try:
            d, _ = gemini_replies.parse(model)
        except ValueError as error:
            return _google_error(400, str(error))
        if d.error is not None:
            return _json(d.error, gemini_replies.status_error(d.error, model=d.base, version="v1", method=method),
                         d.retry_headers())
        if method == "predict":
            return _json(200, predict(body))
        response_id = f"fake{next(self._ids):012d}"
        if method == "generateContent":
            return _json(200, gemini_replies.generate_content(body, model, response_id=response_id))
        if request.query_params.get("alt") != "sse":
            return _google_error(400, "The fake serves streamGenerateContent with ?alt=sse only.")
        events = gemini_replies.stream_events(body, model, response_id=response_id)
        return self._stream(gemini_sse(events, d), {}, record)

    def _claude(self, record: RecordedRequest, model: str, method: str) -> Response:
        body = record.json
        if self._oracles is not None:
            record.oracle_errors = self._oracles[1].raw_predict_errors(body, model)
            if (method == "streamRawPredict") != bool(body.get("stream")):
                record.oracle_errors.append(f"stream: {method} needs stream={method == 'streamRawPredict'}")
            if record.oracle_errors:
                return _json(400, claude.error_body(400, "oracle: " + "; ".join(record.oracle_errors)))
        try:
            d = claude.parse_directives(model)
        except ValueError as error:
            return _json(400, claude.error_body(400, str(error)))
        if d.error is not None:
            return _json(d.error, claude.error_body(d.error, model=d.base))
        full = {**body, "model": model}
        reply, id_ = claude.plan_reply(full, d), f"msg_vrtx_fake{next(self._ids):016d}"
        if body.get("stream"):
            events = claude.stream_events(full, reply, d, id_)
            return self._stream(claude._sse(events, d), {"cache-control": "no-cache"}, record)
        return _json(200, claude.message(full, reply, d, id_))

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _google_error(404, f"The requested URL {request.url.path} was not found on this server.")


def predict(body: dict) -> dict:
    """The text-embedding answer: one prediction per instance, token counts by words."""
    dimensions = (body.get("parameters") or {}).get("outputDimensionality") or DEFAULT_DIMENSIONS
    predictions = [{"embeddings": {"statistics": {"truncated": False, "token_count": len(i["content"].split())},
                                   "values": embedding_vector(i["content"], dimensions)}}
                   for i in body["instances"]]
    return {"predictions": predictions,
            "metadata": {"billableCharacterCount": sum(len(i["content"]) for i in body["instances"])}}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _google_error(status: int, message: str) -> Response:
    return _json(status, gemini_replies.error_body(status, message))
