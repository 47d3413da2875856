"""Vertex AI (providers/vertex.py, vertex_auth.py, vertex_embeddings.py): URLs from the target's options (every URL
value charset-checked: contract §13 row 23), the Gemini and Anthropic bodies after Vertex's changes (strict oracles),
the RS256 service-account grant, then the whole path through ProviderCall + ProviderTransport (the token seam and
its cache) and through the gRPC server, against the loopback fake's publishers and token endpoint."""

from __future__ import annotations

import asyncio
import base64
import json

import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.anthropic import Anthropic
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.gemini import Gemini
from gateway_grpc.providers.tokens import TokenCache
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.providers.vertex import ANTHROPIC_VERSION, VertexAI
from gateway_grpc.providers.vertex_auth import SA_HEADER, read_service_account
from gateway_grpc.v1 import chat_pb2, options_pb2
from tests import oracles_gemini, oracles_vertex
from tests.fakes.vertex_upstream import KEY_ID, PROJECT, STATIC_TOKEN, FakeVertex, new_key, pem

NOW = 1_700_000_000
VERTEX = VertexAI(clock=lambda: NOW + 0.5)
KEY = new_key()
ACCOUNT = {"type": "service_account", "project_id": "sa-project", "private_key_id": KEY_ID, "private_key": pem(KEY),
           "client_email": "gw@sa-project.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}
OPTIONS = {"vertex_project_id": "my-proj", "vertex_region": "us-central1"}
TARGET = t.Target("vertex-ai", "ya29.minted", provider_options=OPTIONS)
USER = t.Message("user", "hello big world")
GEMINI = t.ChatRequest("gemini-2.5-flash", (t.Message("system", "be brief"), USER), params={"temperature": 0.2},
                       tools=(t.FunctionTool("lookup", "finds", {"type": "object", "properties": {}}),),
                       tool_choice=t.ToolChoice(mode="required"))
CLAUDE = t.ChatRequest("claude-sonnet-4@20250514", (t.Message("system", "be brief"), USER), params={"max_tokens": 64})
ROOT = "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/publishers"


def _target(options: dict | None = None, key: str = "ya29.minted", **fields) -> t.Target:
    return t.Target("vertex-ai", key, provider_options={**OPTIONS, **(options or {})}, **fields)


# ---- URLs and options ------------------------------------------------------------------------------------------

URLS = [
    (GEMINI, {}, "", False, f"{ROOT}/google/models/gemini-2.5-flash:generateContent"),
    (GEMINI, {}, "", True, f"{ROOT}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
    (CLAUDE, {}, "", False, f"{ROOT}/anthropic/models/claude-sonnet-4@20250514:rawPredict"),
    (CLAUDE, {}, "", True, f"{ROOT}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"),
    (GEMINI, {"vertex_region": "global"}, "", False, "https://aiplatform.googleapis.com/v1/projects/my-proj/"
                                                     "locations/global/publishers/google/models/gemini-2.5-flash:"
                                                     "generateContent"),
    (CLAUDE, {"vertex_region": "eu"}, "", False, "https://aiplatform.eu.rep.googleapis.com/v1/projects/my-proj/"
                                                 "locations/eu/publishers/anthropic/models/claude-sonnet-4@20250514:"
                                                 "rawPredict"),
    (t.ChatRequest("anthropic.claude-3-5-haiku@20241022", (USER,), params={"max_tokens": 5}), {}, "http://127.0.0.1:9/",
     False, "http://127.0.0.1:9/v1/projects/my-proj/locations/us-central1/publishers/anthropic/models/"
            "claude-3-5-haiku@20241022:rawPredict"),
    (t.ChatRequest("google.gemini-2.0-flash-001", (USER,)), {}, "https://proxy.example.com/vertex", False,
     "https://proxy.example.com/vertex/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
     "gemini-2.0-flash-001:generateContent"),
]


@pytest.mark.parametrize(("request_", "options", "host", "stream", "url"), URLS)
def test_vertex_urls(request_, options, host, stream, url):
    assert VERTEX.encode_chat(request_, _target(options, base_url=host), stream=stream).url == url


def test_vertex_override_model_picks_the_publisher():
    target = _target(override_params={"model": "claude-opus-4-1@20250805"})
    call = VERTEX.encode_chat(t.ChatRequest("gemini-2.5-flash", (USER,), params={"max_tokens": 9}), target,
                              stream=False)
    assert call.url == f"{ROOT}/anthropic/models/claude-opus-4-1@20250805:rawPredict"


@pytest.mark.parametrize(("options", "field", "option"), [
    ({"vertex_region": "us-central1.evil.com#"}, "x-portkey-vertex-region", "vertex_region"),
    ({"vertex_region": "us-central1/../x"}, "x-portkey-vertex-region", "vertex_region"),
    ({"vertex_region": "US-CENTRAL1"}, "x-portkey-vertex-region", "vertex_region"),
    ({"vertex_region": ""}, "x-portkey-vertex-region", "vertex_region"),
    ({"vertex_project_id": "p/../../x"}, "x-portkey-vertex-project-id", "vertex_project_id"),
    ({"vertex_project_id": "p?alt=1"}, "x-portkey-vertex-project-id", "vertex_project_id"),
    ({"vertex_project_id": ""}, "x-portkey-vertex-project-id", "vertex_project_id"),
])
def test_vertex_bad_or_missing_url_options_are_a_400_naming_the_option(options, field, option):
    with pytest.raises(e.InvalidRequest) as caught:
        VERTEX.encode_chat(GEMINI, _target(options), stream=False)
    assert caught.value.violations[0].field == field and option in caught.value.message


@pytest.mark.parametrize("model", ["gemini/../../x", "gemini?x", "claude#frag", "a..b", "meta.llama-3"])
def test_vertex_bad_model_ids_are_a_400(model):
    with pytest.raises(e.InvalidRequest) as caught:
        VERTEX.encode_chat(t.ChatRequest(model, (USER,)), TARGET, stream=False)
    assert caught.value.violations[0].field == "model"


def test_vertex_missing_credentials_are_a_400():
    with pytest.raises(e.InvalidRequest) as caught:
        VERTEX.encode_chat(GEMINI, _target(key=""), stream=False)
    assert caught.value.violations[0].field == SA_HEADER and "credentials" in caught.value.message


def test_vertex_headers_bearer_token_beta_and_forwarded():
    headers = VERTEX.encode_chat(CLAUDE, _target({"anthropic_beta": "b1"}, forward_headers={"x-team": "blue"}),
                                 stream=True).headers
    assert headers == {"content-type": "application/json", "accept": "text/event-stream",
                       "authorization": "Bearer ya29.minted", "anthropic-beta": "b1", "x-team": "blue"}
    assert "anthropic-beta" not in VERTEX.encode_chat(GEMINI, _target({"anthropic_beta": "b1"}), stream=False).headers


def test_vertex_service_account_wins_over_api_key_and_gives_the_project():
    options = {"vertex_region": "us-central1", "vertex_service_account_json": json.dumps(ACCOUNT),
               "access_token": "ya29.from-the-account"}
    call = VERTEX.encode_chat(GEMINI, t.Target("vertex-ai", "caller-dummy", provider_options=options), stream=False)
    assert call.headers["authorization"] == "Bearer ya29.from-the-account" and "/projects/sa-project/" in call.url
    unexchanged = {k: v for k, v in options.items() if k != "access_token"}
    with pytest.raises(e.GatewayError, match="not fetched"):
        VERTEX.encode_chat(GEMINI, t.Target("vertex-ai", "", provider_options=unexchanged), stream=False)


# ---- bodies: the translators' own, with Vertex's changes --------------------------------------------------------


def test_vertex_gemini_body_is_the_gemini_translators_and_passes_the_oracle():
    body = orjson.loads(VERTEX.encode_chat(GEMINI, TARGET, stream=True).body)
    assert body == orjson.loads(Gemini().encode_chat(GEMINI, t.Target("google", "k"), stream=True).body)
    assert oracles_gemini.generate_content_errors(body) == []


def test_vertex_claude_body_is_anthropics_without_model_with_vertex_version():
    for stream in (False, True):
        body = orjson.loads(VERTEX.encode_chat(CLAUDE, TARGET, stream=stream).body)
        messages = orjson.loads(Anthropic().encode_chat(CLAUDE, t.Target("anthropic", "k"), stream=stream).body)
        assert body == {**{k: v for k, v in messages.items() if k != "model"}, "anthropic_version": ANTHROPIC_VERSION}
        assert oracles_vertex.raw_predict_errors(body, CLAUDE.model) == []


def test_vertex_embeddings_body_is_vertexs_predict():
    request = t.EmbeddingsRequest("text-embedding-005", ("a b", "c"), dimensions=8,
                                  extra={"task_type": "RETRIEVAL_DOCUMENT", "auto_truncate": False})
    call = VERTEX.encode_embeddings(request, TARGET)
    body = orjson.loads(call.body)
    assert call.url == f"{ROOT}/google/models/text-embedding-005:predict"
    assert body == {"instances": [{"content": "a b", "task_type": "RETRIEVAL_DOCUMENT"},
                                  {"content": "c", "task_type": "RETRIEVAL_DOCUMENT"}],
                    "parameters": {"outputDimensionality": 8, "autoTruncate": False}}
    assert oracles_vertex.predict_request_errors(body) == []


@pytest.mark.parametrize(("request_", "field"), [
    (t.EmbeddingsRequest("text-embedding-005", ("a",), extra={"encoding_format": "base64"}), "encoding_format"),
    (t.EmbeddingsRequest("text-embedding-005", token_inputs=((1, 2),)), "input"),
    (t.EmbeddingsRequest("claude-sonnet-4", ("a",)), "model"),
])
def test_vertex_embeddings_refusals(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        VERTEX.encode_embeddings(request_, TARGET)
    assert caught.value.violations[0].field == field


def test_vertex_decodes_by_the_publisher_that_answered():
    gemini = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}
    claude = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "end_turn",
              "content": [{"type": "text", "text": "yo"}], "stop_sequence": None,
              "usage": {"input_tokens": 1, "output_tokens": 1}}
    assert VERTEX.decode_chat(orjson.dumps(gemini)).choices[0].message.content == "hi"
    assert VERTEX.decode_chat(orjson.dumps(claude)).choices[0].message.content == "yo"
    google_error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    assert type(VERTEX.decode_error(429, orjson.dumps(google_error), {})) is e.RateLimited
    claude_error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert "Overloaded" in VERTEX.decode_error(529, orjson.dumps(claude_error), {}).message
    predictions = {"predictions": [{"embeddings": {"values": [0.5], "statistics": {"token_count": 3}}}]}
    assert VERTEX.decode_embeddings(orjson.dumps(predictions)) == t.EmbeddingsResponse("", ([0.5],), t.Usage(3, 0, 3))
    with pytest.raises(e.ProviderBadResponse):
        VERTEX.decode_embeddings(b'{"predictions": [{"embeddings": {}}]}')


# ---- the service-account grant ------------------------------------------------------------------------------------


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_vertex_token_request_is_an_rs256_jwt_bearer_grant():
    target = _target({"vertex_service_account_json": json.dumps(ACCOUNT)})
    call = VERTEX.token_request(target)
    form = dict(pair.split("=", 1) for pair in call.body.decode().split("&"))
    assert (call.method, call.url, call.headers["content-type"]) == (
        "POST", ACCOUNT["token_uri"], "application/x-www-form-urlencoded")
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    head, claims, signature = form["assertion"].split(".")
    KEY.public_key().verify(_segment(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert orjson.loads(_segment(head)) == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    assert orjson.loads(_segment(claims)) == {
        "iss": ACCOUNT["client_email"], "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": "https://oauth2.googleapis.com/token", "iat": NOW, "exp": NOW + 3600}
    assert VERTEX.token_request(TARGET) is None and VERTEX.token_key(TARGET) is None


def test_vertex_token_key_names_the_whole_credential():
    key = read_service_account(json.dumps(ACCOUNT)).cache_key()
    assert key == read_service_account(json.dumps({**ACCOUNT, "project_id": "other"})).cache_key()
    # same public identity, another private key: never the same token
    assert key != read_service_account(json.dumps({**ACCOUNT, "private_key": pem(new_key())})).cache_key()
    assert key != read_service_account(json.dumps({**ACCOUNT, "token_uri": "https://127.0.0.1/token"})).cache_key()


@pytest.mark.parametrize(("account", "field", "fragment"), [
    ("{not json", SA_HEADER, "is not JSON"),
    (json.dumps({**ACCOUNT, "client_email": ""}), SA_HEADER, "client_email"),
    (json.dumps({**ACCOUNT, "type": "authorized_user"}), SA_HEADER, "service_account key"),
    (json.dumps({**ACCOUNT, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
     SA_HEADER, "PEM"),
    (json.dumps({**ACCOUNT, "token_uri": "http://oauth2.example.com/token"}),
     "vertex_service_account_json.token_uri", "https"),
    (json.dumps({**ACCOUNT, "token_uri": "file:///etc/passwd"}), "vertex_service_account_json.token_uri", "https"),
])
def test_vertex_bad_service_accounts_are_a_400(account, field, fragment):
    with pytest.raises(e.InvalidRequest) as caught:
        VERTEX.token_request(_target({"vertex_service_account_json": account}))
    assert caught.value.violations[0].field == field and fragment in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message


@pytest.mark.parametrize(("status", "kind"), [(400, e.ProviderRejected), (401, e.ProviderRejected),
                                              (403, e.ProviderRejected), (429, e.RateLimited),
                                              (500, e.ProviderUnavailable), (503, e.ProviderUnavailable)])
def test_vertex_token_errors_keep_the_token_endpoints_status(status, kind):
    body = orjson.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    error = VERTEX.decode_token_error(status, body, {})
    assert (type(error), error.status, error.code) == (kind, status, "invalid_grant")
    assert "invalid_grant: Invalid JWT Signature." in error.message


def test_vertex_token_answers():
    assert VERTEX.decode_token(b'{"access_token": "ya29.x", "expires_in": 3599}') == ("ya29.x", 3599.0)
    assert VERTEX.decode_token(b'{"access_token": "ya29.x"}') == ("ya29.x", 0.0)  # used once, not cached
    for body in (b'{"token_type": "Bearer"}', b'{"access_token": "ya29.cut-short'):
        with pytest.raises(e.ProviderBadResponse) as caught:
            VERTEX.decode_token(body)
        assert "ya29" not in caught.value.message  # a broken answer is never quoted


def test_vertex_credentials_never_show_in_reprs():
    account = read_service_account(json.dumps(ACCOUNT))
    target = _target({"vertex_service_account_json": json.dumps(ACCOUNT), "access_token": "ya29.secret"})
    for text in (repr(account), repr(target), repr(VERTEX)):
        assert "PRIVATE KEY" not in text and "ya29" not in text


# ---- through ProviderCall and the transport, against the fake ---------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with FakeVertex() as fake:
        yield fake


@pytest.fixture
def fake(server, monkeypatch):
    if "vertex-ai" not in PROVIDERS:  # until the registry lists it
        monkeypatch.setitem(PROVIDERS, "vertex-ai", VertexAI())
    server.clear()
    server.token_lifetime = 3599
    return server


@pytest.fixture
async def transport():
    transport = ProviderTransport()
    yield transport
    await transport.aclose()


def _ctx(fake: FakeVertex, account: dict | None = None, key: str = "", **options) -> t.CallContext:
    sa = {"vertex_service_account_json": json.dumps(fake.service_account() if account is None else account)}
    target = t.Target("vertex-ai", key, base_url=fake.origin,
                      provider_options={"vertex_region": "us-east5", **({} if key else sa), **options})
    return t.CallContext("trace", target=target)


async def test_vertex_whole_path_with_one_token_exchange(fake, transport):
    call = ProviderCall(transport)
    gemini = t.ChatRequest("gemini-2.5-flash", (t.Message("system", "be brief"), USER), include_usage=True)
    claude = t.ChatRequest("claude-sonnet-4@20250514", (USER,), params={"max_tokens": 50}, include_usage=True)
    assert (await call.complete(gemini, _ctx(fake))).choices[0].message.content == "Echo: hello big world"
    chunks = [c async for c in call.stream(gemini, _ctx(fake))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello big world"
    vectors = await call.embed(t.EmbeddingsRequest("text-embedding-005", ("a b", "c"), dimensions=8), _ctx(fake))
    assert [len(v) for v in vectors.vectors] == [8, 8] and vectors.usage == t.Usage(3, 0, 3)
    answer = await call.complete(claude, _ctx(fake))
    assert (answer.choices[0].message.content, answer.usage.prompt_tokens) == ("Echo: hello big world", 3)
    chunks = [c async for c in call.stream(claude, _ctx(fake))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello big world"
    assert chunks[-1].usage is not None
    base = f"/v1/projects/{PROJECT}/locations/us-east5/publishers"
    assert [(r.path, r.query) for r in fake.requests] == [
        ("/token", {}), (f"{base}/google/models/gemini-2.5-flash:generateContent", {}),
        (f"{base}/google/models/gemini-2.5-flash:streamGenerateContent", {"alt": "sse"}),
        (f"{base}/google/models/text-embedding-005:predict", {}),
        (f"{base}/anthropic/models/claude-sonnet-4@20250514:rawPredict", {}),
        (f"{base}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict", {})]
    assert fake.exchanges == 1 and all(r.oracle_errors == [] for r in fake.requests)
    assert {r.headers["authorization"] for r in fake.requests[1:]} == {f"Bearer {fake.issued[0]}"}
    assert [oracles_gemini.generate_content_errors(r.json) for r in fake.requests[1:3]] == [[], []]


async def test_vertex_concurrent_calls_share_one_exchange(fake, transport):
    call = ProviderCall(transport)
    request = t.ChatRequest("gemini-2.5-flash", (USER,))
    answers = await asyncio.gather(*(call.complete(request, _ctx(fake)) for _ in range(12)))
    assert {a.choices[0].message.content for a in answers} == {"Echo: hello big world"} and fake.exchanges == 1


async def test_vertex_tokens_are_exchanged_again_after_they_expire(fake, transport):
    now = [0.0]
    call = ProviderCall(transport, tokens=TokenCache(clock=lambda: now[0]))
    request = t.ChatRequest("gemini-2.5-flash", (USER,))
    await call.complete(request, _ctx(fake))
    now[0] = 3599 - 60 - 0.001
    await call.complete(request, _ctx(fake))
    assert fake.exchanges == 1
    now[0] += 0.001
    await call.complete(request, _ctx(fake))
    assert fake.exchanges == 2 and fake.requests[-1].headers["authorization"] == f"Bearer {fake.issued[1]}"


async def test_vertex_an_access_token_needs_no_exchange(fake, transport):
    answer = await ProviderCall(transport).complete(t.ChatRequest("gemini-2.5-flash", (USER,)),
                                                    _ctx(fake, key=STATIC_TOKEN, vertex_project_id=PROJECT))
    assert answer.choices[0].message.content == "Echo: hello big world" and fake.exchanges == 0
    with pytest.raises(e.ProviderRejected) as caught:
        await ProviderCall(transport).complete(t.ChatRequest("gemini-2.5-flash", (USER,)),
                                               _ctx(fake, key="ya29.forged", vertex_project_id=PROJECT))
    assert caught.value.status == 401


async def test_vertex_token_endpoint_errors_are_typed_and_not_cached(fake, transport):
    call, request = ProviderCall(transport), t.ChatRequest("gemini-2.5-flash", (USER,))
    fake.token_failures.extend([503, 401])
    with pytest.raises(e.ProviderUnavailable) as unavailable:
        await call.complete(request, _ctx(fake))
    with pytest.raises(e.ProviderRejected) as rejected:
        await call.complete(request, _ctx(fake))
    assert (unavailable.value.status, rejected.value.status, rejected.value.code) == (503, 401, "invalid_client")
    await call.complete(request, _ctx(fake))
    assert fake.exchanges == 1
    with pytest.raises(e.ProviderRejected, match="Invalid JWT Signature") as bad_key:
        await call.complete(request, _ctx(fake, fake.service_account(key=new_key())))
    assert bad_key.value.status == 400 and "PRIVATE KEY" not in bad_key.value.message


@pytest.mark.parametrize("token_uri", ["https://10.0.0.7/token", "https://169.254.169.254/token",
                                       "https://metadata.google.internal/token"])
async def test_vertex_token_uri_passes_the_ssrf_guard(fake, transport, token_uri):
    with pytest.raises(e.CustomHostBlocked) as caught:
        await ProviderCall(transport).complete(t.ChatRequest("gemini-2.5-flash", (USER,)),
                                               _ctx(fake, fake.service_account(token_uri=token_uri)))
    assert caught.value.violations[0].field == "vertex-ai token endpoint" and fake.requests == []


async def test_vertex_through_the_grpc_server_with_portkeys_headers_and_config(gateway, fake):
    account = json.dumps(fake.service_account())
    request = chat_pb2.CreateChatCompletionRequest(
        model="claude-sonnet-4@20250514", max_tokens=20,
        messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi vertex")],
        options=options_pb2.RequestOptions(provider="vertex-ai", custom_host=fake.origin))
    metadata = (("x-portkey-vertex-region", "us-east5"), ("x-portkey-vertex-service-account-json", account))
    response = await gateway.CreateChatCompletion(request, metadata=metadata)
    assert response.choices[0].message.text == "Echo: hi vertex" and response.provider == "vertex-ai"
    config = {"provider": "vertex-ai", "custom_host": fake.origin, "vertex_region": "global",
              "vertex_service_account_json": fake.service_account()}  # a JSON object in a config
    plain = chat_pb2.CreateChatCompletionRequest(model="gemini-2.5-flash", messages=request.messages)
    response = await gateway.CreateChatCompletion(plain, metadata=(("x-portkey-config", json.dumps(config)),))
    assert response.choices[0].message.text == "Echo: hi vertex"
    assert fake.requests[-1].path.startswith(f"/v1/projects/{PROJECT}/locations/global/") and fake.exchanges == 1
