"""The fake Vertex AI upstream proved with the official clients: google-genai in Vertex mode for the Google publisher
(chat, stream, `:predict` embeddings), anthropic's AnthropicVertex for the Anthropic publisher, and google-auth's own
service-account grant against the fake's token endpoint (which must refuse a grant signed with another key)."""

from __future__ import annotations

import anthropic
import pytest
from google import genai
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.genai import types
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials

from tests import oracles_anthropic, oracles_gemini, oracles_vertex
from tests.fakes.vertex_upstream import PROJECT, SCOPE, STATIC_TOKEN, FakeVertex, new_key, predict

CLAUDE = "claude-sonnet-4@20250514"


@pytest.fixture(scope="module")
def server():
    with FakeVertex() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.clear()
    return server


def _genai(fake: FakeVertex, credentials, location: str = "us-central1") -> genai.Client:
    return genai.Client(vertexai=True, project=PROJECT, location=location, credentials=credentials,
                        http_options=types.HttpOptions(base_url=fake.origin))


def test_fake_vertex_gemini_routes_answer_google_genai(fake):
    client = _genai(fake, Credentials(token=STATIC_TOKEN))
    assert client.models.generate_content(model="gemini-2.5-flash", contents="hello world").text == "Echo: hello world"
    pieces = [c.text for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi there")]
    assert "".join(pieces) == "Echo: hi there" and len(pieces) == 3
    embedded = client.models.embed_content(model="text-embedding-005", contents=["a b", "c"],
                                           config=types.EmbedContentConfig(output_dimensionality=8))
    assert [len(x.values) for x in embedded.embeddings] == [8, 8] and embedded.embeddings[0].statistics.token_count == 2
    base = f"/v1beta1/projects/{PROJECT}/locations/us-central1/publishers/google/models"
    assert [(r.path, r.query) for r in fake.requests] == [
        (f"{base}/gemini-2.5-flash:generateContent", {}), (f"{base}/gemini-2.5-flash:streamGenerateContent",
                                                           {"alt": "sse"}), (f"{base}/text-embedding-005:predict", {})]
    assert all(r.oracle_errors == [] and r.headers["authorization"] == f"Bearer {STATIC_TOKEN}" for r in fake.requests)
    assert oracles_gemini.generate_content_errors(fake.requests[0].json) == []


def test_fake_vertex_predict_answers_are_vertex_shaped():
    answer = predict({"instances": [{"content": "a b c"}], "parameters": {"outputDimensionality": 4}})
    parsed = oracles_vertex.check_predict_response(answer)
    assert parsed.predictions[0].embeddings.statistics.token_count == 3 and len(answer["predictions"][0]
                                                                               ["embeddings"]["values"]) == 4


def test_fake_vertex_token_endpoint_honours_google_auths_grant(fake):
    credentials = service_account.Credentials.from_service_account_info(fake.service_account(), scopes=[SCOPE])
    client = _genai(fake, credentials, location="global")
    assert client.models.generate_content(model="gemini-2.5-flash", contents="a").text == "Echo: a"
    assert client.models.generate_content(model="gemini-2.5-flash", contents="b").text == "Echo: b"
    assert fake.exchanges == 1 and fake.requests[0].path == "/token"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.issued[-1]}"


def test_fake_vertex_token_endpoint_refuses_a_grant_signed_with_another_key(fake):
    for key, scopes, refusal in [(new_key(), [SCOPE], "invalid_grant: Invalid JWT Signature"),
                                 (None, ["openid"], "invalid_grant: Invalid OAuth scope")]:
        account = fake.service_account(key=key)
        credentials = service_account.Credentials.from_service_account_info(account, scopes=scopes)
        with pytest.raises(RefreshError, match=refusal):
            credentials.refresh(Request())
    fake.token_failures.append(401)  # scripted (a 5xx google-auth would retry)
    credentials = service_account.Credentials.from_service_account_info(fake.service_account(), scopes=[SCOPE])
    with pytest.raises(RefreshError, match="invalid_client"):
        credentials.refresh(Request())
    assert fake.exchanges == 0


def test_fake_vertex_anthropic_routes_answer_anthropic_vertex(fake):
    client = anthropic.AnthropicVertex(region="us-east5", project_id=PROJECT, access_token=STATIC_TOKEN,
                                       base_url=fake.base_url, max_retries=0)
    message = client.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hey you"}])
    assert message.content[0].text == "Echo: hey you" and message.model == CLAUDE
    with client.messages.stream(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hey"}]) as stream:
        assert "".join(stream.text_stream) == "Echo: hey"
    base = f"/v1/projects/{PROJECT}/locations/us-east5/publishers/anthropic/models/{CLAUDE}"
    assert [r.path for r in fake.requests] == [f"{base}:rawPredict", f"{base}:streamRawPredict"]
    assert all(r.oracle_errors == [] and "model" not in r.json for r in fake.requests)
    oracles_anthropic.check_message(message.model_dump(mode="json", exclude_none=True, exclude_unset=True))


def test_fake_vertex_refuses_unknown_tokens_and_routes(fake):
    client = anthropic.AnthropicVertex(region="us-east5", project_id=PROJECT, access_token="ya29.forged",
                                       base_url=fake.base_url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=CLAUDE, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    google = _genai(fake, Credentials(token=STATIC_TOKEN))
    with pytest.raises(genai.errors.ClientError) as caught:
        google.models.generate_content(model="gemini-2.5-flash+error-429", contents="x")
    assert caught.value.code == 429
