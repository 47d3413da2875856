"""default.contains / endsWith / notNull / alluppercase / alllowercase: the reference's cases and edges."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.text_shape import ALL_LOWERCASE, ALL_UPPERCASE, CONTAINS, ENDS_WITH, NOT_NULL
from tests.gateway_grpc.guardrails.subjects import response_subject

SAMPLE = "adding some text before this word1 and adding some text after"

CONTAINS_CASES = [  # parameters, text, verdict, foundWords, missingWords, explanation
    ({"words": ["word1", "word2"], "operator": "any"}, SAMPLE, True, ["word1"], ["word2"],
     "Check passed for 'any' words. At least one word was found."),
    ({"words": ["word1", "word2"], "operator": "all"}, SAMPLE, False, ["word1"], ["word2"],
     "Check failed for 'all' words. Some words were missing."),
    ({"words": ["word2", "word3"], "operator": "none"}, SAMPLE, True, [], ["word2", "word3"],
     "Check passed for 'none' words. No words were found."),
    ({"words": ["word1"], "operator": "none"}, SAMPLE, False, ["word1"], [],
     "Check failed for 'none' words. Some words were found."),
    ({"words": [], "operator": "any"}, "some text", False, [], [],
     "Check failed for 'any' words. No words were found."),
    ({"words": ["text", "word1"], "operator": "all"}, "Adding some TEXT before this Word1 and some text", False,
     ["text"], ["word1"], "Check failed for 'all' words. Some words were missing."),
    ({"words": ["before this"]}, SAMPLE, True, ["before this"], [],  # operator defaults to any; phrases are substrings
     "Check passed for 'any' words. At least one word was found."),
    ({"words": ["ü"], "operator": "all", "not": False}, "grüße", True, ["ü"], [],
     "Check passed for 'all' words. All words were found."),
]


@pytest.mark.parametrize(("params", "text", "verdict", "found", "missing", "explanation"), CONTAINS_CASES,
                         ids=[f"contains-{i}" for i in range(len(CONTAINS_CASES))])
async def test_text_shape_contains(params, text, verdict, found, missing, explanation):
    result, _ = await evaluate_check(CONTAINS, params, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.verdict is verdict
    assert result.data == {"explanation": explanation, "foundWords": found, "missingWords": missing,
                           "operator": params.get("operator", "any")}


ENDS_WITH_CASES = [  # parameters, text, verdict, explanation
    ({"suffix": "HarryPortkey"}, "This is a test ending with HarryPortkey", True, 'The text ends with "HarryPortkey".'),
    ({"suffix": "HarryPortkey"}, "This is a test ending with HarryPortkey.", True,
     'The text ends with "HarryPortkey" (including trailing period).'),
    ({"suffix": "HarryPortkey"}, "This is a test ending with something else", False,
     'The text does not end with "HarryPortkey".'),
    ({"suffix": "HarryPortkey"}, "ends with HarryPortkey. ", False, 'The text does not end with "HarryPortkey".'),
    ({"suffix": "end."}, "the end.", True, 'The text ends with "end.".'),
    ({"suffix": "fin", "not": True}, "c'est la fin", False, 'The text ends with "fin".'),
    ({"suffix": "café"}, "un café", True, 'The text ends with "café".'),
]


@pytest.mark.parametrize(("params", "text", "verdict", "explanation"), ENDS_WITH_CASES,
                         ids=[f"endsWith-{i}" for i in range(len(ENDS_WITH_CASES))])
async def test_text_shape_ends_with(params, text, verdict, explanation):
    result, _ = await evaluate_check(ENDS_WITH, params, response_subject(text))
    assert result.verdict is verdict
    assert result.data == {"suffix": params["suffix"], "explanation": explanation, "textExcerpt": text}


CASE_CASES = [  # check, parameters, text, verdict, explanation
    (ALL_UPPERCASE, {}, "THIS IS ALL UPPERCASE TEXT!", True, "All alphabetic characters in the text are uppercase."),
    (ALL_UPPERCASE, {}, "This Has Mixed Case.", False, "The text contains lowercase characters."),
    (ALL_UPPERCASE, {}, "123 !@#$%", True, "All alphabetic characters in the text are uppercase."),
    (ALL_UPPERCASE, {}, "ÉCOLE é", True, "All alphabetic characters in the text are uppercase."),  # ASCII only
    (ALL_UPPERCASE, {"not": True}, "LOUD", False, "All alphabetic characters in the text are uppercase."),
    (ALL_LOWERCASE, {}, "this is all lowercase text!", True, "All alphabetic characters in the text are lowercase."),
    (ALL_LOWERCASE, {}, "This Has Mixed Case.", False, "The text contains uppercase characters."),
    (ALL_LOWERCASE, {}, "123 !@#$%", True, "All alphabetic characters in the text are lowercase."),
    (ALL_LOWERCASE, {}, "école É", True, "All alphabetic characters in the text are lowercase."),
    (ALL_LOWERCASE, {"not": True}, "Mixed", True, "The text contains uppercase characters."),
]


@pytest.mark.parametrize(("check", "params", "text", "verdict", "explanation"), CASE_CASES,
                         ids=[f"{row[0].id}-{i}" for i, row in enumerate(CASE_CASES)])
async def test_text_shape_letter_case(check, params, text, verdict, explanation):
    result, _ = await evaluate_check(check, params, response_subject(text))
    assert result.verdict is verdict
    assert result.data == {"explanation": explanation, "textExcerpt": text}


async def test_text_shape_case_excerpt_is_cut():
    result, _ = await evaluate_check(ALL_UPPERCASE, {}, response_subject("A" * 150))
    assert result.data["textExcerpt"] == "A" * 100 + "..."


@pytest.mark.parametrize(("params", "text", "verdict"), [
    ({}, "an answer", True), ({}, "", False), ({}, " \n\t ", False), ({"not": True}, "", True),
    ({}, "\u00a0x", True),
], ids=["text", "empty", "blank", "not-empty", "nbsp"])
async def test_text_shape_not_null(params, text, verdict):
    result, _ = await evaluate_check(NOT_NULL, params, response_subject(text))
    assert result.error is None
    assert result.verdict is verdict
    assert result.data["length"] == len(text)


@pytest.mark.parametrize("check", [ENDS_WITH, ALL_UPPERCASE, ALL_LOWERCASE], ids=lambda c: c.id)
async def test_text_shape_empty_text_is_an_errored_check(check):
    params = {"suffix": "x"} if check is ENDS_WITH else {}
    result, outcome = await evaluate_check(check, params, response_subject(""))
    assert outcome is None
    assert result.error == ("ValueError", "Missing text to analyze")
    assert result.verdict is True  # an error passes unless failOnError


BAD = [  # check, parameters, the parameter named in the error
    (CONTAINS, {}, "words"),
    (CONTAINS, {"words": "word1"}, "words"),
    (CONTAINS, {"words": ["a"], "operator": "some"}, "operator"),
    (CONTAINS, {"words": ["a"], "not": True}, "not"),
    (ENDS_WITH, {}, "suffix"),
    (ENDS_WITH, {"suffix": ""}, "suffix"),
    (ENDS_WITH, {"suffix": 3}, "suffix"),
    (NOT_NULL, {"minimum": 1}, "minimum"),
    (ALL_UPPERCASE, {"ignoreDigits": True}, "ignoreDigits"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{row[2]}" for row in BAD])
def test_text_shape_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"
