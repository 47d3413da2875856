"""default.jsonSchema / default.jsonKeys: JSON found as the reference finds it, validated or checked for keys."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.json_checks import JSON_KEYS, JSON_SCHEMA, candidates
from tests.gateway_grpc.guardrails.subjects import response_subject

KEY_SCHEMA = {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}
PROFILE_SCHEMA = {
    "type": "object", "required": ["user"],
    "properties": {"user": {
        "type": "object", "required": ["name", "contact", "preferences"],
        "properties": {
            "name": {"type": "string"},
            "contact": {"type": "object", "required": ["email", "phone"], "properties": {
                "email": {"type": "string", "format": "email"},
                "phone": {"type": "object", "required": ["country", "number"],
                          "properties": {"country": {"type": "string"}, "number": {"type": "string"}}}}},
            "preferences": {"type": "object", "required": ["theme", "notifications"], "properties": {
                "theme": {"type": "string", "enum": ["light", "dark"]}, "notifications": {"type": "boolean"}}}}}},
}
GOOD_PROFILE = ('Here is the profile:\n```json\n{"user": {"name": "John Doe", "contact": {"email": "john@example.com",'
                ' "phone": {"country": "+1", "number": "555-0123"}}, "preferences": {"theme": "dark",'
                ' "notifications": true}}}\n```\nThat is all.')
BAD_PROFILE = ('```json\n{"user": {"name": "John Doe", "contact": {"email": "invalid-email",'
               ' "phone": {"country": "+1"}}, "preferences": {"theme": "invalid-theme",'
               ' "notifications": "not-a-boolean"}}}\n```')

SCHEMA_CASES = [  # schema, text, verdict, matchedJson (None: no JSON found), explanation starts with
    (KEY_SCHEMA, 'text before this ```json\n{"key": "value"}\n```\n and some text after {"key":"value"}',
     True, {"key": "value"}, "Successfully validated"),
    ({"type": "object", "required": ["key2"]}, '{"key": "value"}', False, {"key": "value"}, "Failed to validate"),
    (KEY_SCHEMA, '{\n  "title": "The Rise of AI Agents",\n  "key": "intro"\n}', True,
     {"title": "The Rise of AI Agents", "key": "intro"}, "Successfully validated"),
    (KEY_SCHEMA, 'before ```json\n{"key1": "value"}\n```\n and after {"key":"value', False, {"key1": "value"},
     "Failed to validate"),
    (KEY_SCHEMA, "This is just plain text with no JSON", False, None, "No valid JSON found"),
    (KEY_SCHEMA, "", False, None, "No valid JSON found"),
    (PROFILE_SCHEMA, GOOD_PROFILE, True, "user", "Successfully validated"),
    # fenced blocks win: the span after them is not tried (the reference's order)
    (KEY_SCHEMA, '```json\n{"other": 1}\n```\n{"key": "v"}', False, {"other": 1}, "Failed to validate"),
    # the second fenced block validates
    (KEY_SCHEMA, '```\n{"other": 1}\n```\ntext\n```json\n{"key": "v"}\n```', True, {"key": "v"}, "Successfully"),
    # beyond the reference: a bare nested document (its lazy spans stop at the first `}`)
    (PROFILE_SCHEMA, GOOD_PROFILE.split("```json\n")[1].split("\n```")[0], True, "user", "Successfully validated"),
    ({"type": "array", "items": {"type": "integer"}}, " [1, 2, 3] ", True, [1, 2, 3], "Successfully validated"),
]


@pytest.mark.parametrize(("schema", "text", "verdict", "matched", "explanation"), SCHEMA_CASES,
                         ids=[f"schema-{i}" for i in range(len(SCHEMA_CASES))])
async def test_json_schema_verdict(schema, text, verdict, matched, explanation):
    result, _ = await evaluate_check(JSON_SCHEMA, {"schema": schema}, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert result.data["explanation"].startswith(explanation)
    if matched is None:
        assert "matchedJson" not in result.data
    elif isinstance(matched, str):
        assert matched in result.data["matchedJson"]
    else:
        assert result.data["matchedJson"] == matched


async def test_json_schema_reports_each_violation_with_its_path():
    result, _ = await evaluate_check(JSON_SCHEMA, {"schema": PROFILE_SCHEMA}, response_subject(BAD_PROFILE))
    assert result.verdict is False
    errors = {item["path"]: item["message"] for item in result.data["validationErrors"]}
    assert set(errors) == {"/user/contact/email", "/user/contact/phone", "/user/preferences/theme",
                           "/user/preferences/notifications"}
    assert "email" in errors["/user/contact/email"]
    assert "'number' is a required property" in errors["/user/contact/phone"]
    assert "'light', 'dark'" in errors["/user/preferences/theme"]


@pytest.mark.parametrize(("text", "verdict"), [('{"key": "v"}', False), ('{"nokey": 1}', True), ("plain", True)],
                         ids=["valid", "invalid", "none-found"])
async def test_json_schema_not_inverts(text, verdict):
    result, _ = await evaluate_check(JSON_SCHEMA, {"schema": KEY_SCHEMA, "not": True}, response_subject(text))
    assert result.verdict is verdict


async def test_json_schema_remote_ref_is_never_fetched():
    schema = {"$ref": "https://schemas.invalid/remote.json"}
    result, outcome = await evaluate_check(JSON_SCHEMA, {"schema": schema}, response_subject('{"a": 1}'))
    assert outcome is None
    assert "Unresolvable" in result.error[1]
    assert result.execution_time_ms < 50


KEYS_CASES = [  # parameters, text, verdict, matchedJson, presentKeys, missingKeys, explanation
    ({"keys": ["key1", "key3"], "operator": "any"}, '{"key1": "value1", "key2": "value2"}', True,
     {"key1": "value1", "key2": "value2"}, ["key1"], ["key3"],
     "Successfully found at least one required key. Found keys: [key1]."),
    ({"keys": ["key1", "key2"], "operator": "all"}, '{"key1": "value1", "key2": "value2"}', True,
     {"key1": "value1", "key2": "value2"}, ["key1", "key2"], [],
     "Successfully found all required keys. Found keys: [key1, key2]."),
    ({"keys": ["key3", "key4"], "operator": "none"}, '{"key1": "value1", "key2": "value2"}', True,
     {"key1": "value1", "key2": "value2"}, [], ["key3", "key4"],
     "Successfully verified no required keys are present. Missing keys: [key3, key4]."),
    # no document has a key: none is "better" than no document, so none is reported (as the reference)
    ({"keys": ["key3", "key4"]}, '{"key1": "value1", "key2": "value2"}', False, None, [], ["key3", "key4"],
     "Failed to find any required keys. Missing keys: [key3, key4]."),
    ({"keys": ["key1"], "operator": "any"}, '```json\n{"key1": "value1", "key2": "value2"}\n```', True,
     {"key1": "value1", "key2": "value2"}, ["key1"], [], "Successfully found at least one required key."),
    ({"keys": ["key2", "key3"], "operator": "all"}, '{"key1": "value1"} {"key2": "value2", "key3": "value3"}', True,
     {"key2": "value2", "key3": "value3"}, ["key2", "key3"], [], "Successfully found all required keys."),
    # no document meets "all": the one with the most keys present is reported
    ({"keys": ["a", "b", "c"], "operator": "all"}, '{"a": 1} {"a": 1, "b": 2} {"c": 3}', False,
     {"a": 1, "b": 2}, ["a", "b"], ["c"], "Failed to find all required keys. Missing keys: [c]."),
    ({"keys": ["a"], "operator": "none"}, '{"a": 1}', False, {"a": 1}, ["a"], [],
     "Found some keys that should not be present. Found keys: [a]."),
    # beyond the reference: a bare nested document
    ({"keys": ["outer"], "operator": "all"}, '{"outer": {"inner": 1}}', True, {"outer": {"inner": 1}}, ["outer"], [],
     "Successfully found all required keys."),
]


@pytest.mark.parametrize(("params", "text", "verdict", "matched", "present", "missing", "explanation"), KEYS_CASES,
                         ids=[f"keys-{i}" for i in range(len(KEYS_CASES))])
async def test_json_keys_verdict(params, text, verdict, matched, present, missing, explanation):
    result, _ = await evaluate_check(JSON_KEYS, params, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert (result.data["matchedJson"], result.data["presentKeys"], result.data["missingKeys"]) == (
        matched, present, missing)
    assert result.data["explanation"].startswith(explanation)
    assert result.data["operator"] == params.get("operator", "any")


async def test_json_keys_without_json_explains():
    result, _ = await evaluate_check(JSON_KEYS, {"keys": ["key1"]}, response_subject("This is just plain text"))
    assert result.verdict is False
    assert result.data == {"explanation": "No valid JSON found in the text.", "requiredKeys": ["key1"],
                           "operator": "any", "textExcerpt": "This is just plain text"}


async def test_json_keys_empty_text_is_an_errored_check():
    result, outcome = await evaluate_check(JSON_KEYS, {"keys": ["k"], "failOnError": True}, response_subject(""))
    assert outcome is None
    assert result.error == ("ValueError", "Missing text to analyze")
    assert result.verdict is False


@pytest.mark.parametrize(("text", "expected"), [
    ('a {"x": 1} b {"y": 2}', ['{"x": 1}', '{"y": 2}']),
    ('{"a": {"b": 1}}', ['{"a": {"b": 1}', '{"a": {"b": 1}}']),
    ("{" * 10000, ["{" * 10000]),  # no span (no `}`); the whole text is tried once
    ("````json\n[1]\n````", ["[1]"]),
    ("see [1] here", []),
], ids=["spans", "nested", "unclosed", "long-fence", "prose"])
def test_json_candidates_follow_the_reference_order(text, expected):
    assert candidates(text, spans_always=True) == expected


BAD = [  # check, parameters, the parameter named in the error
    (JSON_SCHEMA, {}, "schema"),
    (JSON_SCHEMA, {"schema": "{}"}, "schema"),
    (JSON_SCHEMA, {"schema": {"type": "strnig"}}, "schema"),
    (JSON_SCHEMA, {"schema": {"minimum": "x"}}, "schema"),
    (JSON_SCHEMA, {"schema": {}, "strict": True}, "strict"),
    (JSON_KEYS, {}, "keys"),
    (JSON_KEYS, {"keys": []}, "keys"),
    (JSON_KEYS, {"keys": "key1"}, "keys"),
    (JSON_KEYS, {"keys": ["k"], "operator": "invalid"}, "operator"),
    (JSON_KEYS, {"keys": ["k"], "not": True}, "not"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{i}" for i, row in enumerate(BAD)])
def test_json_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"
