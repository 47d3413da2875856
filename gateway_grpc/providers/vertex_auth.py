"""Google service-account credentials for Vertex AI: the JSON key read and checked, the OAuth 2.0 JWT-bearer grant
(RFC 7523) signed with RS256, the token endpoint's answer and errors. Pure: builds the request, never sends it
(providers/call.py does, and caches the token: providers/tokens.py). Signing uses `cryptography` (PyCA).

The grant is what google-auth's service_account.Credentials sends: `POST {token_uri}` with
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`, the JWT's header `{alg: RS256, typ: JWT,
kid: private_key_id}` and claims `{iss: client_email, scope, aud, iat, exp: iat + 3600}`. `aud` is always
`https://oauth2.googleapis.com/token`, whatever the token_uri (Google's documented value; google-auth does the same).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gateway_grpc.errors import (
    InvalidRequest,
    ProviderError,
)
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.tokens import oauth_error_body, oauth_error_kind, read_oauth_token
from gateway_grpc.providers.wire import retry_after_seconds

SA_OPTION = "vertex_service_account_json"
SA_HEADER = "x-portkey-vertex-service-account-json"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
AUDIENCE = "https://oauth2.googleapis.com/token"  # the assertion's `aud`, even when token_uri is another URL
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600  # Google's maximum
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The fields of a service-account key that the grant needs; the key itself never shows in a repr."""

    client_email: str
    private_key: str = field(repr=False)
    private_key_id: str = ""
    token_uri: str = DEFAULT_TOKEN_URI
    project_id: str = ""

    def cache_key(self, scope: str = SCOPE) -> str:
        """Names the token this account gets. The private key is part of it: client_email and private_key_id are
        public (Google publishes key ids), so a key of those alone would hand one caller's cached token to anyone
        who sends the same two values with another key."""
        parts = (self.client_email, self.private_key_id, self.token_uri, scope, self.private_key)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _invalid(description: str) -> InvalidRequest:
    return InvalidRequest.field(SA_HEADER, f"{description} (the {SA_HEADER} header or the config's `{SA_OPTION}`)")


def read_service_account(text: str) -> ServiceAccount:
    """The account in a service-account JSON key; a 400 naming the option when it is not one."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _invalid("is not JSON") from None
    if not isinstance(raw, dict):
        raise _invalid("must be a JSON object")
    if raw.get("type", "service_account") != "service_account":
        raise _invalid(f"type {str(raw['type'])[:40]!r} is not supported; use a service_account key")
    values = {name: raw.get(name) for name in ("client_email", "private_key", "private_key_id", "token_uri",
                                                "project_id")}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise _invalid(f"{name} must be a string")
    if not values["client_email"] or not values["private_key"]:
        raise _invalid("needs client_email and private_key")
    token_uri = check_token_uri(values["token_uri"] or DEFAULT_TOKEN_URI)
    return ServiceAccount(values["client_email"], values["private_key"], values["private_key_id"] or "", token_uri,
                          values["project_id"] or "")


def check_token_uri(uri: str) -> str:
    """`uri` when it is https (or http to this machine): the assertion is a credential, never sent in clear text
    over a network. Which hosts it may reach is the SSRF guard's call (providers/call.py)."""
    parts = urlsplit(uri)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        host = ""
    if parts.scheme == "https" and host:
        return uri
    if parts.scheme == "http" and _is_loopback(host):
        return uri
    raise InvalidRequest.field(f"{SA_OPTION}.token_uri", f"{uri[:100]!r} must be an https URL (plain http is "
                                                         "allowed only to localhost)")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- the grant ----


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _private_key(account: ServiceAccount) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _invalid("private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _invalid("private_key is not an RSA key (RS256 needs one)")
    return key


def assertion(account: ServiceAccount, now: float, scope: str = SCOPE) -> str:
    """The RS256-signed JWT that the token endpoint trades for an access token; `now` is wall-clock seconds."""
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    iat = int(now)
    claims = {"iss": account.client_email, "scope": scope, "aud": AUDIENCE, "iat": iat,
              "exp": iat + ASSERTION_LIFETIME_S}
    signing_input = _b64url(orjson.dumps(header)) + b"." + _b64url(orjson.dumps(claims))
    signature = _private_key(account).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64url(signature)).decode()


def token_request(account: ServiceAccount, now: float, scope: str = SCOPE) -> HttpCall:
    body = urlencode({"grant_type": GRANT_TYPE, "assertion": assertion(account, now, scope)}).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    return HttpCall("POST", account.token_uri, headers, body)


# ---- the answer ----


def decode_token(provider: str, body: bytes) -> tuple[str, float]:
    """(access_token, expires_in); a token without expires_in is used once, not cached. A bad answer is never quoted:
    it may hold a token minted for the operator's account."""
    token, raw = read_oauth_token(provider, body)
    expires_in = raw.get("expires_in")
    return token, float(expires_in) if isinstance(expires_in, int | float) else 0.0


def decode_token_error(provider: str, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    """The token endpoint's status kept: 429 rate limited, 5xx unavailable (retryable), others (400 invalid_grant,
    401 invalid_client, 403) rejected. Only the OAuth `error` and `error_description` are quoted."""
    raw = oauth_error_body(body)
    reason = ": ".join(str(raw[k])[:300] for k in ("error", "error_description") if isinstance(raw.get(k), str))
    message = f"{provider} error: the token endpoint refused the service account ({status})"
    message += f": {reason}" if reason else ""
    kind = oauth_error_kind(status)
    code = raw.get("error") if isinstance(raw.get("error"), str) else ""
    return kind(message, provider=provider, status=status, code=code, retry_after=retry_after_seconds(headers))
