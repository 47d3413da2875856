"""default.modelWhitelist / default.modelRules: the request's model against a list, or the list metadata selects."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.models import MODEL_RULES, MODEL_WHITELIST, js_string
from tests.gateway_grpc.guardrails.subjects import chat_subject

WHITELIST_CASES = [  # parameters, model, verdict, explanation
    ({"models": ["gemini-1.5-flash-001"]}, "gemini-1.5-flash-001", True, 'Model "gemini-1.5-flash-001" is allowed.'),
    ({"models": ["gemini-1.5-flash-001"]}, "gemini-1.5-pro-001", False,
     'Model "gemini-1.5-pro-001" is not in the allowed list.'),
    ({"models": ["gpt-4o"], "not": True}, "gpt-4o", False, 'Model "gpt-4o" is allowed.'),
    ({"models": ["gpt-4o"], "not": True}, "o3", True, 'Model "o3" is not in the allowed list.'),
    ({"models": []}, "gpt-4o", False, 'Model "gpt-4o" is not in the allowed list.'),
    ({"models": ["GPT-4o"]}, "gpt-4o", False, 'Model "gpt-4o" is not in the allowed list.'),  # exact match
]


@pytest.mark.parametrize(("params", "model", "verdict", "explanation"), WHITELIST_CASES,
                         ids=[f"whitelist-{i}" for i in range(len(WHITELIST_CASES))])
async def test_models_whitelist(params, model, verdict, explanation):
    result, _ = await evaluate_check(MODEL_WHITELIST, params, chat_subject("hi", model=model))
    assert result.verdict is verdict
    assert result.data == {"explanation": explanation, "requestedModel": model, "allowedModels": params["models"]}


RULES = {"defaults": ["gpt-4o-mini"],
         "metadata": {"tier": {"pro": ["gpt-4o", "o3"], "free": []}, "team": {"ml": ["o3"], "7": ["llama"]}}}

RULES_CASES = [  # rules, metadata, model, verdict, matchedRules, usingDefaults
    (RULES, {}, "gpt-4o-mini", True, [], True),
    (RULES, {}, "gpt-4o", False, [], True),
    (RULES, {"tier": "pro"}, "gpt-4o", True, ["tier:pro"], False),
    (RULES, {"tier": "pro"}, "gpt-4o-mini", False, ["tier:pro"], False),  # a match replaces the defaults
    (RULES, {"tier": "free"}, "gpt-4o-mini", True, ["tier:free"], True),  # matched, but no model: defaults
    (RULES, {"tier": "basic"}, "gpt-4o-mini", True, [], True),
    (RULES, {"tier": ["free", "pro"], "team": "ml"}, "o3", True, ["tier:free", "tier:pro", "team:ml"], False),
    (RULES, {"team": 7}, "llama", True, ["team:7"], False),  # String(7)
    (RULES, {"team": None}, "gpt-4o-mini", True, [], True),
    ({"metadata": {"tier": {"pro": ["o3"]}}}, {"tier": "pro"}, "o3", True, ["tier:pro"], False),
]


@pytest.mark.parametrize(("rules", "metadata", "model", "verdict", "matched", "defaults"), RULES_CASES,
                         ids=[f"rules-{i}" for i in range(len(RULES_CASES))])
async def test_models_rules(rules, metadata, model, verdict, matched, defaults):
    result, _ = await evaluate_check(MODEL_RULES, {"rules": rules}, chat_subject("hi", model=model, metadata=metadata))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert (result.data["matchedRules"], result.data["usingDefaults"]) == (matched, defaults)
    assert model in result.data["allowedModels"] if verdict else model not in result.data["allowedModels"]


async def test_models_rules_explain_the_source_and_honour_not():
    subject = chat_subject("hi", model="o3", metadata={"team": "ml"})
    result, _ = await evaluate_check(MODEL_RULES, {"rules": RULES}, subject)
    assert result.data["explanation"] == 'Model "o3" is allowed by rules. (matched rules: team:ml)'
    result, _ = await evaluate_check(MODEL_RULES, {"rules": RULES, "not": True}, subject)
    assert result.verdict is False
    result, _ = await evaluate_check(MODEL_RULES, {"rules": RULES}, chat_subject("hi", model="gpt-4o-mini"))
    assert result.data["explanation"] == 'Model "gpt-4o-mini" is allowed by rules. (using default models)'


async def test_models_rules_without_any_allowed_model_is_an_errored_check():
    rules = {"metadata": {"tier": {"pro": ["o3"]}}}
    result, outcome = await evaluate_check(MODEL_RULES, {"rules": rules, "failOnError": True},
                                           chat_subject("hi", model="o3"))
    assert outcome is None
    assert result.error == ("ValueError", "No allowed models resolved from rules")
    assert result.verdict is False


@pytest.mark.parametrize("check", [MODEL_WHITELIST, MODEL_RULES], ids=lambda c: c.id)
async def test_models_missing_model_is_an_errored_check(check):
    params = {"models": ["a"]} if check is MODEL_WHITELIST else {"rules": {"defaults": ["a"]}}
    result, outcome = await evaluate_check(check, params, chat_subject("hi", model=""))
    assert outcome is None
    assert result.error == ("ValueError", "Missing model in request")


@pytest.mark.parametrize(("value", "text"), [(True, "true"), (False, "false"), (1.0, "1"), (1.5, "1.5"), ("x", "x")],
                         ids=["true", "false", "integral-float", "float", "string"])
def test_models_metadata_values_compare_as_javascript_strings(value, text):
    assert js_string(value) == text


BAD = [  # check, parameters, the parameter path named in the error
    (MODEL_WHITELIST, {}, "models"),
    (MODEL_WHITELIST, {"models": "gpt-4o"}, "models"),
    (MODEL_WHITELIST, {"models": ["a", 1]}, "models"),
    (MODEL_WHITELIST, {"models": ["a"], "model": "a"}, "model"),
    (MODEL_RULES, {}, "rules"),
    (MODEL_RULES, {"rules": ["gpt-4o"]}, "rules"),
    (MODEL_RULES, {"rules": {}}, "rules"),
    (MODEL_RULES, {"rules": {"defaults": "gpt-4o"}}, "rules.defaults"),
    (MODEL_RULES, {"rules": {"defaults": ["a"], "default": ["b"]}}, "rules.default"),
    (MODEL_RULES, {"rules": {"metadata": []}}, "rules.metadata"),
    (MODEL_RULES, {"rules": {"metadata": {"tier": ["o3"]}}}, "rules.metadata.tier"),
    (MODEL_RULES, {"rules": {"metadata": {"tier": {"pro": "o3"}}}}, "rules.metadata.tier.pro"),
    (MODEL_RULES, {"rules": {"defaults": [], "metadata": {"tier": {"pro": []}}}}, "rules"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{i}" for i, row in enumerate(BAD)])
def test_models_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"
