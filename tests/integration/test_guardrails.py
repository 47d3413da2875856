"""Guardrails over real gRPC against the strict fake OpenAI upstream: denials (FAILED_PRECONDITION + HOOKS_FAILED +
the report), failures without deny reported in the answer, transformers changing what goes upstream and what comes
back, 446 driving retries and fallbacks, the cache storing only answers that passed and judging stored ones, stream
modes, default guardrails (headers and the server's), plugins, embeddings and config errors."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway_grpc.config import CacheSettings, GatewaySettings, GuardrailSettings, SemanticCacheSettings
from gateway_grpc.server import GatewayServer
from gateway_grpc.v1 import chat_pb2, embeddings_pb2, gateway_service_pb2_grpc, guardrails_pb2, options_pb2

ASK = "Please write to ada@example.com about the FORBIDDEN plan today"
DENY_FORBIDDEN = {"default.regexMatch": {"rule": "FORBIDDEN", "not": True}, "deny": True}
FLAG_FORBIDDEN = {"default.regexMatch": {"rule": "FORBIDDEN", "not": True}}


async def _serve(settings: GatewaySettings) -> tuple[GatewayServer, grpc.aio.Channel, Any]:
    server = GatewayServer(settings, "127.0.0.1", 0)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    return server, channel, gateway_service_pb2_grpc.GatewayServiceStub(channel)


@pytest_asyncio.fixture
async def guarded():
    """A gateway with the response cache on (memory) and a team's plugin checks registered."""
    settings = GatewaySettings(
        cache=CacheSettings(semantic=SemanticCacheSettings(enabled=False)),
        guardrails=GuardrailSettings(plugins=["tests.gateway_grpc.guardrails.plugin_checks"]))
    server, channel, stub = await _serve(settings)
    yield stub
    await channel.close()
    await server.stop(grace=0)


def options(upstream, **config: Any) -> options_pb2.RequestOptions:
    return options_pb2.RequestOptions(config_json=json.dumps(
        {"provider": "openai", "custom_host": upstream.base_url, "api_key": "sk-guard", **config}))


def chat(upstream, text: str = ASK, model: str = "gpt-4o-mini", **config: Any) -> chat_pb2.CreateChatCompletionRequest:
    return chat_pb2.CreateChatCompletionRequest(
        model=model, messages=[chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, text="Reply to ada@example.com"),
                               chat_pb2.Message(role=chat_pb2.ROLE_USER, text=text)],
        options=options(upstream, **config))


def denial(error: grpc.aio.AioRpcError) -> tuple[str, guardrails_pb2.GuardrailReport]:
    """The ErrorInfo reason and the GuardrailReport packed in a failed call's status."""
    reason, report = "", guardrails_pb2.GuardrailReport()
    for detail in rpc_status.from_call(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(guardrails_pb2.GuardrailReport.DESCRIPTOR):
            detail.Unpack(report)
    return reason, report


def sent_texts(upstream) -> list[list[str]]:
    return [[m["content"] for m in r.json["messages"]] for r in upstream.requests if r.path.endswith("/completions")]


async def test_input_denial_is_failed_precondition_with_the_report_and_no_upstream_call(guarded, upstream):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateChatCompletion(chat(upstream, input_guardrails=[DENY_FORBIDDEN]))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "guardrail checks defined in the config failed" in caught.value.details()
    reason, report = denial(caught.value)
    assert reason == "HOOKS_FAILED" and report.failed
    (hook,) = report.before_request_hooks
    assert (hook.verdict, hook.deny, hook.checks[0].id) == (False, True, "default.regexMatch")
    assert report.after_request_hooks == [] and upstream.requests == []


async def test_a_failure_without_deny_answers_with_the_report(guarded, upstream):
    answer = await guarded.CreateChatCompletion(chat(upstream, input_guardrails=[FLAG_FORBIDDEN],
                                                     output_guardrails=[{"default.wordCount": {"minWords": 2}}]))
    assert answer.choices[0].message.text.startswith("Echo:")
    report = answer.hook_results
    assert report.failed and [h.verdict for h in report.before_request_hooks] == [False]
    assert [h.verdict for h in report.after_request_hooks] == [True]


async def test_an_answer_without_guardrails_has_no_report(guarded, upstream):
    answer = await guarded.CreateChatCompletion(chat(upstream))
    assert not answer.HasField("hook_results")


async def test_output_denial_comes_after_the_upstream_answered(guarded, upstream):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateChatCompletion(chat(upstream, output_guardrails=[DENY_FORBIDDEN]))
    reason, report = denial(caught.value)
    assert reason == "HOOKS_FAILED" and [h.verdict for h in report.after_request_hooks] == [False]
    assert upstream.calls("gpt-4o-mini") == 1


async def test_input_transformers_change_what_goes_upstream_in_every_message(guarded, upstream):
    redact = {"default.regexReplace": {"rule": r"[\w.]+@example\.com", "redactText": "[EMAIL]"}}
    answer = await guarded.CreateChatCompletion(chat(upstream, input_guardrails=[redact]))
    assert sent_texts(upstream) == [["Reply to [EMAIL]", ASK.replace("ada@example.com", "[EMAIL]")]]
    assert answer.choices[0].message.text == "Echo: " + ASK.replace("ada@example.com", "[EMAIL]")
    (hook,) = answer.hook_results.before_request_hooks
    assert hook.transformed and hook.checks[0].transformed and not answer.hook_results.failed


async def test_output_pii_redaction_changes_the_answer(guarded, upstream):
    answer = await guarded.CreateChatCompletion(chat(upstream, output_guardrails=[{"default.pii": {"redact": True}}]))
    assert sent_texts(upstream)[0][1] == ASK  # the question went upstream as written
    text = answer.choices[0].message.text
    assert "ada@example.com" not in text and "[EMAIL_ADDRESS]" in text
    assert answer.hook_results.after_request_hooks[0].transformed


async def test_446_in_retry_status_codes_retries_the_whole_attempt(guarded, upstream):
    request = chat(upstream, model="gpt-4o-mini+delay-1", output_guardrails=[DENY_FORBIDDEN],
                   retry={"attempts": 2, "on_status_codes": [446]})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateChatCompletion(request)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert upstream.calls("gpt-4o-mini+delay-1") == 3


async def test_446_in_fallback_status_codes_moves_to_the_next_target(guarded, upstream):
    config = {"strategy": {"mode": "fallback", "on_status_codes": [446]},
              "output_guardrails": [{"default.wordCount": {"minWords": 4}, "deny": True}],
              "targets": [{"override_params": {"max_tokens": 2}}, {"override_params": {"max_tokens": 50}}]}
    answer = await guarded.CreateChatCompletion(chat(upstream, **config))
    assert len(answer.choices[0].message.text.split()) >= 4
    assert [(a.target_path, a.status) for a in answer.routing.attempts] == [
        ("config.targets[0]", 446), ("config.targets[1]", 200)]
    assert [h.verdict for h in answer.hook_results.after_request_hooks] == [True]  # the answering target's


async def test_answers_that_failed_output_guardrails_are_not_cached(guarded, upstream):
    request = chat(upstream, model="gpt-4o-mini+delay-2", output_guardrails=[FLAG_FORBIDDEN],
                   cache={"mode": "simple"})
    first = await guarded.CreateChatCompletion(request)
    second = await guarded.CreateChatCompletion(request)
    assert first.hook_results.failed and second.hook_results.failed
    assert (first.routing.cache_status, second.routing.cache_status) == ("MISS", "MISS")
    assert upstream.calls("gpt-4o-mini+delay-2") == 2


async def test_a_stored_answer_is_judged_by_a_newer_policy(guarded, upstream):
    clean = "What is the capital of France?"
    stored = await guarded.CreateChatCompletion(chat(upstream, clean, "gpt-4o-mini+delay-3", cache={"mode": "simple"}))
    assert stored.routing.cache_status == "MISS"
    stricter = chat(upstream, clean, "gpt-4o-mini+delay-3", cache={"mode": "simple"},
                    output_guardrails=[{"default.contains": {"words": ["Paris"], "operator": "any"}, "deny": True}])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateChatCompletion(stricter)
    reason, report = denial(caught.value)
    assert reason == "HOOKS_FAILED" and report.after_request_hooks[0].checks[0].id == "default.contains"
    assert upstream.calls("gpt-4o-mini+delay-3") == 1  # judged from the cache entry, not called again


async def stream_events(stub, request) -> tuple[list[Any], grpc.aio.AioRpcError | None]:
    call = stub.StreamChatCompletion(chat_pb2.StreamChatCompletionRequest(request=request))
    events: list[Any] = []
    try:
        async for event in call:
            events.append(event)
    except grpc.aio.AioRpcError as error:
        return events, error
    return events, None


def streamed_text(events: list[Any]) -> str:
    return "".join(e.chunk.choices[0].delta.content for e in events if e.WhichOneof("event") == "chunk"
                   and e.chunk.choices)


STREAM_ASK = "alpha beta gamma FORBIDDEN delta epsilon"


async def test_stream_buffer_denial_is_a_status_before_any_chunk(guarded, upstream):
    events, error = await stream_events(guarded, chat(upstream, STREAM_ASK, output_guardrails=[DENY_FORBIDDEN]))
    assert events == [] and error is not None and error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_stream_window_denial_cuts_the_stream_in_band_before_the_word(guarded, upstream):
    window = {**DENY_FORBIDDEN, "stream_mode": "window"}
    events, error = await stream_events(guarded, chat(upstream, STREAM_ASK, "gpt-4o-mini+gap-5",
                                                      output_guardrails=[window]))
    assert error is None
    assert streamed_text(events) == "Echo: alpha beta gamma "  # the fake sends a token per chunk
    last = events[-1]
    assert last.WhichOneof("event") == "error" and last.error.reason == "HOOKS_FAILED"
    assert last.error.http_status == 446 and not last.error.hook_results.after_request_hooks[0].verdict


async def test_stream_final_mode_reports_in_a_trailing_message(guarded, upstream):
    final = {**FLAG_FORBIDDEN, "stream_mode": "final"}
    events, error = await stream_events(guarded, chat(upstream, STREAM_ASK, output_guardrails=[final]))
    assert error is None and "FORBIDDEN" in streamed_text(events)
    last = events[-1]
    assert last.WhichOneof("event") is None and last.hook_results.failed
    assert [h.verdict for h in last.hook_results.after_request_hooks] == [False]


async def test_stream_input_results_come_with_the_first_message(guarded, upstream):
    events, error = await stream_events(guarded, chat(upstream, input_guardrails=[FLAG_FORBIDDEN]))
    assert error is None
    assert events[0].hook_results.failed and not events[0].hook_results.before_request_hooks[0].verdict


async def test_default_guardrail_headers_apply_to_every_target(guarded, upstream):
    header = json.dumps([{"default.regexMatch": {"rule": "FORBIDDEN", "not": True}, "deny": True}])
    call = guarded.CreateChatCompletion(chat(upstream), metadata=(("x-portkey-default-input-guardrails", header),))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert denial(caught.value)[0] == "HOOKS_FAILED"


async def test_a_bad_default_guardrail_header_is_invalid_argument_naming_it(guarded, upstream):
    call = guarded.CreateChatCompletion(chat(upstream),
                                        metadata=(("x-portkey-default-output-guardrails", "[{\"deny\": true}]"),))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x-portkey-default-output-guardrails[0]" in caught.value.details()


async def test_a_plugin_check_runs_like_a_built_in_one(guarded, upstream):
    answer = await guarded.CreateChatCompletion(chat(upstream, output_guardrails=[{"team.shout": {}}]))
    assert answer.choices[0].message.text == ("Echo: " + ASK).upper()


async def test_bad_check_parameters_are_invalid_argument_naming_the_path(guarded, upstream):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateChatCompletion(chat(upstream, output_guardrails=[{"wordCount": {"minWords": "two"}}]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "options.config_json.output_guardrails[0].checks[0].parameters.minWords" in caught.value.details()


async def test_embeddings_run_input_guardrails(guarded, upstream):
    request = embeddings_pb2.CreateEmbeddingsRequest(
        model="text-embedding-3-small", input=["fine", "FORBIDDEN"],
        options=options(upstream, input_guardrails=[DENY_FORBIDDEN], output_guardrails=[DENY_FORBIDDEN]))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await guarded.CreateEmbeddings(request)
    assert denial(caught.value)[0] == "HOOKS_FAILED"
    request.input[:] = ["fine", "also fine"]
    answer = await guarded.CreateEmbeddings(request)
    assert len(answer.data) == 2 and answer.hook_results.after_request_hooks == []


async def test_server_default_guardrails_apply_to_every_call(upstream):
    settings = GatewaySettings(cache=CacheSettings(semantic=SemanticCacheSettings(enabled=False)),
                               guardrails=GuardrailSettings(default_output=[DENY_FORBIDDEN]))
    server, channel, stub = await _serve(settings)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateChatCompletion(chat(upstream))
        assert denial(caught.value)[0] == "HOOKS_FAILED"
        clean = await stub.CreateChatCompletion(chat(upstream, "hello"))
        assert [h.verdict for h in clean.hook_results.after_request_hooks] == [True]
    finally:
        await channel.close()
        await server.stop(grace=0)
