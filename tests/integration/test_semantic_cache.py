"""The semantic cache over real gRPC with the real MiniLM embedder: a paraphrase of a stored question is a SEMANTIC
HIT, a different question a SEMANTIC MISS; never across tenants, models or conversation context; and, with Redis,
a question stored through one replica is a hit on another."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
import pytest_asyncio

from gateway_grpc.config import CacheSettings, GatewaySettings, SemanticCacheSettings, SemanticEmbedderSettings
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import chat_pb2, embeddings_pb2, gateway_service_pb2_grpc, options_pb2

SEMANTIC = {"mode": "semantic", "max_age": 600}
ASKED = "What is the capital of France?"
PARAPHRASE = "What is France's capital?"  # cosine 0.98 with ASKED under MiniLM; Germany's: 0.66


class Replica:
    def __init__(self, settings: GatewaySettings) -> None:
        self.server = GatewayServer(settings, "127.0.0.1", 0)

    async def learned(self, entries: int) -> None:
        """Wait (at most 5 s) until this replica's semantic index holds `entries` questions."""
        index = self.server.pipeline.cache.semantic._index
        for _ in range(250):
            if len(index) >= entries:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the replica's semantic index holds {len(index)} questions, not {entries}")

    async def __aenter__(self) -> gateway_service_pb2_grpc.GatewayServiceStub:
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.server.port}")
        return gateway_service_pb2_grpc.GatewayServiceStub(self.channel)

    async def __aexit__(self, *exc: object) -> None:
        await self.channel.close()
        await self.server.stop(grace=0)


@pytest_asyncio.fixture
async def gateway():
    async with Replica(GatewaySettings()) as stub:
        yield stub


def chat(upstream, *texts: str, key: str = "sk-test",
         model: str = "gpt-4o-mini") -> chat_pb2.CreateChatCompletionRequest:
    config = {"provider": "openai", "custom_host": upstream.base_url, "api_key": key, "cache": SEMANTIC}
    roles = [chat_pb2.ROLE_USER if i % 2 == 0 else chat_pb2.ROLE_ASSISTANT for i in range(len(texts))]
    return chat_pb2.CreateChatCompletionRequest(
        model=model, messages=[chat_pb2.Message(role=r, text=t) for r, t in zip(roles, texts, strict=True)],
        options=options_pb2.RequestOptions(config_json=json.dumps(config)))


async def status(stub, request) -> str:
    call = stub.CreateChatCompletion(request)
    await call
    return dict(await call.trailing_metadata())["x-portkey-cache-status"]


async def test_semantic_cache_paraphrase_hits_and_other_questions_miss(gateway, upstream):
    assert await status(gateway, chat(upstream, ASKED)) == "SEMANTIC MISS"
    assert await status(gateway, chat(upstream, ASKED)) == "HIT"  # the exact entry first
    assert await status(gateway, chat(upstream, PARAPHRASE)) == "SEMANTIC HIT"
    assert await status(gateway, chat(upstream, "What is the capital of Germany?")) == "SEMANTIC MISS"
    assert await status(gateway, chat(upstream, "How do I bake sourdough bread?")) == "SEMANTIC MISS"
    assert upstream.calls("gpt-4o-mini") == 3


async def test_semantic_cache_never_crosses_tenants_models_or_context(gateway, upstream):
    await status(gateway, chat(upstream, ASKED))
    assert await status(gateway, chat(upstream, PARAPHRASE, key="sk-other-tenant")) == "SEMANTIC MISS"
    assert await status(gateway, chat(upstream, PARAPHRASE, model="gpt-4o")) == "SEMANTIC MISS"
    assert await status(gateway, chat(upstream, "hi", "hello!", PARAPHRASE)) == "SEMANTIC MISS"  # other context


async def test_semantic_cache_is_shared_across_replicas_through_redis(redis_url, upstream):
    # a generous Redis timeout: on a loaded 2-core CI machine a first command can take longer than the 250 ms default,
    # and a timeout is (rightly) a miss; this test is about sharing, the outage tests are about timeouts
    settings = GatewaySettings(cache=CacheSettings(backend="redis", redis_url=redis_url, redis_timeout_ms=3000))
    one, two = Replica(settings), Replica(settings)
    async with one as first, two as second:
        assert await status(first, chat(upstream, ASKED)) == "SEMANTIC MISS"
        await two.learned(1)  # the second replica follows the shared stream
        assert await status(second, chat(upstream, PARAPHRASE)) == "SEMANTIC HIT"
    async with Replica(settings) as late:  # a replica started later replays the stream at start-up
        assert await status(late, chat(upstream, "What is the capital city of France?")) == "SEMANTIC HIT"
    assert upstream.calls("gpt-4o-mini") == 1


async def test_semantic_cache_question_whose_answer_expired_is_a_miss_and_forgotten(upstream):
    replica = Replica(GatewaySettings())
    async with replica as stub:
        short = chat(upstream, ASKED)
        config = json.loads(short.options.config_json)
        short.options.config_json = json.dumps({**config, "cache": {"mode": "semantic", "max_age": 1}})
        assert await status(stub, short) == "SEMANTIC MISS"
        await replica.learned(1)
        await asyncio.sleep(1.1)  # the store's TTL, on the real clock
        paraphrase = chat(upstream, PARAPHRASE)
        assert await status(stub, paraphrase) == "SEMANTIC MISS"
        index = replica.server.pipeline.cache.semantic._index
        assert len(index) == 1  # the expired question dropped; the paraphrase, answered now, is the one left


async def test_semantic_cache_can_embed_with_a_configured_provider_target(upstream):
    embedder = SemanticEmbedderSettings(provider="openai", model="text-embedding-3-small", dimensions=256,
                                        send_dimensions=True, api_key="sk-embedder", custom_host=upstream.base_url)
    settings = GatewaySettings(cache=CacheSettings(semantic=SemanticCacheSettings(embedder=embedder)))
    async with Replica(settings) as stub:
        assert await status(stub, chat(upstream, ASKED)) == "SEMANTIC MISS"
        assert await status(stub, chat(upstream, "Something else entirely")) == "SEMANTIC MISS"
    embedded = [r for r in upstream.requests if r.path == "/v1/embeddings"]
    assert [r.json["input"] for r in embedded] == [[ASKED], ["Something else entirely"]]
    assert {r.headers["authorization"] for r in embedded} == {"Bearer sk-embedder"}
    assert all(r.oracle_errors == [] and r.json["dimensions"] == 256 for r in embedded)


def test_semantic_cache_provider_embedder_is_checked_at_start_up():
    for embedder, field in ((SemanticEmbedderSettings(provider="nope", model="m", dimensions=8), "provider"),
                            (SemanticEmbedderSettings(provider="openai", model="m", dimensions=8,
                                                      custom_host="http://169.254.169.254/v1"), "custom_host")):
        settings = GatewaySettings(cache=CacheSettings(semantic=SemanticCacheSettings(embedder=embedder)))
        with pytest.raises(InvalidRequest) as caught:  # InvalidConfig, or CustomHostBlocked for the host
            GatewayServer(settings, "127.0.0.1", 0)
        assert caught.value.violations[0].field == f"cache.semantic.embedder.{field}"


async def test_semantic_cache_requests_it_cannot_embed_are_exact_only(gateway, upstream):
    """Embeddings calls (and images in a chat, a tool result last, ...) have no question to embed: plain MISS / HIT."""
    config = {"provider": "openai", "custom_host": upstream.base_url, "api_key": "sk-test", "cache": SEMANTIC}
    request = embeddings_pb2.CreateEmbeddingsRequest(model="text-embedding-3-small", input=[ASKED],
                                                     options=options_pb2.RequestOptions(config_json=json.dumps(config)))
    statuses = []
    for _ in range(2):
        call = gateway.CreateEmbeddings(request)
        await call
        statuses.append(dict(await call.trailing_metadata())["x-portkey-cache-status"])
    assert statuses == ["MISS", "HIT"]
