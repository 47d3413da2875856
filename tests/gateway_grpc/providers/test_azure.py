"""Azure OpenAI (providers/azure.py): URLs from the target's options (every URL value charset-checked: contract §13
row 23), `api-key` or Entra bearer auth, OpenAI's body (strict oracle) and Azure's extras kept; then through the
real transport and through the gRPC server against the fake's Azure routes (which insist on `api-version` and
Azure's auth headers)."""

import orjson
import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.azure import DEFAULT_API_VERSION
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.v1 import chat_pb2, options_pb2
from tests import oracles
from tests.gateway_grpc.providers.test_openai import REQUESTS

AZURE = PROVIDERS["azure-openai"]
OPTIONS = {"resource_name": "my-res", "deployment_id": "gpt4o"}
TARGET = t.Target("azure-openai", "az-key", provider_options=OPTIONS)
TEXT = REQUESTS["text"]
VERSION = f"api-version={DEFAULT_API_VERSION}"


def _target(options: dict, base_url: str = "", key: str = "az-key") -> t.Target:
    return t.Target("azure-openai", key, base_url=base_url, provider_options=options)


URLS = [
    (OPTIONS, "", f"https://my-res.openai.azure.com/openai/deployments/gpt4o/chat/completions?{VERSION}"),
    ({**OPTIONS, "api_version": "2025-04-01-preview"}, "",
     "https://my-res.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2025-04-01-preview"),
    ({"deployment_id": "gpt-4o.mini_v2"}, "http://127.0.0.1:9/",
     f"http://127.0.0.1:9/openai/deployments/gpt-4o.mini_v2/chat/completions?{VERSION}"),
    ({"deployment_id": "d1", "resource_name": "ignored"}, "https://gw.example.com/azure",
     f"https://gw.example.com/azure/openai/deployments/d1/chat/completions?{VERSION}"),
]


@pytest.mark.parametrize(("options", "base_url", "url"), URLS)
def test_azure_url_from_resource_deployment_version_or_custom_host(options, base_url, url):
    assert AZURE.encode_chat(TEXT, _target(options, base_url), stream=False).url == url


INJECTIONS = [
    ("resource_name", "evil.com#"), ("resource_name", "evil.com/x"), ("resource_name", "a@evil.com"),
    ("resource_name", "res.evil"), ("resource_name", "res?x=1"), ("resource_name", "-res"), ("resource_name", "r"),
    ("resource_name", " res"), ("deployment_id", "../models"), ("deployment_id", "dep/../x"),
    ("deployment_id", "dep?x=1"), ("deployment_id", "dep#f"), ("deployment_id", "dep%2F"), ("deployment_id", "d" * 65),
    ("api_version", "2024-10-21&x=1"), ("api_version", "v1#frag"), ("api_version", "a b"),
]
HEADERS = {"resource_name": "x-portkey-azure-resource-name", "deployment_id": "x-portkey-azure-deployment-id",
           "api_version": "x-portkey-azure-api-version"}


@pytest.mark.parametrize(("option", "value"), INJECTIONS)
def test_azure_url_values_outside_azure_charsets_are_refused(option, value):
    with pytest.raises(e.InvalidRequest) as caught:
        AZURE.encode_chat(TEXT, _target({**OPTIONS, option: value}), stream=False)
    assert caught.value.violations[0].field == HEADERS[option]


@pytest.mark.parametrize(("options", "missing"), [({"deployment_id": "d"}, "resource_name"),
                                                  ({"resource_name": "res"}, "deployment_id")])
def test_azure_missing_option_is_a_400_naming_portkeys_header(options, missing):
    with pytest.raises(e.InvalidRequest) as caught:
        AZURE.encode_chat(TEXT, _target(options), stream=False)
    (violation,) = caught.value.violations
    assert violation.field == HEADERS[missing] and f"azure-openai needs {missing}" in violation.description


AUTH = [
    ({}, {"api-key": "az-key"}),
    ({"azure_ad_token": "eyJ0b2tlbg"}, {"authorization": "Bearer eyJ0b2tlbg"}),
    ({"azure_ad_token": "Bearer eyJ0b2tlbg", "azure_auth_mode": "entra"}, {"authorization": "Bearer eyJ0b2tlbg"}),
    ({"azure_auth_mode": "apiKey"}, {"api-key": "az-key"}),
]


@pytest.mark.parametrize(("options", "sent"), AUTH)
def test_azure_auth_is_api_key_or_entra_bearer(options, sent):
    headers = AZURE.encode_chat(TEXT, _target({**OPTIONS, **options}), stream=False).headers
    assert {k: v for k, v in headers.items() if k in ("api-key", "authorization")} == sent


def test_azure_unknown_auth_mode_is_refused():
    """entra, managed and workload mint tokens first (test_azure_auth.py, test_azure_tokens.py)."""
    with pytest.raises(e.InvalidRequest) as caught:
        AZURE.encode_chat(TEXT, _target({**OPTIONS, "azure_auth_mode": "kerberos"}), stream=False)
    assert caught.value.violations[0].field == "x-portkey-azure-auth-mode"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_azure_body_is_openais_and_passes_the_strict_sdk_types(case, stream):
    body = orjson.loads(AZURE.encode_chat(REQUESTS[case], TARGET, stream=stream).body)
    assert oracles.chat_request_errors(body) == []
    assert body["model"] == REQUESTS[case].model  # Azure accepts and ignores it


def test_azure_embeddings_and_models_urls():
    embeddings = AZURE.encode_embeddings(t.EmbeddingsRequest("text-embedding-3-small", ("a",)), TARGET)
    assert embeddings.url == f"https://my-res.openai.azure.com/openai/deployments/gpt4o/embeddings?{VERSION}"
    assert oracles.embeddings_request_errors(orjson.loads(embeddings.body)) == []
    models = AZURE.encode_list_models(_target({"resource_name": "my-res"}))  # no deployment needed
    assert (models.method, models.url) == ("GET", f"https://my-res.openai.azure.com/openai/models?{VERSION}")
    assert "content-type" not in models.headers and models.headers["api-key"] == "az-key"
    listed = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created_at": 1715558400,
                                          "status": "succeeded", "capabilities": {"chat_completion": True}}]}
    assert AZURE.decode_list_models(orjson.dumps(listed)) == [t.ModelInfo("gpt-4o", 1715558400, "")]


FILTERS = {"hate": {"filtered": False, "severity": "safe"}}
COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}],
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "content_filter_results": FILTERS,
                 "message": {"role": "assistant", "content": "hi", "refusal": None}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def test_azure_decode_keeps_content_filter_results_in_extras():
    oracles.check_chat_completion(COMPLETION, allow_extra=("prompt_filter_results",))
    response = AZURE.decode_chat(orjson.dumps(COMPLETION))
    assert dict(response.extra) == {"prompt_filter_results": COMPLETION["prompt_filter_results"]}
    assert dict(response.choices[0].extra) == {"content_filter_results": FILTERS}


def test_azure_decode_error_reads_its_openai_shaped_envelope():
    body = {"error": {"message": "The response was filtered", "type": None, "param": "prompt",
                      "code": "content_filter", "status": 400,
                      "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": FILTERS}}}
    error = AZURE.decode_error(400, orjson.dumps(body), {})
    assert (type(error), error.status, error.code, error.param) == (e.ProviderRejected, 400, "content_filter",
                                                                   "prompt")
    assert error.details == {"status": 400, "innererror": body["error"]["innererror"]}  # kept for the caller
    limited = AZURE.decode_error(429, b'{"error": {"code": "429", "message": "slow"}}', {"x-ms-retry-after-ms": "250"})
    assert type(limited) is e.RateLimited and limited.retry_after == 0.25


# --- against the fake's Azure routes (real HTTP) ------------------------------------------------------------------


@pytest_asyncio.fixture
async def provider_call():
    transport = ProviderTransport()
    try:
        yield ProviderCall(transport)
    finally:
        await transport.aclose()


def _ctx(upstream, **options) -> t.CallContext:
    key = options.pop("key", "sk-test")
    target = t.Target("azure-openai", key, base_url=upstream.origin, provider_options={"deployment_id": "dep1",
                                                                                       **options})
    return t.CallContext("trace", target=target)


async def test_azure_chat_stream_embeddings_and_models_against_the_fake(provider_call, upstream):
    response = await provider_call.complete(TEXT, _ctx(upstream))
    assert response.choices[0].message.content == "Echo: hello" and "prompt_filter_results" in response.extra
    sent = upstream.requests[-1]
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/dep1/chat/completions", {"api-version": DEFAULT_API_VERSION}, "sk-test")
    assert "authorization" not in sent.headers and sent.oracle_errors == []
    chunks = [c async for c in provider_call.stream(t.ChatRequest("gpt-4o", (t.Message("user", "a b"),),
                                                                  include_usage=True), _ctx(upstream))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: a b"
    assert chunks[-1].usage is not None
    vectors = await provider_call.embed(t.EmbeddingsRequest("text-embedding-3-small", ("x",)), _ctx(upstream))
    assert len(vectors.vectors[0]) == 16 and upstream.requests[-1].path == "/openai/deployments/dep1/embeddings"
    models = await provider_call.list_models(_ctx(upstream, api_version="2025-04-01-preview"))
    assert models and upstream.requests[-1].query == {"api-version": "2025-04-01-preview"}


async def test_azure_entra_token_and_a_bad_key_against_the_fake(provider_call, upstream):
    await provider_call.complete(TEXT, _ctx(upstream, key="", azure_ad_token="entra-token"))
    assert upstream.requests[-1].headers["authorization"] == "Bearer entra-token"
    with pytest.raises(e.ProviderRejected) as caught:
        await provider_call.complete(TEXT, _ctx(upstream, key="sk-bad"))
    assert caught.value.status == 401 and "Access denied" in caught.value.message


async def test_azure_through_the_grpc_server_with_portkeys_headers(gateway, upstream):
    request = chat_pb2.CreateChatCompletionRequest(
        model="gpt-4o", messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi azure")],
        options=options_pb2.RequestOptions(provider="azure-openai", custom_host=upstream.origin))
    metadata = (("authorization", "Bearer sk-test"), ("x-portkey-azure-deployment-id", "dep1"),
                ("x-portkey-azure-api-version", "2024-06-01"))
    response = await gateway.CreateChatCompletion(request, metadata=metadata)
    assert response.choices[0].message.text == "Echo: hi azure" and response.provider == "azure-openai"
    sent = upstream.requests[-1]
    assert (sent.path, sent.query["api-version"], sent.headers["api-key"]) == (
        "/openai/deployments/dep1/chat/completions", "2024-06-01", "sk-test")


def test_azure_stream_prelude_rides_on_the_first_real_chunk():
    from gateway_grpc.providers import PROVIDERS
    from gateway_grpc.types import ChatRequest, Message

    decoder = PROVIDERS["azure-openai"].chat_stream_decoder(ChatRequest("m", (Message("user", "hi"),)))
    prelude = {"id": "", "object": "", "created": 0, "model": "", "choices": [],
               "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}
    first = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    assert decoder.decode(SseEvent("", orjson.dumps(prelude).decode())) == []
    (chunk,) = decoder.decode(SseEvent("", orjson.dumps(first).decode()))
    assert chunk.id == "chatcmpl-1" and chunk.extra["prompt_filter_results"][0]["prompt_index"] == 0
    (later,) = decoder.decode(SseEvent("", orjson.dumps({**first, "id": "chatcmpl-1"}).decode()))
    assert "prompt_filter_results" not in later.extra  # once only
