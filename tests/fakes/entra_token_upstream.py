"""Loopback fake of the Microsoft identity endpoints the gateway's Azure OpenAI token modes call:

    GET  /{tenant}/v2.0/.well-known/openid-configuration   tenant discovery (MSAL reads `token_endpoint` from it)
    GET  /common/discovery/instance     instance discovery (MSAL asks it after a refused grant)
    POST /{tenant}/oauth2/v2.0/token    Entra's client-credentials grant, with a client secret (entra mode) or a
                                        client assertion (workload identity): Entra's form fields, AADSTS errors,
                                        and its answer `{token_type, expires_in, ext_expires_in, access_token}`
    GET  /metadata/identity/oauth2/token   the Instance Metadata Service (managed identity): `Metadata: true` (or
                                        App Service's X-IDENTITY-HEADER), api-version, resource, optional client_id;
                                        its answer's numbers are strings, as the real service sends them

It knows one tenant (TENANT, or its domain TENANT_DOMAIN), one app with a secret (CLIENT_ID / CLIENT_SECRET), one
app trusting the federated token FEDERATED_TOKEN (WORKLOAD_CLIENT_ID) and one user-assigned identity
(MANAGED_CLIENT_ID; no client_id means the system-assigned one). `exchanges` counts tokens issued, `issued` lists
them, `grants` says for what (mode, client id, scope or resource); `token_failures` scripts the statuses of the next
token requests; `authority` is the origin the discovery document names (the fake's own unless a test that reaches
it through a rewriting transport sets Microsoft's). Server lifecycle and request log are loopback's. Never imported
by gateway code.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import ALL_METHODS, RecordingServer

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
CLIENT_ID = "5a3b2c1d-0000-4000-8000-00000000c11e"
CLIENT_SECRET = "Fk8Q~fake.client-secret_0123456789abcdef"
WORKLOAD_CLIENT_ID = "5a3b2c1d-0000-4000-8000-0000000000a1"
FEDERATED_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpnYXRld2F5In0.fake-sig"
MANAGED_CLIENT_ID = "5a3b2c1d-0000-4000-8000-0000000000b2"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
IMDS_PATH = "/metadata/identity/oauth2/token"
IDENTITY_HEADER = "fake-app-service-identity-header"
_TENANTS = frozenset({TENANT, TENANT_DOMAIN})


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def entra_error(status: int, error: str, code: int, sentence: str) -> Response:
    """Entra's error answer: the OAuth error, an AADSTS description with its trace lines, and its ids."""
    description = (f"AADSTS{code}: {sentence}\r\nTrace ID: 0f1e2d3c-0000-4000-8000-000000000001\r\n"
                   "Correlation ID: 0f1e2d3c-0000-4000-8000-000000000002\r\nTimestamp: 2025-01-01 00:00:00Z")
    return _json(status, {"error": error, "error_description": description, "error_codes": [code],
                          "timestamp": "2025-01-01 00:00:00Z", "trace_id": "0f1e2d3c-0000-4000-8000-000000000001",
                          "correlation_id": "0f1e2d3c-0000-4000-8000-000000000002",
                          "error_uri": f"https://login.microsoftonline.com/error?code={code}"})


class FakeEntra(RecordingServer):
    """`with FakeEntra() as fake:`; the gateway's `AZURE_AUTHORITY_HOST` is `fake.origin`, its
    `AZURE_IDENTITY_ENDPOINT` `fake.imds_url`."""

    label = "Entra"

    def __init__(self, *, record: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        app = Starlette(routes=[
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery, methods=["GET"]),
            Route("/common/discovery/instance", self._instances, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route(IMDS_PATH, self._imds, methods=["GET"]),
            Route("/{path:path}", self._not_found, methods=ALL_METHODS),
        ])
        super().__init__(app, strict=False, record=record, host=host, port=port)
        self.authority = ""
        self.token_lifetime = 3599
        self.exchanges = 0
        self.issued: list[str] = []
        self.grants: list[tuple[str, str, str]] = []
        self.token_failures: list[int] = []

    @property
    def imds_url(self) -> str:
        return f"{self.origin}{IMDS_PATH}"

    def clear(self) -> None:
        super().clear()
        self.exchanges = 0
        self.issued.clear()
        self.grants.clear()
        self.token_failures.clear()

    def _issue(self, mode: str, client_id: str, scope: str) -> str:
        self.exchanges += 1
        token = f"eyJ0eXAiOiJKV1QifQ.fake-{mode}-{next(self._ids)}.sig"
        self.issued.append(token)
        self.grants.append((mode, client_id, scope))
        return token

    # --- Entra ------------------------------------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        await self._log(request)
        tenant = request.path_params["tenant"]
        base = f"{self.authority or self.origin}/{tenant}"
        return _json(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                           "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                           "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
                           "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                                     "client_secret_basic"]})

    async def _instances(self, request: Request) -> Response:
        await self._log(request)
        host = "login.microsoftonline.com"
        return _json(200, {"tenant_discovery_endpoint": f"https://{host}/{TENANT}/v2.0/.well-known/openid-configuration",
                           "api-version": "1.1",
                           "metadata": [{"preferred_network": host, "preferred_cache": "login.windows.net",
                                         "aliases": [host, "login.windows.net", "login.microsoft.com"]}]})

    async def _token(self, request: Request) -> Response:
        record = await self._log(request)
        form = {k: v[0] for k, v in parse_qs(record.body.decode()).items()}
        if self.token_failures:
            status = self.token_failures.pop(0)
            if status >= 500:
                return entra_error(status, "temporarily_unavailable", 90033, "A transient error has occurred.")
            return entra_error(status, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                                                  "secret being sent in the request is the client "
                                                                  "secret value, not the client secret ID.")
        refusal = self._grant_refusal(request.path_params["tenant"], form)
        if refusal is not None:
            return refusal
        mode = "entra" if "client_secret" in form else "workload"
        token = self._issue(mode, form["client_id"], form["scope"])
        return _json(200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                           "ext_expires_in": self.token_lifetime, "access_token": token})

    def _grant_refusal(self, tenant: str, form: dict[str, str]) -> Response | None:
        """Entra's answer to a grant it refuses, else None; checked in Entra's order."""
        client_id, scope = form.get("client_id", ""), form.get("scope", "")
        if tenant not in _TENANTS:
            return entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if client_id not in (CLIENT_ID, WORKLOAD_CLIENT_ID):
            return entra_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                                                                   f"not found in the directory '{tenant}'.")
        if "client_secret" in form:
            if client_id != CLIENT_ID or form["client_secret"] != CLIENT_SECRET:
                return entra_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        elif "client_assertion" in form:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return entra_error(400, "invalid_request", 90014, "The required field 'client_assertion_type' is "
                                                                  "missing from the credential.")
            if client_id != WORKLOAD_CLIENT_ID or form["client_assertion"] != FEDERATED_TOKEN:
                return entra_error(401, "invalid_client", 70021, "No matching federated identity record found for "
                                                                 "presented assertion.")
        else:
            return entra_error(401, "invalid_client", 7000218, "The request body must contain the following "
                                                               "parameter: 'client_assertion' or 'client_secret'.")
        if not scope.endswith("/.default"):
            return entra_error(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                                                              "Client credential flows must have a scope value with "
                                                              "/.default suffixed to the resource identifier.")
        return None

    # --- the Instance Metadata Service ------------------------------------------------------------------------------

    async def _imds(self, request: Request) -> Response:
        await self._log(request)
        query = request.query_params
        headers = request.headers
        if headers.get("metadata", "").lower() != "true" and headers.get("x-identity-header") != IDENTITY_HEADER:
            return _json(400, {"error": "invalid_request", "error_description": "Required metadata header not "
                                                                               "specified"})
        for name in ("api-version", "resource"):
            if not query.get(name):
                return _json(400, {"error": "invalid_request",
                                   "error_description": f"Required query variable '{name}' is missing"})
        client_id = query.get("client_id", "")
        if client_id not in ("", MANAGED_CLIENT_ID):
            return _json(400, {"error": "invalid_request", "error_description": "Identity not found"})
        if self.token_failures:
            status = self.token_failures.pop(0)
            return _json(status, {"error": "unknown_error", "error_description": f"The fake was told to fail "
                                                                                 f"with {status}."})
        token = self._issue("managed", client_id, query["resource"])
        now = int(time.time())
        lifetime = str(self.token_lifetime)
        return _json(200, {"access_token": token, "client_id": client_id or "system-assigned",
                           "expires_in": lifetime, "expires_on": str(now + self.token_lifetime),
                           "ext_expires_in": lifetime, "not_before": str(now), "resource": query["resource"],
                           "token_type": "Bearer"})

    async def _not_found(self, request: Request) -> Response:
        await self._log(request)
        return _json(404, {"error": "not_found", "error_description": f"No route {request.url.path}"})
