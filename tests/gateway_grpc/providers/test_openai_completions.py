"""Text completions in the OpenAI family (providers/openai_completions.py, Mistral's FIM in providers/mistral.py):
bodies as each host takes them, answers and stream chunks read back, refusals as 400s naming the field."""

import orjson
import pytest

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.base import SseEvent

OPENAI, MISTRAL = PROVIDERS["openai"], PROVIDERS["mistral-ai"]
TARGET = t.Target("openai", "sk-test")
REQUEST = CompletionRequest("gpt-3.5-turbo-instruct", "Say this is a test",
                            {"max_tokens": 7, "temperature": 0.0, "stop": ["\n"], "logit_bias": {"50256": -100}})


def _body(provider, request: CompletionRequest, *, stream: bool = False, target: t.Target = TARGET) -> dict:
    return orjson.loads(provider.encode_completion(request, target, stream=stream).body)


def test_openai_completions_encode_sends_openai_body_at_completions():
    call = OPENAI.encode_completion(REQUEST, TARGET, stream=False)
    assert (call.method, call.url) == ("POST", "https://api.openai.com/v1/completions")
    assert call.headers["authorization"] == "Bearer sk-test"
    assert orjson.loads(call.body) == {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test",
                                       "max_tokens": 7, "temperature": 0.0, "stop": ["\n"],
                                       "logit_bias": {"50256": -100}}


def test_openai_completions_encode_list_prompt_stream_usage_extras_and_overrides():
    request = CompletionRequest("m", ("a", "b"), {"n": 2}, {"top_k": 5}, include_usage=True)
    target = t.Target("openai", "k", override_params={"model": "forced", "temperature": 1})
    call = OPENAI.encode_completion(request, target, stream=True)
    assert call.headers["accept"] == "text/event-stream"
    assert orjson.loads(call.body) == {"model": "forced", "prompt": ["a", "b"], "n": 2, "top_k": 5, "stream": True,
                                       "stream_options": {"include_usage": True}, "temperature": 1}


@pytest.mark.parametrize(
    ("slug", "request_", "field"),
    [
        ("ollama", CompletionRequest("llama3", "x", {"logit_bias": {"1": 2}}), "logit_bias"),
        ("ollama", CompletionRequest("llama3", "x", {"n": 3}), "n"),
        ("cerebras", CompletionRequest("llama3", "x", {"presence_penalty": 1.0}), "presence_penalty"),
    ],
)
def test_openai_completions_hosts_refuse_what_their_dialect_refuses(slug, request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        PROVIDERS[slug].encode_completion(request_, t.Target(slug, "k"), stream=False)
    assert caught.value.violations[0].field == field
    assert slug in str(caught.value)


def test_openai_completions_host_urls_follow_the_row_or_the_custom_host():
    assert PROVIDERS["together-ai"].encode_completion(REQUEST, t.Target("together-ai"), stream=False).url == \
        "https://api.together.xyz/v1/completions"
    custom = t.Target("vllm", base_url="http://10.0.0.5:8000/v1")
    assert PROVIDERS["vllm"].encode_completion(REQUEST, custom, stream=False).url == \
        "http://10.0.0.5:8000/v1/completions"


ANSWER = {"id": "cmpl-1", "object": "text_completion", "created": 1700000000, "model": "gpt-3.5-turbo-instruct",
          "system_fingerprint": "fp_1", "warning": "deprecated",
          "choices": [{"text": " there", "index": 1, "logprobs": None, "finish_reason": "length"},
                      {"text": "This is a test", "index": 0, "logprobs": {"tokens": ["This"]},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


def test_openai_completions_decode_answer_keeps_choices_usage_and_unknown_keys():
    answer = OPENAI.decode_completion(orjson.dumps(ANSWER))
    assert answer == Completion("cmpl-1", 1700000000, "gpt-3.5-turbo-instruct", (
        CompletionChoice(1, " there", "length"), CompletionChoice(0, "This is a test", "stop", {"tokens": ["This"]}),
    ), t.Usage(5, 7, 12), "fp_1", {"warning": "deprecated"})


@pytest.mark.parametrize("body", [b"{}", b'{"choices": [{"text": "x"}]}', b'{"choices": 3}', b"[1]", b"nope"])
def test_openai_completions_decode_malformed_answer_is_502(body):
    with pytest.raises(e.ProviderBadResponse):
        OPENAI.decode_completion(body)


def test_openai_completions_stream_decoder_reads_chunks_usage_errors_and_done():
    decoder = OPENAI.completion_stream_decoder()
    chunk = {"id": "c", "object": "text_completion", "created": 1, "model": "m",
             "choices": [{"text": "Hel", "index": 0, "logprobs": None, "finish_reason": None}]}
    (first,) = decoder.decode(SseEvent("", orjson.dumps(chunk).decode()))
    assert first.choices == (CompletionChoice(0, "Hel"),) and first.usage is None
    usage = {**chunk, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    (last,) = decoder.decode(SseEvent("", orjson.dumps(usage).decode()))
    assert last.choices == () and last.usage == t.Usage(1, 2, 3)
    assert decoder.decode(SseEvent("", "[DONE]")) == [] and decoder.done
    with pytest.raises(e.ProviderRejected):
        error = '{"error": {"message": "boom", "type": "server_error"}}'
        OPENAI.completion_stream_decoder().decode(SseEvent("", error))
    with pytest.raises(e.ProviderBadResponse):
        OPENAI.completion_stream_decoder().decode(SseEvent("", '{"id": "c", "choices": [{"text": "x"}]}'))


# ---- Mistral FIM ----

MISTRAL_TARGET = t.Target("mistral-ai", "sk-m")


def test_mistral_fim_encode_goes_to_fim_completions_with_mistral_names():
    request = CompletionRequest("codestral-latest", "def add(a, b):", {"suffix": "print(add(1, 2))", "seed": 3,
                                                                      "max_tokens": 64, "stop": ["\n\n"]},
                                {"min_tokens": 2}, include_usage=True)
    call = MISTRAL.encode_completion(request, MISTRAL_TARGET, stream=True)
    assert call.url == "https://api.mistral.ai/v1/fim/completions"
    assert call.headers["authorization"] == "Bearer sk-m"
    assert orjson.loads(call.body) == {"model": "codestral-latest", "prompt": "def add(a, b):",
                                       "suffix": "print(add(1, 2))", "random_seed": 3, "max_tokens": 64,
                                       "stop": ["\n\n"], "min_tokens": 2, "stream": True}


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (CompletionRequest("codestral-latest", ("a", "b")), "prompt"),
        *[(CompletionRequest("codestral-latest", "a", {name: value}), name) for name, value in (
            ("n", 2), ("echo", True), ("logprobs", 2), ("best_of", 2), ("logit_bias", {"1": 1}), ("user", "u"),
            ("presence_penalty", 0.5), ("frequency_penalty", 0.5))],
    ],
)
def test_mistral_fim_refuses_what_fim_does_not_take(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        MISTRAL.encode_completion(request_, MISTRAL_TARGET, stream=False)
    assert caught.value.violations[0].field == field
    assert "mistral-ai" in str(caught.value)


def test_mistral_fim_answers_and_chunks_read_back_as_text():
    raw = {"id": "f1", "object": "chat.completion", "model": "codestral-latest", "created": 5,
           "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7},
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "return a + b"},
                        "finish_reason": "model_length"}]}
    assert MISTRAL.decode_completion(orjson.dumps(raw)) == Completion(
        "f1", 5, "codestral-latest", (CompletionChoice(0, "return a + b", "length"),), t.Usage(4, 3, 7))
    decoder = MISTRAL.completion_stream_decoder()
    chunk = {"id": "f1", "object": "chat.completion.chunk", "model": "codestral-latest", "created": 5,
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "return"}, "finish_reason": None}]}
    (piece,) = decoder.decode(SseEvent("", orjson.dumps(chunk).decode()))
    assert piece.choices == (CompletionChoice(0, "return"),)
    failed = {**chunk, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
    with pytest.raises(e.ProviderRejected):
        decoder.decode(SseEvent("", orjson.dumps(failed).decode()))
