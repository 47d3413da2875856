"""The fake Microsoft identity endpoints proved with Microsoft's own client: azure-identity's ClientSecretCredential
(MSAL's confidential client: tenant discovery, then the client-credentials grant), WorkloadIdentityCredential (the
client assertion read from a token file) and ManagedIdentityCredential (the Instance Metadata Service), each sent to
the fake by an azure-core transport that rewrites Microsoft's hosts to the loopback origin (azure-identity insists
on https authorities; the transport is its documented seam, as httpx's MockTransport is httpx's)."""

from __future__ import annotations

import pytest
from azure import identity  # a pinned test extra: proving the fake needs Microsoft's client
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport

from tests.fakes.entra_token_upstream import (
    CLIENT_ID,
    CLIENT_SECRET,
    FEDERATED_TOKEN,
    IMDS_PATH,
    MANAGED_CLIENT_ID,
    TENANT,
    TENANT_DOMAIN,
    WORKLOAD_CLIENT_ID,
    FakeEntra,
)

SCOPE = "https://cognitiveservices.azure.com/.default"
_PUBLIC = ("https://login.microsoftonline.com", "http://169.254.169.254")


class ToLoopback(RequestsTransport):
    """Sends what azure-identity addresses to Microsoft's hosts to the fake instead."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin

    def send(self, request, **kwargs):
        for public in _PUBLIC:
            if request.url.startswith(public):
                request.url = self.origin + request.url[len(public):]
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def server():
    with FakeEntra() as fake:
        fake.authority = _PUBLIC[0]  # what the discovery document names, as Microsoft's does
        yield fake


@pytest.fixture
def fake(server):
    server.clear()
    return server


def test_fake_entra_grants_msals_client_credentials_with_a_secret(fake):
    for tenant in (TENANT, TENANT_DOMAIN):
        credential = identity.ClientSecretCredential(tenant, CLIENT_ID, CLIENT_SECRET,
                                                     transport=ToLoopback(fake.origin))
        token = credential.get_token(SCOPE)
        assert token.token == fake.issued[-1] and token.expires_on > 0
        assert credential.get_token(SCOPE).token == token.token  # MSAL's own cache: no second grant
    assert fake.exchanges == 2 and fake.grants[0] == ("entra", CLIENT_ID, SCOPE)
    grant = fake.requests[1]
    assert (grant.method, grant.path) == ("POST", f"/{TENANT}/oauth2/v2.0/token")
    assert grant.headers["content-type"] == "application/x-www-form-urlencoded"


def test_fake_entra_refuses_what_entra_refuses(fake):
    cases = [((TENANT, CLIENT_ID, "wrong"), SCOPE, "AADSTS7000215"),
             (("00000000-0000-0000-0000-000000000000", CLIENT_ID, CLIENT_SECRET), SCOPE, "AADSTS90002"),
             ((TENANT, "00000000-0000-0000-0000-0000000000ff", CLIENT_SECRET), SCOPE, "AADSTS700016"),
             ((TENANT, CLIENT_ID, CLIENT_SECRET), "https://cognitiveservices.azure.com/user.read", "AADSTS1002012")]
    for credentials, scope, code in cases:
        credential = identity.ClientSecretCredential(*credentials, transport=ToLoopback(fake.origin))
        with pytest.raises(ClientAuthenticationError, match=code):
            credential.get_token(scope)
    assert fake.exchanges == 0


def test_fake_entra_exchanges_a_workload_identitys_federated_token(fake, tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(FEDERATED_TOKEN)
    credential = identity.WorkloadIdentityCredential(tenant_id=TENANT, client_id=WORKLOAD_CLIENT_ID,
                                                     token_file_path=str(token_file),
                                                     transport=ToLoopback(fake.origin))
    assert credential.get_token(SCOPE).token == fake.issued[-1]
    assert fake.grants == [("workload", WORKLOAD_CLIENT_ID, SCOPE)]
    token_file.write_text("eyJ.another-service-account.token")
    stranger = identity.WorkloadIdentityCredential(tenant_id=TENANT, client_id=WORKLOAD_CLIENT_ID,
                                                   token_file_path=str(token_file), transport=ToLoopback(fake.origin))
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        stranger.get_token(SCOPE)


def test_fake_imds_serves_msals_managed_identity_requests(fake):
    for client_id in (None, MANAGED_CLIENT_ID):
        credential = identity.ManagedIdentityCredential(client_id=client_id, transport=ToLoopback(fake.origin))
        token = credential.get_token(SCOPE)  # MSAL reads the string expires_in the metadata service sends
        assert token.token == fake.issued[-1] and token.expires_on > 0
        sent = fake.requests[-1]
        assert (sent.path, sent.headers["metadata"], sent.query["api-version"]) == (IMDS_PATH, "true", "2018-02-01")
    assert [g[:2] for g in fake.grants] == [("managed", ""), ("managed", MANAGED_CLIENT_ID)]
    with pytest.raises(ClientAuthenticationError, match="Identity not found"):
        identity.ManagedIdentityCredential(client_id="5a3b2c1d-0000-4000-8000-0000000000ff",
                                           transport=ToLoopback(fake.origin)).get_token(SCOPE)
