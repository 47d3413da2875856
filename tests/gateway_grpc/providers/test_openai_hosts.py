"""The long tail of OpenAI-compatible hosts (providers/openai_hosts.py): one row per host proving its base URL, its
auth header and one quirk; then the rules every row shares, run alike for every host: bodies stay valid OpenAI
bodies for the strict SDK oracle, refused parameters are 400s naming the host and the parameter (never dropped),
renames are applied, unknown parameters pass through."""

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.openai_hosts import OPENAI_HOSTS
from tests import oracles
from tests.gateway_grpc.providers.test_openai import REQUESTS

USER = t.Message("user", "hello")
# Portkey's VALID_PROVIDERS (src/globals.ts) minus `portkey` and `cortex`, which have no module (contract §13 row 29).
_PORTKEY_VALID_PROVIDERS = """
    anthropic anyscale azure-openai cohere google vertex-ai mistral-ai openai palm perplexity-ai reka-ai together-ai
    deepinfra ncompass stability-ai nomic ollama ai21 bedrock groq segmind jina fireworks-ai workers-ai moonshot
    openrouter lingyi zhipu novita-ai monsterapi deepseek predibase triton voyage azure-ai github deepbricks
    siliconflow huggingface cerebras inference-net sambanova lemonfox-ai upstage lambda dashscope x-ai sagemaker
    nebius recraft-ai milvus replicate lepton kluster-ai nscale hyperbolic bytez featherless-ai krutrim qdrant 302ai
    cometapi matterai meshy tripo3d nextbit modal z-ai
"""
PORTKEY_SLUGS = frozenset(_PORTKEY_VALID_PROVIDERS.split())
OUR_SLUGS = frozenset({"vllm", "lm-studio"})  # OpenAI-compatible servers Portkey reaches only through `openai`
LOCAL = frozenset({"ollama", "vllm", "lm-studio"})


@dataclass(frozen=True)
class Quirk:
    """A request that exercises one departure: the params to set, and either the 400 (field, description) it must
    raise or the body keys it must produce (a None value: the key must be absent)."""

    params: dict[str, Any] = field(default_factory=dict)
    messages: tuple[t.Message, ...] = (USER,)
    tools: tuple[t.Tool, ...] = ()
    refused: tuple[str, str] | None = None
    body: dict[str, Any] = field(default_factory=dict)


DEVELOPER = Quirk(messages=(t.Message("developer", "be brief"), USER),
                  body={"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]})
MAX_TOKENS = Quirk(params={"max_completion_tokens": 7}, body={"max_tokens": 7, "max_completion_tokens": None})
LOOKUP = t.FunctionTool("lookup", parameters={"type": "object", "properties": {}})

HOSTS = [
    ("groq", "https://api.groq.com/openai/v1", Quirk(params={"logprobs": True},
                                                      refused=("logprobs", "groq does not support logprobs"))),
    ("deepseek", "https://api.deepseek.com", MAX_TOKENS),
    ("together-ai", "https://api.together.xyz/v1", DEVELOPER),
    ("fireworks-ai", "https://api.fireworks.ai/inference/v1", DEVELOPER),
    ("openrouter", "https://openrouter.ai/api/v1", DEVELOPER),
    ("perplexity-ai", "https://api.perplexity.ai", Quirk(tools=(LOOKUP,),
                                                          refused=("tools", "perplexity-ai does not support tools"))),
    ("x-ai", "https://api.x.ai/v1", DEVELOPER),
    ("cerebras", "https://api.cerebras.ai/v1", Quirk(params={"presence_penalty": 0.5}, refused=(
        "presence_penalty", "cerebras does not support presence_penalty"))),
    ("sambanova", "https://api.sambanova.ai/v1", Quirk(params={"n": 2},
                                                        refused=("n", "sambanova does not support n > 1"))),
    ("deepinfra", "https://api.deepinfra.com/v1/openai", DEVELOPER),
    ("nebius", "https://api.studio.nebius.ai/v1", DEVELOPER),
    ("hyperbolic", "https://api.hyperbolic.xyz/v1", DEVELOPER),
    ("lambda", "https://api.lambda.ai/v1", DEVELOPER),
    ("novita-ai", "https://api.novita.ai/v3/openai", DEVELOPER),
    ("siliconflow", "https://api.siliconflow.cn/v1", DEVELOPER),
    ("moonshot", "https://api.moonshot.cn/v1", DEVELOPER),
    ("zhipu", "https://open.bigmodel.cn/api/paas/v4", DEVELOPER),
    ("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", DEVELOPER),
    ("huggingface", "https://router.huggingface.co/v1", DEVELOPER),
    ("ollama", "http://localhost:11434/v1", MAX_TOKENS),
    ("vllm", "http://localhost:8000/v1", DEVELOPER),
    ("lm-studio", "http://localhost:1234/v1", DEVELOPER),
]


def _request(quirk: Quirk) -> t.ChatRequest:
    return t.ChatRequest("some-model", quirk.messages, tools=quirk.tools, params=quirk.params)


@pytest.mark.parametrize(("slug", "base_url", "quirk"), HOSTS, ids=[row[0] for row in HOSTS])
def test_openai_hosts_row_base_url_auth_and_quirk(slug, base_url, quirk):
    provider = PROVIDERS[slug]
    plain = provider.encode_chat(t.ChatRequest("some-model", (USER,)), t.Target(slug, "sk-1"), stream=False)
    assert plain.url == f"{base_url}/chat/completions"
    assert plain.headers["authorization"] == "Bearer sk-1"
    assert provider.encode_list_models(t.Target(slug, "sk-1")).url == f"{base_url}/models"
    if quirk.refused:
        with pytest.raises(e.InvalidRequest) as caught:
            provider.encode_chat(_request(quirk), t.Target(slug, "sk-1"), stream=False)
        assert [(v.field, v.description) for v in caught.value.violations] == [quirk.refused]
        return
    body = orjson.loads(provider.encode_chat(_request(quirk), t.Target(slug, "sk-1"), stream=False).body)
    for key, value in quirk.body.items():
        assert body.get(key) == value, key
    assert oracles.chat_request_errors(body) == []


def test_openai_hosts_table_covers_every_row_and_slugs_are_portkeys():
    assert sorted(row[0] for row in HOSTS) == sorted(h.name for h in OPENAI_HOSTS)
    assert all(PROVIDERS[h.name] is h for h in OPENAI_HOSTS), "a row is shadowed by another registry entry"
    assert set(PROVIDERS) - PORTKEY_SLUGS == OUR_SLUGS


@pytest.mark.parametrize("slug", sorted(LOCAL))
def test_openai_hosts_local_servers_get_no_auth_header_without_a_key(slug):
    call = PROVIDERS[slug].encode_chat(t.ChatRequest("m", (USER,)), t.Target(slug), stream=True)
    assert "authorization" not in call.headers and call.headers["accept"] == "text/event-stream"


def test_openai_hosts_custom_host_replaces_the_base_url():
    target = t.Target("huggingface", "hf_1", base_url="http://tgi.internal:8080/v1/")
    assert PROVIDERS["huggingface"].encode_chat(REQUESTS["text"], target, stream=False).url == (
        "http://tgi.internal:8080/v1/chat/completions")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
@pytest.mark.parametrize("host", OPENAI_HOSTS, ids=lambda h: h.name)
def test_openai_hosts_bodies_stay_valid_openai_bodies_or_name_what_the_host_refuses(host, case, stream):
    """Every shared request through every host: a strict-oracle-valid body, or a 400 naming a refused parameter."""
    try:
        call = host.encode_chat(REQUESTS[case], t.Target(host.name, "k"), stream=stream)
    except e.InvalidRequest as error:
        (violation,) = error.violations
        field_name = violation.field.split(".")[-1]
        assert field_name in host.dialect.rejects | host.dialect.message_rejects | {"n"}, violation
        assert violation.description.startswith(f"{host.name} does not support ")
        return
    body = orjson.loads(call.body)
    assert oracles.chat_request_errors(body) == []
    assert all(m["role"] != "developer" for m in body["messages"])


@pytest.mark.parametrize("host", OPENAI_HOSTS, ids=lambda h: h.name)
def test_openai_hosts_pass_unknown_parameters_through(host):
    request = t.ChatRequest("m", (USER,), extra={"top_k": 40, "repetition_penalty": 1.1, "safe_prompt": True})
    body = orjson.loads(host.encode_chat(request, t.Target(host.name, "k"), stream=False).body)
    assert (body["top_k"], body["repetition_penalty"], body["safe_prompt"]) == (40, 1.1, True)


def test_openai_hosts_override_params_are_checked_too():
    target = t.Target("groq", "k", override_params={"logit_bias": {"1": 5}})
    with pytest.raises(e.InvalidRequest, match="groq does not support logit_bias"):
        PROVIDERS["groq"].encode_chat(t.ChatRequest("m", (USER,)), target, stream=False)


def test_openai_hosts_null_refused_parameter_is_the_default_and_leaves():
    request = t.ChatRequest("m", (USER,), params={"logprobs": None, "n": 1})
    body = orjson.loads(PROVIDERS["groq"].encode_chat(request, t.Target("groq", "k"), stream=False).body)
    assert "logprobs" not in body and body["n"] == 1


def test_openai_hosts_message_keys_the_host_refuses_are_named_with_their_path():
    request = t.ChatRequest("m", (t.Message("system", "s"), t.Message("user", "hi", name="ann")))
    with pytest.raises(e.InvalidRequest) as caught:
        PROVIDERS["groq"].encode_chat(request, t.Target("groq", "k"), stream=False)
    assert caught.value.violations[0].field == "messages[1].name"


def test_openai_hosts_rename_conflict_is_a_400_not_a_silent_choice():
    request = t.ChatRequest("m", (USER,), params={"max_tokens": 5, "max_completion_tokens": 9})
    with pytest.raises(e.InvalidRequest) as caught:
        PROVIDERS["deepseek"].encode_chat(request, t.Target("deepseek", "k"), stream=False)
    assert caught.value.violations[0].field == "max_completion_tokens"


ERROR_ENVELOPES = [
    ({"error": {"message": "bad", "type": "invalid_request_error", "param": "n", "code": None}}, "bad", "n"),
    ({"object": "error", "message": "Invalid model", "type": "invalid_model", "param": None, "code": "1500"},
     "Invalid model", ""),
    ({"error": "model 'x' not found"}, "model 'x' not found", ""),  # Ollama, Hugging Face TGI
]


@pytest.mark.parametrize(("envelope", "message", "param"), ERROR_ENVELOPES)
def test_openai_hosts_decode_each_hosts_error_envelope(envelope, message, param):
    error = PROVIDERS["ollama"].decode_error(404, orjson.dumps(envelope), {})
    assert type(error) is e.ProviderRejected and error.status == 404
    assert (error.message, error.param) == (f"ollama error: {message}", param)
