"""Azure OpenAI: OpenAI's body and answers at per-deployment URLs with `api-key` (or Entra bearer) auth. Pure.

URL: `https://{resource_name}.openai.azure.com/openai/deployments/{deployment_id}/chat/completions?api-version=...`
(and `/embeddings`, and through OpenAIMedia `/images/generations`, `/audio/speech`, `/audio/transcriptions`,
`/audio/translations`: Azure's data-plane reference; its text-to-speech quickstart uses a preview api-version, so
speech deployments usually need `x-portkey-azure-api-version`); models: `/openai/models?api-version=...`. A custom
host replaces `https://{resource_name}.openai.azure.com` (what `AzureOpenAI(azure_endpoint=...)` takes). Every value
that becomes part of the URL is charset-checked and the URL is assembled by urllib's builders, never by pasting
unchecked text (Portkey contract §13 row 23: `azure-resource-name` injection, Portkey #1596).

Azure accepts and ignores `model` in the body, so the body is OpenAI's (`azure_model_name` is not needed: answers
name the model). Its error envelope is OpenAI's; its content filter results ride in the answers' extras
(`prompt_filter_results`, choices' `content_filter_results`); an error's `innererror` has no place in ProviderError yet.

Auth, in Portkey's order: `azure_ad_token` (a bearer the caller minted); else `azure_auth_mode` entra, managed or
workload, whose Microsoft Entra token ProviderCall fetches through the token seam (azure_auth.py builds the request;
providers/tokens.py caches the answer) and hands over as the `access_token` option; else the `api-key` header.
"""

from __future__ import annotations

import os
import pathlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from gateway_grpc.errors import GatewayError, InvalidRequest, ProviderError
from gateway_grpc.providers import azure_auth
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.openai import OpenAI
from gateway_grpc.providers.tokens import ACCESS_TOKEN_OPTION
from gateway_grpc.types import Target

# The latest GA data-plane inference version when this was written; callers pick another with
# `x-portkey-azure-api-version` / `api_version`.
DEFAULT_API_VERSION = "2024-10-21"
_JSON = "application/json"
# Azure's naming rules: resource 2-64 letters, digits and inner hyphens; deployment up to 64 letters, digits, `-_.`
_RESOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}[A-Za-z0-9]")
_DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_API_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,31}")
# provider option -> (the Portkey header that sets it, its charset)
_OPTIONS = {
    "resource_name": ("x-portkey-azure-resource-name", _RESOURCE),
    "deployment_id": ("x-portkey-azure-deployment-id", _DEPLOYMENT),
    "api_version": ("x-portkey-azure-api-version", _API_VERSION),
}
_API_KEY_MODES = frozenset({"", "apikey", "api_key", "api-key"})


def _option(target: Target, option: str, default: str = "") -> str:
    """The option's value, checked against its charset; a 400 naming Portkey's header when missing or malformed."""
    header, charset = _OPTIONS[option]
    value = target.provider_options.get(option, default)
    if not value:
        raise InvalidRequest.field(header, f"azure-openai needs {option} (the {header} header or the config's "
                                           f"`{option}`)")
    if not charset.fullmatch(value):
        raise InvalidRequest.field(header, f"{option} {value[:80]!r} has characters Azure does not allow")
    return value


def _root(target: Target) -> tuple[str, str, str]:
    """(scheme, host, path prefix) of the resource: the custom host (already SSRF-checked), else the resource's."""
    if target.base_url:
        parts = urlsplit(target.base_url)
        return parts.scheme, parts.netloc, parts.path.rstrip("/")
    return "https", f"{_option(target, 'resource_name')}.openai.azure.com", ""


def _bearer_token(token: str) -> str:
    return token[7:] if token[:7].lower() == "bearer " else token


def _read_file(path: str) -> str:
    """The default federated-token reader (workload mode): the one file read the provider does, through this seam."""
    return pathlib.Path(path).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class AzureOpenAI(OpenAI):
    """Azure OpenAI (`azure-openai`): OpenAI's translation with Azure's URLs and auth.

    Token minting stays pure by injection: `environ` is the gateway's environment (endpoint overrides and the
    workload identity's settings: read, never a request's), `read_file` reads the workload identity's federated
    token (called by `token_request`, so only on a token-cache miss; Kubernetes rotates the file, so it is read
    each time rather than once), `clock` (wall-clock seconds) turns an `expires_on` answer into seconds left."""

    name: str = "azure-openai"
    base_url: str = ""  # per resource: built from the target's options
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False, compare=False)
    read_file: Callable[[str], str] = field(default=_read_file, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def _headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": _JSON}
        options = target.provider_options
        if options.get("azure_ad_token"):  # Microsoft Entra ID token, sent as a bearer token
            headers["authorization"] = f"Bearer {_bearer_token(options['azure_ad_token'])}"
        elif self._grant(target) is not None:
            token = options.get(ACCESS_TOKEN_OPTION)
            if not token:  # encoded without ProviderCall's token seam
                raise GatewayError(f"{self.name}: the Microsoft Entra access token was not fetched")
            headers["authorization"] = f"Bearer {token}"
        elif target.api_key:
            headers["api-key"] = target.api_key
        headers.update(target.forward_headers)
        return headers

    # ---- the token seam (providers/tokens.py TokenSource) ----

    def _grant(self, target: Target) -> azure_auth.Grant | None:
        """The token grant the target's auth mode needs; None for an azure_ad_token or api-key auth."""
        options = target.provider_options
        if options.get("azure_ad_token"):
            return None
        mode = options.get("azure_auth_mode", "").lower()
        if mode in _API_KEY_MODES:
            return None
        if mode not in azure_auth.MODES:
            raise InvalidRequest.field("x-portkey-azure-auth-mode", f"unknown azure_auth_mode {mode[:40]!r}")
        scheme, netloc, _ = _root(target)
        return azure_auth.grant(mode, options, self.environ, urlsplit(f"{scheme}://{netloc}").hostname or "")

    def token_key(self, target: Target) -> str | None:
        grant = self._grant(target)
        return None if grant is None else grant.key()

    def token_request(self, target: Target) -> HttpCall | None:
        grant = self._grant(target)
        return None if grant is None else azure_auth.token_request(grant, self.read_file)

    def decode_token(self, body: bytes) -> tuple[str, float]:
        return azure_auth.decode_token(self.name, body, self.clock())

    def decode_token_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return azure_auth.decode_token_error(self.name, status, body, headers)

    def gateway_token_endpoints(self) -> frozenset[str]:
        """Token endpoints (scheme://host/path, no query) that the gateway's own environment defines, never a
        request: the managed identity endpoint (link-local 169.254.169.254, which the custom-host SSRF guard rightly
        refuses for caller-chosen URLs). ProviderCall exempts them from that guard."""
        parts = urlsplit(azure_auth.managed_endpoint(self.environ))
        return frozenset({urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))})

    def _url(self, target: Target, path: str) -> str:
        """`path` under the target's deployment (`/chat/completions`, `/embeddings`, ...), with its api-version."""
        scheme, host, prefix = _root(target)
        deployment = quote(_option(target, "deployment_id"), safe="")
        return urlunsplit((scheme, host, f"{prefix}/openai/deployments/{deployment}{path}", self._query(target), ""))

    def _query(self, target: Target) -> str:
        return urlencode({"api-version": _option(target, "api_version", DEFAULT_API_VERSION)})

    def encode_list_models(self, target: Target) -> HttpCall:
        """The models the resource can deploy (`GET /openai/models`): no deployment needed."""
        scheme, host, prefix = _root(target)
        headers = self._headers(target)
        del headers["content-type"]
        return HttpCall("GET", urlunsplit((scheme, host, f"{prefix}/openai/models", self._query(target), "")), headers)
