"""The conformance matrix (CONVENTIONS §10, tensorzero's E2ETestProviders): the same cases (cases.py) for every
provider row (providers.py), in two columns: gRPC (generated stubs, in-process GatewayServer) and REST (the openai
SDK with `max_retries=0` against the whole stack: Envoy, edge, gRPC worker). Upstreams are the strict loopback fakes.

Every test checks, whatever the case:
- every request the fake received passed the provider's SDK-type oracle (`oracle_errors == []`);
- the answer (or every chunk) validates as OpenAI's type (tests/oracles.py), and says what the case asks for;
- a case the provider lacks is refused with a 400 naming the provider and the feature (the whole API's when it has
  none of the case's kind: "chat completions" on an embeddings- or images-only provider), and never reaches the fake;
- an error case answers the right REST status / gRPC code and OpenAI error `type`, and is retried exactly when the
  gateway's default retry set (gateway_grpc/retry.py DEFAULT_RETRY_STATUSES) holds its status: every request carries
  `retry: {attempts: 1}`, so the fake sees 2 calls for a retryable failure and 1 otherwise;
- the request, the upstream request and the response equal golden/<provider>/<case>.json.

Golden files: `UPDATE_GOLDEN=1 .venv/bin/pytest tests/conformance` rewrites them (both columns must write the same
content); review the diff before committing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway_grpc.providers import PROVIDERS
from gateway_grpc.retry import DEFAULT_RETRY_STATUSES
from tests import oracles
from tests.conformance import golden
from tests.conformance.cases import BY_ID, CASES, ECHO_SCHEMA, Case
from tests.conformance.drivers import Outcome
from tests.conformance.providers import BY_SLUG, FAKES, ROWS, Row

MATRIX = [pytest.param(row, BY_ID[case_id], id=f"{row.slug}-{case_id}")
          for row in ROWS for case_id in (*(case.id for case in CASES), *row.extra_cases)]
COLUMNS = ["grpc", pytest.param("rest", marks=pytest.mark.e2e)]
# The gRPC code of an upstream error status (docs/architecture.md §Errors; 5xx are UNAVAILABLE).
GRPC_CODES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
              429: "RESOURCE_EXHAUSTED", 500: "UNAVAILABLE", 503: "UNAVAILABLE", 529: "UNAVAILABLE"}
TOP_LEVEL_EXTRAS = ("provider",)  # Portkey contract §11: answers name the provider


def test_conformance_matrix_has_a_row_for_every_registered_provider() -> None:
    assert sorted(BY_SLUG) == sorted(PROVIDERS)


def test_every_cell_asserts_the_providers_behaviour() -> None:
    """No cell passes by default: a refused cell names a feature (an empty one is in every message), a supported error
    cell has its script, a row supports only cases it runs, and never a case of a kind it refuses as a whole."""
    for row in ROWS:
        ids = {case.id for case in CASES} | set(row.extra_cases)
        assert row.supports <= ids, f"{row.slug} supports cases it does not run: {sorted(row.supports - ids)}"
        assert set(row.errors) <= row.supports, f"{row.slug} scripts unsupported cases"
        for case_id in ids:
            case = row.case(BY_ID[case_id])
            if case_id not in row.supports:
                assert row.feature(case), f"{row.slug}-{case_id}: a refusal must name the missing feature"
            else:
                assert case.kind not in row.refusals, f"{row.slug}-{case_id}: supported, yet its kind is refused"
                assert not case.is_error or case_id in row.errors, f"{row.slug}-{case_id}: no error script"


def run_cell(runner: Any, column: str, row: Row, case: Case, fake: Any) -> tuple[dict[str, Any], list, Outcome]:
    """Send one cell through one column and check what the client and the fake saw; (request, upstream calls,
    outcome) for the golden record."""
    case = row.case(case)
    fake.clear()
    body = case.body(row.model_for(case))
    outcome = runner.run(case.kind, body, row.api_key, row.config(fake, case))
    received = list(fake.requests)
    assert [r.oracle_errors for r in received] == [[]] * len(received), "the upstream request failed its oracle"
    if case.id not in row.supports:
        check_refused(outcome, column, row, case, received)
    elif case.is_error:
        check_error(outcome, column, row, case, received)
    else:
        assert not outcome.error, f"{row.slug} failed: {outcome.body}"
        assert len(received) == 1, f"expected one upstream call, got {len(received)}"
        CHECKS[case.kind](outcome, row, case)
        if case.id == "json_output":
            check_schema_order(received[0])
    return body, received, outcome


@pytest.mark.parametrize(("row", "case"), MATRIX)
@pytest.mark.parametrize("column", COLUMNS)
def test_conformance(column: str, row: Row, case: Case, upstreams, request) -> None:
    runner = request.getfixturevalue(f"{column}_column")
    body, received, outcome = run_cell(runner, column, row, case, upstreams(row.fake))
    golden.check(row.slug, case.id, golden.record(body, received, outcome.body))


@pytest.mark.parametrize("column", COLUMNS)
def test_a_vertex_matrix_run_exchanges_one_token_per_gateway_process(column: str, request) -> None:
    """The vertex-ai row's every cell, retries included, costs one token exchange in a gateway process: the token
    cache works (providers/tokens.py). The gateway processes live for the session and may hold the matrix fake's
    token already, so this test brings its own fake: its key pair and token_uri make a credential neither process
    has seen, which must be exchanged exactly once. One process per column: the in-process server (gRPC), the
    stack's one gRPC worker (REST; `gateway up`'s default `--workers 1`)."""
    row = BY_SLUG["vertex-ai"]
    runner = request.getfixturevalue(f"{column}_column")
    with FAKES[row.fake]() as fake:
        calls = [call for case_id in (*(case.id for case in CASES), *row.extra_cases)
                 for call in run_cell(runner, column, row, BY_ID[case_id], fake)[1]]
        assert fake.exchanges == len(fake.grants) == 1, f"{fake.exchanges} token exchanges for one process"
        assert len(calls) > len(CASES), "the row's retried error cases were run"
        assert {call.headers["authorization"] for call in calls} == {f"Bearer {fake.issued[0]}"}


# --- refusals and errors -----------------------------------------------------------------------------------------


def check_refused(outcome: Outcome, column: str, row: Row, case: Case, received: list) -> None:
    feature = row.feature(case)
    assert feature, f"{row.slug}-{case.id}: unsupported, yet no feature to name"
    assert outcome.error, f"{row.slug} has no {feature}, yet answered {outcome.body}"
    assert received == [], "a refused request must not reach the upstream"
    message = outcome.body["error"]["message"]
    assert row.slug in message and feature in message, f"name {row.slug} and {feature}: {message}"
    if column == "rest":
        assert (outcome.status, outcome.body["error"]["type"]) == (400, "invalid_request_error")
    else:
        assert (outcome.code, outcome.reason) == ("INVALID_ARGUMENT", "INVALID_REQUEST")


def check_error(outcome: Outcome, column: str, row: Row, case: Case, received: list) -> None:
    script = row.errors[case.id]
    retryable = script.status in DEFAULT_RETRY_STATUSES
    assert outcome.error and not outcome.stream_error, f"expected an error, got {outcome.body}"
    assert len(received) == (2 if retryable else 1), f"retryable={retryable}: {len(received)} upstream calls"
    assert all(r.json == received[0].json for r in received), "a retry must resend the same body"
    assert outcome.headers.get("x-portkey-retry-attempt-count") == ("-1" if retryable else "0")
    assert outcome.body.get("provider") == row.slug
    if column == "rest":
        assert (outcome.status, outcome.body["error"]["type"]) == (script.status, script.type)
    else:
        assert outcome.code == GRPC_CODES[script.status]
        info = outcome.info
        assert (info.get("upstream_status"), info.get("type", ""), info.get("provider")) == (
            str(script.status), script.upstream_type, row.slug)


def _find_schema(value: Any) -> Any:
    """The first object equal to ECHO_SCHEMA in a parsed body (also inside a JSON string, as Bedrock sends it)."""
    if isinstance(value, str) and value.startswith("{"):
        return _find_schema(json.loads(value))
    if value == ECHO_SCHEMA:
        return value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for found in map(_find_schema, children) if found is not None), None)


def check_schema_order(record: Any) -> None:
    """The response schema reaches the upstream whole and with the caller's key order (json.loads keeps the order on
    the wire): structured outputs produce keys in schema order (OpenAI's structured outputs guide)."""
    sent = _find_schema(json.loads(record.body))
    assert sent is not None, "the response schema did not reach the upstream"
    assert json.dumps(sent) == json.dumps(ECHO_SCHEMA), f"schema key order changed on the way: {json.dumps(sent)}"


# --- answers -------------------------------------------------------------------------------------------------------


def _choice(outcome: Outcome, row: Row) -> dict[str, Any]:
    body = outcome.body
    oracles.check_chat_completion(body, allow_extra=(*TOP_LEVEL_EXTRAS, *row.answer_extras))
    assert len(body["choices"]) == 1 and body["choices"][0]["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    return body["choices"][0]


def _tool_calls(calls: list[dict[str, Any]], case: Case) -> list[str]:
    """The names of the calls, after checking each one's id and arguments."""
    assert len({call["id"] for call in calls}) == len(calls) and all(call["id"] for call in calls)
    assert all(json.loads(call["function"]["arguments"]) == {"echo": case.user_text} for call in calls)
    return [call["function"]["name"] for call in calls]


def check_chat(outcome: Outcome, row: Row, case: Case) -> None:
    choice = _choice(outcome, row)
    message = choice["message"]
    if case.id in ("tool_call", "parallel_tool_calls"):
        expected = ["get_weather"] if case.id == "tool_call" else ["get_weather", "get_time"]
        assert choice["finish_reason"] == "tool_calls" and not message.get("content")
        assert _tool_calls(message["tool_calls"], case) == expected
        return
    assert choice["finish_reason"] == "stop" and not message.get("tool_calls")
    if case.id == "tool_results":  # the answer to the tool result: text (each fake words it its own way)
        assert message["content"].startswith("Echo: ")
    elif case.id == "json_output" and row.json_output:
        assert json.loads(message["content"]) == {"echo": case.user_text}
    else:
        assert message["content"] == f"Echo: {case.user_text}"


def _chunks(outcome: Outcome, row: Row) -> list[dict[str, Any]]:
    chunks = outcome.body
    assert chunks, "an empty stream"
    for chunk in chunks:
        oracles.check_chat_chunk(chunk, allow_extra=row.answer_extras)
    assert len({(c["id"], c["created"], c["model"]) for c in chunks}) == 1, "chunks of one stream share id and model"
    first = next(c for c in chunks if c["choices"])
    assert first["choices"][0]["delta"].get("role") == "assistant", "the first delta carries the role"
    return chunks


def _stream_tool_calls(deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool-call deltas put together per `index`, as OpenAI clients do: id, name, then argument fragments."""
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas:
        call = calls.setdefault(delta["index"], {"id": "", "function": {"name": "", "arguments": ""}})
        if delta.get("id"):
            assert not call["id"], f"call {delta['index']} got a second id"
            call["id"] = delta["id"]
        function = delta.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""
    assert sorted(calls) == list(range(len(calls))), f"tool call indices {sorted(calls)} are not 0..n-1"
    return [calls[i] for i in sorted(calls)]


def check_stream(outcome: Outcome, row: Row, case: Case) -> None:
    chunks = _chunks(outcome, row)
    with_choices = [c for c in chunks if c["choices"]]
    finishes = [c["choices"][0]["finish_reason"] for c in with_choices if c["choices"][0]["finish_reason"]]
    deltas = [c["choices"][0]["delta"] for c in with_choices]
    if case.id == "stream_tool_calls":
        assert finishes == ["tool_calls"]
        calls = _stream_tool_calls([d for delta in deltas for d in delta.get("tool_calls") or ()])
        assert _tool_calls(calls, case) == ["get_weather", "get_time"]
        return
    assert finishes == ["stop"]
    assert "".join(d.get("content") or "" for d in deltas) == f"Echo: {case.user_text}"
    usage_chunks = [c for c in chunks if c.get("usage")]
    if case.id == "stream_usage":  # one final chunk with usage and choices []
        assert usage_chunks == [chunks[-1]] and chunks[-1]["choices"] == [], "usage must come last, alone"
        usage = chunks[-1]["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    else:
        assert usage_chunks == [] and len(with_choices) == len(chunks), "no usage chunk unless include_usage"


def check_embeddings(outcome: Outcome, row: Row, case: Case) -> None:
    body = outcome.body
    oracles.check_embeddings_response(body, allow_extra=TOP_LEVEL_EXTRAS)
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(item["embedding"] and all(isinstance(v, float) for v in item["embedding"]) for item in body["data"])
    assert body["data"][0]["embedding"] != body["data"][1]["embedding"]


CHECKS = {"chat": check_chat, "stream": check_stream, "embeddings": check_embeddings}
