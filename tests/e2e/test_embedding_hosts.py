"""Embeddings-only hosts through the whole stack: the official openai SDK (which asks the edge for base64 vectors by
default) against voyage and jina rows, the fake's Voyage and Jina routes behind; the vectors come back as floats."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.embeddings_upstream import DEFAULT_DIMENSIONS, vector

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("slug", "path", "extra"), [("voyage", "/voyage/v1", {"input_type": "query"}),
                                                     ("jina", "/jina/v1", {"task": "retrieval.query"})])
@pytest.mark.parametrize("encoding", [openai.NOT_GIVEN, "float"], ids=["sdk-default-base64", "float"])
def test_embedding_hosts_through_the_stack(gateway_stack, upstream, slug, path, extra, encoding):
    headers = {"x-portkey-provider": slug, "x-portkey-custom-host": f"{upstream.origin}{path}"}
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0,
                       default_headers=headers) as sdk:
        raw = sdk.embeddings.with_raw_response.create(model="embed-1", input=["hello world", "x"], extra_body=extra,
                                                      encoding_format=encoding)
    answer = raw.parse()
    wire = raw.http_response.json()["data"][0]["embedding"]  # the SDK asks for base64 unless told otherwise
    assert isinstance(wire, list if encoding == "float" else str)
    for item, text in zip(answer.data, ["hello world", "x"], strict=True):
        assert item.embedding == pytest.approx(vector(text, DEFAULT_DIMENSIONS), rel=1e-6)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 3 and raw.headers["x-portkey-provider"] == slug
    sent = upstream.requests[-1].json
    assert "encoding_format" not in sent and {key: sent[key] for key in extra} == extra


def test_embedding_hosts_refuse_chat_through_the_stack(gateway_stack):
    with openai.OpenAI(base_url=gateway_stack.openai_url, api_key="sk-test", max_retries=0,
                       default_headers={"x-portkey-provider": "voyage"}) as sdk, \
            pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="voyage-3.5", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["message"] == "model: voyage does not support chat completions"
