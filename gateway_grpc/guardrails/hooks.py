"""Guardrail configs -> compiled hooks, once per distinct config (contract §8.1-8.2).

Owns the config shapes: full hook objects (`before_request_hooks` / `after_request_hooks`) and the shorthand
(`input_guardrails` / `output_guardrails`: hook-level keys, every other key a check, ids without a dot prefixed
`default.`), strictly: unknown keys, unknown checks, a check in an event it cannot judge, an async transformer and
a transformer in a `window` stream all name their path. Every check's parameters are validated here
(checking.compile_check). Also our stream extension: `stream_mode` (buffer | window | final) and `stream_window`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, CheckType, Params, Services
from gateway_grpc.guardrails.checking import CompiledCheck, compile_check

HOOK_KEYS = frozenset({"id", "type", "checks", "deny", "async", "sequential", "on_fail", "on_success", "eventType",
                       "guardrail_version_id", "stream_mode", "stream_window"})
SHORTHAND_HOOK_KEYS = HOOK_KEYS - {"checks", "eventType"}  # Portkey's hook-level keys; every other key is a check
CHECK_KEYS = frozenset({"id", "parameters", "is_enabled"})
HOOK_TYPES = ("guardrail", "mutator")
STREAM_MODES = ("buffer", "window", "final")
DEFAULT_STREAM_WINDOW = 256  # already-checked characters each window check sees again (matches across chunks)
MAX_STREAM_WINDOW = 65536
EVENT_NAMES = {BEFORE: "input (before_request_hooks)", AFTER: "output (after_request_hooks)"}
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Hook:
    """One compiled guardrail. `stream_mode` says how it judges a streamed answer (AFTER hooks only): `buffer` holds
    the stream until it passes, `window` checks each new piece with `stream_window` characters before it and cuts
    the stream in-band, `final` checks the whole text at the end and reports in a trailing event."""

    id: str
    event: str
    checks: tuple[CompiledCheck, ...]
    deny: bool = False
    is_async: bool = False
    sequential: bool = False
    type: str = "guardrail"
    on_fail: Mapping[str, Any] | None = None
    on_success: Mapping[str, Any] | None = None
    stream_mode: str = "buffer"
    stream_window: int = DEFAULT_STREAM_WINDOW

    @property
    def transforms(self) -> bool:
        return any(check.transforms for check in self.checks)


@dataclass(frozen=True, slots=True)
class HookSet:
    """A target's hooks: before-request (input) and after-request (output), in config order."""

    before: tuple[Hook, ...] = ()
    after: tuple[Hook, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.before or self.after)

    def __add__(self, other: HookSet) -> HookSet:
        """These hooks, then `other`'s (Portkey appends default guardrails to every target's hooks)."""
        if not other:
            return self
        if not self:
            return other
        return HookSet(self.before + other.before, self.after + other.after)


NO_HOOKS = HookSet()


class HookCompiler:
    """Built once at start-up with the check registry and the services checks may use."""

    def __init__(self, checks: Mapping[str, CheckType], services: Services) -> None:
        self._checks = checks
        self._services = services

    def hook_set(self, *, before: Sequence[Any] | None = None, after: Sequence[Any] | None = None,
                 inputs: Sequence[Any] | None = None, outputs: Sequence[Any] | None = None,
                 where: str = "config") -> HookSet:
        """Full hooks plus shorthand guardrails of one config node; `where` roots error paths."""
        pre = self._hooks(before, BEFORE, f"{where}.before_request_hooks", shorthand=False)
        pre += self._hooks(inputs, BEFORE, f"{where}.input_guardrails", shorthand=True)
        post = self._hooks(after, AFTER, f"{where}.after_request_hooks", shorthand=False)
        post += self._hooks(outputs, AFTER, f"{where}.output_guardrails", shorthand=True)
        return HookSet(pre, post) if pre or post else NO_HOOKS

    def shorthand(self, raw: Sequence[Any] | None, event: str, where: str) -> tuple[Hook, ...]:
        """Guardrails in the shorthand (default guardrails: the gateway config's and the x-portkey-* headers')."""
        return self._hooks(raw, event, where, shorthand=True)

    def _hooks(self, raw: Sequence[Any] | None, event: str, where: str, shorthand: bool) -> tuple[Hook, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise InvalidConfig.field(where, "must be a list of guardrails")
        return tuple(self._hook(item, event, f"{where}[{i}]", shorthand) for i, item in enumerate(raw))

    def _hook(self, raw: Any, event: str, where: str, shorthand: bool) -> Hook:
        if isinstance(raw, str):
            raise InvalidConfig.field(where, f"{raw!r} is a saved guardrail id, which only Portkey's hosted app "
                                             "resolves; write the guardrail inline (its checks as an object)")
        if not isinstance(raw, dict):
            raise InvalidConfig.field(where, "must be a guardrail object")
        if shorthand:
            raw = _expanded(raw, where)
        unknown = sorted(set(raw) - HOOK_KEYS)
        if unknown:
            known = ", ".join(sorted(HOOK_KEYS))
            raise InvalidConfig.field(f"{where}.{unknown[0]}", f"unknown guardrail key; known: {known}")
        _check_event(raw.get("eventType"), event, where)
        checks = raw.get("checks")
        if not isinstance(checks, list) or not checks:
            raise InvalidConfig.field(f"{where}.checks", "a guardrail needs at least one check")
        keys = Params(raw, where)  # hook-level keys, read as strictly as a check's parameters
        hook = Hook(
            id=keys.string("id") or f"{'input' if event == BEFORE else 'output'}_guardrail_{next(_ids)}",
            event=event,
            checks=tuple(self._check(c, event, f"{where}.checks[{i}]") for i, c in enumerate(checks)),
            deny=keys.boolean("deny"),
            is_async=keys.boolean("async"),
            sequential=keys.boolean("sequential"),
            type=keys.choice("type", HOOK_TYPES, "guardrail"),
            on_fail=_feedback(raw, "on_fail", where),
            on_success=_feedback(raw, "on_success", where),
            stream_mode=keys.choice("stream_mode", STREAM_MODES, "buffer"),
            stream_window=_window(keys),
        )
        _check_hook(hook, where)
        return hook

    def _check(self, raw: Any, event: str, where: str) -> CompiledCheck:
        if not isinstance(raw, dict):
            raise InvalidConfig.field(where, "must be a check object {id, parameters}")
        unknown = sorted(set(raw) - CHECK_KEYS)
        if unknown:
            raise InvalidConfig.field(f"{where}.{unknown[0]}", "unknown check key; known: id, parameters, is_enabled")
        keys = Params(raw, where)
        check_id = keys.string("id")
        if not check_id:
            raise InvalidConfig.field(f"{where}.id", "required: the check's id, e.g. default.wordCount")
        check_type = self._checks.get(check_id)
        if check_type is None:
            raise InvalidConfig.field(f"{where}.id", f"unknown check {check_id!r}; this gateway runs: "
                                                     f"{', '.join(sorted(self._checks))}")
        if event not in check_type.events:
            allowed = " and ".join(EVENT_NAMES[e] for e in sorted(check_type.events))
            raise InvalidConfig.field(f"{where}.id", f"{check_id} cannot judge {EVENT_NAMES[event]}; it runs only in "
                                                     f"{allowed}")
        parameters = raw.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise InvalidConfig.field(f"{where}.parameters", "must be a JSON object")
        enabled = keys.boolean("is_enabled", True)
        return compile_check(check_type, parameters, f"{where}.parameters", self._services, enabled, check_id)


def _expanded(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """Portkey's convertHooksShorthand: hook-level keys stay, every other key is a check `{id: parameters}`."""
    hook = {key: value for key, value in raw.items() if key in SHORTHAND_HOOK_KEYS}
    hook["checks"] = [_shorthand_check(key, value) for key, value in raw.items() if key not in SHORTHAND_HOOK_KEYS]
    if not hook["checks"]:
        raise InvalidConfig.field(where, "a guardrail needs at least one check (a key such as \"default.wordCount\")")
    return hook


_HOOK_RULES = (  # (breaks the rule, the key to name, why)
    (lambda h: h.is_async and h.transforms, "async",
     "an async guardrail cannot transform the request or answer (its result arrives after the call)"),
    (lambda h: h.is_async and h.deny, "deny", "an async guardrail cannot deny (it runs after the answer is sent)"),
    (lambda h: h.event == AFTER and h.stream_mode == "window" and h.transforms, "stream_mode",
     "a `window` stream check cannot transform text already sent; use `buffer` for transformers"),
)


def _shorthand_check(key: str, value: Any) -> dict[str, Any]:
    """`{"wordCount": {..params, "is_enabled": false}}` -> a check object; `is_enabled` is the check's, not a param."""
    check: dict[str, Any] = {"id": key if "." in key else f"default.{key}", "parameters": value}
    if isinstance(value, dict) and "is_enabled" in value:
        check["parameters"] = {k: v for k, v in value.items() if k != "is_enabled"}
        check["is_enabled"] = value["is_enabled"]
    return check


def _check_hook(hook: Hook, where: str) -> None:
    for breaks, key, why in _HOOK_RULES:
        if breaks(hook):
            raise InvalidConfig.field(f"{where}.{key}", why)


def _check_event(value: Any, event: str, where: str) -> None:
    if value is not None and value != event:
        raise InvalidConfig.field(f"{where}.eventType", f"expected {event!r} here, got {value!r}")


def _window(keys: Params) -> int:
    value = keys.integer("stream_window", DEFAULT_STREAM_WINDOW)
    if not 0 <= value <= MAX_STREAM_WINDOW:
        raise keys.error("stream_window", f"characters, 0..{MAX_STREAM_WINDOW}, got {value!r}")
    return value


def _feedback(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"feedback"} or not isinstance(value.get("feedback", {}), dict):
        raise InvalidConfig.field(f"{where}.{key}", "must be {\"feedback\": {value, weight, metadata}}")
    return value.get("feedback") or None
