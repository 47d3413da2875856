"""Embeddings through OpenAI-compatible rows (providers/openai_hosts.py): the embeddings-only hosts jina and voyage
(bodies checked by the fake's tables of each host's documented fields; chat is a 400) and ollama's `/v1/embeddings`
(checked by the strict OpenAI oracle); answers and FastAPI-style errors decoded; then through the transport and the
gRPC server against the fake, where the vectors arrive as floats."""

from __future__ import annotations

import orjson
import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.openai_hosts import EMBEDDING_HOSTS
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.v1 import embeddings_pb2, options_pb2
from tests import oracles
from tests.fakes.embeddings_upstream import DEFAULT_DIMENSIONS, HOSTS, JINA, VOYAGE, body_errors, vector
from tests.gateway_grpc.providers.test_openai_hosts import PORTKEY_SLUGS

ROWS = [  # (slug, request, URL, expected body, the host's documented-field table; None: the strict OpenAI oracle)
    ("jina", t.EmbeddingsRequest("jina-embeddings-v3", ("a", "b"), dimensions=256,
                                 extra={"task": "retrieval.passage", "late_chunking": True}),
     "https://api.jina.ai/v1/embeddings",
     {"model": "jina-embeddings-v3", "input": ["a", "b"], "dimensions": 256, "task": "retrieval.passage",
      "late_chunking": True}, JINA),
    ("voyage", t.EmbeddingsRequest("voyage-3.5", ("a",), dimensions=512,
                                   extra={"input_type": "query", "output_dtype": "float", "truncation": False}),
     "https://api.voyageai.com/v1/embeddings",
     {"model": "voyage-3.5", "input": ["a"], "output_dimension": 512, "input_type": "query", "output_dtype": "float",
      "truncation": False}, VOYAGE),
    ("voyage", t.EmbeddingsRequest("voyage-3.5", ("a",)), "https://api.voyageai.com/v1/embeddings",
     {"model": "voyage-3.5", "input": ["a"]}, VOYAGE),
    ("ollama", t.EmbeddingsRequest("nomic-embed-text", ("a", "b"), dimensions=64),
     "http://localhost:11434/v1/embeddings",
     {"model": "nomic-embed-text", "input": ["a", "b"], "encoding_format": "float", "dimensions": 64}, None),
]


@pytest.mark.parametrize(("slug", "request_", "url", "body", "table"), ROWS, ids=[row[0] for row in ROWS])
def test_embedding_hosts_body_is_what_the_host_documents(slug, request_, url, body, table):
    call = PROVIDERS[slug].encode_embeddings(request_, t.Target(slug, "k-1"))
    sent = orjson.loads(call.body)
    assert (call.method, call.url, call.headers["authorization"]) == ("POST", url, "Bearer k-1")
    assert sent == body
    errors = oracles.embeddings_request_errors(sent) if table is None else body_errors(table, sent)
    assert errors == []


@pytest.mark.parametrize(("slug", "request_", "field"), [
    ("voyage", t.EmbeddingsRequest("voyage-3.5", ("a",), user="u-1"), "user"),
    ("jina", t.EmbeddingsRequest("jina-embeddings-v3", ("a",), user="u-1"), "user"),
    ("voyage", t.EmbeddingsRequest("voyage-3.5", ("a",), dimensions=8, extra={"output_dimension": 8}),
     "dimensions"),
])
def test_embedding_hosts_refuse_what_the_host_lacks(slug, request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        PROVIDERS[slug].encode_embeddings(request_, t.Target(slug, "k"))
    assert caught.value.violations[0].field == field


@pytest.mark.parametrize("host", EMBEDDING_HOSTS, ids=lambda h: h.name)
@pytest.mark.parametrize("stream", [False, True])
def test_embedding_hosts_chat_is_a_400_naming_the_host(host, stream):
    request = t.ChatRequest("m", (t.Message("user", "hi"),))
    with pytest.raises(e.InvalidRequest) as caught:
        host.encode_chat(request, t.Target(host.name, "k"), stream=stream)
    assert str(caught.value) == f"model: {host.name} does not support chat completions"


def test_embedding_hosts_are_portkey_slugs_and_registered():
    assert {h.name for h in EMBEDDING_HOSTS} == {host.name for host in HOSTS} <= PORTKEY_SLUGS
    assert all(PROVIDERS[h.name] is h for h in EMBEDDING_HOSTS)


@pytest.mark.parametrize(("slug", "raw", "usage"), [
    ("voyage", {"object": "list", "data": [{"object": "embedding", "embedding": [0.5, -1.0], "index": 1},
                                           {"object": "embedding", "embedding": [0.25, 2.0], "index": 0}],
                "model": "voyage-3.5", "usage": {"total_tokens": 10}}, (10, 10)),
    ("jina", {"model": "jina-embeddings-v3", "object": "list", "usage": {"total_tokens": 7, "prompt_tokens": 7},
              "data": [{"object": "embedding", "index": 0, "embedding": [0.25, 2.0]},
                       {"object": "embedding", "index": 1, "embedding": [0.5, -1.0]}]}, (7, 7)),
])
def test_embedding_hosts_answers_decode_in_order_with_prompt_tokens(slug, raw, usage):
    answer = PROVIDERS[slug].decode_embeddings(orjson.dumps(raw))
    assert answer.vectors == ([0.25, 2.0], [0.5, -1.0]) and answer.model == raw["model"]
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == usage


@pytest.mark.parametrize(("body", "message"), [
    ({"detail": "Provided API key is invalid."}, "voyage error: Provided API key is invalid."),
    ({"detail": [{"loc": ["body", "input"], "msg": "field required"}]},
     'voyage error: [{"loc":["body","input"],"msg":"field required"}]'),
])
def test_embedding_hosts_fastapi_errors_keep_their_detail(body, message):
    error = PROVIDERS["voyage"].decode_error(401, orjson.dumps(body), {})
    assert (type(error), error.message, error.status) == (e.ProviderRejected, message, 401)


# --- against the fake, through the transport and the gRPC server -------------------------------------------------


@pytest_asyncio.fixture
async def provider_call():
    transport = ProviderTransport()
    try:
        yield ProviderCall(transport)
    finally:
        await transport.aclose()


@pytest.mark.parametrize(("slug", "path", "dimensions"), [("voyage", "/voyage/v1", 256), ("jina", "/jina/v1", 4),
                                                          ("ollama", "/v1", 4)])
async def test_embedding_hosts_against_the_fake(provider_call, upstream, slug, path, dimensions):
    ctx = t.CallContext("trace", target=t.Target(slug, "sk-test", base_url=f"{upstream.origin}{path}"))
    answer = await provider_call.embed(t.EmbeddingsRequest("embed-model", ("a b", "c"), dimensions=dimensions), ctx)
    sent = upstream.requests[-1]
    assert sent.path == f"{path}/embeddings" and sent.oracle_errors == []
    assert [len(v) for v in answer.vectors] == [dimensions, dimensions] and answer.usage.prompt_tokens > 0
    if slug != "ollama":  # the fake's own vectors (the OpenAI route answers its own)
        assert list(answer.vectors) == [vector("a b", dimensions), vector("c", dimensions)]


async def test_embedding_hosts_fake_errors_are_typed(provider_call, upstream):
    ctx = t.CallContext("trace", target=t.Target("voyage", "sk-test", base_url=f"{upstream.origin}/voyage/v1"))
    with pytest.raises(e.RateLimited) as caught:
        await provider_call.embed(t.EmbeddingsRequest("voyage-3.5+error-429", ("a",)), ctx)
    assert caught.value.message == "voyage error: scripted error 429"


@pytest.mark.parametrize(("slug", "path", "extra"), [("voyage", "/voyage/v1", {"input_type": "document"}),
                                                     ("jina", "/jina/v1", {"task": "text-matching"})])
async def test_embedding_hosts_vectors_arrive_over_grpc_as_floats(gateway, upstream, slug, path, extra):
    request = embeddings_pb2.CreateEmbeddingsRequest(
        model="embed-model", input=["hello world", "x"],
        options=options_pb2.RequestOptions(provider=slug, custom_host=f"{upstream.origin}{path}"))
    request.extra.update(extra)
    response = await gateway.CreateEmbeddings(request, metadata=(("authorization", "Bearer sk-test"),))
    assert response.provider == slug and [d.index for d in response.data] == [0, 1]
    for item, text in zip(response.data, ["hello world", "x"], strict=True):
        assert all(isinstance(value, float) for value in item.embedding)
        assert list(item.embedding) == pytest.approx(vector(text, DEFAULT_DIMENSIONS), rel=1e-6)
    assert response.usage.prompt_tokens == response.usage.total_tokens == 3
    sent = upstream.requests[-1].json
    assert "encoding_format" not in sent and {k: sent[k] for k in extra} == extra
