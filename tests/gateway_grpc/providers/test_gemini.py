"""The Gemini translator, requests: every encoded body passes the strict google-genai oracle (camelCase, roles
user/model, no top-level `model`); what Gemini cannot express is refused with the request path. Responses, streams,
errors and the fake-driven ProviderCall: test_gemini_decode.py.
"""

from dataclasses import replace

import orjson
import pytest

from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers.gemini import Gemini
from gateway_grpc.providers.gemini_request import SKIP_SIGNATURE
from tests import oracles_gemini

NOW = 1_700_000_000.0
GEMINI = Gemini(clock=lambda: NOW)
TARGET = t.Target("google", api_key="k-test")
API = "https://generativelanguage.googleapis.com/v1beta"
USER = t.Message("user", "hello")
LOOKUP = t.FunctionTool("lookup", "find things", {"type": "object", "properties": {"q": {"type": "string"}},
                                                  "required": ["q"], "additionalProperties": False})
SIGNED = {"extra_content": {"google": {"thought_signature": "c2lnbmF0dXJl"}}}
CALLS = t.Message("assistant", "", tool_calls=(t.ToolCall("call_a", "lookup", '{"q": "x"}', extra=SIGNED),
                                                 t.ToolCall("call_b", "fetch", "")))

REQUESTS = {
    "text": t.ChatRequest("gemini-2.5-flash", (t.Message("system", "be brief"), USER)),
    "systems": t.ChatRequest("models/gemini-2.5-flash", (
        t.Message("developer", "rule 1"), USER, t.Message("system", (t.TextPart("rule 2"),)))),
    "multimodal": t.ChatRequest("gemini-2.5-flash", (t.Message("user", (
        t.TextPart("what is this?", {"cache_control": {"type": "ephemeral"}}),
        t.ImagePart(url="https://example.com/a.png", detail="high"),
        t.ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
        t.ImagePart(data=b"\x89PNG", media_type="image/png", detail="low"),
        t.AudioPart(b"RIFF", "wav"),
        t.FilePart(url="data:application/pdf;base64,JVBERg=="),
        t.FilePart(data=b"%PDF", filename="report.pdf"),
        t.FilePart(file_id="https://generativelanguage.googleapis.com/v1beta/files/abc", media_type="video/mp4"),
        t.FilePart(url="gs://bucket/notes.txt"),
    )),)),
    "tools": t.ChatRequest(
        "gemini-2.5-flash",
        (USER, CALLS, t.Message("tool", "42", tool_call_id="call_a"), t.Message("tool", '{"ok": true}',
                                                                                  tool_call_id="call_b")),
        tools=(LOOKUP, t.FunctionTool("fetch")), tool_choice=t.ToolChoice(function_name="lookup"),
    ),
    "legacy_function": t.ChatRequest("gemini-2.5-flash", (
        USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c1", "lookup", "{}"),)),
        t.Message("function", "42", name="lookup"))),
    "reasoning": t.ChatRequest("gemini-2.5-flash", (
        USER, t.Message("assistant", "hi", reasoning_content="the user greets"), USER)),
    "json_schema": t.ChatRequest("gemini-2.5-flash", (USER,), response_format=t.ResponseFormat(
        "json_schema", t.JsonSchemaFormat("answer", {"type": "object", "properties": {}}, "the answer", True))),
    "sampling": t.ChatRequest("gemini-2.5-flash", (USER,), params={
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 20, "n": 2, "stop": ["END"], "seed": 5,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "logprobs": True, "top_logprobs": 2,
        "reasoning_effort": "high", "service_tier": "priority", "parallel_tool_calls": True, "store": False}),
    "extras": t.ChatRequest("gemini-2.5-flash", (USER,), extra={
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        "top_k": 40, "thinking": {"type": "enabled", "budget_tokens": 1024}, "cachedContent": "cachedContents/c1"}),
}


def encoded(request: t.ChatRequest, target: t.Target = TARGET, *, stream: bool = False) -> dict:
    body = orjson.loads(GEMINI.encode_chat(request, target, stream=stream).body)
    assert oracles_gemini.generate_content_errors(body) == []
    return body


def violation(request: t.ChatRequest, target: t.Target = TARGET) -> tuple[str, str]:
    with pytest.raises(e.InvalidRequest) as caught:
        GEMINI.encode_chat(request, target, stream=False)
    [v] = caught.value.violations
    return v.field, v.description


# ---- requests ----


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", list(REQUESTS))
def test_gemini_encode_chat_passes_the_strict_sdk_types(case, stream):
    call = GEMINI.encode_chat(REQUESTS[case], TARGET, stream=stream)
    body = orjson.loads(call.body)
    assert oracles_gemini.generate_content_errors(body) == []
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    assert call.method == "POST" and call.url == f"{API}/models/gemini-2.5-flash:{method}"
    assert call.headers["x-goog-api-key"] == "k-test" and "authorization" not in call.headers
    assert call.headers["accept"] == ("text/event-stream" if stream else "application/json")
    assert "model" not in body and "stream" not in body


def test_gemini_encode_chat_system_messages_become_one_user_role_instruction():
    body = encoded(REQUESTS["systems"])
    assert body["systemInstruction"] == {"role": "user", "parts": [{"text": "rule 1"}, {"text": "rule 2"}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]


def test_gemini_encode_chat_tool_turns_carry_real_names_signatures_and_one_user_turn():
    body = encoded(REQUESTS["tools"])
    assert body["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "lookup", "args": {"q": "x"}}, "thoughtSignature": "c2lnbmF0dXJl"},
        {"functionCall": {"name": "fetch", "args": {}}}]}
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "lookup", "response": {"output": "42"}}},
        {"functionResponse": {"name": "fetch", "response": {"ok": True}}}]}
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "lookup", "description": "find things", "parametersJsonSchema": dict(LOOKUP.parameters)},
        {"name": "fetch"}]}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}}
    named = t.ChatRequest("m", (USER, t.Message("tool", "7", tool_call_id="lost", name="fetch")))
    assert encoded(named)["contents"][1]["parts"][0]["functionResponse"]["name"] == "fetch"
    legacy = encoded(REQUESTS["legacy_function"])["contents"][2]
    assert legacy == {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"output": "42"}}}]}
    reasoning = encoded(REQUESTS["reasoning"])["contents"][1]
    assert reasoning == {"role": "model", "parts": [{"text": "the user greets", "thought": True}, {"text": "hi"}]}


@pytest.mark.parametrize(
    ("model", "signed"),
    [
        ("gemini-2.5-flash", False),  # signatures optional before Gemini 3: nothing added
        ("gemini-3-pro-preview", True),
        ("gemini-3.1-flash", True),
        ("models/gemini-3-flash", True),
        ("tunedModels/not-gemini-3x", False),
    ],
)
def test_gemini_3_turns_without_signatures_get_googles_sentinel_on_the_first_call(model, signed):
    calls = (t.ToolCall("c1", "lookup", "{}"), t.ToolCall("c2", "fetch", "{}"))
    results = (t.Message("tool", "1", tool_call_id="c1"), t.Message("tool", "2", tool_call_id="c2"))
    unsigned = t.ChatRequest(model, (USER, t.Message("assistant", None, tool_calls=calls), *results))
    parts = encoded(unsigned)["contents"][1]["parts"]
    assert [p.get("thoughtSignature") for p in parts] == ([SKIP_SIGNATURE, None] if signed else [None, None])
    assert oracles_gemini.generate_content_errors(encoded(unsigned)) == []
    kept = encoded(replace(REQUESTS["tools"], model=model))["contents"][1]["parts"]  # a real signature: never replaced
    assert [p.get("thoughtSignature") for p in kept] == ["c2lnbmF0dXJl", None]


def test_gemini_encode_chat_content_parts():
    parts = encoded(REQUESTS["multimodal"])["contents"][0]["parts"]
    assert parts == [
        {"text": "what is this?"},  # cache_control: a hint Gemini has no place for
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"},
         "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw=="},
         "mediaResolution": {"level": "MEDIA_RESOLUTION_LOW"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERg=="}},
        {"fileData": {"mimeType": "video/mp4", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
        {"fileData": {"mimeType": "text/plain", "fileUri": "gs://bucket/notes.txt"}},
    ]
    percent = t.ChatRequest("m", (t.Message("user", (t.ImagePart(url="data:image/svg+xml,%3Csvg%2F%3E"),)),))
    assert encoded(percent)["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/svg+xml",
                                                                        "data": "PHN2Zy8+"}}]


@pytest.mark.parametrize(("choice", "strict", "expected"), [
    (None, False, None),
    (None, True, {"mode": "VALIDATED"}),
    (t.ToolChoice("auto"), False, {"mode": "AUTO"}),
    (t.ToolChoice("auto"), True, {"mode": "VALIDATED"}),
    (t.ToolChoice("none"), True, {"mode": "NONE"}),
    (t.ToolChoice("required"), False, {"mode": "ANY"}),
    (t.ToolChoice(function_name="lookup"), True, {"mode": "ANY", "allowedFunctionNames": ["lookup"]}),
])
def test_gemini_encode_chat_tool_choice(choice, strict, expected):
    tool = t.FunctionTool("lookup", parameters={"type": "object"}, strict=strict)
    body = encoded(t.ChatRequest("m", (USER,), tools=(tool,), tool_choice=choice))
    assert body.get("toolConfig") == (None if expected is None else {"functionCallingConfig": expected})


# Each OpenAI param: the generationConfig (or top-level) keys it becomes, or None for 400.
PARAMS = [
    ("temperature", 0.5, {"temperature": 0.5}), ("top_p", 0.9, {"topP": 0.9}), ("n", 3, {"candidateCount": 3}),
    ("max_tokens", 7, {"maxOutputTokens": 7}), ("max_completion_tokens", 8, {"maxOutputTokens": 8}),
    ("stop", "END", {"stopSequences": ["END"]}), ("seed", 1, {"seed": 1}),
    ("presence_penalty", 0.5, {"presencePenalty": 0.5}), ("frequency_penalty", -0.5, {"frequencyPenalty": -0.5}),
    ("logprobs", True, {"responseLogprobs": True}), ("top_logprobs", 3, {"logprobs": 3}),
    ("reasoning_effort", "low", {"thinkingConfig": {"thinkingLevel": "LOW"}}),
    ("reasoning_effort", "none", {"thinkingConfig": {"thinkingBudget": 0}}),
    ("service_tier", "flex", {"serviceTier": "flex"}), ("service_tier", "auto", {}),
    ("parallel_tool_calls", True, {}), ("store", False, {}),
    ("parallel_tool_calls", False, None), ("store", True, None), ("service_tier", "scale", None),
    ("reasoning_effort", "extreme", None), ("logit_bias", {"1": 2}, None), ("user", "u", None),
    ("metadata", {"a": "b"}, None),
]


def test_gemini_params_table_covers_every_openai_param():
    assert {name for name, _, _ in PARAMS} == set(t.CHAT_PARAMS)


@pytest.mark.parametrize(("name", "value", "expected"), PARAMS)
def test_gemini_encode_chat_maps_or_refuses_each_param(name, value, expected):
    request = t.ChatRequest("m", (USER,), params={name: value})
    if expected is None:
        field, description = violation(request)
        assert field == name and description.startswith("google does not support")
        return
    body = encoded(request)
    tier = {"serviceTier": body["serviceTier"]} if "serviceTier" in body else {}
    got = {**body.get("generationConfig", {}), **tier}
    assert got == expected


@pytest.mark.parametrize(("fmt", "expected"), [
    (t.ResponseFormat("text"), {}),
    (t.ResponseFormat("json_object"), {"responseMimeType": "application/json"}),
    (t.ResponseFormat("json_schema", t.JsonSchemaFormat("a", {"type": "object"}, "desc")),
     {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object", "description": "desc"}}),
    (t.ResponseFormat("json_schema", t.JsonSchemaFormat("a")), {"responseMimeType": "application/json"}),
])
def test_gemini_encode_chat_response_format(fmt, expected):
    assert encoded(t.ChatRequest("m", (USER,), response_format=fmt)).get("generationConfig", {}) == expected


def test_gemini_encode_chat_extras_pass_through_and_overrides_win():
    body = encoded(REQUESTS["extras"])
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
    assert body["generationConfig"] == {"topK": 40, "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
    assert body["cachedContent"] == "cachedContents/c1"
    target = t.Target("google", "k", override_params={
        "model": "gemini-2.5-pro", "temperature": 0, "generationConfig": {"topK": 3}, "safetySettings": []})
    request = t.ChatRequest("gemini-2.5-flash", (USER,), params={"temperature": 1, "max_tokens": 9})
    call = GEMINI.encode_chat(request, target, stream=False)
    body = orjson.loads(call.body)
    assert call.url == f"{API}/models/gemini-2.5-pro:generateContent"
    assert body["generationConfig"] == {"temperature": 0, "maxOutputTokens": 9, "topK": 3}
    assert body["safetySettings"] == [] and oracles_gemini.generate_content_errors(body) == []


@pytest.mark.parametrize(("base_url", "model", "url"), [
    ("", "gemini-2.5-flash", f"{API}/models/gemini-2.5-flash:generateContent"),
    ("", "models/gemini-2.5-flash", f"{API}/models/gemini-2.5-flash:generateContent"),
    ("", "tunedModels/my-tune-7", f"{API}/tunedModels/my-tune-7:generateContent"),
    ("http://127.0.0.1:9", "gemini-2.5-flash+error-429", "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash+error-429"
                                                          ":generateContent"),
    ("https://proxy.example/gemini/v1/", "m", "https://proxy.example/gemini/v1/models/m:generateContent"),
])
def test_gemini_urls_from_base_and_model(base_url, model, url):
    target = t.Target("google", "k", base_url=base_url, forward_headers={"x-team": "blue"})
    call = GEMINI.encode_chat(t.ChatRequest(model, (USER,)), target, stream=False)
    assert call.url == url and call.headers["x-team"] == "blue"


UNSUPPORTED = [
    (t.ChatRequest("m", (t.Message("user", "hi", name="bob"),)), "messages[0].name", "message names"),
    (t.ChatRequest("m", (USER, t.Message("tool", "42", tool_call_id="call_x"))), "messages[1].tool_call_id",
     "no earlier assistant tool call"),
    (t.ChatRequest("m", (USER, t.Message("assistant", None, tool_calls=(t.ToolCall("c", "f", "[1]"),)))),
     "messages[1].tool_calls[0].function.arguments", "JSON object"),
    (t.ChatRequest("m", (USER, t.Message("assistant", None, tool_calls=(
        t.ToolCall("c", "f", "{}", extra={"extra_content": {"google": {"other": 1}}}),)))),
     "messages[1].tool_calls[0]", "extra_content.google.thought_signature"),
    (t.ChatRequest("m", (USER, t.Message("assistant", None, tool_calls=(
        t.ToolCall("c", "", "", "custom", {"custom": {"name": "grep"}}),)))), "messages[1].tool_calls[0].type",
     "'custom' tool calls"),
    (t.ChatRequest("m", (t.Message("assistant", "no", refusal="no"),)), "messages[0].refusal", "refusals"),
    (t.ChatRequest("m", (t.Message("system", (t.ImagePart(url="https://x/a.png"),)),)), "messages[0].content[0]",
     "non-text system content"),
    (t.ChatRequest("m", (t.Message("user", "x", extra={"prefix": True}),)), "messages[0].prefix", "'prefix'"),
    (t.ChatRequest("m", (t.Message("user", (t.OtherPart({"type": "input_video"}),)),)), "messages[0].content[0]",
     "'input_video'"),
    (t.ChatRequest("m", (t.Message("user", (t.ImagePart(url="ftp://x/a.png"),)),)),
     "messages[0].content[0].image_url.url", "scheme 'ftp'"),
    (t.ChatRequest("m", (t.Message("user", (t.ImagePart(url="https://x/a.png", detail="max"),)),)),
     "messages[0].content[0].image_url.detail", "'max'"),
    (t.ChatRequest("m", (t.Message("user", (t.ImagePart(data=b"x"),)),)), "messages[0].content[0].image_url",
     "media type"),
    (t.ChatRequest("m", (t.Message("user", (t.AudioPart(b"x", "opus"),)),)),
     "messages[0].content[0].input_audio.format", "'opus'"),
    (t.ChatRequest("m", (t.Message("user", (t.FilePart(data=b"x"),)),)), "messages[0].content[0].file",
     "media type"),
    (t.ChatRequest("m", (t.Message("user", (t.TextPart("x", {"annotations": []}),)),)),
     "messages[0].content[0].annotations", "'annotations'"),
    (t.ChatRequest("m", (USER,), tools=(t.OtherTool({"type": "web_search"}),)), "tools[0].type", "'web_search'"),
    (t.ChatRequest("m", (USER,), tool_choice=t.ToolChoice(other={"type": "allowed_tools"})), "tool_choice",
     "allowed_tools"),
    (t.ChatRequest("m", (USER,), response_format=t.ResponseFormat("grammar", extra={"grammar": "x"})),
     "response_format.grammar", "response_format key"),
    (t.ChatRequest("m", (USER,), response_format=t.ResponseFormat("regex")), "response_format.type", "'regex'"),
    (t.ChatRequest("bad/../model", (USER,)), "model", "not a Gemini model name"),
    (t.ChatRequest("gemini:streamGenerateContent", (USER,)), "model", "not a Gemini model name"),
]


@pytest.mark.parametrize(("request_", "field", "fragment"), UNSUPPORTED)
def test_gemini_encode_chat_refuses_what_gemini_cannot_express(request_, field, fragment):
    got_field, description = violation(request_)
    assert got_field == field and fragment in description


def test_gemini_encode_chat_refuses_openai_only_stream_options():
    request = t.ChatRequest("m", (USER,), include_usage=True, stream_extra={"include_obfuscation": False})
    with pytest.raises(e.InvalidRequest, match="stream_options.include_obfuscation"):
        GEMINI.encode_chat(request, TARGET, stream=True)
    assert encoded(t.ChatRequest("m", (USER,), include_usage=True), stream=True) == encoded(
        t.ChatRequest("m", (USER,)))


def test_gemini_encode_embeddings_and_list_models():
    request = t.EmbeddingsRequest("gemini-embedding-001", ("a", "b"), dimensions=8,
                                  extra={"taskType": "RETRIEVAL_QUERY"})
    call = GEMINI.encode_embeddings(request, TARGET)
    body = orjson.loads(call.body)
    assert oracles_gemini.embed_request_errors(body) == []
    assert call.url == f"{API}/models/gemini-embedding-001:batchEmbedContents"
    assert body["requests"][1] == {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]},
                                   "outputDimensionality": 8, "taskType": "RETRIEVAL_QUERY"}
    for bad, field in ((t.EmbeddingsRequest("e", token_inputs=((1, 2),)), "input"), (
            t.EmbeddingsRequest("e", ("a",), user="u"), "user")):
        with pytest.raises(e.InvalidRequest) as caught:
            GEMINI.encode_embeddings(bad, TARGET)
        assert caught.value.violations[0].field == field
    listing = GEMINI.encode_list_models(TARGET)
    assert (listing.method, listing.url, listing.body) == ("GET", f"{API}/models?pageSize=1000", None)
    assert "content-type" not in listing.headers and listing.headers["x-goog-api-key"] == "k-test"
