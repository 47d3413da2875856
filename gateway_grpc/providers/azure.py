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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from gateway_grpc.errors import InvalidRequest, NotImplementedYet
from gateway_grpc.providers.base import HttpCall
from gateway_grpc.providers.openai import OpenAI
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
# Portkey's token-fetching modes (client secret, managed identity, workload identity): they need I/O to Entra.
_FETCHED_TOKEN_MODES = frozenset({"entra", "managed", "workload"})


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


@dataclass(frozen=True, slots=True)
class AzureOpenAI(OpenAI):
    """Azure OpenAI (`azure-openai`): OpenAI's translation with Azure's URLs and auth."""

    name: str = "azure-openai"
    base_url: str = ""  # per resource: built from the target's options

    def _headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": _JSON, "accept": _JSON}
        options = target.provider_options
        mode = options.get("azure_auth_mode", "").lower()
        if options.get("azure_ad_token"):  # Microsoft Entra ID token, sent as a bearer token
            headers["authorization"] = f"Bearer {_bearer_token(options['azure_ad_token'])}"
        elif mode in _FETCHED_TOKEN_MODES:
            raise NotImplementedYet(f"azure-openai: azure_auth_mode {mode!r} needs a token fetched from Microsoft "
                                    "Entra, which the gateway does not do yet; send x-portkey-azure-ad-token")
        elif mode not in _API_KEY_MODES:
            raise InvalidRequest.field("x-portkey-azure-auth-mode", f"unknown azure_auth_mode {mode[:40]!r}")
        elif target.api_key:
            headers["api-key"] = target.api_key
        headers.update(target.forward_headers)
        return headers

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
