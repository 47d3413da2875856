"""The hook runner: verdict rules (errors pass unless failOnError, `not`, disabled checks), transformers in series,
I/O checks concurrently, feedback, and async hooks off the critical path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway_grpc.guardrails.base import AFTER, BEFORE, CHAT, Services, Subject
from gateway_grpc.guardrails.hooks import HookCompiler
from gateway_grpc.guardrails.results import HookResult
from gateway_grpc.guardrails.runner import HookRunner, run_hook
from gateway_grpc.types import ChatRequest, ChatResponse, Choice, Message
from tests.gateway_grpc.guardrails import plugin_checks

COMPILER = HookCompiler({check.id: check for check in plugin_checks.CHECKS}, Services())
REQUEST = ChatRequest("m", (Message("system", "be brief"), Message("user", "say hello")))


def subject(text: str = "say hello", event: str = BEFORE) -> Subject:
    response = ChatResponse("r", 1, "m", (Choice(0, Message("assistant", text)),)) if event == AFTER else None
    return Subject(event, CHAT, REQUEST, response, text)


def hook(**config: Any) -> Any:
    return COMPILER.shorthand([config], BEFORE, "h")[0]


VERDICTS = [
    ("passes", {"team.forbidden": {"word": "bye"}}, True, [True]),
    ("fails", {"team.forbidden": {"word": "hello"}}, False, [False]),
    ("not inverts", {"team.forbidden": {"word": "hello", "not": True}}, True, [True]),
    ("error passes", {"team.boom": {}}, True, [True]),
    ("error fails with failOnError", {"team.boom": {"failOnError": True}}, False, [False]),
    ("one failure fails the hook", {"team.forbidden": {"word": "bye"}, "team.slow": {"verdict": False}}, False,
     [True, False]),
    ("disabled check is not run", {"team.forbidden": {"word": "hello", "is_enabled": False}, "team.slow": {}},
     True, [True]),
]


@pytest.mark.parametrize(("config", "verdict", "checks"), [r[1:] for r in VERDICTS], ids=[r[0] for r in VERDICTS])
async def test_hook_verdicts(config: dict[str, Any], verdict: bool, checks: list[bool]) -> None:
    result, _ = await run_hook(hook(**config), subject())
    assert result.verdict is verdict
    assert [check.verdict for check in result.checks] == checks


async def test_an_errored_check_reports_its_error_and_no_data() -> None:
    result, _ = await run_hook(hook(**{"team.boom": {}}), subject())
    (check,) = result.checks
    assert check.error == ("RuntimeError", "the check broke") and check.data is None


async def test_transformer_edits_feed_later_checks_and_are_reported() -> None:
    shouted = hook(**{"team.shout": {}, "team.forbidden": {"word": "HELLO"}, "sequential": True})
    result, after = await run_hook(shouted, subject())
    assert [m.content for m in after.request.messages] == ["BE BRIEF", "SAY HELLO"]
    assert after.text == "SAY HELLO"
    assert result.transformed and result.checks[0].transformed
    assert result.checks[1].data == {"found": True, "seen": 9}  # it judged the shouted text
    assert result.verdict is False


async def test_output_transformers_edit_the_response() -> None:
    result, after = await run_hook(hook(**{"team.shout": {}}), subject("ok then", AFTER))
    assert after.response.choices[0].message.content == "OK THEN" and after.text == "OK THEN"
    assert after.request is REQUEST


async def test_io_checks_of_one_hook_run_concurrently() -> None:
    plugin_checks.TIMELINE.clear()
    config = {"id": "x", "checks": [{"id": "team.slow"} for _ in range(3)]}
    result, _ = await run_hook(COMPILER.hook_set(before=[config]).before[0], subject())
    assert len(result.checks) == 3 and result.verdict
    assert plugin_checks.TIMELINE == ["start"] * 3 + ["end"] * 3


async def test_sequential_hooks_run_checks_one_after_another() -> None:
    plugin_checks.TIMELINE.clear()
    config = {"id": "x", "sequential": True, "checks": [{"id": "team.slow"} for _ in range(3)]}
    result, _ = await run_hook(COMPILER.hook_set(before=[config]).before[0], subject())
    assert len(result.checks) == 3
    assert plugin_checks.TIMELINE == ["start", "end"] * 3


FEEDBACK = {"value": 5, "weight": 1, "metadata": {"team": "a"}}


async def test_feedback_on_fail_lists_successful_failed_and_errored_checks() -> None:
    config = {"team.forbidden": {"word": "hello"}, "team.slow": {}, "team.boom": {},
              "on_fail": {"feedback": FEEDBACK}, "on_success": {"feedback": {"value": 1}}}
    result, _ = await run_hook(hook(**config), subject())
    assert result.feedback == {"value": 5, "weight": 1, "metadata": {
        "team": "a", "successfulChecks": "team.slow", "failedChecks": "team.forbidden", "erroredChecks": "team.boom"}}


async def test_feedback_on_success_and_none_when_unset() -> None:
    passed, _ = await run_hook(hook(**{"team.slow": {}, "on_success": {"feedback": {"value": 1}}}), subject())
    assert passed.feedback["value"] == 1 and passed.feedback["metadata"]["successfulChecks"] == "team.slow"
    silent, _ = await run_hook(hook(**{"team.slow": {}}), subject())
    assert silent.feedback is None


class Seen:
    def __init__(self) -> None:
        self.results: list[tuple[str, HookResult]] = []

    def hook(self, event: str, result: HookResult) -> None:
        self.results.append((event, result))


async def test_async_hooks_do_not_delay_or_appear_in_results_but_are_observed() -> None:
    seen = Seen()
    runner = HookRunner(seen)
    hooks = (hook(**{"team.slow": {"verdict": False}, "async": True, "id": "later"}),
             hook(**{"team.forbidden": {"word": "bye"}, "id": "now"}))
    plugin_checks.TIMELINE.clear()
    results, _ = await runner.run(hooks, subject())
    assert "end" not in plugin_checks.TIMELINE  # the async hook was still running when the answer came back
    assert [r.id for r in results] == ["now"]
    await runner.aclose()
    assert sorted((event, r.id, r.verdict, r.is_async) for event, r in seen.results) == [
        (BEFORE, "later", False, True), (BEFORE, "now", True, False)]


async def test_async_hook_results_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    runner = HookRunner()
    await runner.run((hook(**{"team.slow": {"verdict": False}, "async": True, "id": "audit"}),), subject())
    with caplog.at_level("INFO", "gateway_grpc.guardrails"):
        await runner.aclose()
        await asyncio.sleep(0)
    assert any("async guardrail audit" in r.getMessage() and "failed=team.slow" in r.getMessage()
               for r in caplog.records)
