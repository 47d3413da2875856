"""Embeddings batching: past a provider's batch size, ProviderCall sends one call per batch and merges the answers in
input order. Pure splitting/merging as a table; the whole path against the loopback Bedrock fake (Titan: one text
per call)."""

from __future__ import annotations

import pytest

from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.batches import embedding_batches, merged_embeddings
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from tests.fakes.bedrock_upstream import FakeBedrock

TEXTS = tuple(f"text {i}" for i in range(7))


@pytest.mark.parametrize(
    ("request_", "size", "expected"),
    [
        (t.EmbeddingsRequest("m", TEXTS), None, [TEXTS]),
        (t.EmbeddingsRequest("m", TEXTS), 7, [TEXTS]),
        (t.EmbeddingsRequest("m", TEXTS), 3, [TEXTS[0:3], TEXTS[3:6], TEXTS[6:7]]),
        (t.EmbeddingsRequest("m", TEXTS), 1, [(text,) for text in TEXTS]),
        (t.EmbeddingsRequest("m", token_inputs=((1,), (2,), (3,))), 2, [((1,), (2,)), ((3,),)]),
    ],
)
def test_batches_split_in_order(request_, size, expected):
    batches = embedding_batches(request_, size)
    assert [b.inputs or b.token_inputs for b in batches] == expected
    assert all(b.model == "m" for b in batches)


def test_batches_merge_vectors_in_order_and_sum_usage():
    answers = [t.EmbeddingsResponse("m", ([1.0], [2.0]), t.Usage(prompt_tokens=3, total_tokens=3)),
               t.EmbeddingsResponse("", ([3.0],), None),
               t.EmbeddingsResponse("m", ([4.0],), t.Usage(prompt_tokens=1, total_tokens=1))]
    merged = merged_embeddings(answers)
    assert merged.vectors == ([1.0], [2.0], [3.0], [4.0]) and merged.model == "m"
    assert (merged.usage.prompt_tokens, merged.usage.total_tokens) == (4, 4)


@pytest.mark.parametrize(("slug", "model", "size"), [
    ("openai", "text-embedding-3-small", 2048), ("cohere", "embed-v4.0", 96), ("google", "gemini-embedding-001", 100),
    ("vertex-ai", "gemini-embedding-001", 1), ("vertex-ai", "text-embedding-005", 250),
    ("bedrock", "amazon.titan-embed-text-v2:0", 1), ("bedrock", "cohere.embed-english-v3", 96),
])
def test_batches_sizes_per_provider(slug, model, size):
    assert PROVIDERS[slug].embedding_batch_size(t.EmbeddingsRequest(model, ("x",))) == size


async def test_batches_titan_embeds_many_inputs_one_call_each():
    with FakeBedrock() as fake:
        target = t.Target("bedrock", base_url=fake.base_url, provider_options={
            "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret", "aws_region": "us-east-1"})
        transport = ProviderTransport()
        try:
            answer = await ProviderCall(transport).embed(t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", TEXTS),
                                                         t.CallContext("trace", target=target))
        finally:
            await transport.aclose()
        sent = sorted(r.json["inputText"] for r in fake.requests)
        singles = []
        for text in TEXTS:  # each input alone gives the vector the batch must hold at its position
            transport = ProviderTransport()
            try:
                one = await ProviderCall(transport).embed(t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", (text,)),
                                                          t.CallContext("trace", target=target))
            finally:
                await transport.aclose()
            singles.append(one.vectors[0])
    assert sent == sorted(TEXTS)  # one InvokeModel call per input
    assert list(answer.vectors) == singles and answer.usage.prompt_tokens > 0
