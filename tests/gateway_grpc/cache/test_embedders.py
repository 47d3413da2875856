"""cache/embedders.py: a provider target as the semantic cache's embedder, over real HTTP to the fake OpenAI
upstream (each embeddings request checked by the SDK's strict types): unit vectors of the configured size, a wrong
size refused, and a failing provider making the call exact-only instead of failing it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.cache.embedders import ProviderEmbedder
from gateway_grpc.cache.semantic import SemanticIndex
from gateway_grpc.cache.vectors import VectorIndex
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport

QUESTION = t.ChatRequest("gpt-4o-mini", (t.Message("user", "What is the capital of France?"),))


@pytest_asyncio.fixture
async def call():
    transport = ProviderTransport()
    yield ProviderCall(transport)
    await transport.aclose()


def embedder(call: ProviderCall, upstream, model: str = "text-embedding-3-small", dimensions: int = 64,
             send: bool = True) -> ProviderEmbedder:
    return ProviderEmbedder(call.embed, t.Target("openai", "sk-embed", upstream.base_url), model, dimensions, send)


async def test_provider_embedder_asks_the_target_and_returns_unit_vectors(call, upstream):
    vector = await embedder(call, upstream).vector("What is the capital of France?")
    assert vector.shape == (64,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    (sent,) = upstream.requests
    assert sent.path == "/v1/embeddings" and sent.oracle_errors == []
    assert sent.json["input"] == ["What is the capital of France?"] and sent.json["dimensions"] == 64
    assert sent.headers["authorization"] == "Bearer sk-embed"


async def test_provider_embedder_refuses_vectors_of_another_size(call, upstream):
    with pytest.raises(e.ProviderBadResponse) as caught:
        await embedder(call, upstream, dimensions=64, send=False).vector("hi")  # the fake's default size is 1536
    assert "not cache.semantic.embedder.dimensions (64)" in str(caught.value)


async def test_semantic_index_with_a_provider_embedder_hits_the_same_question_only(call, upstream):
    worker = ThreadPoolExecutor(max_workers=1)
    index = SemanticIndex(embedder(call, upstream), VectorIndex(64, 100), 0.95, worker)
    ctx = t.CallContext("trace", target=t.Target("openai", "sk-tenant"))
    probe = await index.probe("chat", QUESTION, ctx)
    await index.remember(probe, "gw:cache:answer", 60)
    again = await index.probe("chat", QUESTION, ctx)
    assert await index.nearest(again) == ("gw:cache:answer", pytest.approx(1.0, abs=1e-3))
    other = t.ChatRequest("gpt-4o-mini", (t.Message("user", "How do I bake bread?"),))
    assert await index.nearest(await index.probe("chat", other, ctx)) is None
    await index.aclose()


async def test_semantic_index_with_a_failing_provider_embedder_is_exact_only(call, upstream):
    errors: list[tuple[str, str]] = []
    failing = embedder(call, upstream, model="text-embedding-3-small+error-429")
    index = SemanticIndex(failing, VectorIndex(64, 100), 0.95, ThreadPoolExecutor(max_workers=1),
                          on_error=lambda *error: errors.append(error))
    assert await index.probe("chat", QUESTION, t.CallContext("trace", target=t.Target("openai"))) is None
    assert errors == [("embedder", "embed")]
    await index.aclose()
