"""Mistral (providers/mistral.py): its renames and refusals, 9-character tool call ids, finish reasons and error
envelope as pure translation; then through the real transport against the fake's Mistral dialect, which refuses
what Mistral's API refuses (unknown keys, roles, tool call ids), so a success there proves the body is Mistral's."""

import re

import orjson
import pytest
import pytest_asyncio

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.mistral import mistral_tool_id
from gateway_grpc.providers.transport import ProviderTransport
from tests import oracles
from tests.fakes.openai_flavors import MISTRAL_KEYS, mistral_tool_call_id
from tests.gateway_grpc.providers.test_openai import REQUESTS

MISTRAL = PROVIDERS["mistral-ai"]
TARGET = t.Target("mistral-ai", "sk-test")
USER = t.Message("user", "hello there")
TOOL = t.FunctionTool("lookup", "find things", {"type": "object", "properties": {"q": {"type": "string"}}})
NINE = re.compile(r"[A-Za-z0-9]{9}")


def _body(request: t.ChatRequest, *, stream: bool = False, target: t.Target = TARGET) -> dict:
    return orjson.loads(MISTRAL.encode_chat(request, target, stream=stream).body)


def _as_openai(body: dict) -> dict:
    """Mistral's spelling read back as OpenAI's (its own keys left out): what the strict OpenAI oracle can judge."""
    out = {k: v for k, v in body.items() if k not in ("safe_prompt", "prompt_mode")}
    if "random_seed" in out:
        out["seed"] = out.pop("random_seed")
    return out


def test_mistral_encode_renames_and_keeps_an_openai_shaped_body():
    request = t.ChatRequest("mistral-small-latest", (t.Message("developer", "be brief"), USER), tools=(TOOL,),
                            params={"max_completion_tokens": 20, "seed": 7, "n": 2, "parallel_tool_calls": False,
                                    "temperature": 0.2},
                            extra={"safe_prompt": True, "prompt_mode": "reasoning"}, include_usage=True)
    body = _body(request, stream=True)
    assert (body["max_tokens"], body["random_seed"], body["n"], body["parallel_tool_calls"]) == (20, 7, 2, False)
    assert "max_completion_tokens" not in body and "seed" not in body
    assert "stream_options" not in body  # Mistral reports stream usage unasked and refuses the key
    assert body["safe_prompt"] is True and body["prompt_mode"] == "reasoning"  # unknown to OpenAI: passed through
    assert body["messages"][0]["role"] == "system"
    assert set(body) <= MISTRAL_KEYS
    assert oracles.chat_request_errors(_as_openai(body)) == []


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_mistral_every_shared_request_is_mistrals_and_openai_valid_or_named_as_refused(case, stream):
    request = REQUESTS[case]
    try:
        body = _body(request, stream=stream)
    except e.InvalidRequest as error:
        assert error.violations[0].field in MISTRAL.dialect.rejects, error
        return
    assert set(body) <= MISTRAL_KEYS | set(request.extra)  # keys unknown to the gateway pass through as they are
    assert oracles.chat_request_errors(_as_openai(body)) == []
    ids = [c["id"] for m in body["messages"] for c in m.get("tool_calls") or ()]
    ids += [m["tool_call_id"] for m in body["messages"] if "tool_call_id" in m]
    assert all(NINE.fullmatch(i) for i in ids)


@pytest.mark.parametrize("param", ["logprobs", "top_logprobs", "logit_bias", "user", "service_tier", "store",
                                   "metadata", "reasoning_effort"])
def test_mistral_encode_refuses_what_mistral_lacks_by_name(param):
    with pytest.raises(e.InvalidRequest) as caught:
        MISTRAL.encode_chat(t.ChatRequest("m", (USER,), params={param: 1}), TARGET, stream=False)
    assert [(v.field, v.description) for v in caught.value.violations] == [
        (param, f"mistral-ai does not support {param}")]


TOOL_IDS = ["call_1", "call_abc123XYZ", "toolu_01A09q90qw90lq917835lq9", "", "x" * 200, "call-1", "call_2"]


def test_mistral_tool_ids_are_nine_characters_deterministic_and_distinct():
    mapped = [mistral_tool_id(i) for i in TOOL_IDS]
    assert all(NINE.fullmatch(m) for m in mapped)
    assert mapped == [mistral_tool_id(i) for i in TOOL_IDS]
    assert len(set(mapped)) == len(TOOL_IDS)
    assert mistral_tool_id("abcDEF123") == "abcDEF123"  # Mistral's own ids come back unchanged


def test_mistral_encode_maps_caller_tool_ids_the_same_way_in_calls_and_results():
    request = t.ChatRequest("m", (
        USER,
        t.Message("assistant", None, tool_calls=(t.ToolCall("call_1", "lookup", "{}"),
                                                 t.ToolCall("k9Xc2LmQz", "lookup", '{"q":"x"}'))),
        t.Message("tool", "42", tool_call_id="call_1"),
        t.Message("tool", "43", tool_call_id="k9Xc2LmQz"),
    ), tools=(TOOL,))
    messages = _body(request)["messages"]
    calls = [c["id"] for c in messages[1]["tool_calls"]]
    assert calls == [mistral_tool_id("call_1"), "k9Xc2LmQz"]
    assert [messages[2]["tool_call_id"], messages[3]["tool_call_id"]] == calls


def test_mistral_encode_embeddings_renames_dimensions():
    body = orjson.loads(MISTRAL.encode_embeddings(t.EmbeddingsRequest("mistral-embed", ("a",), dimensions=8),
                                                  TARGET).body)
    assert body["output_dimension"] == 8 and "dimensions" not in body
    with pytest.raises(e.InvalidRequest, match="mistral-ai does not support user"):
        MISTRAL.encode_embeddings(t.EmbeddingsRequest("mistral-embed", ("a",), user="u"), TARGET)


def _completion(finish: str, tool_calls: list | None = None) -> dict:
    message = {"role": "assistant", "content": "" if tool_calls else "hi", "tool_calls": tool_calls, "prefix": False}
    return {"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "mistral-small-latest",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


@pytest.mark.parametrize(("mistral", "openai"), [("stop", "stop"), ("length", "length"), ("model_length", "length"),
                                                 ("tool_calls", "tool_calls")])
def test_mistral_decode_maps_finish_reasons(mistral, openai):
    assert MISTRAL.decode_chat(orjson.dumps(_completion(mistral))).choices[0].finish_reason == openai
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": mistral}]}
    decoded = MISTRAL.chat_stream_decoder().decode(SseEvent("", orjson.dumps(chunk).decode()))
    assert decoded[0].choices[0].finish_reason == openai


def test_mistral_decode_reports_mistral_tool_ids_unchanged():
    calls = [{"id": "k9Xc2LmQz", "type": "function", "function": {"name": "lookup", "arguments": "{}"}, "index": 0}]
    message = MISTRAL.decode_chat(orjson.dumps(_completion("tool_calls", calls))).choices[0].message
    assert message.tool_calls[0].id == "k9Xc2LmQz"


def test_mistral_finish_reason_error_is_an_upstream_failure_not_a_stop():
    with pytest.raises(e.ProviderRejected) as caught:
        MISTRAL.decode_chat(orjson.dumps(_completion("error")))
    assert caught.value.http_status == 502 and caught.value.provider == "mistral-ai"
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}
    with pytest.raises(e.ProviderRejected):
        MISTRAL.chat_stream_decoder().decode(SseEvent("", orjson.dumps(chunk).decode()))


def test_mistral_decode_error_reads_its_validation_envelope():
    detail = [{"type": "extra_forbidden", "loc": ["body", "foo"], "msg": "Extra inputs are not permitted"}]
    body = {"object": "error", "message": {"detail": detail}, "type": "invalid_request_message_error",
            "param": None, "code": None}
    error = MISTRAL.decode_error(422, orjson.dumps(body), {})
    assert type(error) is e.ProviderRejected and error.status == 422
    assert "Extra inputs are not permitted" in error.message and error.error_type == "invalid_request_message_error"


# --- against the fake's Mistral dialect (real HTTP) ----------------------------------------------------------------


@pytest_asyncio.fixture
async def provider_call():
    transport = ProviderTransport()
    try:
        yield ProviderCall(transport)
    finally:
        await transport.aclose()


def _ctx(upstream, key: str = "sk-test") -> t.CallContext:
    return t.CallContext("trace", target=t.Target("mistral-ai", key, base_url=upstream.mistral_url))


async def test_mistral_tool_loop_against_the_fake_mistral(provider_call, upstream):
    asked = t.ChatRequest("mistral-small-latest", (USER,), tools=(TOOL,), params={"seed": 3},
                          extra={"safe_prompt": True})
    first = await provider_call.complete(asked, _ctx(upstream))
    call = first.choices[0].message.tool_calls[0]
    assert call.id == mistral_tool_call_id(0) and first.choices[0].finish_reason == "tool_calls"
    answered = t.ChatRequest("mistral-small-latest", (
        USER, t.Message("assistant", None, tool_calls=(call, t.ToolCall("call_from_openai", "lookup", "{}"))),
        t.Message("tool", "42", tool_call_id=call.id), t.Message("tool", "7", tool_call_id="call_from_openai"),
    ), tools=(TOOL,))
    second = await provider_call.complete(answered, _ctx(upstream))
    assert second.choices[0].message.content == "Echo: hello there"
    sent = upstream.requests[-1]
    assert sent.path == "/mistral/v1/chat/completions" and sent.oracle_errors == []
    assert sent.json["messages"][1]["tool_calls"][0]["id"] == call.id
    assert upstream.requests[0].json["random_seed"] == 3 and upstream.requests[0].json["safe_prompt"] is True


async def test_mistral_stream_against_the_fake_mistral_reports_usage(provider_call, upstream):
    request = t.ChatRequest("mistral-small-latest", (USER,), params={"max_completion_tokens": 50},
                            include_usage=True)
    chunks = [c async for c in provider_call.stream(request, _ctx(upstream))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert "stream_options" not in upstream.requests[-1].json and upstream.requests[-1].json["max_tokens"] == 50


async def test_mistral_fake_refuses_what_the_gateway_never_sends(provider_call, upstream):
    """The fake's Mistral rules are real rules: a key Mistral lacks, sent as an override, comes back as its 422."""
    ctx = _ctx(upstream)
    ctx.target = t.Target("mistral-ai", "sk-test", base_url=upstream.mistral_url, override_params={"top_k": 5})
    with pytest.raises(e.ProviderRejected) as caught:
        await provider_call.complete(t.ChatRequest("m", (USER,)), ctx)
    assert caught.value.status == 422 and "Extra inputs are not permitted" in caught.value.message


async def test_mistral_embeddings_against_the_fake_mistral(provider_call, upstream):
    request = t.EmbeddingsRequest("mistral-embed", inputs=("a", "b"), dimensions=8)
    answer = await provider_call.embed(request, _ctx(upstream))
    assert len(answer.vectors) == 2 and len(answer.vectors[0]) == 8
    sent = upstream.requests[-1]
    assert sent.json["output_dimension"] == 8 and "dimensions" not in sent.json and sent.oracle_errors == []
