"""default.allowedRequestTypes / default.requiredMetadataKeys: request type lists (parameters or metadata) and
metadata keys per operator."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import CHAT, COMPLETE, EMBED, Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.request_rules import ALLOWED_REQUEST_TYPES, REQUIRED_METADATA_KEYS
from tests.gateway_grpc.guardrails.subjects import chat_subject

TYPE_CASES = [  # parameters, metadata, request type, verdict, mode, source, explanation
    ({}, {}, CHAT, True, "unrestricted", "default",
     'Request type "chatComplete" is allowed (no restrictions configured).'),
    ({"allowedTypes": ["chatComplete"]}, {}, CHAT, True, "allowlist", "parameters",
     'Request type "chatComplete" is allowed.'),
    ({"allowedTypes": "chatComplete, complete"}, {}, EMBED, False, "allowlist", "parameters",
     'Request type "embed" is not allowed. Allowed types are: chatComplete, complete'),
    ({"blockedTypes": ["embed"]}, {}, EMBED, False, "blocklist", "parameters", 'Request type "embed" is blocked.'),
    ({"blockedTypes": "embed"}, {}, COMPLETE, True, "blocklist", "parameters",
     'Request type "complete" is allowed (not in blocklist).'),
    ({"allowedTypes": ["chatComplete", "embed"], "blockedTypes": ["complete"]}, {}, CHAT, True, "combined",
     "parameters", 'Request type "chatComplete" is allowed (in allowlist and not blocked).'),
    ({"allowedTypes": ["chatComplete"], "blockedTypes": ["embed"]}, {}, EMBED, False, "combined", "parameters",
     'Request type "embed" is explicitly blocked.'),
    ({"allowedTypes": ["chatComplete"], "blockedTypes": ["embed"]}, {}, COMPLETE, False, "combined", "parameters",
     'Request type "complete" is not in the allowed list. Allowed types (excluding blocked): chatComplete'),
    ({}, {"supported_endpoints": "chatComplete,embed"}, EMBED, True, "allowlist", "metadata",
     'Request type "embed" is allowed.'),
    ({}, {"blocked_endpoints": ["chatComplete"]}, CHAT, False, "blocklist", "metadata",
     'Request type "chatComplete" is blocked.'),
    # a parameter list wins over its metadata twin; the other list may still come from metadata
    ({"allowedTypes": ["complete"]}, {"supported_endpoints": "chatComplete", "blocked_endpoints": "embed"},
     EMBED, False, "combined", "parameters", 'Request type "embed" is explicitly blocked.'),
    ({"allowedTypes": ["complete"]}, {"supported_endpoints": "chatComplete", "blocked_endpoints": "embed"},
     CHAT, False, "combined", "parameters",
     'Request type "chatComplete" is not in the allowed list. Allowed types (excluding blocked): complete'),
]


@pytest.mark.parametrize(("params", "metadata", "kind", "verdict", "mode", "source", "explanation"), TYPE_CASES,
                         ids=[f"types-{i}" for i in range(len(TYPE_CASES))])
async def test_request_rules_allowed_request_types(params, metadata, kind, verdict, mode, source, explanation):
    subject = chat_subject("hi", metadata=metadata, request_type=kind)
    result, _ = await evaluate_check(ALLOWED_REQUEST_TYPES, params, subject)
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert (result.data["mode"], result.data["source"], result.data["explanation"]) == (mode, source, explanation)
    assert result.data["currentRequestType"] == kind


async def test_request_rules_type_lists_in_data_as_the_reference():
    result, _ = await evaluate_check(ALLOWED_REQUEST_TYPES, {}, chat_subject("hi"))
    assert result.data["allowedTypes"] == ["all"] and "blockedTypes" not in result.data
    result, _ = await evaluate_check(ALLOWED_REQUEST_TYPES, {"blockedTypes": ["embed"]}, chat_subject("hi"))
    assert "allowedTypes" not in result.data and result.data["blockedTypes"] == ["embed"]


async def test_request_rules_metadata_conflict_is_an_errored_check():
    subject = chat_subject("hi", metadata={"supported_endpoints": "embed", "blocked_endpoints": "embed"})
    result, outcome = await evaluate_check(ALLOWED_REQUEST_TYPES, {}, subject)
    assert outcome is None
    assert result.error[1].startswith("Conflict detected")


KEY_CASES = [  # parameters, metadata, verdict, found, missing, explanation
    ({"metadataKeys": ["user", "team"]}, {"user": "u", "team": "t"}, True, ["user", "team"], [],
     "Check passed for 'all' metadata keys. All metadata keys were found."),
    ({"metadataKeys": ["user", "team"]}, {"user": "u"}, False, ["user"], ["team"],
     "Check failed for 'all' metadata keys. Some metadata keys were missing."),
    ({"metadataKeys": ["user", "team"], "operator": "any"}, {"team": ""}, True, ["team"], ["user"],
     "Check passed for 'any' metadata keys. At least one metadata key was found."),
    ({"metadataKeys": ["user"], "operator": "any"}, {}, False, [], ["user"],
     "Check failed for 'any' metadata keys. No metadata keys were found."),
    ({"metadataKeys": ["debug"], "operator": "none"}, {"user": "u"}, True, [], ["debug"],
     "Check passed for 'none' metadata keys. No metadata keys were found."),
    ({"metadataKeys": ["debug"], "operator": "none"}, {"debug": "1"}, False, ["debug"], [],
     "Check failed for 'none' metadata keys. Some metadata keys were found."),
]


@pytest.mark.parametrize(("params", "metadata", "verdict", "found", "missing", "explanation"), KEY_CASES,
                         ids=[f"keys-{i}" for i in range(len(KEY_CASES))])
async def test_request_rules_required_metadata_keys(params, metadata, verdict, found, missing, explanation):
    result, _ = await evaluate_check(REQUIRED_METADATA_KEYS, params, chat_subject("hi", metadata=metadata))
    assert result.verdict is verdict
    assert result.data == {"explanation": explanation, "missing_metadata_keys": missing,
                           "found_metadata_keys": found, "operator": params.get("operator", "all")}


BAD = [  # check, parameters, the parameter named in the error
    (ALLOWED_REQUEST_TYPES, {"allowedTypes": 3}, "allowedTypes"),
    (ALLOWED_REQUEST_TYPES, {"blockedTypes": [1]}, "blockedTypes"),
    (ALLOWED_REQUEST_TYPES, {"allowedTypes": ["embed"], "blockedTypes": "embed"}, "blockedTypes"),
    (ALLOWED_REQUEST_TYPES, {"not": True}, "not"),
    (REQUIRED_METADATA_KEYS, {}, "metadataKeys"),
    (REQUIRED_METADATA_KEYS, {"metadataKeys": []}, "metadataKeys"),
    (REQUIRED_METADATA_KEYS, {"metadataKeys": [1]}, "metadataKeys"),
    (REQUIRED_METADATA_KEYS, {"metadataKeys": ["a"], "operator": "some"}, "operator"),
    (REQUIRED_METADATA_KEYS, {"metadataKeys": ["a"], "not": True}, "not"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{i}" for i, row in enumerate(BAD)])
def test_request_rules_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"


@pytest.mark.parametrize(("check", "params"), [(ALLOWED_REQUEST_TYPES, {}), (REQUIRED_METADATA_KEYS,
                                                                             {"metadataKeys": ["a"]})],
                         ids=lambda v: getattr(v, "id", ""))
def test_request_rules_accept_not_false(check, params):
    compile_check(check, {**params, "not": False}, "p", Services())
