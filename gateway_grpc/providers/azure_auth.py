"""Microsoft Entra ID access tokens for Azure OpenAI (`azure_auth_mode` entra, managed, workload), as Portkey fetches
them: each mode's token request, the answer and the errors. Pure: builds the request, never sends it (providers/call.py
does, and caches the token: providers/tokens.py); the provider hands in its environment and its file reader.

- entra (client secret): `POST {authority}/{tenant}/oauth2/v2.0/token`, form `grant_type=client_credentials`,
  `client_id`, `client_secret`, `scope` (`azure_entra_scope`, default https://cognitiveservices.azure.com/.default).
- managed (the machine's managed identity): the Instance Metadata Service, `GET http://169.254.169.254/metadata/
  identity/oauth2/token?api-version=2018-02-01&resource=https://cognitiveservices.azure.com/[&client_id=]` with
  `Metadata: true`; like Portkey, `AZURE_IDENTITY_ENDPOINT`, `AZURE_MANAGED_VERSION` and
  `AZURE_MANAGED_IDENTITY_HEADER` (sent as `X-IDENTITY-HEADER`, App Service's scheme) replace those defaults.
- workload (AKS workload identity): the entra endpoint with `client_assertion_type=urn:ietf:params:oauth:client-
  assertion-type:jwt-bearer` and `client_assertion=` the projected token in the file `AZURE_FEDERATED_TOKEN_FILE`
  names; client id `azure_workload_client_id`, else `AZURE_CLIENT_ID`; tenant `azure_entra_tenant_id`, else
  `AZURE_TENANT_ID`.

Endpoints are the gateway's, never the caller's: the authority is `AZURE_AUTHORITY_HOST` (else
login.microsoftonline.com), so a caller cannot send a secret elsewhere. managed and workload tokens are the gateway's
own identity: their scope is fixed and they go only to Azure's AI service hosts or loopback, never to an arbitrary
custom host (Portkey sends them wherever the custom host points).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from gateway_grpc.errors import (
    GatewayError,
    InvalidRequest,
    ProviderError,
)
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.tokens import oauth_error_body, oauth_error_kind, read_oauth_token
from gateway_grpc.providers.wire import retry_after_seconds

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
MANAGED_RESOURCE = "https://cognitiveservices.azure.com/"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
IMDS_TOKEN_URL = "http://169.254.169.254/metadata/identity/oauth2/token"
IMDS_API_VERSION = "2018-02-01"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MODES = frozenset({"entra", "managed", "workload"})
GATEWAY_IDENTITY_MODES = frozenset({"managed", "workload"})
# Hosts of Microsoft-run Azure AI services (public and sovereign clouds): the only non-loopback hosts a token of the
# gateway's own identity is sent to. Not *.azure-api.net: an API Management instance runs its owner's policies.
AZURE_AI_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com",
                     ".openai.azure.us", ".cognitiveservices.azure.us", ".openai.azure.cn",
                     ".cognitiveservices.azure.cn")
# Environment variables (the gateway's, never a request's): Portkey's and azure-identity's names.
AUTHORITY_ENV = "AZURE_AUTHORITY_HOST"
TENANT_ENV = "AZURE_TENANT_ID"
CLIENT_ID_ENV = "AZURE_CLIENT_ID"
TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE"
IDENTITY_ENDPOINT_ENV = "AZURE_IDENTITY_ENDPOINT"
IDENTITY_HEADER_ENV = "AZURE_MANAGED_IDENTITY_HEADER"
MANAGED_VERSION_ENV = "AZURE_MANAGED_VERSION"
# provider option -> the Portkey header that sets it
HEADERS = {
    "azure_entra_client_id": "x-portkey-azure-entra-client-id",
    "azure_entra_client_secret": "x-portkey-azure-entra-client-secret",
    "azure_entra_tenant_id": "x-portkey-azure-entra-tenant-id",
    "azure_entra_scope": "x-portkey-azure-entra-scope",
    "azure_managed_client_id": "x-portkey-azure-managed-client-id",
    "azure_workload_client_id": "x-portkey-azure-workload-client-id",
}
# Tenants are GUIDs or domain names; client ids GUIDs (or the like): nothing that could leave a URL path segment.
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]|\.(?!\.)){0,252}[A-Za-z0-9]")
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_CHARSETS = {"azure_entra_tenant_id": (_TENANT, "tenant id"),
             **{o: (_CLIENT_ID, "client id") for o in ("azure_entra_client_id", "azure_managed_client_id",
                                                        "azure_workload_client_id")}}
_FORM = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token request needs. `scope` is the managed mode's resource; secrets never show in a repr."""

    mode: str
    url: str
    client_id: str = ""
    scope: str = ""
    secret: str = field(default="", repr=False)
    token_file: str = ""
    identity_header: str = field(default="", repr=False)

    def key(self) -> str:
        """Names the token: mode, endpoint (the tenant is in it), client, scope and a digest of the secret. The
        workload token file is named, not read: its content rotates, the identity it proves does not."""
        secret = hashlib.sha256(self.secret.encode()).hexdigest() if self.secret else ""
        parts = (self.mode, self.url, self.client_id, self.scope, secret, self.token_file)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


# ---- which grant ----


def _invalid(option: str, description: str) -> InvalidRequest:
    header = HEADERS[option]
    return InvalidRequest.field(header, f"{description} (the {header} header or the config's `{option}`)")


def _checked(option: str, value: str) -> str:
    charset, noun = _CHARSETS[option]
    if not charset.fullmatch(value):
        raise _invalid(option, f"{value[:80]!r} is not a Microsoft Entra {noun}")
    return value


def _required(options: Mapping[str, str], option: str, mode: str) -> str:
    value = options.get(option, "")
    if not value:
        raise _invalid(option, f"azure_auth_mode {mode} needs {option}")
    return value


def _authority(environ: Mapping[str, str]) -> str:
    """`AZURE_AUTHORITY_HOST` (a bare host means https, as in azure-identity), else Microsoft's public cloud. The
    secret never travels in clear text over a network: plain http only to loopback."""
    value = environ.get(AUTHORITY_ENV, "").strip() or DEFAULT_AUTHORITY
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))):
        raise GatewayError(f"azure-openai: {AUTHORITY_ENV} {value[:100]!r} must be an https URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _token_url(environ: Mapping[str, str], tenant: str) -> str:
    return f"{_authority(environ)}/{quote(tenant, safe='')}/oauth2/v2.0/token"


def _entra(options: Mapping[str, str], environ: Mapping[str, str]) -> Grant:
    tenant = _checked("azure_entra_tenant_id", _required(options, "azure_entra_tenant_id", "entra"))
    client_id = _checked("azure_entra_client_id", _required(options, "azure_entra_client_id", "entra"))
    secret = _required(options, "azure_entra_client_secret", "entra")
    scope = options.get("azure_entra_scope") or ENTRA_SCOPE
    return Grant("entra", _token_url(environ, tenant), client_id, scope, secret=secret)


def _managed(options: Mapping[str, str], environ: Mapping[str, str]) -> Grant:
    client_id = options.get("azure_managed_client_id", "")
    if client_id:
        _checked("azure_managed_client_id", client_id)
    query = {"api-version": environ.get(MANAGED_VERSION_ENV) or IMDS_API_VERSION, "resource": MANAGED_RESOURCE}
    if client_id:
        query["client_id"] = client_id
    endpoint = managed_endpoint(environ)
    url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
    return Grant("managed", url, client_id, MANAGED_RESOURCE, identity_header=environ.get(IDENTITY_HEADER_ENV, ""))


def _workload(options: Mapping[str, str], environ: Mapping[str, str]) -> Grant:
    token_file = environ.get(TOKEN_FILE_ENV, "")
    if not token_file:
        raise InvalidRequest.field("x-portkey-azure-auth-mode", f"azure_auth_mode workload is not set up on this "
                                                                f"gateway ({TOKEN_FILE_ENV} is not set)")
    client_id = options.get("azure_workload_client_id") or environ.get(CLIENT_ID_ENV, "")
    if not client_id:
        raise _invalid("azure_workload_client_id", f"azure_auth_mode workload needs a client id ({CLIENT_ID_ENV} on "
                                                   "the gateway or azure_workload_client_id)")
    tenant = options.get("azure_entra_tenant_id") or environ.get(TENANT_ENV, "")
    if not tenant:
        raise _invalid("azure_entra_tenant_id", f"azure_auth_mode workload needs a tenant ({TENANT_ENV} on the "
                                                "gateway or azure_entra_tenant_id)")
    url = _token_url(environ, _checked("azure_entra_tenant_id", tenant))
    return Grant("workload", url, _checked("azure_workload_client_id", client_id), ENTRA_SCOPE, token_file=token_file)


_GRANTS: dict[str, Callable[[Mapping[str, str], Mapping[str, str]], Grant]] = {
    "entra": _entra, "managed": _managed, "workload": _workload}


def grant(mode: str, options: Mapping[str, str], environ: Mapping[str, str], upstream_host: str) -> Grant:
    """The grant for `mode` (one of MODES); a 400 naming Portkey's header when an option is missing or malformed, or
    when a token of the gateway's own identity would go to `upstream_host`, which is not an Azure AI host."""
    if mode in GATEWAY_IDENTITY_MODES and not gateway_identity_may_reach(upstream_host):
        hosts = ", ".join(f"*{suffix}" for suffix in AZURE_AI_SUFFIXES[:3])
        raise InvalidRequest.field("x-portkey-custom-host", f"azure_auth_mode {mode} sends the gateway's own Azure "
                                                            f"identity, so only to Azure AI hosts ({hosts}, ...) or "
                                                            f"loopback, not to {upstream_host[:100]!r}")
    return _GRANTS[mode](options, environ)


def managed_endpoint(environ: Mapping[str, str]) -> str:
    """The managed identity endpoint: the gateway's `AZURE_IDENTITY_ENDPOINT`, else the Instance Metadata Service."""
    return environ.get(IDENTITY_ENDPOINT_ENV, "").strip() or IMDS_TOKEN_URL


def gateway_identity_may_reach(host: str) -> bool:
    host = host.lower().strip("[]")
    return host.endswith(AZURE_AI_SUFFIXES) or _loopback(host)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ---- the request ----


def token_request(grant: Grant, read_file: Callable[[str], str]) -> HttpCall:
    """The token request; `read_file` reads the workload mode's federated token (called only here, on a cache miss)."""
    if grant.mode == "managed":
        header = ("x-identity-header", grant.identity_header) if grant.identity_header else ("metadata", "true")
        return HttpCall("GET", grant.url, {"accept": "application/json", header[0]: header[1]})
    form = {"grant_type": "client_credentials", "client_id": grant.client_id, "scope": grant.scope}
    if grant.mode == "entra":
        form["client_secret"] = grant.secret
    else:
        form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
        form["client_assertion"] = _federated_token(grant.token_file, read_file)
    return HttpCall("POST", grant.url, dict(_FORM), urlencode(form).encode())


def _federated_token(path: str, read_file: Callable[[str], str]) -> str:
    try:
        token = read_file(path).strip()
    except OSError as exc:
        raise GatewayError(f"azure-openai: cannot read the workload identity token ({TOKEN_FILE_ENV}: "
                           f"{exc.strerror or type(exc).__name__})") from None
    if not token:
        raise GatewayError(f"azure-openai: the workload identity token file ({TOKEN_FILE_ENV}) is empty")
    return token


# ---- the answer ----


def _seconds(value: object) -> float | None:
    """A number of seconds, sent as a JSON number (Entra) or a numeric string (the metadata service)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def decode_token(provider: str, body: bytes, now: float) -> tuple[str, float]:
    """(access_token, seconds it stays valid): `expires_in`, else `expires_on` (epoch seconds) minus `now` (wall
    clock); 0, used once and not cached, when neither is readable. A bad answer is never quoted: it may hold a token."""
    token, raw = read_oauth_token(provider, body)
    expires_in = _seconds(raw.get("expires_in"))
    if expires_in is None:
        expires_on = _seconds(raw.get("expires_on"))
        expires_in = expires_on - now if expires_on is not None else 0.0
    return token, max(0.0, expires_in)


def decode_token_error(provider: str, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    """The token endpoint's status kept: 429 rate limited, 5xx unavailable (retryable), others (400 invalid_request,
    401 invalid_client, ...) rejected. Quotes only the OAuth `error` and the first line of `error_description` (its
    AADSTS code and sentence; Entra never echoes a secret); keeps `error_codes`, `trace_id`, `correlation_id`."""
    raw = oauth_error_body(body)
    code = raw.get("error") if isinstance(raw.get("error"), str) else ""
    description = raw.get("error_description")
    lines = description.strip().splitlines() if isinstance(description, str) else []
    first_line = lines[0][:300] if lines else ""
    reason = ": ".join(part for part in (code[:100], first_line) if part)
    message = f"{provider} error: no Microsoft Entra ID token; the identity endpoint answered {status}"
    message += f": {reason}" if reason else ""
    details = {k: raw[k] for k in ("error_codes", "trace_id", "correlation_id") if k in raw}
    kind = oauth_error_kind(status)
    return kind(message, provider=provider, status=status, code=code[:100], retry_after=retry_after_seconds(headers),
                details=details)
