"""Hook configs -> compiled hooks: the shorthand, full hook objects, and every config mistake named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, Services
from gateway_grpc.guardrails.hooks import NO_HOOKS, HookCompiler, HookSet
from tests.gateway_grpc.guardrails import plugin_checks

CHECKS = {check.id: check for check in plugin_checks.CHECKS}


def compiler() -> HookCompiler:
    return HookCompiler(CHECKS, Services())


def test_shorthand_splits_hook_keys_from_checks_and_prefixes_bare_ids() -> None:
    checks = {**CHECKS, "default.forbidden": plugin_checks.FORBIDDEN}
    hooks = HookCompiler(checks, Services()).hook_set(outputs=[{
        "team.forbidden": {"word": "x"}, "forbidden": {"word": "y", "not": True}, "deny": True, "id": "mine",
        "on_fail": {"feedback": {"value": -1}}, "sequential": True, "stream_mode": "window", "stream_window": 9,
    }])
    (hook,) = hooks.after
    assert hooks.before == ()
    assert (hook.id, hook.event, hook.deny, hook.sequential) == ("mine", AFTER, True, True)
    assert (hook.stream_mode, hook.stream_window, hook.on_fail) == ("window", 9, {"value": -1})
    assert [(c.id, c.negate) for c in hook.checks] == [("team.forbidden", False), ("default.forbidden", True)]


def test_full_hooks_and_shorthand_keep_config_order_per_event() -> None:
    hooks = compiler().hook_set(
        before=[{"id": "b1", "checks": [{"id": "team.forbidden", "parameters": {"word": "a"}}]}],
        inputs=[{"team.forbidden": {"word": "b"}, "id": "i1"}],
        after=[{"id": "a1", "type": "mutator", "checks": [{"id": "team.shout"}], "eventType": AFTER}],
        outputs=[{"team.forbidden": {"word": "c"}, "id": "o1"}],
    )
    assert [h.id for h in hooks.before] == ["b1", "i1"]
    assert [h.id for h in hooks.after] == ["a1", "o1"]
    assert hooks.after[0].type == "mutator" and hooks.after[0].transforms


def test_generated_ids_say_input_or_output() -> None:
    hooks = compiler().hook_set(inputs=[{"team.forbidden": {"word": "a"}}], outputs=[{"team.forbidden": {"word": "b"}}])
    assert hooks.before[0].id.startswith("input_guardrail_")
    assert hooks.after[0].id.startswith("output_guardrail_")


def test_is_enabled_false_is_kept_on_the_check_not_read_as_a_parameter() -> None:
    hooks = compiler().hook_set(inputs=[{"team.forbidden": {"word": "a", "is_enabled": False}}])
    assert hooks.before[0].checks[0].enabled is False


def test_no_guardrails_compile_to_the_empty_set() -> None:
    assert compiler().hook_set() is NO_HOOKS
    assert not NO_HOOKS


def test_sets_add_own_hooks_before_defaults() -> None:
    own = compiler().hook_set(inputs=[{"team.forbidden": {"word": "a"}, "id": "own"}])
    defaults = HookSet(compiler().shorthand([{"team.forbidden": {"word": "b"}, "id": "default"}], BEFORE, "d"), ())
    assert [h.id for h in (own + defaults).before] == ["own", "default"]
    assert own + NO_HOOKS is own and NO_HOOKS + own is own


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("saved id", {"inputs": ["pg-guard-123"]}, "config.input_guardrails[0]", "saved guardrail id"),
    ("not an object", {"outputs": [3]}, "config.output_guardrails[0]", "guardrail object"),
    ("not a list", {"before": {"id": "x"}}, "config.before_request_hooks", "list"),
    ("no checks", {"outputs": [{"deny": True}]}, "config.output_guardrails[0]", "at least one check"),
    ("empty checks", {"after": [{"checks": []}]}, "config.after_request_hooks[0].checks", "at least one check"),
    ("unknown hook key", {"after": [{"checks": [{"id": "team.shout"}], "denny": True}]},
     "config.after_request_hooks[0].denny", "unknown guardrail key"),
    ("unknown check key", {"before": [{"checks": [{"id": "team.shout", "params": {}}]}]},
     "config.before_request_hooks[0].checks[0].params", "unknown check key"),
    ("unknown check", {"inputs": [{"default.nope": {}}]}, "config.input_guardrails[0].checks[0].id", "unknown check"),
    ("missing check id", {"before": [{"checks": [{"parameters": {}}]}]},
     "config.before_request_hooks[0].checks[0].id", "required"),
    ("wrong event", {"inputs": [{"team.outputOnly": {"word": "a"}}]}, "config.input_guardrails[0].checks[0].id",
     "cannot judge input"),
    ("wrong event (output)", {"outputs": [{"team.inputOnly": {"word": "a"}}]},
     "config.output_guardrails[0].checks[0].id", "cannot judge output"),
    ("eventType mismatch", {"before": [{"checks": [{"id": "team.shout"}], "eventType": AFTER}]},
     "config.before_request_hooks[0].eventType", "expected"),
    ("deny not bool", {"outputs": [{"team.forbidden": {"word": "a"}, "deny": "yes"}]},
     "config.output_guardrails[0].deny", "true or false"),
    ("bad type", {"outputs": [{"team.forbidden": {"word": "a"}, "type": "filter"}]},
     "config.output_guardrails[0].type", "guardrail, mutator"),
    ("bad stream mode", {"outputs": [{"team.forbidden": {"word": "a"}, "stream_mode": "chunk"}]},
     "config.output_guardrails[0].stream_mode", "buffer, window, final"),
    ("bad window", {"outputs": [{"team.forbidden": {"word": "a"}, "stream_window": -1}]},
     "config.output_guardrails[0].stream_window", "characters"),
    ("bad feedback", {"outputs": [{"team.forbidden": {"word": "a"}, "on_fail": {"value": 1}}]},
     "config.output_guardrails[0].on_fail", "feedback"),
    ("parameters not object", {"before": [{"checks": [{"id": "team.forbidden", "parameters": [1]}]}]},
     "config.before_request_hooks[0].checks[0].parameters", "JSON object"),
    ("missing parameter", {"inputs": [{"team.forbidden": {}}]},
     "config.input_guardrails[0].checks[0].parameters.word", "required"),
    ("wrong parameter type", {"inputs": [{"team.forbidden": {"word": 5}}]},
     "config.input_guardrails[0].checks[0].parameters.word", "expected a string"),
    ("unknown parameter", {"inputs": [{"team.forbidden": {"word": "a", "wrod": "b"}}]},
     "config.input_guardrails[0].checks[0].parameters.wrod", "unknown parameter"),
    ("not on a non-negatable check", {"inputs": [{"team.shout": {"not": True}}]},
     "config.input_guardrails[0].checks[0].parameters.not", "cannot be negated"),
    ("async transformer", {"inputs": [{"team.shout": {}, "async": True}]}, "config.input_guardrails[0].async",
     "cannot transform"),
    ("async deny", {"outputs": [{"team.forbidden": {"word": "a"}, "async": True, "deny": True}]},
     "config.output_guardrails[0].deny", "cannot deny"),
    ("window transformer", {"outputs": [{"team.shout": {}, "stream_mode": "window"}]},
     "config.output_guardrails[0].stream_mode", "cannot transform text already sent"),
]


@pytest.mark.parametrize(("given", "field", "says"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_config_mistakes_name_their_path(given: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        compiler().hook_set(**given)
    assert caught.value.violations[0].field == field
    assert says in caught.value.violations[0].description


def test_a_check_transforms_only_when_its_parameters_say_so() -> None:
    from gateway_grpc.guardrails.registry import CHECKS as BUILT_IN

    pii = HookCompiler(BUILT_IN, Services())
    window = pii.hook_set(outputs=[{"default.pii": {}, "deny": True, "stream_mode": "window"}])
    assert not window.after[0].transforms  # detect-only PII may judge a stream window
    with pytest.raises(InvalidConfig, match="cannot transform text already sent"):
        pii.hook_set(outputs=[{"default.pii": {"redact": True}, "stream_mode": "window"}])
