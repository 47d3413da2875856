"""`default.modelWhitelist` and `default.modelRules` (Portkey plugins/default/model*.ts): the request's model is
in a fixed list, or in the list the request's metadata selects. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_grpc.guardrails.base import BEFORE, CheckFn, CheckType, Outcome, Params, Services, Subject


def _model(subject: Subject) -> str:
    if not subject.model:
        raise ValueError("Missing model in request")
    return subject.model


# --- modelWhitelist -------------------------------------------------------------------------------------------------

def _compile_whitelist(params: Params, services: Services) -> CheckFn:
    models = params.strings("models", required=True)
    allowed = frozenset(models)

    def check(subject: Subject) -> Outcome:
        model = _model(subject)
        verdict = model in allowed
        explanation = f'Model "{model}" is allowed.' if verdict else f'Model "{model}" is not in the allowed list.'
        return Outcome(verdict, {"explanation": explanation, "requestedModel": model, "allowedModels": list(models)})

    return check


# --- modelRules -----------------------------------------------------------------------------------------------------

def _model_list(params: Params, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise params.error(f"rules.{where}", f"expected a list of model names, got {value!r}"[:300])
    return tuple(value)


def _read_rules(params: Params) -> tuple[tuple[str, ...], dict[str, dict[str, tuple[str, ...]]]]:
    """`rules`: {defaults: [model], metadata: {key: {value: [model]}}}, at least one model in all."""
    rules = params.mapping("rules", required=True)
    unknown = sorted(set(rules) - {"defaults", "metadata"})
    if unknown:
        raise params.error(f"rules.{unknown[0]}", "unknown key (expected defaults, metadata)")
    defaults = _model_list(params, "defaults", rules.get("defaults", []))
    metadata = rules.get("metadata", {})
    if not isinstance(metadata, dict):
        raise params.error("rules.metadata", f"expected an object of {{key: {{value: [model]}}}}, got {metadata!r}")
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, mapping in metadata.items():
        if not isinstance(mapping, dict):
            raise params.error(f"rules.metadata.{key}", f"expected an object of {{value: [model]}}, got {mapping!r}")
        table[key] = {value: _model_list(params, f"metadata.{key}.{value}", models)
                      for value, models in mapping.items()}
    if not defaults and not any(models for mapping in table.values() for models in mapping.values()):
        raise params.error("rules", "allows no model (no defaults and no metadata rule lists a model)")
    return defaults, table


def js_string(value: Any) -> str:
    """JavaScript's String(value) for metadata values (true -> "true", 1.0 -> "1")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _matched(table: Mapping[str, Mapping[str, tuple[str, ...]]], metadata: Mapping[str, Any]) -> tuple[list, list]:
    """The models and the rules (`key:value`) the request's metadata selects (a list value selects each item)."""
    models: dict[str, None] = {}
    rules: list[str] = []
    for key, mapping in table.items():
        value = metadata.get(key)
        if value is None:
            continue
        for item in (value if isinstance(value, list) else [value]):
            chosen = mapping.get(js_string(item))
            if chosen is not None:
                rules.append(f"{key}:{js_string(item)}")
                models.update(dict.fromkeys(chosen))
    return list(models), rules


def _compile_rules(params: Params, services: Services) -> CheckFn:
    defaults, table = _read_rules(params)

    def check(subject: Subject) -> Outcome:
        model = _model(subject)
        allowed, rules = _matched(table, subject.metadata)
        using_defaults = not allowed
        allowed = allowed or list(defaults)
        if not allowed:
            raise ValueError("No allowed models resolved from rules")
        verdict = model in allowed
        if verdict:
            source = f" (matched rules: {', '.join(rules)})" if rules else " (using default models)"
            explanation = f'Model "{model}" is allowed by rules.{source}'
        else:
            explanation = f'Model "{model}" is not allowed by rules.'
        return Outcome(verdict, {"explanation": explanation, "requestedModel": model, "allowedModels": allowed,
                                 "matchedRules": rules, "usingDefaults": using_defaults})

    return check


MODEL_WHITELIST = CheckType("default.modelWhitelist", _compile_whitelist, frozenset({BEFORE}))
MODEL_RULES = CheckType("default.modelRules", _compile_rules, frozenset({BEFORE}))
