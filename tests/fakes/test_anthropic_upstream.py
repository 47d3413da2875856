"""The fake Anthropic upstream, proved with the official anthropic SDK (provider-oracles.md §4) and re-validated from
its raw bytes by the strict oracles (§2, §3.2), which are themselves shown to refuse what Anthropic refuses."""

from __future__ import annotations

import json

import anthropic
import httpx
import httpx2
import pytest
from anthropic import Anthropic

from tests import oracles_anthropic as oracle
from tests.fakes.anthropic_upstream import MISSING_KEY, MISSING_VERSION, FakeAnthropic, parse_directives

HELLO = [{"role": "user", "content": "hello big world"}]
TOOLS = [{"name": name, "input_schema": {"type": "object", "properties": {}}} for name in ("lookup", "search", "fetch")]
VERSION = {"anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def server():
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.clear()
    return server


@pytest.fixture
def client(fake):
    with Anthropic(base_url=fake.origin, api_key="sk-ant-test", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(fake):
    with httpx2.Client(base_url=fake.base_url, headers={"x-api-key": "sk-ant-test", **VERSION}) as raw:
        yield raw


def body(model: str = "claude-sonnet-4-5", messages: list | None = None, **params) -> dict:
    return {"model": model, "max_tokens": 64, "messages": messages or HELLO, **params}


def sse_events(raw: bytes) -> list[tuple[str, dict]]:
    """(event name, data JSON) of each SSE event; every data line validated by the stream-event oracle."""
    events = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if line)
        if lines:
            data = json.loads(lines["data"])
            oracle.check_stream_event(data)
            events.append((lines["event"], data))
    return events


# --- messages ---------------------------------------------------------------------------------------------------


def test_create_echoes_the_last_user_text_with_usage(client, fake):
    messages = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"}, *HELLO]
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, system="be brief", messages=messages)
    assert (message.content[0].text, message.stop_reason, message.model) == ("Echo: hello big world", "end_turn",
                                                                            "claude-sonnet-4-5")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 4)
    sent = fake.requests[-1]
    assert (sent.path, sent.headers["x-api-key"], sent.headers["anthropic-version"]) == (
        "/v1/messages", "sk-ant-test", "2023-06-01")
    assert sent.oracle_errors == []


def test_raw_message_passes_the_sdk_model_without_unknown_keys(http):
    raw = http.post("/messages", json=body()).json()
    oracle.check_message(raw)
    assert raw["content"] == [{"type": "text", "text": "Echo: hello big world"}]
    assert raw["usage"]["cache_read_input_tokens"] == 0 and raw["usage"]["service_tier"] == "standard"
    assert raw["id"].startswith("msg_") and http.post("/messages", json=body()).json()["id"] != raw["id"]


def test_bearer_auth_is_accepted_too(fake):
    headers = {"authorization": "Bearer sk-ant-test", **VERSION}
    response = httpx2.post(f"{fake.base_url}/messages", json=body(), headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("headers", "status", "message"), [
    (VERSION, 401, MISSING_KEY),
    ({"x-api-key": "sk-bad", **VERSION}, 401, "invalid x-api-key"),
    ({"authorization": "Basic abc", **VERSION}, 401, MISSING_KEY),
    ({"x-api-key": "k"}, 400, MISSING_VERSION),
])
def test_auth_and_version_headers_are_required(fake, headers, status, message):
    response = httpx2.post(f"{fake.base_url}/messages", json=body(), headers=headers)
    assert response.status_code == status
    assert oracle.check_error(response.json()).error.message == message


@pytest.mark.parametrize(("params", "stop_reason", "text", "stop_sequence"), [
    ({"max_tokens": 2}, "max_tokens", "Echo: hello ", None),
    ({"stop_sequences": ["world", "big"]}, "stop_sequence", "Echo: hello ", "big"),
    ({"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}, "end_turn",
     '{"echo": "hello big world"}', None),
])
def test_stop_reasons_follow_the_request(client, params, stop_reason, text, stop_sequence):
    message = client.messages.create(**{**body(), **params})
    assert (message.stop_reason, message.content[0].text, message.stop_sequence) == (stop_reason, text, stop_sequence)


def test_refusal_thinking_and_cache_directives(client, http):
    assert client.messages.create(**body("claude+refusal")).stop_reason == "refusal"
    message = client.messages.create(**body("claude+thinking+cache-read-7+cache-write-3"))
    thinking, text = message.content
    assert (thinking.type, thinking.thinking, text.text) == ("thinking", "The user said: hello big world",
                                                             "Echo: hello big world")
    assert thinking.signature and (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) \
        == (7, 3)
    enabled = client.messages.create(**body(thinking={"type": "enabled", "budget_tokens": 1024}))
    assert enabled.content[0].type == "thinking"
    oracle.check_message(http.post("/messages", json=body("claude+thinking")).json())


# --- tools ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "tool_choice", "names"), [
    ("claude", None, ["lookup"]),
    ("claude+parallel-tools", None, ["lookup", "search", "fetch"]),
    ("claude+parallel-tools", {"type": "tool", "name": "search"}, ["search"]),
    ("claude", {"type": "any"}, ["lookup"]),
    ("claude", {"type": "none"}, []),
])
def test_tools_answer_with_tool_use_blocks(client, http, model, tool_choice, names):
    params = body(model, tools=TOOLS, **({"tool_choice": tool_choice} if tool_choice else {}))
    message = client.messages.create(**params)
    calls = [b for b in message.content if b.type == "tool_use"]
    assert [c.name for c in calls] == names
    assert all(c.input == {"echo": "hello big world"} for c in calls)
    assert message.stop_reason == ("tool_use" if names else "end_turn")
    oracle.check_message(http.post("/messages", json=params).json())


def test_after_a_tool_result_the_answer_is_text(client):
    messages = [*HELLO, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup",
                                                            "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}]}]
    message = client.messages.create(model="claude", max_tokens=64, messages=messages, tools=TOOLS)
    assert (message.stop_reason, message.content[0].text) == ("end_turn", "Echo: hello big world")


# --- streams ----------------------------------------------------------------------------------------------------


def test_stream_helper_gives_text_and_final_message(client):
    with client.messages.stream(**body("claude+thinking")) as stream:
        assert "".join(stream.text_stream) == "Echo: hello big world"
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "The user said: hello big world" and final.stop_reason == "end_turn"


def test_raw_stream_has_event_lines_pings_and_valid_events(http):
    response = http.post("/messages", json=body(stream=True))
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.content)
    assert all(name == data["type"] for name, data in events)
    assert [name for name, _ in events] == [
        "message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_delta", "ping", "content_block_stop", "message_delta", "message_stop"]
    assert events[0][1]["message"]["stop_reason"] is None and events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_stream_of_parallel_tool_calls_builds_whole_inputs(client, http):
    with client.messages.stream(**body("claude+parallel-tools", tools=TOOLS)) as stream:
        final = stream.get_final_message()
    assert [(b.id, b.name, b.input) for b in final.content] == [
        (f"toolu_fake0{i}", name, {"echo": "hello big world"}) for i, name in enumerate(["lookup", "search", "fetch"])]
    events = sse_events(http.post("/messages", json=body("claude+parallel-tools", tools=TOOLS, stream=True)).content)
    fragments = [d["delta"]["partial_json"] for _, d in events if d["type"] == "content_block_delta"]
    assert fragments[0] == "" and len(fragments) == 12


def test_stream_error_directive_sends_an_in_band_error_event(client, http):
    with pytest.raises(anthropic.APIStatusError) as caught:
        list(client.messages.create(**body("claude+stream-error-2", stream=True)))
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    events = sse_events(http.post("/messages", json=body("claude+stream-error-2", stream=True)).content)
    deltas = [d for _, d in events if d["type"] == "content_block_delta"]
    assert len(deltas) == 2 and events[-1][0] == "error"


def test_stream_break_directive_cuts_the_connection(client, fake):
    with pytest.raises(httpx.RemoteProtocolError):  # mid-body, the SDK lets its HTTP client's error through
        list(client.messages.create(**body("claude+stream-break-1", stream=True)))
    assert fake.requests[-1].ended.wait(5) and fake.requests[-1].stream_end == "broken"


# --- errors, models, oracle refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "exception", "type_"), [
    (400, anthropic.BadRequestError, "invalid_request_error"),
    (401, anthropic.AuthenticationError, "authentication_error"),
    (403, anthropic.PermissionDeniedError, "permission_error"),
    (404, anthropic.NotFoundError, "not_found_error"),
    (413, anthropic.RequestTooLargeError, "request_too_large"),
    (429, anthropic.RateLimitError, "rate_limit_error"),
    (500, anthropic.InternalServerError, "api_error"),
    (529, anthropic.OverloadedError, "overloaded_error"),
])
def test_error_directive_raises_the_matching_sdk_exception(client, http, status, exception, type_):
    with pytest.raises(exception) as caught:
        client.messages.create(**body(f"claude+error-{status}"))
    assert caught.value.status_code == status and caught.value.body["error"]["type"] == type_
    raw = http.post("/messages", json=body(f"claude+error-{status}")).json()
    oracle.check_error(raw)
    assert raw["error"]["type"] == type_


def test_error_directives_set_retry_after_and_apply_to_streams(http, client):
    assert http.post("/messages", json=body("claude+error-429")).headers["retry-after"] == "1"
    overloaded = http.post("/messages", json=body("claude+error-529+retry-after-3"))
    assert (overloaded.status_code, overloaded.headers["retry-after"]) == (529, "3")
    assert "retry-after" not in http.post("/messages", json=body("claude+error-500")).headers
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(**body("claude+error-529", stream=True))


def test_models_list_in_anthropics_page_format(client, http):
    assert [m.id for m in client.models.list()][:1] == ["claude-opus-4-1-20250805"]
    page = http.get("/models").json()
    assert [m.type for m in oracle.check_models_page(page)] == ["model"] * 3 and page["has_more"] is False


def test_unknown_paths_and_directives_answer_in_the_error_envelope(http):
    missing = http.post("/chat/completions", json=body())
    assert missing.status_code == 404 and oracle.check_error(missing.json()).error.type == "not_found_error"
    unknown = http.post("/messages", json=body("claude+turbo"))
    assert unknown.status_code == 400 and "unknown directive 'turbo'" in unknown.json()["error"]["message"]
    assert parse_directives("c+stream-error-2+cache-read-5").stream_error == 2


def test_strict_fake_refuses_bodies_the_sdk_types_refuse(http, fake):
    response = http.post("/messages", json={**body(), "frequency_penalty": 1})
    assert response.status_code == 400 and fake.requests[-1].oracle_errors == [
        "frequency_penalty: unknown key (extra inputs are not permitted)"]


@pytest.mark.parametrize(("bad", "error"), [
    ({"max_tokens": None}, "max_tokens"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role: 'system' is not a 2023-06-01"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content[0].type"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools[0]"),
    ({"top_logprobs": 2}, "top_logprobs: unknown key"),
    ({"system": [{"type": "text", "text": "x", "cache_control": {"type": "persistent"}}]}, "system[0].cache_control"),
])
def test_request_oracle_refuses_what_anthropic_refuses(bad, error):
    request = {**body(), **bad}
    if request["max_tokens"] is None:
        del request["max_tokens"]
    errors = oracle.message_request_errors(request)
    assert errors and any(line.startswith(error) for line in errors), errors


@pytest.mark.parametrize(("check", "raw"), [
    (oracle.check_message, {"id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
                            "stop_reason": "stop", "usage": {"input_tokens": 1, "output_tokens": 1}}),
    (oracle.check_message, {"id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
                            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}, "x": 1}),
    (oracle.check_stream_event, {"type": "content_block_delta", "index": 0, "delta": {"type": "text", "text": "a"}}),
    (oracle.check_stream_event, {"type": "ping", "extra": 1}),
    (oracle.check_stream_event, {"type": "message_stop", "surprise": True}),
    (oracle.check_error, {"error": {"message": "x", "type": "server_error"}}),
])
def test_response_oracles_refuse_what_the_sdk_or_wire_format_refuses(check, raw):
    with pytest.raises(AssertionError):
        check(raw)
