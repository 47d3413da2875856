"""Azure OpenAI's Microsoft Entra token modes over real HTTP: ProviderCall + ProviderTransport mint a token at the
loopback fake identity endpoints (tests/fakes/entra_token_upstream.py, proved with azure-identity), cache it, and
send it as the bearer to the fake's Azure routes; then through the gRPC server with Portkey's headers and config.
The gateway's environment (authority host, metadata endpoint, workload identity) is set per test, as an operator
would set it; the file the workload mode reads is a real file."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.tokens import TokenCache
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.v1 import chat_pb2, options_pb2
from tests.fakes.entra_token_upstream import (
    CLIENT_ID,
    CLIENT_SECRET,
    FEDERATED_TOKEN,
    MANAGED_CLIENT_ID,
    TENANT,
    WORKLOAD_CLIENT_ID,
    FakeEntra,
)

SCOPE = "https://cognitiveservices.azure.com/.default"
ENTRA = {"azure_auth_mode": "entra", "azure_entra_tenant_id": TENANT, "azure_entra_client_id": CLIENT_ID,
         "azure_entra_client_secret": CLIENT_SECRET}
TEXT = t.ChatRequest("gpt-4o", (t.Message("user", "hello"),))
CHAT_PATH = "/openai/deployments/dep1/chat/completions"


@pytest.fixture(scope="module")
def entra_server():
    with FakeEntra() as fake:
        yield fake


@pytest.fixture
def entra(entra_server, monkeypatch):
    """The fake identity endpoints, log cleared, named by the gateway's environment."""
    entra_server.clear()
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", entra_server.origin)
    monkeypatch.setenv("AZURE_IDENTITY_ENDPOINT", entra_server.imds_url)
    return entra_server


@pytest_asyncio.fixture
async def transport():
    transport = ProviderTransport()
    yield transport
    await transport.aclose()


def _ctx(upstream, options: dict, key: str = "") -> t.CallContext:
    target = t.Target("azure-openai", key, base_url=upstream.origin,
                      provider_options={"deployment_id": "dep1", **options})
    return t.CallContext("trace", target=target)


def _bearers(upstream) -> list[str]:
    return [r.headers.get("authorization", "") for r in upstream.requests]


async def test_azure_entra_token_is_minted_once_and_reaches_the_upstream(entra, upstream, transport):
    call = ProviderCall(transport)
    answer = await call.complete(TEXT, _ctx(upstream, ENTRA, key="sk-unused"))
    assert answer.choices[0].message.content == "Echo: hello"
    chunks = [c async for c in call.stream(TEXT, _ctx(upstream, ENTRA))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello"
    await call.embed(t.EmbeddingsRequest("text-embedding-3-small", ("x",)), _ctx(upstream, ENTRA))
    assert entra.exchanges == 1 and entra.grants == [("entra", CLIENT_ID, SCOPE)]
    assert _bearers(upstream) == [f"Bearer {entra.issued[0]}"] * 3
    assert all("api-key" not in r.headers and r.oracle_errors == [] for r in upstream.requests)
    (grant,) = entra.requests
    assert (grant.method, grant.path) == ("POST", f"/{TENANT}/oauth2/v2.0/token")
    assert dict(parse_qsl(grant.body.decode())) == {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                    "client_secret": CLIENT_SECRET, "scope": SCOPE}


async def test_azure_concurrent_calls_share_one_token_request(entra, upstream, transport):
    call = ProviderCall(transport)
    answers = await asyncio.gather(*(call.complete(TEXT, _ctx(upstream, ENTRA)) for _ in range(10)))
    assert {a.choices[0].message.content for a in answers} == {"Echo: hello"} and entra.exchanges == 1


async def test_azure_token_is_minted_again_when_it_nears_expiry(entra, upstream, transport):
    now = [0.0]
    call = ProviderCall(transport, tokens=TokenCache(clock=lambda: now[0]))
    await call.complete(TEXT, _ctx(upstream, ENTRA))
    now[0] = entra.token_lifetime - 60 - 0.001  # tokens are reused until 60 s before they expire
    await call.complete(TEXT, _ctx(upstream, ENTRA))
    assert entra.exchanges == 1
    now[0] += 0.001
    await call.complete(TEXT, _ctx(upstream, ENTRA))
    assert entra.exchanges == 2 and _bearers(upstream) == [f"Bearer {entra.issued[0]}"] * 2 + [
        f"Bearer {entra.issued[1]}"]


async def test_azure_a_refused_secret_is_a_401_that_is_neither_cached_nor_leaked(entra, upstream, transport):
    call = ProviderCall(transport)
    wrong = {**ENTRA, "azure_entra_client_secret": "Wr0ng~secret-value"}
    with pytest.raises(e.ProviderRejected) as caught:
        await call.complete(TEXT, _ctx(upstream, wrong))
    error = caught.value
    assert (error.status, error.code, error.http_status) == (401, "invalid_client", 401)
    assert "AADSTS7000215: Invalid client secret provided." in error.message
    assert "Wr0ng~secret-value" not in error.message and "Trace ID" not in error.message
    assert error.details["error_codes"] == [7000215] and upstream.requests == []
    entra.token_failures.append(503)
    with pytest.raises(e.ProviderUnavailable) as unavailable:
        await call.complete(TEXT, _ctx(upstream, ENTRA))
    assert unavailable.value.status == 503 and unavailable.value.code == "temporarily_unavailable"
    await call.complete(TEXT, _ctx(upstream, ENTRA))  # failures are not cached: the next call mints
    assert entra.exchanges == 1 and len(upstream.requests) == 1


async def test_azure_unknown_tenant_is_entras_400(entra, upstream, transport):
    with pytest.raises(e.ProviderRejected) as caught:
        await ProviderCall(transport).complete(TEXT, _ctx(upstream, {**ENTRA, "azure_entra_tenant_id": "fabrikam.com"}))
    assert caught.value.status == 400 and "AADSTS90002" in caught.value.message


async def test_azure_managed_identity_token_from_the_metadata_endpoint(entra, upstream, transport):
    call = ProviderCall(transport)
    for options in ({"azure_auth_mode": "managed"}, {"azure_auth_mode": "managed",
                                                     "azure_managed_client_id": MANAGED_CLIENT_ID}):
        await call.complete(TEXT, _ctx(upstream, options))
        await call.complete(TEXT, _ctx(upstream, options))  # cached: the metadata service's expires_in is a string
    assert entra.grants == [("managed", "", "https://cognitiveservices.azure.com/"),
                            ("managed", MANAGED_CLIENT_ID, "https://cognitiveservices.azure.com/")]
    assert _bearers(upstream) == [f"Bearer {entra.issued[0]}"] * 2 + [f"Bearer {entra.issued[1]}"] * 2
    assert {r.headers["metadata"] for r in entra.requests} == {"true"}


async def test_azure_managed_identity_endpoint_is_exempt_from_the_token_guard_but_entras_is_not(entra, upstream,
                                                                                               transport):
    """An operator's guard that refuses loopback (allowlist: nothing) still lets the gateway's own metadata endpoint
    through (it comes from the environment, never a request); the Entra authority it refuses as any other URL."""
    strict = ProviderCall(transport, token_guard=HostGuard(()))
    await strict.complete(TEXT, _ctx(upstream, {"azure_auth_mode": "managed"}))
    assert [grant[0] for grant in entra.grants] == ["managed"]
    with pytest.raises(e.CustomHostBlocked):
        await strict.complete(TEXT, _ctx(upstream, ENTRA))
    assert [grant[0] for grant in entra.grants] == ["managed"]


async def test_azure_managed_identity_never_goes_to_a_foreign_custom_host(entra, transport):
    target = t.Target("azure-openai", "", base_url="https://evil.example.com",
                      provider_options={"deployment_id": "dep1", "azure_auth_mode": "managed"})
    with pytest.raises(e.InvalidRequest) as caught:
        await ProviderCall(transport).complete(TEXT, t.CallContext("trace", target=target))
    assert caught.value.violations[0].field == "x-portkey-custom-host" and entra.requests == []


async def test_azure_workload_identity_exchanges_the_file_it_reads_at_mint_time(entra, upstream, transport,
                                                                               monkeypatch, tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(FEDERATED_TOKEN + "\n")
    for name, value in (("AZURE_FEDERATED_TOKEN_FILE", str(token_file)), ("AZURE_TENANT_ID", TENANT),
                        ("AZURE_CLIENT_ID", WORKLOAD_CLIENT_ID)):
        monkeypatch.setenv(name, value)
    now = [0.0]
    call = ProviderCall(transport, tokens=TokenCache(clock=lambda: now[0]))
    await call.complete(TEXT, _ctx(upstream, {"azure_auth_mode": "workload"}))
    token_file.write_text("eyJ.a-rotated-token-entra-does-not-trust.sig")
    await call.complete(TEXT, _ctx(upstream, {"azure_auth_mode": "workload"}))  # cached: the file is not read
    assert entra.grants == [("workload", WORKLOAD_CLIENT_ID, SCOPE)]
    assert dict(parse_qsl(entra.requests[0].body.decode()))["client_assertion"] == FEDERATED_TOKEN
    now[0] = entra.token_lifetime
    with pytest.raises(e.ProviderRejected, match="AADSTS70021"):  # expired: minted again from the file as it is now
        await call.complete(TEXT, _ctx(upstream, {"azure_auth_mode": "workload"}))
    assert _bearers(upstream) == [f"Bearer {entra.issued[0]}"] * 2


async def test_azure_entra_through_the_grpc_server_with_portkeys_headers_and_config(gateway, entra, upstream):
    request = chat_pb2.CreateChatCompletionRequest(
        model="gpt-4o", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi entra")],
        options=options_pb2.RequestOptions(provider="azure-openai", custom_host=upstream.origin))
    metadata = (("x-portkey-azure-deployment-id", "dep1"), ("x-portkey-azure-auth-mode", "entra"),
                ("x-portkey-azure-entra-tenant-id", TENANT), ("x-portkey-azure-entra-client-id", CLIENT_ID),
                ("x-portkey-azure-entra-client-secret", CLIENT_SECRET),
                ("x-portkey-azure-entra-scope", "https://cognitiveservices.azure.com/.default"))
    response = await gateway.CreateChatCompletion(request, metadata=metadata)
    assert response.choices[0].message.text == "Echo: hi entra" and response.provider == "azure-openai"
    config = {"provider": "azure-openai", "custom_host": upstream.origin, "deployment_id": "dep1",
              "azure_auth_mode": "entra", "azure_entra_tenant_id": TENANT, "azure_entra_client_id": CLIENT_ID,
              "azure_entra_client_secret": CLIENT_SECRET}
    plain = chat_pb2.CreateChatCompletionRequest(model="gpt-4o", messages=request.messages)
    response = await gateway.CreateChatCompletion(plain, metadata=(("x-portkey-config", json.dumps(config)),))
    assert response.choices[0].message.text == "Echo: hi entra"
    assert entra.exchanges == 1 and _bearers(upstream) == [f"Bearer {entra.issued[0]}"] * 2
    assert upstream.requests[-1].path == CHAT_PATH
