"""Every check the gateway runs, by id: the one place listing them (the reference's 22 `default.*` checks, local
PII, the model-judged checks), plus a team's own checks from modules named in `guardrails.plugins`.

To add a check: write one file defining a `CheckType` (guardrails/base.py shows the shape) and add it below, or keep
it outside this package and list its module (which defines `CHECKS = (MY_CHECK, ...)`) in the gateway config.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import CheckType
from gateway_grpc.guardrails.checks import (
    classifier,
    code,
    counts,
    json_checks,
    models,
    pii,
    prefix,
    regex,
    request_rules,
    text_shape,
    urls,
    webhook,
)
from gateway_grpc.guardrails.checks import jwt as jwt_check

CHECKS: Mapping[str, CheckType] = {check.id: check for check in (
    regex.REGEX_MATCH,
    regex.REGEX_REPLACE,
    counts.SENTENCE_COUNT,
    counts.WORD_COUNT,
    counts.CHARACTER_COUNT,
    json_checks.JSON_SCHEMA,
    json_checks.JSON_KEYS,
    text_shape.CONTAINS,
    urls.VALID_URLS,
    code.CONTAINS_CODE,
    webhook.WEBHOOK,
    webhook.LOG,
    text_shape.ALL_UPPERCASE,
    text_shape.ALL_LOWERCASE,
    text_shape.ENDS_WITH,
    text_shape.NOT_NULL,
    models.MODEL_WHITELIST,
    models.MODEL_RULES,
    request_rules.ALLOWED_REQUEST_TYPES,
    request_rules.REQUIRED_METADATA_KEYS,
    jwt_check.JWT,
    prefix.ADD_PREFIX,
    pii.PII,
    classifier.PROMPT_INJECTION,
    classifier.TOXICITY,
)}
ALIASES = {"default.modelwhitelist": "default.modelWhitelist"}  # the reference manifest's spelling


def registered(plugins: Sequence[str] = ()) -> dict[str, CheckType]:
    """The built-in checks (and aliases) plus every plugin module's `CHECKS`; InvalidConfig names a bad module."""
    checks = {**CHECKS, **{alias: CHECKS[name] for alias, name in ALIASES.items()}}
    for i, name in enumerate(plugins):
        where = f"guardrails.plugins[{i}]"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise InvalidConfig.field(where, f"cannot import {name!r}: {exc}") from exc
        found = getattr(module, "CHECKS", None)
        if not isinstance(found, tuple) or not all(isinstance(check, CheckType) for check in found):
            raise InvalidConfig.field(where, f"{name} must define CHECKS, a tuple of CheckType")
        for check in found:
            if check.id in checks:
                raise InvalidConfig.field(where, f"{name} defines {check.id!r}, which is already registered")
            checks[check.id] = check
    return checks
