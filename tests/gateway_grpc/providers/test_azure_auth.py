"""Azure OpenAI's Microsoft Entra token modes (providers/azure_auth.py through AzureOpenAI's token seam), pure: the
request each mode builds, which endpoint it may reach, the token key, the answers and errors decoded, and secrets
kept out of every repr and message. The same modes over real HTTP: test_azure_tokens.py."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.azure import AzureOpenAI
from gateway_grpc.providers.azure_auth import (
    CLIENT_ASSERTION_TYPE,
    ENTRA_SCOPE,
    IMDS_TOKEN_URL,
    MANAGED_RESOURCE,
)
from tests.gateway_grpc.providers.test_openai import REQUESTS

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "5a3b2c1d-0000-4000-8000-00000000c11e"
SECRET = "Fk8Q~pure.test-secret_0123456789"
FEDERATED = "eyJhbGciOiJSUzI1NiJ9.federated.sig"
ENTRA = {"azure_auth_mode": "entra", "azure_entra_tenant_id": TENANT, "azure_entra_client_id": CLIENT,
         "azure_entra_client_secret": SECRET}
WORKLOAD_ENV = {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
                "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": "5a3b2c1d-0000-4000-8000-0000000000a1",
                "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}  # as AKS's webhook injects it
TOKEN_URL = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


class Reader:
    """The workload mode's file reader: hands out a token and counts reads."""

    def __init__(self, text: str = FEDERATED, error: OSError | None = None) -> None:
        self.text, self.error, self.paths = text, error, []

    def __call__(self, path: str) -> str:
        self.paths.append(path)
        if self.error is not None:
            raise self.error
        return self.text


def _azure(environ: dict | None = None, reader: Reader | None = None, now: float = 1_700_000_000.0) -> AzureOpenAI:
    return AzureOpenAI(environ=environ or {}, read_file=reader or Reader(), clock=lambda: now)


def _target(options: dict, base_url: str = "", key: str = "") -> t.Target:
    return t.Target("azure-openai", key, base_url=base_url,
                    provider_options={"resource_name": "my-res", "deployment_id": "gpt4o", **options})


def _form(body: bytes | None) -> dict[str, str]:
    return dict(parse_qsl((body or b"").decode(), strict_parsing=True))


# ---- the request each mode sends -------------------------------------------------------------------------------


def test_azure_entra_is_a_client_credentials_grant_with_the_secret():
    call = _azure().token_request(_target(ENTRA))
    assert (call.method, call.url) == ("POST", TOKEN_URL)
    assert call.headers == {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    assert _form(call.body) == {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
                                "scope": ENTRA_SCOPE}


def test_azure_entra_scope_and_the_gateways_authority_host():
    scoped = _azure().token_request(_target({**ENTRA, "azure_entra_scope": "https://storage.azure.com/.default"}))
    assert _form(scoped.body)["scope"] == "https://storage.azure.com/.default"
    for authority, url in [("login.microsoftonline.us", "https://login.microsoftonline.us"),
                           ("https://login.chinacloudapi.cn/", "https://login.chinacloudapi.cn"),
                           ("http://127.0.0.1:8400", "http://127.0.0.1:8400")]:
        call = _azure({"AZURE_AUTHORITY_HOST": authority}).token_request(_target(ENTRA))
        assert call.url == f"{url}/{TENANT}/oauth2/v2.0/token"
    with pytest.raises(e.GatewayError, match="AZURE_AUTHORITY_HOST") as caught:  # a secret never goes in clear text
        _azure({"AZURE_AUTHORITY_HOST": "http://login.example.com"}).token_request(_target(ENTRA))
    assert not isinstance(caught.value, e.InvalidRequest)  # the operator's setting, not the caller's fault


def test_azure_managed_identity_asks_the_instance_metadata_service():
    call = _azure().token_request(_target({"azure_auth_mode": "managed"}))
    parts = urlsplit(call.url)
    assert (call.method, f"{parts.scheme}://{parts.netloc}{parts.path}", call.body) == ("GET", IMDS_TOKEN_URL, None)
    assert dict(parse_qsl(parts.query)) == {"api-version": "2018-02-01", "resource": MANAGED_RESOURCE}
    assert call.headers == {"accept": "application/json", "metadata": "true"}
    user_assigned = _azure().token_request(_target({"azure_auth_mode": "managed", "azure_managed_client_id": CLIENT}))
    assert dict(parse_qsl(urlsplit(user_assigned.url).query))["client_id"] == CLIENT


def test_azure_managed_identity_endpoint_version_and_header_from_the_gateways_environment():
    environ = {"AZURE_IDENTITY_ENDPOINT": "http://localhost:8081/msi/token", "AZURE_MANAGED_VERSION": "2019-08-01",
               "AZURE_MANAGED_IDENTITY_HEADER": "app-service-header"}
    call = _azure(environ).token_request(_target({"azure_auth_mode": "managed"}))
    assert call.url == ("http://localhost:8081/msi/token?api-version=2019-08-01&"
                        "resource=https%3A%2F%2Fcognitiveservices.azure.com%2F")
    assert call.headers == {"accept": "application/json", "x-identity-header": "app-service-header"}
    assert _azure(environ).gateway_token_endpoints() == frozenset({"http://localhost:8081/msi/token"})
    assert _azure().gateway_token_endpoints() == frozenset({IMDS_TOKEN_URL})


def test_azure_workload_identity_sends_the_federated_token_as_a_client_assertion():
    reader = Reader(FEDERATED + "\n")
    call = _azure(WORKLOAD_ENV, reader).token_request(_target({"azure_auth_mode": "workload"}))
    assert (call.method, call.url) == ("POST", TOKEN_URL)  # the webhook's trailing slash is not doubled
    assert _form(call.body) == {"grant_type": "client_credentials", "client_id": WORKLOAD_ENV["AZURE_CLIENT_ID"],
                                "scope": ENTRA_SCOPE, "client_assertion_type": CLIENT_ASSERTION_TYPE,
                                "client_assertion": FEDERATED}
    assert reader.paths == [WORKLOAD_ENV["AZURE_FEDERATED_TOKEN_FILE"]]
    chosen = _azure(WORKLOAD_ENV).token_request(_target({"azure_auth_mode": "workload",
                                                         "azure_workload_client_id": CLIENT,
                                                         "azure_entra_tenant_id": "contoso.onmicrosoft.com"}))
    assert _form(chosen.body)["client_id"] == CLIENT  # Portkey: the option wins over AZURE_CLIENT_ID
    assert chosen.url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"


def test_azure_workload_token_file_is_read_only_when_a_token_is_minted():
    reader = Reader()
    azure, target = _azure(WORKLOAD_ENV, reader), _target({"azure_auth_mode": "workload"})
    azure.token_key(target)
    azure.encode_chat(REQUESTS["text"], _with_token(target), stream=False)
    assert reader.paths == []
    with pytest.raises(e.GatewayError, match="cannot read the workload identity token"):
        _azure(WORKLOAD_ENV, Reader(error=FileNotFoundError(2, "No such file or directory"))).token_request(target)
    with pytest.raises(e.GatewayError, match="is empty"):
        _azure(WORKLOAD_ENV, Reader(" \n")).token_request(target)


MISSING = [
    ({**ENTRA, "azure_entra_tenant_id": ""}, {}, "x-portkey-azure-entra-tenant-id"),
    ({k: v for k, v in ENTRA.items() if k != "azure_entra_client_id"}, {}, "x-portkey-azure-entra-client-id"),
    ({k: v for k, v in ENTRA.items() if k != "azure_entra_client_secret"}, {}, "x-portkey-azure-entra-client-secret"),
    ({"azure_auth_mode": "workload"}, {k: v for k, v in WORKLOAD_ENV.items() if k != "AZURE_FEDERATED_TOKEN_FILE"},
     "x-portkey-azure-auth-mode"),
    ({"azure_auth_mode": "workload"}, {k: v for k, v in WORKLOAD_ENV.items() if k != "AZURE_CLIENT_ID"},
     "x-portkey-azure-workload-client-id"),
    ({"azure_auth_mode": "workload"}, {k: v for k, v in WORKLOAD_ENV.items() if k != "AZURE_TENANT_ID"},
     "x-portkey-azure-entra-tenant-id"),
]


@pytest.mark.parametrize(("options", "environ", "header"), MISSING)
def test_azure_token_mode_without_what_it_needs_is_a_400_naming_portkeys_header(options, environ, header):
    with pytest.raises(e.InvalidRequest) as caught:
        _azure(environ).token_key(_target(options))
    assert caught.value.violations[0].field == header


@pytest.mark.parametrize("tenant", ["../common", "t/x", "t?x=1", "t#f", "a..b", "a b", "-t", "t%2F", "t@evil.com",
                                    "x" * 300])
def test_azure_tenant_outside_entras_charset_is_refused(tenant):
    with pytest.raises(e.InvalidRequest) as caught:
        _azure().token_request(_target({**ENTRA, "azure_entra_tenant_id": tenant}))
    assert caught.value.violations[0].field == "x-portkey-azure-entra-tenant-id"
    assert SECRET not in caught.value.message


@pytest.mark.parametrize(("option", "value"), [("azure_entra_client_id", "id&client_secret=x"),
                                               ("azure_managed_client_id", "id/../x")])
def test_azure_client_ids_outside_their_charset_are_refused(option, value):
    mode = "managed" if option.startswith("azure_managed") else "entra"
    with pytest.raises(e.InvalidRequest) as caught:
        _azure().token_key(_target({**ENTRA, "azure_auth_mode": mode, option: value}))
    assert caught.value.violations[0].field == option.replace("_", "-").replace("azure-", "x-portkey-azure-", 1)


# ---- where the gateway's own identity may go -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["managed", "workload"])
@pytest.mark.parametrize(("base_url", "allowed"), [
    ("", True), ("https://my-res.openai.azure.com", True), ("https://my-res.cognitiveservices.azure.com", True),
    ("https://proj.services.ai.azure.com/", True), ("https://gov.openai.azure.us", True),
    ("http://127.0.0.1:8080", True), ("http://localhost:9", True), ("http://[::1]:9", True),
    ("https://evil.example.com", False), ("https://my-res.openai.azure.com.evil.io", False),
    ("https://gw.azure-api.net", False), ("https://openai.azure.com", False),
])
def test_azure_gateway_identity_tokens_go_only_to_azure_ai_hosts_or_loopback(mode, base_url, allowed):
    azure, target = _azure(WORKLOAD_ENV), _target({"azure_auth_mode": mode}, base_url)
    if allowed:
        assert azure.token_key(target) is not None
        return
    with pytest.raises(e.InvalidRequest) as caught:
        azure.token_key(target)
    assert caught.value.violations[0].field == "x-portkey-custom-host"
    with pytest.raises(e.InvalidRequest):  # nor with a token minted elsewhere
        azure.encode_chat(REQUESTS["text"], _with_token(target), stream=False)


def test_azure_entra_tokens_follow_the_callers_custom_host():
    """The caller's own secret, the caller's own token: sent wherever the caller's (SSRF-checked) custom host says."""
    assert _azure().token_key(_target(ENTRA, "https://evil.example.com")) is not None


# ---- the token key -----------------------------------------------------------------------------------------------


def test_azure_token_key_is_stable_and_names_identity_scope_and_endpoint():
    azure = _azure()
    key = azure.token_key(_target(ENTRA))
    assert key == azure.token_key(_target(ENTRA, "http://127.0.0.1:1")) == _azure().token_key(_target(ENTRA))
    assert key == azure.token_key(_target({**ENTRA, "deployment_id": "other", "api_version": "2025-01-01"}))
    variants = [
        azure.token_key(_target({**ENTRA, "azure_entra_tenant_id": "contoso.onmicrosoft.com"})),
        azure.token_key(_target({**ENTRA, "azure_entra_client_id": "5a3b2c1d-0000-4000-8000-0000000000ff"})),
        azure.token_key(_target({**ENTRA, "azure_entra_client_secret": SECRET + "x"})),
        azure.token_key(_target({**ENTRA, "azure_entra_scope": "https://storage.azure.com/.default"})),
        _azure({"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us"}).token_key(_target(ENTRA)),
        azure.token_key(_target({"azure_auth_mode": "managed"})),
        azure.token_key(_target({"azure_auth_mode": "managed", "azure_managed_client_id": CLIENT})),
        _azure(WORKLOAD_ENV).token_key(_target({"azure_auth_mode": "workload"})),
        _azure(WORKLOAD_ENV).token_key(_target({"azure_auth_mode": "workload", "azure_workload_client_id": CLIENT})),
    ]
    assert len({key, *variants}) == len(variants) + 1
    assert SECRET not in key and len(key) == 64


@pytest.mark.parametrize("options", [{}, {"azure_auth_mode": "apiKey"}, {"azure_auth_mode": "api-key"},
                                     {**ENTRA, "azure_ad_token": "eyJcaller"},
                                     {"azure_auth_mode": "managed", "azure_ad_token": "Bearer eyJcaller"}])
def test_azure_token_key_is_none_for_api_keys_and_callers_tokens(options):
    azure, target = _azure(), _target(options, key="az-key")
    assert azure.token_key(target) is None and azure.token_request(target) is None


# ---- headers with the minted token -----------------------------------------------------------------------------


def _with_token(target: t.Target, token: str = "eyJminted") -> t.Target:
    return t.Target(target.provider, target.api_key, base_url=target.base_url,
                    provider_options={**target.provider_options, "access_token": token})


def test_azure_minted_token_is_the_bearer_and_no_api_key_is_sent():
    azure = _azure()
    headers = azure.encode_chat(REQUESTS["text"], _with_token(_target(ENTRA, key="az-key")), stream=False).headers
    assert headers["authorization"] == "Bearer eyJminted" and "api-key" not in headers
    models = azure.encode_list_models(_with_token(_target({"azure_auth_mode": "managed"})))
    assert models.headers["authorization"] == "Bearer eyJminted"
    with pytest.raises(e.GatewayError, match="not fetched"):  # encoded without ProviderCall's token seam
        azure.encode_chat(REQUESTS["text"], _target(ENTRA), stream=False)
    with pytest.raises(e.InvalidRequest) as caught:
        azure.token_key(_target({"azure_auth_mode": "kerberos"}))
    assert caught.value.violations[0].field == "x-portkey-azure-auth-mode"


def test_azure_registry_entry_reads_the_process_environment():
    import os

    assert PROVIDERS["azure-openai"].environ is os.environ  # read per request: no stale copy


# ---- the answers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "expires_in"), [
    ({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "eyJa"}, 3599.0),
    ({"token_type": "Bearer", "expires_in": "86399", "expires_on": "1700086399", "access_token": "eyJa"}, 86399.0),
    ({"token_type": "Bearer", "expires_on": "1700003600", "access_token": "eyJa"}, 3600.0),  # App Service's
    ({"token_type": "Bearer", "expires_on": 1700000600, "access_token": "eyJa"}, 600.0),
    ({"token_type": "Bearer", "access_token": "eyJa"}, 0.0),  # used once, not cached
    ({"token_type": "Bearer", "expires_in": "soon", "access_token": "eyJa"}, 0.0),
    ({"token_type": "Bearer", "expires_in": True, "access_token": "eyJa"}, 0.0),
    ({"token_type": "Bearer", "expires_on": "1699990000", "access_token": "eyJa"}, 0.0),  # already expired
])
def test_azure_decode_token_reads_expiry_as_number_or_string(answer, expires_in):
    assert _azure(now=1_700_000_000.0).decode_token(orjson.dumps(answer)) == ("eyJa", expires_in)


@pytest.mark.parametrize("body", [b'{"token_type": "Bearer", "expires_in": 3599}', b"<html>eyJsecret</html>",
                                  b'{"access_token": ""}', b'["eyJsecret"]'])
def test_azure_decode_token_without_a_token_is_a_bad_response_that_quotes_nothing(body):
    with pytest.raises(e.ProviderBadResponse) as caught:
        _azure().decode_token(body)
    assert "eyJsecret" not in caught.value.message and caught.value.provider == "azure-openai"


AADSTS_401 = {"error": "invalid_client",
              "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                                   "the request is the client secret value.\r\nTrace ID: 0f1e\r\nCorrelation ID: "
                                   "2d3c\r\nTimestamp: 2025-01-01 00:00:00Z",
              "error_codes": [7000215], "timestamp": "2025-01-01 00:00:00Z", "trace_id": "0f1e",
              "correlation_id": "2d3c", "error_uri": "https://login.microsoftonline.com/error?code=7000215"}


def test_azure_token_error_401_is_a_rejection_with_entras_code():
    error = _azure().decode_token_error(401, orjson.dumps(AADSTS_401), {})
    assert (type(error), error.status, error.code, error.http_status) == (e.ProviderRejected, 401, "invalid_client",
                                                                         401)
    assert error.message == ("azure-openai error: no Microsoft Entra ID token; the identity endpoint answered 401: "
                             "invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret "
                             "being sent in the request is the client secret value.")
    assert error.details == {"error_codes": [7000215], "trace_id": "0f1e", "correlation_id": "2d3c"}


@pytest.mark.parametrize(("status", "body", "headers", "kind", "retry_after"), [
    (400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant 'x' not found."}, {},
     e.ProviderRejected, None),
    (400, {"error": "invalid_request", "error_description": "Identity not found"}, {}, e.ProviderRejected, None),
    (429, {"error": "too_many_requests"}, {"retry-after": "7"}, e.RateLimited, 7.0),
    (503, {"error": "temporarily_unavailable"}, {}, e.ProviderUnavailable, None),
    (500, b"<html>upstream connect error</html>", {}, e.ProviderUnavailable, None),
])
def test_azure_token_errors_are_typed_by_status(status, body, headers, kind, retry_after):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    error = _azure().decode_token_error(status, raw, headers)
    assert (type(error), error.status, error.retry_after) == (kind, status, retry_after)
    assert "<html>" not in error.message


def test_azure_secrets_never_show_in_reprs_or_messages():
    azure, target = _azure(WORKLOAD_ENV), _target({**ENTRA, "access_token": "eyJminted"})
    call = azure.token_request(target)
    grant = azure._grant(target)
    for text in (repr(call), repr(grant), repr(target), repr(azure), repr(PROVIDERS["azure-openai"])):
        assert SECRET not in text and "eyJminted" not in text
    assert SECRET not in azure.token_key(target)
    managed = _azure({"AZURE_MANAGED_IDENTITY_HEADER": "app-service-header"})._grant(_target({"azure_auth_mode":
                                                                                               "managed"}))
    assert "app-service-header" not in repr(managed)
