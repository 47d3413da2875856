"""The Bedrock translator: every Converse body passes botocore's service model (tests/oracles_bedrock), matches what
boto3 would send for the same call, and is SigV4-signed as botocore verifies; every decoded fixture is first proven
Converse-shaped and every result OpenAI-shaped (tests/oracles); errors decode into the right typed error; and the
whole path runs through the real transport against the loopback fake (tests/fakes/bedrock_upstream)."""

import base64
import itertools
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson
import pytest

from edge.openai_response import chat_chunk_json, chat_completion_json
from gateway_grpc import convert
from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers.bedrock import Bedrock
from gateway_grpc.providers.eventstream import AwsEventStreamDecoder
from gateway_grpc.providers.transport import ProviderTransport
from tests import oracles
from tests import oracles_bedrock as aws
from tests.fakes.bedrock_upstream import FakeBedrock, encode_event, encode_exception, encode_frame

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
KEYS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
TARGET = t.Target("bedrock", provider_options=KEYS)
SECRETS = {"AKIDEXAMPLE": "secret"}
USER = t.Message("user", "hello")
LOOKUP = t.FunctionTool("lookup", "find things", {"type": "object", "properties": {"q": {"type": "string"}},
                                                  "required": ["q"]})
PNG = b"\x89PNG\r\n"


def bedrock() -> Bedrock:
    ids = itertools.count(1)
    return Bedrock(now=lambda: NOW, new_id=lambda: f"chatcmpl-{next(ids)}")


def body_of(call) -> dict:
    return orjson.loads(call.body)


REQUESTS = {
    "text": t.ChatRequest(MODEL, (t.Message("system", "be brief"), USER)),
    "developer_mid_conversation": t.ChatRequest(MODEL, (USER, t.Message("assistant", "hi"),
                                                        t.Message("developer", "answer in French"), USER)),
    "multimodal": t.ChatRequest(MODEL, (t.Message("user", (
        t.TextPart("what is this?"),
        t.ImagePart(url="data:image/PNG;name=a.png;base64," + base64.b64encode(PNG).decode()),
        t.ImagePart(data=b"GIF89a", media_type="image/gif", detail="auto"),
        t.FilePart(data=b"%PDF-1.4", media_type="application/pdf", filename="q3 report.v2.pdf"),
        t.FilePart(url="data:text/plain,hello%20there", filename="notes.txt"),
        t.AudioPart(b"RIFF", "wav"),
    )),)),
    "tools": t.ChatRequest(
        MODEL,
        (USER,
         t.Message("assistant", "", tool_calls=(t.ToolCall("call_1", "lookup", '{"q": "x"}'),
                                                 t.ToolCall("call_2", "lookup", ""))),
         t.Message("tool", "42", tool_call_id="call_1"),
         t.Message("tool", (t.TextPart("none"),), tool_call_id="call_2"),
         t.Message("user", "thanks")),
        tools=(LOOKUP, t.FunctionTool("ping")),
        tool_choice=t.ToolChoice(function_name="lookup"),
    ),
    "sampling": t.ChatRequest(MODEL, (USER,), params={
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 20, "stop": "END", "n": 1, "logprobs": False,
        "parallel_tool_calls": True, "store": False, "metadata": {"team": "a"}, "service_tier": "priority",
        "reasoning_effort": "high"}),
    "json_schema": t.ChatRequest(MODEL, (USER,), response_format=t.ResponseFormat(
        "json_schema", t.JsonSchemaFormat("answer", {"type": "object", "properties": {}}, "the answer", True))),
    "extras": t.ChatRequest(MODEL, (USER,), extra={
        "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "additionalModelRequestFields": {"anthropic_beta": ["x"]},
        "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"}}),
    "cache_and_reasoning": t.ChatRequest(MODEL, (
        t.Message("system", (t.TextPart("long rules", {"cache_control": {"type": "ephemeral", "ttl": "1h"}}),)),
        USER,
        t.Message("assistant", "ok", reasoning_content="thinking", extra={"reasoning_signature": "c2ln",
                                                                           "redacted_reasoning": ["cmVk"]}),
        t.Message("user", (t.TextPart("more", {"cache_control": {"type": "ephemeral"}}),)))),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_bedrock_encode_chat_passes_the_service_model_and_is_signed(case, stream):
    call = bedrock().encode_chat(REQUESTS[case], TARGET, stream=stream)
    assert aws.converse_request_errors(MODEL, body_of(call), stream=stream) == []
    action = "converse-stream" if stream else "converse"
    assert call.method == "POST"
    assert call.url == f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{MODEL.replace(':', '%3A')}/{action}"
    headers = {**call.headers, "host": urlsplit(call.url).netloc}
    assert aws.signature_errors("POST", call.url, headers, call.body, SECRETS) == []
    assert call.headers["x-amz-date"] == "20260102T030405Z"
    assert call.headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=")


def test_bedrock_oracle_rejects_what_converse_rejects():
    assert aws.converse_request_errors(MODEL, {"messages": [], "inferenceConfig": {"max_tokens": 5}}) == [
        "Unknown parameter in inferenceConfig: \"max_tokens\", must be one of: maxTokens, temperature, topP, "
        "stopSequences"]
    image = {"image": {"format": "bmp", "source": {"bytes": "AA=="}}}
    assert aws.converse_request_errors(MODEL, {"messages": [{"role": "user", "content": [image]}]}) == [
        "$.messages[0].content[0].image.format: 'bmp' not in ['png', 'jpeg', 'gif', 'webp']"]


# --- exact bodies -----------------------------------------------------------------------------------------------


def test_bedrock_encode_chat_hoists_system_and_merges_turns():
    body = body_of(bedrock().encode_chat(REQUESTS["developer_mid_conversation"], TARGET, stream=False))
    assert body == {"messages": [{"role": "user", "content": [{"text": "hello"}]},
                                 {"role": "assistant", "content": [{"text": "hi"}]},
                                 {"role": "user", "content": [{"text": "hello"}]}],
                    "system": [{"text": "answer in French"}]}
    tools = body_of(bedrock().encode_chat(REQUESTS["tools"], TARGET, stream=False))
    assert tools["messages"][1:] == [
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "call_1", "name": "lookup", "input": {"q": "x"}}},
            {"toolUse": {"toolUseId": "call_2", "name": "lookup", "input": {}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "call_1", "content": [{"text": "42"}]}},
            {"toolResult": {"toolUseId": "call_2", "content": [{"text": "none"}]}},
            {"text": "thanks"}]}]
    assert tools["toolConfig"] == {"tools": [
        {"toolSpec": {"name": "lookup", "description": "find things",
                      "inputSchema": {"json": dict(LOOKUP.parameters)}}},
        {"toolSpec": {"name": "ping", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
        "toolChoice": {"tool": {"name": "lookup"}}}


def test_bedrock_encode_chat_maps_parts_params_formats_and_extras():
    bodies = {case: body_of(bedrock().encode_chat(REQUESTS[case], TARGET, stream=False)) for case in REQUESTS}
    assert bodies["multimodal"]["messages"][0]["content"] == [
        {"text": "what is this?"},
        {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}},
        {"image": {"format": "gif", "source": {"bytes": base64.b64encode(b"GIF89a").decode()}}},
        {"document": {"format": "pdf", "name": "q3 report v2", "source": {"bytes": "JVBERi0xLjQ="}}},
        {"document": {"format": "txt", "name": "notes",
                      "source": {"bytes": base64.b64encode(b"hello there").decode()}}},
        {"audio": {"format": "wav", "source": {"bytes": "UklGRg=="}}}]
    sampling = bodies["sampling"]
    assert sampling["inferenceConfig"] == {"temperature": 0.3, "topP": 0.9, "maxTokens": 20, "stopSequences": ["END"]}
    assert (sampling["requestMetadata"], sampling["serviceTier"], sampling["outputConfig"]) == (
        {"team": "a"}, {"type": "priority"}, {"effort": "high"})
    assert bodies["json_schema"]["outputConfig"] == {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
        "schema": '{"type":"object","properties":{}}', "name": "answer", "description": "the answer"}}}}
    assert bodies["extras"]["additionalModelRequestFields"] == {
        "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 1024}, "anthropic_beta": ["x"]}
    assert bodies["extras"]["guardrailConfig"]["guardrailIdentifier"] == "g1"
    cached = bodies["cache_and_reasoning"]
    assert cached["system"] == [{"text": "long rules"}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
    assert cached["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "thinking", "signature": "c2ln"}}},
        {"reasoningContent": {"redactedContent": "cmVk"}}, {"text": "ok"}]
    assert cached["messages"][2]["content"] == [{"text": "more"}, {"cachePoint": {"type": "default"}}]


BOTO3_CASES = [
    ("text", {"system": [{"text": "be brief"}], "messages": [{"role": "user", "content": [{"text": "hello"}]}]}),
    ("multimodal", {"messages": [{"role": "user", "content": [
        {"text": "what is this?"}, {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "gif", "source": {"bytes": b"GIF89a"}}},
        {"document": {"format": "pdf", "name": "q3 report v2", "source": {"bytes": b"%PDF-1.4"}}},
        {"document": {"format": "txt", "name": "notes", "source": {"bytes": b"hello there"}}},
        {"audio": {"format": "wav", "source": {"bytes": b"RIFF"}}}]}]}),
    ("sampling", {"messages": [{"role": "user", "content": [{"text": "hello"}]}],
                  "inferenceConfig": {"temperature": 0.3, "topP": 0.9, "maxTokens": 20, "stopSequences": ["END"]},
                  "requestMetadata": {"team": "a"}, "serviceTier": {"type": "priority"},
                  "outputConfig": {"effort": "high"}}),
]


@pytest.mark.parametrize(("case", "boto3_params"), BOTO3_CASES, ids=[c for c, _ in BOTO3_CASES])
def test_bedrock_encode_chat_sends_what_boto3_sends(case, boto3_params):
    ours = bedrock().encode_chat(REQUESTS[case], TARGET, stream=False)
    theirs = aws.serialized("Converse", {"modelId": MODEL, **boto3_params})
    assert urlsplit(ours.url).path == theirs["url_path"]
    assert body_of(ours) == json.loads(theirs["body"])
    assert ours.headers["content-type"] == theirs["headers"]["Content-Type"]


def test_bedrock_model_ids_are_percent_encoded_like_boto3():
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    for model in (arn, "a/../../b?x#y"):
        call = bedrock().encode_chat(t.ChatRequest(model, (USER,)), TARGET, stream=True)
        assert urlsplit(call.url).path == aws.serialized("ConverseStream", {"modelId": model, "messages": []})[
            "url_path"]
        assert urlsplit(call.url).query == "" and urlsplit(call.url).fragment == ""


# --- refusals ---------------------------------------------------------------------------------------------------

BAD = [
    (t.ChatRequest(MODEL, (USER,), params={"n": 2}), "n"),
    (t.ChatRequest(MODEL, (USER,), params={"seed": 1}), "seed"),
    (t.ChatRequest(MODEL, (USER,), params={"presence_penalty": 0.1}), "presence_penalty"),
    (t.ChatRequest(MODEL, (USER,), params={"logprobs": True}), "logprobs"),
    (t.ChatRequest(MODEL, (USER,), params={"logit_bias": {"1": 2}}), "logit_bias"),
    (t.ChatRequest(MODEL, (USER,), params={"user": "u"}), "user"),
    (t.ChatRequest(MODEL, (USER,), params={"parallel_tool_calls": False}), "parallel_tool_calls"),
    (t.ChatRequest(MODEL, (USER,), params={"service_tier": "scale"}), "service_tier"),
    (t.ChatRequest(MODEL, (USER,), params={"reasoning_effort": "minimal"}), "reasoning_effort"),
    (t.ChatRequest(MODEL, (USER,), params={"max_tokens": 5, "max_completion_tokens": 6}), "max_completion_tokens"),
    (t.ChatRequest(MODEL, (USER,), extra={"prompt_cache_key": "k"}), "prompt_cache_key"),
    (t.ChatRequest(MODEL, (USER,), include_usage=True, stream_extra={"include_obfuscation": False}),
     "stream_options.include_obfuscation"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.ImagePart(url="https://x/a.png"),)),)),
     "messages[0].content[0].image_url.url"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.ImagePart(url="data:image/png;base64,AA==", detail="high"),)),)),
     "messages[0].content[0].image_url.detail"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.ImagePart(data=b"BM", media_type="image/bmp"),)),)),
     "messages[0].content[0].image_url.url"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.ImagePart(url="data:image/png;base64"),)),)),
     "messages[0].content[0].image_url.url"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.FilePart(file_id="file-1"),)),)),
     "messages[0].content[0].file.file_id"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.FilePart(data=b"x", filename="a.exe"),)),)),
     "messages[0].content[0].file"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.AudioPart(b"x", "aiff"),)),)),
     "messages[0].content[0].input_audio.format"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.OtherPart({"type": "refusal", "refusal": "no"}),)),)),
     "messages[0].content[0].type"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.TextPart("x", {"cache_control": {"type": "persistent"}}),)),)),
     "messages[0].content[0].cache_control"),
    (t.ChatRequest(MODEL, (t.Message("user", (t.TextPart("x", {"citations": []}),)),)),
     "messages[0].content[0].citations"),
    (t.ChatRequest(MODEL, (t.Message("user", "hi", name="ann"),)), "messages[0].name"),
    (t.ChatRequest(MODEL, (t.Message("user", "hi", extra={"weight": 1}),)), "messages[0].weight"),
    (t.ChatRequest(MODEL, (t.Message("assistant", None, refusal="no"),)), "messages[0].refusal"),
    (t.ChatRequest(MODEL, (t.Message("function", "x", name="f"),)), "messages[0].name"),
    (t.ChatRequest(MODEL, (t.Message("function", "x"),)), "messages[0].role"),
    (t.ChatRequest(MODEL, (t.Message("tool", "x"),)), "messages[0].tool_call_id"),
    (t.ChatRequest(MODEL, (t.Message("user", None),)), "messages[0].content"),
    (t.ChatRequest(MODEL, (t.Message("tool", (t.TextPart("x", {"cache_control": {"type": "ephemeral"}}),),
                                     tool_call_id="c"),)), "messages[0].content[0].cache_control"),
    (t.ChatRequest(MODEL, (t.Message("assistant", None, tool_calls=(t.ToolCall("c", "f", "[1]"),)),)),
     "messages[0].tool_calls[0].function.arguments"),
    (t.ChatRequest(MODEL, (t.Message("assistant", None, tool_calls=(t.ToolCall("c", "f", "{oops"),)),)),
     "messages[0].tool_calls[0].function.arguments"),
    (t.ChatRequest(MODEL, (t.Message("assistant", None, tool_calls=(
        t.ToolCall("c", "", "", "custom", {"custom": {"name": "g", "input": "x"}}),)),)), "messages[0].tool_calls[0]"),
    (t.ChatRequest(MODEL, (USER,), tools=(t.OtherTool({"type": "web_search"}),)), "tools[0].type"),
    (t.ChatRequest(MODEL, (USER,), tool_choice=t.ToolChoice(mode="auto")), "tool_choice"),
    (t.ChatRequest(MODEL, (USER,), tools=(LOOKUP,), tool_choice=t.ToolChoice(other={"type": "allowed_tools"})),
     "tool_choice"),
    (t.ChatRequest(MODEL, (USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c", "lookup", "{}"),)),
                           t.Message("tool", "1", tool_call_id="c")),
                   tools=(LOOKUP,), tool_choice=t.ToolChoice(mode="none")), "tool_choice"),
    (t.ChatRequest(MODEL, (USER,), response_format=t.ResponseFormat("json_object")), "response_format.type"),
    (t.ChatRequest(MODEL, (USER,), response_format=t.ResponseFormat("text", extra={"grammar": "x"})),
     "response_format.grammar"),
    (t.ChatRequest("", (USER,)), "model"),
    (t.ChatRequest("..", (USER,)), "model"),
]


@pytest.mark.parametrize(("request_", "field"), BAD, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD)])
def test_bedrock_encode_chat_refuses_what_converse_cannot_express(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        bedrock().encode_chat(request_, TARGET, stream=False)
    assert [v.field for v in caught.value.violations] == [field]


def test_bedrock_tool_choice_modes():
    def config(mode):
        request = t.ChatRequest(MODEL, (USER,), tools=(LOOKUP,), tool_choice=t.ToolChoice(mode=mode))
        return body_of(bedrock().encode_chat(request, TARGET, stream=False)).get("toolConfig")

    assert config("auto")["toolChoice"] == {"auto": {}} and config("required")["toolChoice"] == {"any": {}}
    assert config("none") is None  # no tools offered: the model cannot call one


# --- credentials, endpoint, overrides ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "aws_access_key_id"),
        ({"aws_access_key_id": "AKIDEXAMPLE"}, "aws_secret_access_key"),
        ({**KEYS, "aws_region": "us-east-1.evil.example#"}, "aws_region"),
        ({**KEYS, "aws_region": "us-east-1/../x"}, "aws_region"),
        ({**KEYS, "aws_region": "US-EAST-1"}, "aws_region"),
        ({**KEYS, "aws_role_arn": "arn:aws:iam::1:role/r"}, "aws_role_arn"),
        ({**KEYS, "aws_auth_type": "assumedRole"}, "aws_auth_type"),
    ],
)
def test_bedrock_credentials_and_region_are_checked(options, field):
    with pytest.raises(e.InvalidRequest) as caught:
        bedrock().encode_chat(REQUESTS["text"], t.Target("bedrock", provider_options=options), stream=False)
    assert caught.value.violations[0].field == field


@pytest.mark.parametrize("region", ["eu-west-3", "us-gov-west-1", "ap-southeast-2"])
def test_bedrock_region_picks_the_endpoint_and_the_scope(region):
    call = bedrock().encode_chat(REQUESTS["text"], t.Target("bedrock", provider_options={**KEYS, "aws_region": region}),
                                 stream=False)
    assert urlsplit(call.url).netloc == f"bedrock-runtime.{region}.amazonaws.com"
    assert f"/{region}/bedrock/aws4_request" in call.headers["authorization"]
    headers = {**call.headers, "host": urlsplit(call.url).netloc}
    assert aws.signature_errors("POST", call.url, headers, call.body, SECRETS, region) == []


def test_bedrock_session_token_custom_host_and_forwarded_headers_are_signed():
    target = t.Target("bedrock", base_url="https://vpce-1.bedrock-runtime.example.com/", forward_headers={
        "x-team": "blue"}, provider_options={**KEYS, "aws_session_token": "FQoGZXIvYXdzE"})
    call = bedrock().encode_chat(REQUESTS["text"], target, stream=False)
    assert call.url == f"https://vpce-1.bedrock-runtime.example.com/model/{MODEL.replace(':', '%3A')}/converse"
    assert call.headers["x-amz-security-token"] == "FQoGZXIvYXdzE" and call.headers["x-team"] == "blue"
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-team," in call.headers["authorization"]
    headers = {**call.headers, "host": urlsplit(call.url).netloc}
    assert aws.signature_errors("POST", call.url, headers, call.body, SECRETS) == []
    assert aws.signature_errors("POST", call.url, {**headers, "x-team": "red"}, call.body, SECRETS) == [
        "signature does not match"]


def test_bedrock_override_params_replace_model_and_params_and_reach_the_body():
    target = t.Target("bedrock", provider_options=KEYS, override_params={
        "model": "amazon.nova-lite-v1:0", "temperature": 0, "top_k": 3, "performanceConfig": {"latency": "optimized"}})
    call = bedrock().encode_chat(t.ChatRequest(MODEL, (USER,), params={"temperature": 1}), target, stream=False)
    body = body_of(call)
    assert "/model/amazon.nova-lite-v1%3A0/converse" in call.url
    assert (body["inferenceConfig"], body["additionalModelRequestFields"], body["performanceConfig"]) == (
        {"temperature": 0}, {"top_k": 3}, {"latency": "optimized"})
    assert aws.converse_request_errors("amazon.nova-lite-v1:0", body) == []
    replacing = t.Target("bedrock", provider_options=KEYS, override_params={"inferenceConfig": {"maxTokens": 5}})
    request = t.ChatRequest(MODEL, (USER,), params={"temperature": 1, "metadata": {"a": "1"}},
                            extra={"requestMetadata": {"b": "2"}})
    body = body_of(bedrock().encode_chat(request, replacing, stream=False))
    assert body["inferenceConfig"] == {"maxTokens": 5}  # an override replaces (Portkey's shallow merge) ...
    assert body["requestMetadata"] == {"a": "1", "b": "2"}  # ... a caller's Converse field merges


def test_bedrock_signing_cost_is_small():
    """Reported, not asserted: a tiny timeit of encode + SigV4 (the gateway's per-request cost of signing)."""
    import timeit

    provider, request = bedrock(), REQUESTS["text"]
    seconds = min(timeit.repeat(lambda: provider.encode_chat(request, TARGET, stream=False), number=200, repeat=3))
    print(f"bedrock encode_chat + SigV4: {seconds / 200 * 1e6:.0f} us per request")


# --- answers ----------------------------------------------------------------------------------------------------


def converse(content, stop="end_turn", usage=None, **more):
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": usage or {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}, "metrics": {"latencyMs": 9},
            **more}


def openai_json(response: t.ChatResponse, *allow: str) -> dict:
    raw = chat_completion_json(convert.chat_response(response, "bedrock"))
    oracles.check_chat_completion(raw, allow_extra=("provider", *allow))
    return raw


ANSWERS = [
    ("text", converse([{"text": "Hello"}, {"text": " world"}]),
     {"role": "assistant", "content": "Hello world", "refusal": None}, "stop"),
    ("tool_use", converse([{"text": "Let me look."},
                           {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "x"}}},
                           {"toolUse": {"toolUseId": "tooluse_2", "name": "ping", "input": {}}}], "tool_use"),
     {"role": "assistant", "content": "Let me look.", "refusal": None, "tool_calls": [
         {"id": "tooluse_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}},
         {"id": "tooluse_2", "type": "function", "function": {"name": "ping", "arguments": "{}"}}]}, "tool_calls"),
    ("tool_only", converse([{"toolUse": {"toolUseId": "t1", "name": "ping", "input": {}}}], "tool_use"),
     {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
         {"id": "t1", "type": "function", "function": {"name": "ping", "arguments": "{}"}}]}, "tool_calls"),
    ("reasoning", converse([{"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "c2ln"}}},
                            {"reasoningContent": {"redactedContent": "cmVk"}}, {"text": "42"}], "max_tokens"),
     {"role": "assistant", "content": "42", "refusal": None, "reasoning_content": "hmm",
      "reasoning_signature": "c2ln", "redacted_reasoning": ["cmVk"]}, "length"),
    ("guardrail", converse([{"text": "Sorry."}], "guardrail_intervened"),
     {"role": "assistant", "content": "Sorry.", "refusal": None}, "content_filter"),
    ("content_filtered", converse([{"text": ""}], "content_filtered"),
     {"role": "assistant", "content": "", "refusal": None}, "content_filter"),
    ("stop_sequence", converse([{"text": "a"}], "stop_sequence"), {"role": "assistant", "content": "a",
                                                                  "refusal": None}, "stop"),
    ("window", converse([{"text": "a"}], "model_context_window_exceeded"),
     {"role": "assistant", "content": "a", "refusal": None}, "length"),
]


@pytest.mark.parametrize(("case", "raw", "message", "finish"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_bedrock_decode_chat_maps_content_and_stop_reason(case, raw, message, finish):
    aws.check_converse_response(raw)
    request = t.ChatRequest(MODEL, (USER,))
    out = openai_json(bedrock().decode_chat(orjson.dumps(raw), request))
    assert out["choices"][0]["message"] == message and out["choices"][0]["finish_reason"] == finish
    assert (out["id"], out["created"], out["model"]) == ("chatcmpl-1", int(NOW.timestamp()), MODEL)


def test_bedrock_decode_chat_usage_counts_cached_tokens_in_the_prompt():
    raw = converse([{"text": "a"}], usage={"inputTokens": 10, "outputTokens": 3, "totalTokens": 113,
                                           "cacheReadInputTokens": 60, "cacheWriteInputTokens": 40},
                   serviceTier={"type": "flex"}, additionalModelResponseFields={"stop_sequence": None})
    aws.check_converse_response(raw)
    response = bedrock().decode_chat(orjson.dumps(raw))
    assert response.usage == t.Usage(110, 3, 113, cached_tokens=60, cache_creation_tokens=40)
    out = openai_json(response, "additionalModelResponseFields")  # only sent when the caller asked for it
    assert out["usage"]["prompt_tokens_details"] == {"cached_tokens": 60, "cache_write_tokens": 40}
    assert out["service_tier"] == "flex"
    assert dict(response.extra) == {"additionalModelResponseFields": {"stop_sequence": None}}


def test_bedrock_decode_chat_model_follows_the_target_override():
    target = t.Target("bedrock", override_params={"model": "amazon.nova-pro-v1:0"})
    response = bedrock().decode_chat(orjson.dumps(converse([{"text": "a"}])), t.ChatRequest(MODEL, (USER,)), target)
    assert response.model == "amazon.nova-pro-v1:0"


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}",
                                  b'{"output": {"message": {"content": [{"toolUse": {}}]}}}'])
def test_bedrock_decode_chat_refuses_malformed_bodies(body):
    with pytest.raises(e.ProviderBadResponse):
        bedrock().decode_chat(body)


# --- streams ----------------------------------------------------------------------------------------------------

TOOL_STREAM = [
    ("messageStart", {"role": "assistant"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "plan"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Checking"}}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": " both."}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    ("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tu_a", "name": "lookup"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"q":'}}}),
    ("contentBlockStart", {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tu_b", "name": "ping"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '"x"}'}}}),
    ("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{}"}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("contentBlockStop", {"contentBlockIndex": 3}),
    ("messageStop", {"stopReason": "tool_use"}),
    ("metadata", {"usage": {"inputTokens": 8, "outputTokens": 6, "totalTokens": 14}, "metrics": {"latencyMs": 3}}),
]


def frames(events) -> bytes:
    return b"".join(encode_event(name, payload) for name, payload in events)


def decode_stream(body: bytes, request=None, chunk_size=7):
    framer, decoder = AwsEventStreamDecoder(), bedrock().chat_stream_decoder(request)
    chunks = []
    for i in range(0, len(body), chunk_size):
        for event in framer.feed(body[i : i + chunk_size]):
            chunks += decoder.decode(event)
    for chunk in chunks:
        oracles.check_chat_chunk(chat_chunk_json(convert.chat_chunk(chunk, "bedrock").chunk))
    return chunks, decoder


def test_bedrock_stream_fixture_is_converse_stream_shaped():
    assert [name for _, name, _ in aws.stream_events(frames(TOOL_STREAM))] == [name for name, _ in TOOL_STREAM]


def test_bedrock_stream_decodes_reasoning_text_and_parallel_tool_calls():
    chunks, decoder = decode_stream(frames(TOOL_STREAM), t.ChatRequest(MODEL, (USER,), include_usage=True))
    assert decoder.done
    assert {(c.id, c.created, c.model) for c in chunks} == {("chatcmpl-1", int(NOW.timestamp()), MODEL)}
    deltas = [c.choices[0].delta for c in chunks[:-1]]
    assert deltas[0] == t.Delta(role="assistant", content="") and all(d.role is None for d in deltas[1:])
    assert "".join(d.reasoning_content or "" for d in deltas) == "plan"
    assert [d.extra for d in deltas if d.extra] == [{"reasoning_signature": "c2ln"}]
    assert "".join(d.content or "" for d in deltas) == "Checking both."
    calls = [call for d in deltas for call in d.tool_calls]
    assert calls == [t.ToolCallDelta(0, "tu_a", "function", "lookup", ""), t.ToolCallDelta(0, arguments='{"q":'),
                     t.ToolCallDelta(1, "tu_b", "function", "ping", ""), t.ToolCallDelta(0, arguments='"x"}'),
                     t.ToolCallDelta(1, arguments="{}")]
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 2) + ["tool_calls"]
    assert chunks[-1].choices == () and chunks[-1].usage == t.Usage(8, 6, 14)


def test_bedrock_stream_without_include_usage_ends_on_the_finish_chunk():
    chunks, decoder = decode_stream(frames(TOOL_STREAM), t.ChatRequest(MODEL, (USER,)))
    assert decoder.done and chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize(
    ("events", "done"),
    [
        (TOOL_STREAM[:-1], False),  # messageStop without metadata: cut short
        ([*TOOL_STREAM[:-2], TOOL_STREAM[-1], TOOL_STREAM[-2]], True),  # metadata first, then messageStop
        ([TOOL_STREAM[0], ("someFutureEvent", {"x": 1}), *TOOL_STREAM[-2:]], True),
    ],
    ids=["no-metadata", "metadata-first", "unknown-event"],
)
def test_bedrock_stream_is_done_once_stop_and_metadata_came(events, done):
    chunks, decoder = decode_stream(frames(events), t.ChatRequest(MODEL, (USER,), include_usage=True))
    assert decoder.done is done
    assert (chunks[-1].usage is not None) is done


STREAM_EXCEPTIONS = [
    ("throttlingException", e.RateLimited, 429),
    ("serviceUnavailableException", e.ProviderUnavailable, 503),
    ("internalServerException", e.ProviderRejected, 500),
    ("validationException", e.ProviderRejected, 400),
    ("modelStreamErrorException", e.ProviderRejected, 424),
]


@pytest.mark.parametrize(("exception", "kind", "status"), STREAM_EXCEPTIONS)
def test_bedrock_stream_exception_frames_raise_typed_errors(exception, kind, status):
    body = frames(TOOL_STREAM[:5]) + encode_exception(exception, "it broke")
    aws.stream_events(body)
    with pytest.raises(e.ProviderError) as caught:
        decode_stream(body)
    assert type(caught.value) is kind and caught.value.status == status
    assert caught.value.message == "bedrock error: it broke"
    assert caught.value.error_type == exception[0].upper() + exception[1:]


def test_bedrock_stream_error_frames_and_broken_events():
    error = encode_frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, {})
    with pytest.raises(e.ProviderRejected, match="boom"):
        decode_stream(frames(TOOL_STREAM[:1]) + error)
    orphan = ("contentBlockDelta", {"contentBlockIndex": 7, "delta": {"toolUse": {"input": "{}"}}})
    for broken in (orphan, ("messageStop", {}), ("metadata", {"usage": {}})):
        with pytest.raises(e.ProviderBadResponse):
            decode_stream(frames([TOOL_STREAM[0], broken]))


# --- errors -----------------------------------------------------------------------------------------------------

ERRORS = [
    (429, "ThrottlingException", {}, e.RateLimited, None),
    (429, "ModelNotReadyException", {}, e.ProviderUnavailable, None),
    (503, "ServiceUnavailableException", {"retry-after": "2"}, e.ProviderUnavailable, 2.0),
    (408, "ModelTimeoutException", {}, e.ProviderTimeout, None),
    (400, "ValidationException", {}, e.ProviderRejected, None),
    (403, "AccessDeniedException", {}, e.ProviderRejected, None),
    (424, "ModelErrorException", {}, e.ProviderRejected, None),
    (500, "InternalServerException", {}, e.ProviderRejected, None),
]


@pytest.mark.parametrize(("status", "name", "headers", "kind", "retry_after"), ERRORS, ids=[x[1] for x in ERRORS])
def test_bedrock_decode_error_by_exception_name(status, name, headers, kind, retry_after):
    header = {"x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/", **headers}
    error = bedrock().decode_error(status, b'{"message": "nope"}', header)
    assert type(error) is kind
    assert (error.status, error.http_status, error.error_type, error.retry_after) == (status, status, name,
                                                                                      retry_after)
    assert error.message == "bedrock error: nope"


def test_bedrock_decode_error_without_the_header_or_json():
    typed = bedrock().decode_error(403, b'{"__type": "com.amazon.coral#UnrecognizedClientException", '
                                        b'"Message": "The security token included in the request is invalid."}', {})
    assert typed.error_type == "UnrecognizedClientException"
    assert typed.message == "bedrock error: The security token included in the request is invalid."
    html = bedrock().decode_error(502, b"<html>Bad Gateway</html>", {})
    assert type(html) is e.ProviderRejected and html.status == 502 and "Bad Gateway" in html.message
    assert type(bedrock().decode_error(429, b"", {})) is e.RateLimited


# --- embeddings and models --------------------------------------------------------------------------------------

EMBEDDINGS = [
    (t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", ("hello",), dimensions=256, extra={"normalize": True}),
     {"inputText": "hello", "dimensions": 256, "normalize": True}),
    (t.EmbeddingsRequest("amazon.titan-embed-text-v1", ("hello",)), {"inputText": "hello"}),
    (t.EmbeddingsRequest("cohere.embed-english-v3", ("a", "b")),
     {"texts": ["a", "b"], "input_type": "search_document"}),
    (t.EmbeddingsRequest("us.cohere.embed-v4:0", ("a",), dimensions=512, extra={"input_type": "search_query",
                                                                             "truncate": "END"}),
     {"texts": ["a"], "input_type": "search_query", "output_dimension": 512, "truncate": "END"}),
]


@pytest.mark.parametrize(("request_", "expected"), EMBEDDINGS, ids=[r.model for r, _ in EMBEDDINGS])
def test_bedrock_encode_embeddings_invokes_the_model(request_, expected):
    call = bedrock().encode_embeddings(request_, TARGET)
    assert body_of(call) == expected and aws.embeddings_request_errors(request_.model, body_of(call)) == []
    assert urlsplit(call.url).path == aws.serialized("InvokeModel", {"modelId": request_.model, "body": b"{}"})[
        "url_path"]
    assert call.headers["accept"] == call.headers["content-type"] == "application/json"
    headers = {**call.headers, "host": urlsplit(call.url).netloc}
    assert aws.signature_errors("POST", call.url, headers, call.body, SECRETS) == []


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", ("a", "b")), "input"),
        (t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", token_inputs=((1, 2),)), "input"),
        (t.EmbeddingsRequest("cohere.embed-english-v3", ("a",), user="u"), "user"),
        (t.EmbeddingsRequest("cohere.embed-english-v3", ("a",), extra={"normalize": True}), "normalize"),
        (t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", ("a",), extra={"input_type": "x"}), "input_type"),
        (t.EmbeddingsRequest("anthropic.claude-3-haiku-20240307-v1:0", ("a",)), "model"),
    ],
)
def test_bedrock_encode_embeddings_refusals(request_, field):
    with pytest.raises(e.InvalidRequest) as caught:
        bedrock().encode_embeddings(request_, TARGET)
    assert caught.value.violations[0].field == field


def test_bedrock_decode_embeddings_titan_and_cohere():
    titan = bedrock().decode_embeddings(b'{"embedding": [0.5, -1], "inputTextTokenCount": 3}',
                                        t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", ("a",)))
    assert (titan.model, titan.vectors, titan.usage) == ("amazon.titan-embed-text-v2:0", ([0.5, -1],), t.Usage(3, 0, 3))
    listed = bedrock().decode_embeddings(b'{"id": "x", "embeddings": [[1.0], [2.0]], '
                                         b'"response_type": "embeddings_floats", "texts": ["a", "b"]}')
    by_type = bedrock().decode_embeddings(b'{"embeddings": {"float": [[1.0], [2.0]]}, '
                                          b'"response_type": "embeddings_by_type"}')
    assert listed.vectors == by_type.vectors == ([1.0], [2.0]) and listed.usage is None
    for broken in (b"{}", b'{"embedding": "AAAA"}', b'{"embeddings": {"int8": [[1]]}}', b"nope"):
        with pytest.raises(e.ProviderBadResponse):
            bedrock().decode_embeddings(broken)


@pytest.mark.parametrize(
    ("headers", "usage"),
    [
        ({"x-amzn-bedrock-input-token-count": "12"}, t.Usage(12, 0, 12)),
        ({"x-amzn-bedrock-input-token-count": "0"}, t.Usage(0, 0, 0)),
        ({"x-amzn-bedrock-input-token-count": "-3"}, None),
        ({"x-amzn-bedrock-input-token-count": "many"}, None),
        ({}, None),
    ],
)
def test_bedrock_usage_from_invoke_model_headers(headers, usage):
    assert bedrock().usage_from_headers(headers) == usage


def test_bedrock_list_models_calls_the_control_plane():
    call = bedrock().encode_list_models(t.Target("bedrock", provider_options={**KEYS, "aws_region": "eu-west-1"}))
    assert (call.method, call.url, call.body) == ("GET", "https://bedrock.eu-west-1.amazonaws.com/foundation-models",
                                                  None)
    headers = {**call.headers, "host": urlsplit(call.url).netloc}
    assert aws.signature_errors("GET", call.url, headers, b"", SECRETS, "eu-west-1") == []
    models = bedrock().decode_list_models(b'{"modelSummaries": [{"modelId": "amazon.nova-lite-v1:0", '
                                          b'"providerName": "Amazon"}]}')
    assert models == [t.ModelInfo("amazon.nova-lite-v1:0", 0, "Amazon")]


# --- through the real transport, against the loopback fake ------------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeBedrock() as server:
        yield server


@pytest.fixture
def upstream(fake):
    fake.clear()
    return fake


def on_fake(fake, **options) -> t.Target:
    return t.Target("bedrock", base_url=fake.base_url, provider_options={**KEYS, **options})


async def send(provider: Bedrock, call):
    transport = ProviderTransport()
    try:
        response = await transport.send(call, provider.name, None)
    finally:
        await transport.aclose()
    if response.status >= 400:
        raise provider.decode_error(response.status, response.body, response.headers)
    return response.body


async def stream(provider: Bedrock, call, request):
    """What providers/call.py does with a stream, with this provider's framer and decoder."""
    transport, chunks = ProviderTransport(), []
    try:
        async with transport.stream(call, provider.name, None) as answer:
            if answer.status >= 400:
                raise provider.decode_error(answer.status, await answer.read(), answer.headers)
            framer, decoder = AwsEventStreamDecoder(), provider.chat_stream_decoder(request)
            async for data in answer.iter_bytes(None, None):
                for event in framer.feed(data):
                    chunks += decoder.decode(event)
    finally:
        await transport.aclose()
    return chunks, decoder


async def test_bedrock_converse_through_the_fake(upstream):
    provider, request = Bedrock(), t.ChatRequest(MODEL, (t.Message("system", "be brief"), t.Message("user", "hi all")))
    target = on_fake(upstream, aws_session_token="FQoGZXIvYXdzE")
    response = provider.decode_chat(await send(provider, provider.encode_chat(request, target, stream=False)), request)
    assert response.choices[0].message.content == "Echo: hi all" and response.usage == t.Usage(4, 3, 7)
    openai_json(response)
    (seen,) = upstream.requests
    assert seen.raw_path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse" and seen.model_id == MODEL
    assert (seen.auth_errors, seen.oracle_errors) == ([], [])
    assert seen.headers["x-amz-security-token"] == "FQoGZXIvYXdzE"


async def test_bedrock_converse_stream_with_parallel_tools_through_the_fake(upstream):
    provider = bedrock()
    request = t.ChatRequest(f"{MODEL}+parallel-tools+reasoning", (USER,), tools=(LOOKUP, t.FunctionTool("ping")),
                            include_usage=True)
    chunks, decoder = await stream(provider, provider.encode_chat(request, on_fake(upstream), stream=True), request)
    assert decoder.done and upstream.requests[0].oracle_errors == []
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    headers = [call for d in deltas for call in d.tool_calls if call.id]
    assert [(h.index, h.name) for h in headers] == [(0, "lookup"), (1, "ping")]
    for header in headers:
        arguments = "".join(c.arguments for d in deltas for c in d.tool_calls if c.index == header.index)
        assert json.loads(arguments) == {"echo": "hello"}
    assert "".join(d.reasoning_content or "" for d in deltas) == "The user said hello."
    assert chunks[-2].choices[0].finish_reason == "tool_calls" and chunks[-1].usage.prompt_tokens == 1


async def test_bedrock_model_arn_routes_through_the_fake(upstream):
    provider, arn = bedrock(), "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-v1:0"
    request = t.ChatRequest(arn, (USER,))
    body = await send(provider, provider.encode_chat(request, on_fake(upstream), stream=False))
    assert provider.decode_chat(body, request).model == arn
    assert upstream.requests[0].model_id == arn and "%2F" in upstream.requests[0].raw_path


@pytest.mark.parametrize(
    ("directive", "kind", "status"),
    [("error-throttling", e.RateLimited, 429), ("error-not-ready", e.ProviderUnavailable, 429),
     ("error-unavailable", e.ProviderUnavailable, 503), ("error-validation", e.ProviderRejected, 400),
     ("error-model-timeout", e.ProviderTimeout, 408)],
)
async def test_bedrock_fake_errors_decode_by_type(upstream, directive, kind, status):
    provider = bedrock()
    for streamed in (False, True):
        call = provider.encode_chat(t.ChatRequest(f"{MODEL}+{directive}", (USER,)), on_fake(upstream), stream=streamed)
        with pytest.raises(e.ProviderError) as caught:
            await (stream(provider, call, None) if streamed else send(provider, call))
        assert type(caught.value) is kind and caught.value.status == status


async def test_bedrock_in_stream_exception_and_broken_streams_through_the_fake(upstream):
    provider = bedrock()

    def call(directives):
        return provider.encode_chat(t.ChatRequest(f"{MODEL}+{directives}", (USER,)), on_fake(upstream), stream=True)

    with pytest.raises(e.RateLimited, match="Too many tokens"):
        await stream(provider, call("stream-error-throttling"), None)
    with pytest.raises(e.ProviderBadResponse, match="ChecksumMismatch"):
        await stream(provider, call("bad-crc"), None)
    chunks, decoder = await stream(provider, call("no-metadata"), None)
    assert not decoder.done and chunks[-1].choices[0].finish_reason == "stop"


async def test_bedrock_wrong_secret_is_refused_by_the_fake(upstream):
    provider = bedrock()
    target = on_fake(upstream, aws_secret_access_key="not-the-secret")
    with pytest.raises(e.ProviderRejected) as caught:
        await send(provider, provider.encode_chat(REQUESTS["text"], target, stream=False))
    assert (caught.value.status, caught.value.error_type) == (403, "InvalidSignatureException")
    assert upstream.requests[0].auth_errors == ["signature does not match"]


@pytest.mark.parametrize(
    ("request_", "vectors", "size"),
    [(t.EmbeddingsRequest("amazon.titan-embed-text-v2:0", ("hello world",), dimensions=256), 1, 256),
     (t.EmbeddingsRequest("cohere.embed-english-v3", ("a", "b", "c")), 3, 1024)],
)
async def test_bedrock_embeddings_through_the_fake(upstream, request_, vectors, size):
    provider = bedrock()
    body = await send(provider, provider.encode_embeddings(request_, on_fake(upstream)))
    response = provider.decode_embeddings(body, request_)
    assert len(response.vectors) == vectors and {len(v) for v in response.vectors} == {size}
    assert upstream.requests[0].oracle_errors == [] and upstream.requests[0].action == "invoke"


async def test_bedrock_list_models_through_the_fake(upstream):
    provider = bedrock()
    models = provider.decode_list_models(await send(provider, provider.encode_list_models(on_fake(upstream))))
    assert [m.id for m in models][:1] == ["anthropic.claude-3-haiku-20240307-v1:0"]
    assert upstream.requests[0].auth_errors == []
