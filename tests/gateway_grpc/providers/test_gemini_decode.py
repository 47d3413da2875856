"""The Gemini translator, answers: every decoded fixture is first proven Gemini-shaped by the SDK's response types
(tests/oracles_gemini.py), and every result, turned into the OpenAI JSON the edge sends, passes the strict OpenAI
oracle. Last, the real ProviderCall drives the provider against the fake Gemini upstream.
"""

import orjson
import pytest

from edge.openai_response import chat_chunk_json, chat_completion_json
from gateway_grpc import convert
from gateway_grpc import errors as e
from gateway_grpc import types as t
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.base import SseEvent
from gateway_grpc.providers.call import ProviderCall
from gateway_grpc.providers.gemini import Gemini
from gateway_grpc.providers.transport import ProviderTransport
from tests import oracles, oracles_gemini
from tests.fakes.gemini_upstream import FakeGemini
from tests.gateway_grpc.providers.test_gemini import GEMINI, LOOKUP, NOW, USER, encoded


def openai_json(response: t.ChatResponse) -> dict:
    raw = chat_completion_json(convert.chat_response(response, "google"))
    oracles.check_chat_completion(raw, allow_extra=("provider",))
    return raw


def chunk_json(chunk: t.ChatChunk) -> dict:
    raw = chat_chunk_json(convert.chat_chunk(chunk, "google").chunk)
    oracles.check_chat_chunk(raw)
    return raw


# ---- responses ----

USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 3, "cachedContentTokenCount": 2,
         "totalTokenCount": 17, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 6}]}
ANSWER = {
    "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"text": "Let me think. ", "thought": True}, {"text": "Hello "},
        {"text": "there", "thoughtSignature": "c2ln"}]},
        "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
    "usageMetadata": USAGE, "modelVersion": "gemini-2.5-flash", "responseId": "resp-1",
}
CALLED = {
    "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"functionCall": {"name": "lookup", "args": {"q": "x", "n": [1, 2]}}, "thoughtSignature": "c2ln"},
        {"functionCall": {"id": "fc-7", "name": "fetch", "args": {}}}]}}],
    "modelVersion": "gemini-2.5-flash",
}


def test_gemini_decode_chat_text_reasoning_and_usage():
    oracles_gemini.check_generate_content_response(ANSWER)
    response = GEMINI.decode_chat(orjson.dumps(ANSWER))
    raw = openai_json(response)
    assert (raw["id"], raw["created"], raw["model"]) == ("resp-1", int(NOW), "gemini-2.5-flash")
    assert raw["choices"][0]["message"] == {"role": "assistant", "content": "Hello there", "refusal": None,
                                            "reasoning_content": "Let me think. "}
    assert raw["choices"][0]["finish_reason"] == "stop"
    assert response.usage == t.Usage(10, 7, 17, cached_tokens=2, prompt_audio_tokens=6, reasoning_tokens=3)


def test_gemini_decode_chat_function_calls_keep_ids_and_signatures():
    oracles_gemini.check_generate_content_response(CALLED)
    response = GEMINI.decode_chat(orjson.dumps(CALLED))
    assert response.id == f"google-{int(NOW) * 1000}"  # no responseId: Portkey's fallback form
    assert response.choices[0].message.tool_calls == (
        t.ToolCall("call_0", "lookup", '{"q":"x","n":[1,2]}', extra={"extra_content": {"google": {
            "thought_signature": "c2ln"}}}),
        t.ToolCall("fc-7", "fetch", "{}"))
    raw = openai_json(response)
    assert raw["choices"][0]["finish_reason"] == "tool_calls" and raw["choices"][0]["message"]["content"] is None
    # The next turn sends the signature back where Gemini wants it.
    follow_up = t.ChatRequest("m", (USER, response.choices[0].message, t.Message("tool", "1", tool_call_id="fc-7")))
    assert encoded(follow_up)["contents"][1]["parts"][0]["thoughtSignature"] == "c2ln"


@pytest.mark.parametrize(("reason", "called", "expected"), [
    ("STOP", False, "stop"), ("STOP", True, "tool_calls"), ("MAX_TOKENS", False, "length"),
    ("MAX_TOKENS", True, "length"), ("SAFETY", False, "content_filter"), ("RECITATION", False, "content_filter"),
    ("BLOCKLIST", False, "content_filter"), ("PROHIBITED_CONTENT", False, "content_filter"),
    ("SPII", False, "content_filter"), ("IMAGE_SAFETY", False, "content_filter"), ("LANGUAGE", False, "stop"),
    ("OTHER", False, "stop"), ("MALFORMED_FUNCTION_CALL", False, "stop"),
])
def test_gemini_decode_chat_finish_reasons(reason, called, expected):
    parts = [{"functionCall": {"name": "f", "args": {}}}] if called else [{"text": "x"}]
    raw = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": reason}]}
    oracles_gemini.check_generate_content_response(raw)
    assert openai_json(GEMINI.decode_chat(orjson.dumps(raw)))["choices"][0]["finish_reason"] == expected


def test_gemini_decode_chat_blocked_prompt_candidates_and_logprobs():
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3,
                                                                               "totalTokenCount": 3}}
    oracles_gemini.check_generate_content_response(blocked)
    choice = openai_json(GEMINI.decode_chat(orjson.dumps(blocked)))["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("content_filter", None)
    two = {"candidates": [
        {"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [{"text": "Hi"}]},
         "avgLogprobs": -0.5, "logprobsResult": {
             "chosenCandidates": [{"token": "Hi", "tokenId": 1, "logProbability": -0.5}],
             "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.5},
                                               {"token": "Hey", "logProbability": -1.5}]}]}},
        {"index": 1, "finishReason": "MAX_TOKENS", "content": {"role": "model", "parts": [{"text": "Yo"}]}}]}
    oracles_gemini.check_generate_content_response(two)
    raw = openai_json(GEMINI.decode_chat(orjson.dumps(two)))
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in raw["choices"]] == [
        (0, "Hi", "stop"), (1, "Yo", "length")]
    assert raw["choices"][0]["logprobs"]["content"] == [{"token": "Hi", "logprob": -0.5, "bytes": [72, 105],
                                                         "top_logprobs": [
                                                             {"token": "Hi", "logprob": -0.5, "bytes": [72, 105]},
                                                             {"token": "Hey", "logprob": -1.5,
                                                              "bytes": [72, 101, 121]}]}]


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"candidates": "x"}',
                                  b'{"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}'])
def test_gemini_decode_chat_refuses_malformed_bodies(body):
    with pytest.raises(e.ProviderBadResponse):
        GEMINI.decode_chat(body)


def test_gemini_decode_embeddings_and_models():
    raw = {"embeddings": [{"values": [0.5, -1.0]}, {"values": [0.25, 0.0]}]}
    oracles_gemini.check_embed_response(raw)
    assert GEMINI.decode_embeddings(orjson.dumps(raw)) == t.EmbeddingsResponse("", ([0.5, -1.0], [0.25, 0.0]))
    for bad in (b"{}", b'{"embeddings": [{"values": "x"}]}', b"nope"):
        with pytest.raises(e.ProviderBadResponse):
            GEMINI.decode_embeddings(bad)
    models = {"models": [{"name": "models/gemini-2.5-flash", "displayName": "Flash",
                          "supportedGenerationMethods": ["generateContent"]}], "nextPageToken": "p2"}
    oracles_gemini.check_models_response(models)
    assert GEMINI.decode_list_models(orjson.dumps(models)) == [t.ModelInfo("gemini-2.5-flash", 0, "google")]


# ---- streams ----

def event(body: dict) -> SseEvent:
    oracles_gemini.check_generate_content_response(body)
    return SseEvent("", orjson.dumps(body).decode())


def text_event(text: str, finish: str | None = None, *, index: int = 0, thought: bool = False, **top) -> dict:
    candidate: dict = {"index": index, "content": {"role": "model", "parts": [
        {"text": text, **({"thought": True} if thought else {})}]}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "r1", **top}


def decode_all(events: list[dict], *, include_usage: bool = False, n: int = 1) -> tuple[list[t.ChatChunk],
                                                                                      list[bool]]:
    request = t.ChatRequest("m", (USER,), include_usage=include_usage, params={"n": n} if n > 1 else {})
    decoder = GEMINI.chat_stream_decoder(request)
    chunks, done = [], []
    for body in events:
        chunks += decoder.decode(event(body))
        done.append(decoder.done)
    for chunk in chunks:
        chunk_json(chunk)
    return chunks, done


@pytest.mark.parametrize("include_usage", [False, True])
def test_gemini_stream_text_role_first_same_ids_usage_last(include_usage):
    running = {"promptTokenCount": 5, "totalTokenCount": 5}
    events = [text_event("Thinking", thought=True, usageMetadata=running), text_event("Hel", usageMetadata=running),
              text_event("lo", "STOP", usageMetadata={**running, "candidatesTokenCount": 2, "totalTokenCount": 7})]
    chunks, done = decode_all(events, include_usage=include_usage)
    assert done == [False, False, True]
    assert {(c.id, c.created, c.model) for c in chunks} == {("r1", int(NOW), "gemini-2.5-flash")}
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas == [t.Delta("assistant", "", reasoning_content="Thinking"), t.Delta(content="Hel"),
                      t.Delta(content="lo")]
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, None, "stop"]
    tail = [c for c in chunks if not c.choices]
    assert tail == ([t.ChatChunk("r1", int(NOW), "gemini-2.5-flash", (), t.Usage(5, 2, 7))] if include_usage else [])
    assert GEMINI.chat_stream_decoder().decode(event(events[-1]))[-1].usage is None  # no request: no usage chunk


def test_gemini_stream_tool_calls_are_whole_deltas_indexed_per_choice():
    calls = {"candidates": [
        {"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"functionCall": {"name": "lookup", "args": {"q": "a"}}, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "fetch", "args": {}}}]}},
        {"index": 1, "content": {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {}}}]}}],
        "modelVersion": "m"}
    later = {"candidates": [{"index": 1, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"functionCall": {"name": "fetch", "args": {"u": 1}}}]}}], "modelVersion": "m"}
    chunks, done = decode_all([calls, later])
    assert done == [False, True]  # candidate 1 finished only in the second event
    first = {c.index: c for c in chunks[0].choices}
    assert first[0].delta.tool_calls == (
        t.ToolCallDelta(0, "call_0", "function", "lookup", '{"q":"a"}',
                        {"extra_content": {"google": {"thought_signature": "c2ln"}}}),
        t.ToolCallDelta(1, "call_1", "function", "fetch", "{}"))
    assert (first[0].delta.role, first[0].finish_reason) == ("assistant", "tool_calls")
    assert first[1].delta.tool_calls == (t.ToolCallDelta(0, "call_2", "function", "lookup", "{}"),)
    [second] = chunks[1].choices
    assert (second.index, second.delta.role, second.finish_reason) == (1, None, "tool_calls")
    assert second.delta.tool_calls == (t.ToolCallDelta(1, "call_3", "function", "fetch", '{"u":1}'),)


def test_gemini_stream_is_done_only_when_the_requested_candidates_finished():
    first, second = text_event("a", "STOP", index=0), text_event("b", "STOP", index=1)
    assert decode_all([first, second], n=2)[1] == [False, True]
    assert decode_all([first, second])[1] == [True, True]  # n=1: the first finish ends it


def test_gemini_stream_blocked_prompt_ends_with_content_filter():
    chunks, done = decode_all([{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": "m"}])
    assert done == [True]
    assert chunks[0].choices == (t.ChunkChoice(0, t.Delta("assistant", ""), "content_filter"),)


@pytest.mark.parametrize(("code", "kind"), [(429, e.RateLimited), (500, e.ProviderRejected),
                                            (None, e.ProviderRejected)])
def test_gemini_stream_in_band_error_raises(code, kind):
    error = {"message": "overloaded", "status": "UNAVAILABLE", **({"code": code} if code else {})}
    with pytest.raises(kind) as caught:
        GEMINI.chat_stream_decoder().decode(SseEvent("", orjson.dumps({"error": error}).decode()))
    assert caught.value.message == "google error: overloaded" and caught.value.status == (code or 500)
    assert caught.value.error_type == "UNAVAILABLE"


@pytest.mark.parametrize("data", ["{not json", "[1]", '{"candidates": [{"content": {"parts": [{"functionCall": 1}]}}]}',
                                  '{"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}'])
def test_gemini_stream_refuses_garbage_and_skips_blank_events(data):
    decoder = GEMINI.chat_stream_decoder()
    assert decoder.decode(SseEvent("", "  ")) == [] and not decoder.done
    with pytest.raises(e.ProviderBadResponse):
        decoder.decode(SseEvent("", data))


# ---- errors ----

RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27s"}
KEY_INFO = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "x"}
ERRORS = [
    (429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [RETRY_INFO]}}, {},
     e.RateLimited, "RESOURCE_EXHAUSTED", "", 27.0),
    (429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [RETRY_INFO]}},
     {"retry-after": "2"}, e.RateLimited, "RESOURCE_EXHAUSTED", "", 2.0),
    (400, {"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT",
                     "details": [KEY_INFO]}}, {}, e.ProviderRejected, "INVALID_ARGUMENT", "API_KEY_INVALID", None),
    (503, {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}, {},
     e.ProviderRejected, "UNAVAILABLE", "", None),
    (500, [{"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}], {}, e.ProviderRejected,
     "INTERNAL", "", None),
    (502, "<html>Bad Gateway</html>", {}, e.ProviderRejected, "", "", None),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "error_type", "code", "retry_after"), ERRORS)
def test_gemini_decode_error_by_status(status, body, headers, kind, error_type, code, retry_after):
    if isinstance(body, dict):
        oracles_gemini.check_error(body)
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    error = GEMINI.decode_error(status, raw, headers)
    assert type(error) is kind
    assert (error.status, error.http_status, error.provider) == (status, status, "google")
    assert (error.error_type, error.code, error.retry_after) == (error_type, code, retry_after)
    envelope = body if isinstance(body, dict) else body[0] if isinstance(body, list) else None
    expected = f"google error: {envelope['error']['message']}" if envelope else "google error: <html>Bad Gateway</html>"
    assert error.message == expected


# ---- the real ProviderCall against the fake upstream ----

@pytest.fixture(scope="module")
def fake():
    with FakeGemini() as server:
        yield server


@pytest.fixture
async def call(fake, monkeypatch):
    fake.clear()
    if "google" not in PROVIDERS:  # until the registry lists it
        monkeypatch.setitem(PROVIDERS, "google", Gemini())
    transport = ProviderTransport()
    yield ProviderCall(transport)
    await transport.aclose()


def context(fake: FakeGemini, base_url: str = "") -> t.CallContext:
    return t.CallContext("trace", target=t.Target("google", "k", base_url=base_url or fake.base_url))


async def test_gemini_provider_call_complete_and_stream_against_the_fake(call, fake):
    request = t.ChatRequest("gemini-2.5-flash", (t.Message("system", "be brief"), t.Message("user", "hello big world")))
    answer = await call.complete(request, context(fake))
    assert answer.choices[0].message.content == "Echo: hello big world" and answer.usage == t.Usage(5, 4, 9)
    chunks = [c async for c in call.stream(request, context(fake, fake.origin))]  # a bare origin gets /v1beta
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello big world"
    assert chunks[-1].choices[0].finish_reason == "stop"
    for record in fake.requests:
        assert oracles_gemini.generate_content_errors(record.json) == [] and record.headers["x-goog-api-key"] == "k"
    assert [r.path for r in fake.requests] == ["/v1beta/models/gemini-2.5-flash:generateContent",
                                               "/v1beta/models/gemini-2.5-flash:streamGenerateContent"]


async def test_gemini_provider_call_tool_round_trip_against_the_fake(call, fake):
    tools = (LOOKUP, t.FunctionTool("fetch"))
    first = t.ChatRequest("gemini-2.5-flash+parallel-tools", (t.Message("user", "find x"),), tools=tools)
    chunks = [c async for c in call.stream(first, context(fake))]
    deltas = [d for c in chunks for ch in c.choices for d in ch.delta.tool_calls]
    assert [(d.index, d.id, d.name) for d in deltas] == [(0, "call_0", "lookup"), (1, "call_1", "fetch")]
    message = (await call.complete(first, context(fake))).choices[0].message
    results = tuple(t.Message("tool", "42", tool_call_id=c.id) for c in message.tool_calls)
    follow = t.ChatRequest("gemini-2.5-flash", (t.Message("user", "find x"), message, *results), tools=tools)
    answer = await call.complete(follow, context(fake))
    assert (answer.choices[0].message.content, answer.choices[0].finish_reason) == ("Echo: find x", "stop")
    sent = fake.requests[-1].json["contents"]
    assert sent[1]["parts"][0]["thoughtSignature"] == "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ=="
    assert [p["functionResponse"]["name"] for p in sent[2]["parts"]] == ["lookup", "fetch"]


@pytest.mark.parametrize(("model", "kind", "fragment"), [
    ("gemini-2.5-flash+unfinished", e.ProviderUnavailable, "google closed the stream before it finished"),
    ("gemini-2.5-flash+stream-break-1", e.ProviderUnavailable, "google could not be reached"),
    ("gemini-2.5-flash+stream-error-1", e.ProviderRejected, "google error: An internal error"),
    ("gemini-2.5-flash+error-429", e.RateLimited, "google error: You exceeded your current quota"),
    ("gemini-2.5-flash+bad-sse", e.ProviderBadResponse, "Invalid response received from google"),
])
async def test_gemini_provider_call_stream_failures(call, fake, model, kind, fragment):
    with pytest.raises(kind) as caught:
        [c async for c in call.stream(t.ChatRequest(model, (USER,)), context(fake))]
    assert fragment in caught.value.message
    if kind is e.RateLimited:
        assert (caught.value.retry_after, caught.value.error_type) == (1.0, "RESOURCE_EXHAUSTED")


async def test_gemini_provider_call_embeddings_and_models_against_the_fake(call, fake):
    request = t.EmbeddingsRequest("gemini-embedding-001", ("a", "b"), dimensions=4)
    vectors = (await call.embed(request, context(fake))).vectors
    assert [len(v) for v in vectors] == [4, 4] and vectors[0] != vectors[1]
    models = await call.list_models(context(fake))
    assert [m.id for m in models] == ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"]
